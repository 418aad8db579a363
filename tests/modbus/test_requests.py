"""Modbus requests per poll, counted on the wire for every bundled map: the table the README
shows comes from here (``pytest -s`` prints it), and the README must show exactly it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.clock import ManualClock
from controller.modbus.charger import ModbusCharger
from controller.modbus.maps import BUNDLED_MAPS, available_maps, load_map
from controller.modbus.meter import ModbusMeter
from controller.modbus.transport import Endpoint, ModbusBus
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator

README = Path(__file__).parents[2] / "README.md"
POLLS = 3


async def _per_poll(map_id: str) -> tuple[int | None, int | None]:
    """Requests one status poll and one meter sample take on the wire, after connect."""
    device_map = load_map(map_id)
    clock = ManualClock()
    station = SimulatedStation(clock=clock)
    other = load_map("heidelberg_energy_control")
    charger_map = device_map if device_map.kind == "charger" else other
    simulator = ModbusSimulator(
        station, charger_map, None if device_map.kind == "charger" else device_map
    )
    await simulator.start()
    port = simulator.port if device_map.kind == "charger" else simulator.meter_port
    bus = ModbusBus(Endpoint(port=port, timeout_s=0.5))
    status = sample = None
    try:
        if device_map.kind == "charger":
            charger = ModbusCharger(device_map, bus, clock=clock)
            await charger.connect()
            await charger.read_status()  # the first poll may carry a keep-alive write
            before = bus.requests
            for _ in range(POLLS):
                await charger.read_status()
            status = (bus.requests - before) // POLLS
        if "energy_import" in device_map.registers or device_map.kind == "meter":
            meter = ModbusMeter(device_map, bus, simulator.meter_unit, clock)
            await meter.connect()
            before = bus.requests
            for _ in range(POLLS):
                await meter.read()
            sample = (bus.requests - before) // POLLS
    finally:
        await bus.close()
        await simulator.stop()
    return status, sample


def _row(map_id: str, status: int | None, sample: int | None) -> str:
    def cell(n: int | None) -> str:
        return "-" if n is None else str(n)

    return f"| `{map_id}` | {cell(status)} | {cell(sample)} |"


async def test_requests_per_poll_are_what_the_readme_says(socket_enabled):
    rows = [_row(map_id, *await _per_poll(map_id)) for map_id in sorted(available_maps())]
    table = "\n".join(
        [
            "| Map | Charger status poll | Meter sample |",
            "|---|---|---|",
            *rows,
        ]
    )
    print("\n" + table)
    readme = README.read_text(encoding="utf-8")
    assert table in readme, "README's request table differs from the wire:\n" + table


@pytest.mark.parametrize("map_id", ["abl_emh"])
async def test_a_repeating_map_doubles_its_requests(socket_enabled, map_id):
    status, _ = await _per_poll(map_id)
    assert status is not None
    assert status % load_map(map_id).transport.repeat == 0


def _device_rows() -> dict[str, str]:
    """README's device table: each map id and its "Unverified" cell."""
    readme = README.read_text(encoding="utf-8")
    start = readme.index("| Map | Kind | Device |")
    rows: dict[str, str] = {}
    for line in readme[start:].split("\n\n", 1)[0].splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        for map_id in cells[0].replace("`", "").split(","):
            rows[map_id.strip()] = cells[-1]
    return rows


def _has_unverified(map_id: str) -> bool:
    data = yaml.safe_load((BUNDLED_MAPS / f"{map_id}.yaml").read_text(encoding="utf-8"))
    sections = [data["transport"], data.get("watchdog") or {}, *data["registers"].values()]
    return any(section.get("unverified") for section in sections)


def test_every_map_is_in_the_device_table_with_what_is_unverified():
    rows = _device_rows()
    assert set(available_maps()) <= set(rows), set(available_maps()) - set(rows)
    for map_id in available_maps():
        if _has_unverified(map_id):
            assert rows[map_id] not in ("", "-", "\u2013"), f"{map_id}: say what is unverified"
