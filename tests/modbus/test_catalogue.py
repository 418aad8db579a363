"""The map facts the issue-11 catalogue chargers need, against the strict simulator over real
Modbus TCP: a plug register beside the charging state (KEBA 1004, Vestel 1004, openWB 10114),
an enable register separate from the current (KEBA P30 5014, Mennekes 0x0D05), a heartbeat
that rewrites the failsafe timeout the device reports elsewhere (KEBA 5018 / 1602), a
read-only timeout (Vestel 2002), a state in the high byte of a uint32 (ABB 0x400C), and P30 /
P40 told apart by the product code. Facts from evcc's charger/*.go (named per test)."""

from __future__ import annotations

import pytest
from pymodbus.constants import ExcCodes

from controller.clock import ManualClock
from controller.everest import CpState
from controller.modbus.charger import ModbusCharger
from controller.modbus.maps import load_map, parse_map
from controller.modbus.transport import Endpoint, ModbusBus
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator
from controller.simulator.device import SimulatedCharger

from .conftest import start_rig, stop_rig
from .test_devices import COMM, charges, error_types


async def _status_cp(map_id: str, garbage: dict[str, list[int]], plug: bool) -> CpState:
    """The CP state the driver reads when the device serves ``garbage`` words."""
    clock = ManualClock()
    station = SimulatedStation(clock=clock)
    simulator = ModbusSimulator(station, load_map(map_id))
    await simulator.start()
    bus = ModbusBus(Endpoint(port=simulator.port, timeout_s=0.5))
    try:
        charger = ModbusCharger(load_map(map_id), bus, clock=clock)
        await charger.connect()
        if plug:
            station.plug_in()
        for name, words in garbage.items():
            simulator.charger.inject_garbage(name, words)
        return (await charger.read_status()).cp
    finally:
        await bus.close()
        await simulator.stop()


@pytest.mark.parametrize(
    ("map_id", "ready"),
    [
        ("keba_p30", [0, 2]),  # keba-modbus.go Status: 2 "ready", but 1004 bit 2 is clear
        ("vestel_evc04", [0]),  # vestel.go Status: 1004 < 2 is A whatever 1001 says
        ("openwb_series2", [0]),  # openwb-2.0.go Status: 10114 = 0 is A
    ],
)
async def test_no_plugged_car_is_state_a_whatever_the_charging_state(socket_enabled, map_id, ready):
    assert await _status_cp(map_id, {"cp_state": ready}, plug=False) is CpState.A
    assert await _status_cp(map_id, {"cp_state": ready}, plug=True) is CpState.B


def test_a_plug_register_must_say_plugged_and_unplugged():
    text = (
        "kind: charger\nmanufacturer: X\nmodel: Y\ntransport: {kind: tcp}\nregisters:\n"
        "  cp_state: {table: holding, address: 1, values: {0: A, 1: B}}\n"
        "  max_current: {table: holding, address: 2, unit: A, access: w}\n"
        "  plugged: {table: holding, address: 3, values: {0: 'no', 1: 'yes'}}\n"
    )
    with pytest.raises(Exception, match="plugged and unplugged"):
        parse_map(text, map_id="bad")


def test_abb_state_is_the_high_byte_of_the_low_word():
    """abb.go status(): b[2] & 0x7f of the 4 bytes read at 0x400C."""
    reg = load_map("abb_terra_ac")["cp_state"]
    assert reg.decode([0x0000, 0x0400]) == "C2"
    assert reg.decode([0x1234, 0x84FF]) == "C2"  # other bytes and bit 7 ignored
    assert reg.decode([0x0000, 0x0100]) == "B1"


@pytest.mark.parametrize(
    ("configured", "device"), [("keba_p30", "keba_p40"), ("keba_p40", "keba_p30")]
)
async def test_keba_p30_or_p40_is_told_by_the_product_code(
    tmp_path, socket_enabled, configured, device
):
    """keba-modbus.go: 6 digits = P30 (enable 5014), 7 digits = P40 (5004 = 0 pauses)."""
    rig = await start_rig(tmp_path, configured, device=device)
    try:
        assert rig.manager._charger.map.id == device
        await charges(rig)
    finally:
        await stop_rig(rig)


