"""Read coalescing: as few requests as the protocol allows, never more words than needed."""

import pytest

from controller.clock import ManualClock
from controller.modbus.device import plan_reads
from controller.modbus.maps import load_map, parse_map
from controller.modbus.meter import ModbusMeter
from controller.modbus.transport import Endpoint, ModbusBus, RefusedError
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator


def _blocks(map_id, names):
    device_map = load_map(map_id)
    regs = [device_map[n] for n in names if n in device_map.registers]
    return plan_reads(regs, device_map.transport.unit)


def test_neighbouring_input_registers_are_one_request():
    blocks = _blocks(
        "heidelberg_energy_control",
        ["cp_state", "current_l1", "current_l2", "current_l3", "temperature", "voltage_l1"],
    )
    assert [(b.table, b.address, b.count) for b in blocks] == [("input", 5, 6)]


def test_far_apart_registers_are_separate_requests():
    blocks = _blocks("heidelberg_energy_control", ["cp_state", "hw_max_current", "max_current"])
    assert [(b.table, b.address, b.count) for b in blocks] == [
        ("holding", 261, 1),
        ("input", 5, 1),
        ("input", 100, 1),
    ]


def test_small_gaps_are_bridged_and_offsets_kept():
    blocks = _blocks(
        "eastron_sdm630", ["voltage_l1", "current_l1", "power", "frequency", "energy_import"]
    )
    assert [(b.address, b.count) for b in blocks] == [(0, 8), (52, 2), (70, 4)]
    regs = {r.name: r.address - blocks[2].address for r in blocks[2].registers}
    assert regs == {"frequency": 0, "energy_import": 2}


def test_requests_never_exceed_the_protocol_limit():
    device_map = load_map("eastron_sdm630")
    regs = list(device_map.registers.values())
    for block in plan_reads(regs, 1):
        assert block.count <= 125
    assert len(plan_reads(regs, 1)) <= 3


async def _sdm630_on_the_wire():
    """A simulated SDM630 (beside a Heidelberg) and a Modbus TCP bus to it."""
    clock = ManualClock()
    simulator = ModbusSimulator(
        SimulatedStation(clock=clock),
        load_map("heidelberg_energy_control"),
        load_map("eastron_sdm630"),
    )
    await simulator.start()
    return simulator, ModbusBus(Endpoint(port=simulator.meter_port, timeout_s=0.5)), clock


async def test_over_tcp_an_sdm630_sample_is_one_request_through_its_table(socket_enabled):
    simulator, bus, clock = await _sdm630_on_the_wire()
    try:
        meter = ModbusMeter(load_map("eastron_sdm630"), bus, simulator.meter_unit, clock)
        await meter.connect()
        before = bus.requests
        sample = await meter.read()
        assert bus.requests - before == 1
        assert sample.voltage_V is not None
        assert sample.voltage_V.L1 == 230.0
        assert sample.frequency_Hz is not None
        assert sample.frequency_Hz.L1 == 50.0
    finally:
        await bus.close()
        await simulator.stop()


async def test_the_simulated_sdm630_answers_80_registers_and_nothing_past_its_table(
    socket_enabled,
):
    simulator, bus, _ = await _sdm630_on_the_wire()
    try:
        assert len(await bus.read("input", 0, 80, simulator.meter_unit)) == 80
        with pytest.raises(RefusedError):
            await bus.read("input", 0, 81, simulator.meter_unit)
    finally:
        await bus.close()
        await simulator.stop()


SHORT_READS = """
kind: meter
manufacturer: Test
model: four registers a read
transport: {kind: tcp, max_read: 4}
registers:
  energy_import: {table: input, address: 0, type: float32, unit: kWh}
  power: {table: input, address: 2, type: float32, unit: W}
  voltage_l1: {table: input, address: 4, type: float32, unit: V}
"""


async def test_a_device_that_answers_few_registers_a_read_is_read_in_pieces(socket_enabled):
    device_map = parse_map(SHORT_READS, map_id="short_reads")
    clock = ManualClock()
    simulator = ModbusSimulator(
        SimulatedStation(clock=clock), load_map("heidelberg_energy_control"), device_map
    )
    await simulator.start()
    bus = ModbusBus(Endpoint(port=simulator.meter_port, timeout_s=0.5))
    try:
        with pytest.raises(RefusedError) as refused:
            await bus.read("input", 0, 6, simulator.meter_unit)
        assert refused.value.code == 3  # ILLEGAL DATA VALUE: quantity out of range
        meter = ModbusMeter(device_map, bus, simulator.meter_unit, clock)
        await meter.connect()
        before = bus.requests
        await meter.read()
        assert bus.requests - before == 2
    finally:
        await bus.close()
        await simulator.stop()


async def test_behind_a_serial_line_only_small_gaps_are_bridged():
    bus = ModbusBus(Endpoint(kind="rtu_over_tcp"))
    meter = ModbusMeter(load_map("eastron_sdm630"), bus)
    plan = meter.device.plan(("voltage_l1", "power", "frequency", "energy_import"))
    assert [(b.address, b.count) for b in plan] == [(0, 2), (52, 2), (70, 4)]


def test_a_read_never_asks_for_more_than_the_device_answers():
    device_map = load_map("eastron_sdm630")
    regs = list(device_map.registers.values())
    blocks = plan_reads(regs, 1, device_map, max_gap_words=125)
    assert all(block.count <= device_map.transport.max_read for block in blocks)
