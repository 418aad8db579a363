"""What makes reads cheap (a span's registers found once, words encoded only for a new
value) changes no answer: every read still carries what the station measures now, and
words something else put in a register (a fault, a write) are not overwritten by a stale
encoding."""

from __future__ import annotations

from controller.clock import ManualClock
from controller.modbus.maps import load_map
from controller.simulation import SimulatedStation
from controller.simulator.device import SimulatedDevice


def read(sim: SimulatedDevice, name: str) -> list[int]:
    """Read register ``name`` as the controller would, and return its words."""
    reg = sim.map[name]
    registers = [0] * reg.count
    fc = 4 if reg.table == "input" else 3
    answer = sim.handle(
        sim.unit,
        function_code=fc,
        start_address=reg.address,
        address=reg.address,
        count=reg.count,
        registers=registers,
        set_values=None,
    )
    assert answer is None
    return registers


def meter() -> tuple[SimulatedDevice, SimulatedStation]:
    station = SimulatedStation(clock=ManualClock())
    return SimulatedDevice(load_map("eastron_sdm630"), station), station


def test_a_repeated_read_follows_the_measurement():
    sim, station = meter()
    reg = sim.map["voltage_l1"]
    assert reg.decode(read(sim, "voltage_l1")) == station.voltage_V
    station.voltage_V = 241.0
    assert reg.decode(read(sim, "voltage_l1")) == 241.0
    station.voltage_V = 230.0
    assert reg.decode(read(sim, "voltage_l1")) == 230.0


def test_words_put_in_by_something_else_are_replaced_on_the_next_read():
    sim, station = meter()
    reg = sim.map["voltage_l1"]
    first = read(sim, "voltage_l1")
    sim.words["voltage_l1"] = [0, 0]  # e.g. a test or a fault wrote the register
    assert read(sim, "voltage_l1") == first
    assert reg.decode(first) == station.voltage_V


def test_a_missing_address_is_refused_every_time():
    sim, _ = meter()
    reg = sim.map["voltage_l1"]
    for _ in range(3):
        answer = sim.handle(
            sim.unit,
            function_code=4 if reg.table == "input" else 3,
            start_address=60000,
            address=60000,
            count=2,
            registers=[0, 0],
            set_values=None,
        )
        assert answer is not None