@pytest.mark.parametrize(
    "map_id", ["keba_p30", "mennekes_amtron_compact", "victron_evcs", "cfos_power_brain"]
)
async def test_the_enable_register_pauses_and_resumes(tmp_path, socket_enabled, map_id):
    """KEBA P30 5014, Mennekes 0x0D05, Victron 5010, cFos 8094: release 0 pauses."""
    rig = await start_rig(tmp_path, map_id)
    try:
        await charges(rig)
        sim = rig.simulator.charger
        assert sim.enabled
        await rig.manager.pause_charging()
        await rig.advance(5, step=1)
        assert not sim.enabled
        assert rig.station.phase_currents()[0] == 0.0
        await rig.manager.resume_charging()
        await rig.advance(10, step=1)
        assert sim.enabled
        assert rig.station.phase_currents()[0] == pytest.approx(16.0)
    finally:
        await stop_rig(rig)


@pytest.mark.parametrize(("reported", "beat"), [(12.0, 12), (0.0, 30)])
async def test_keba_heartbeat_rewrites_the_timeout_it_reports(
    tmp_path, socket_enabled, reported, beat
):
    """keba-modbus.go heartbeat: 5018 = the 1602 value every timeout / 2; 1602 = 0 (off)
    gets the map's 30 s."""

    def installed(sim: ModbusSimulator) -> None:
        sim.charger.watchdog_s = reported

    rig = await start_rig(tmp_path, "keba_p30", before_start=installed)
    try:
        await rig.start_charging()
        sim = rig.simulator.charger
        beats = sim.writes["heartbeat"]
        for _ in range(36):
            await rig.advance(1, step=1)
            rig.simulator.tick()
            assert not sim.failsafe_active
        assert sim.writes["heartbeat"] - beats >= 36 // (beat // 2)
        assert sim.watchdog_s == beat
        assert sim.function_codes[16] == 0  # KEBA: every write is FC06
        assert COMM not in error_types(rig)
    finally:
        await stop_rig(rig)


async def test_vestel_failsafe_timeout_is_read_not_written(tmp_path, socket_enabled):
    """vestel.go: 2002 is only read; the alive register 6000 beats at least every 5 s."""
    rig = await start_rig(tmp_path, "vestel_evc04")
    try:
        await rig.start_charging()
        sim = rig.simulator.charger
        beats = sim.writes["heartbeat"]
        for _ in range(30):
            await rig.advance(1, step=1)
            rig.simulator.tick()
            assert not sim.failsafe_active
        assert sim.writes["heartbeat"] - beats >= 30 // 5
        assert sim.writes["watchdog_timeout_state"] == 0
    finally:
        await stop_rig(rig)


@pytest.mark.parametrize(("map_id", "step_W"), [("compleo", 100), ("delta_ac_max", 1)])
async def test_a_power_limit_is_the_current_times_230_v_times_the_phases(
    tmp_path, socket_enabled, map_id, step_W
):
    """compleo.go / delta.go: the limit is 230 V x current x phases, truncated to the
    register's step (Compleo 100 W); the box signals that power as a current."""
    rig = await start_rig(tmp_path, map_id)
    try:
        await rig.start_charging()
        sim = rig.simulator.charger
        amps = sim.map.capabilities.max_current_A  # free charging offers the maximum
        written = sim.map["max_current"].decode(sim.words["max_current"])
        assert written == (amps * 230 * 3) // step_W * step_W
        assert amps - step_W / 690 <= sim.setpoint_A <= amps
        assert rig.station.output.current_A == pytest.approx(sim.setpoint_A)
    finally:
        await stop_rig(rig)


def test_a_power_limit_must_be_in_watts():
    text = (
        "kind: charger\nmanufacturer: X\nmodel: Y\ntransport: {kind: tcp}\nregisters:\n"
        "  cp_state: {table: holding, address: 1, values: {0: A, 1: B}}\n"
        "  max_current: {table: holding, address: 2, unit: A, access: w, per_phase_V: 230}\n"
    )
    with pytest.raises(Exception, match="power limit"):
        parse_map(text, map_id="bad")


async def test_innogy_limits_every_phase_and_charges_with_the_lowest(tmp_path, socket_enabled):
    """innogy.go setCurrent: one float32 written to 1012, 1014 and 1016 (FC16 each); a box
    whose L2/L3 limits were left at 0 would not charge at all."""
    rig = await start_rig(tmp_path, "innogy_ebox")
    try:
        await rig.start_charging()
        sim = rig.simulator.charger
        reg = sim.map["max_current"]
        limits = [reg.decode(sim.words[n]) for n in sim.limits]  # 1012, @1014, @1016
        assert len(limits) == 3
        assert len(set(limits)) == 1
        assert limits[0] >= 6
        assert sim.function_codes[6] == 0
        await rig.manager.pause_charging()
        await rig.advance(5, step=1)
        assert set(sim.limits.values()) == {0.0}
        assert rig.station.phase_currents()[0] == 0.0
    finally:
        await stop_rig(rig)


def test_innogy_refuses_a_partial_phase_limit():
    """Each per-phase limit is a float32: one word of it is refused (exception 2)."""
    sim = SimulatedCharger(load_map("innogy_ebox"), SimulatedStation(clock=ManualClock()))
    answer = sim.handle(
        sim.unit,
        function_code=16,
        start_address=1014,
        address=1014,
        count=1,
        registers=[0] * 8,
        set_values=[0x4180],
    )
    assert answer == ExcCodes.ILLEGAL_ADDRESS


async def test_innogy_charges_on_an_old_table_without_voltages(tmp_path, socket_enabled):
    """innogy.go: voltages 301-305 and energy 307 only from table version 6."""
    old = ("voltage_l1", "voltage_l2", "voltage_l3", "energy_import")
    rig = await start_rig(tmp_path, "innogy_ebox", without=old)
    try:
        await charges(rig)
        assert all(not rig.manager._charger.device.has(name) for name in old)
    finally:
        await stop_rig(rig)


async def test_etrel_limit_is_written_never_read(tmp_path, socket_enabled):
    """etrel.go: holding 8 is write-only (float32, FC16); everything read is FC04."""
    rig = await start_rig(tmp_path, "etrel_inch")
    try:
        await charges(rig)
        sim = rig.simulator.charger
        assert sim.function_codes[3] == 0
        assert sim.function_codes[6] == 0
        assert sim.function_codes[16] > 0
    finally:
        await stop_rig(rig)


async def test_delta_rewrites_the_limit_within_its_timeout(tmp_path, socket_enabled):
    """delta.go heartbeat: the limit 1600 is rewritten every 202 / 2 (here 10 s); 202 is
    only read."""

    def installed(sim: ModbusSimulator) -> None:
        sim.charger.watchdog_s = 10.0

    rig = await start_rig(tmp_path, "delta_ac_max", before_start=installed)
    try:
        await rig.start_charging()
        sim = rig.simulator.charger
        writes = sim.writes["max_current"]
        for _ in range(30):
            await rig.advance(1, step=1)
            rig.simulator.tick()
            assert not sim.failsafe_active
        assert sim.writes["max_current"] - writes >= 30 // 5
        assert sim.writes["watchdog_timeout_state"] == 0
    finally:
        await stop_rig(rig)


@pytest.mark.parametrize(
    ("copies", "message"),
    [
        ("[2]", "address 2 is also"),  # onto the register itself
        ("[4]", "address 4 is also"),  # onto another register
    ],
)
def test_copies_must_not_overlap_a_register(copies, message):
    text = (
        "kind: charger\nmanufacturer: X\nmodel: Y\ntransport: {kind: tcp}\nregisters:\n"
        "  cp_state: {table: holding, address: 4, values: {0: A, 1: B}}\n"
        f"  max_current: {{table: holding, address: 2, unit: A, access: w, copies: {copies}}}\n"
    )
    with pytest.raises(Exception, match=message):
        parse_map(text, map_id="bad")


def test_only_a_written_holding_register_has_copies():
    text = (
        "kind: charger\nmanufacturer: X\nmodel: Y\ntransport: {kind: tcp}\nregisters:\n"
        "  cp_state: {table: input, address: 4, values: {0: A, 1: B}, copies: [9]}\n"
        "  max_current: {table: holding, address: 2, unit: A, access: w}\n"
    )
    with pytest.raises(Exception, match="copies"):
        parse_map(text, map_id="bad")
