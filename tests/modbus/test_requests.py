"""Modbus requests per poll, counted on the wire for every bundled map: the table the README
shows comes from here (``pytest -s`` prints it), and the README must show exactly it."""

from __future__ import annotations

import re
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


def _device_rows() -> dict[str, tuple[str, ...]]:
    """README's device table: the map ids of each row and its "Unverified" cell."""
    readme = README.read_text(encoding="utf-8")
    start = readme.index("| Map | Kind | Device |")
    rows: dict[str, tuple[str, ...]] = {}
    for line in readme[start:].split("\n\n", 1)[0].splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        ids = tuple(m.strip() for m in cells[0].replace("`", "").split(","))
        rows[cells[-1] + "\0" + ids[0]] = ids
    return rows


def _unverified(map_id: str) -> set[str]:
    """Every part of a map file marked ``unverified``, named as the README names it: the
    register (binding) name, ``transport``, ``watchdog``, ``sunspec``, a capability key, or
    ``span <first address>``."""
    data = yaml.safe_load((BUNDLED_MAPS / f"{map_id}.yaml").read_text(encoding="utf-8"))
    found = {n for n, reg in data["registers"].items() if reg.get("unverified")}
    found |= {
        k for k in ("transport", "watchdog", "sunspec") if (data.get(k) or {}).get("unverified")
    }
    found |= set((data.get("capabilities") or {}).get("unverified", []))
    found |= {f"span {s['first']}" for s in data.get("spans", []) if s.get("unverified")}
    return found


def _named(cell: str) -> set[str]:
    """The fields a README cell names in backticks (``span 0x101E`` as ``span 4126``)."""
    names = set()
    for found in re.findall(r"`([^`]+)`", cell):
        names.add(f"span {int(found.split()[1], 0)}" if found.startswith("span ") else found)
    return names


def test_every_map_is_in_the_device_table_with_what_is_unverified():
    """Each map has a row; its "Unverified" cell names (in backticks) exactly the fields the
    map marks ``unverified: true`` - each map's own, and none that no map of the row marks -
    and starts with an en dash when there are none."""
    rows = _device_rows()
    listed = [m for ids in rows.values() for m in ids]
    assert sorted(listed) == sorted(set(listed)), "a map is in two rows"
    assert set(available_maps()) == set(listed), set(available_maps()) ^ set(listed)
    for key, ids in rows.items():
        cell = key.split("\0")[0]
        named = _named(cell)
        marked = [_unverified(m) for m in ids]
        for map_id, fields in zip(ids, marked, strict=True):
            assert fields <= named, f"{map_id}: README does not name {sorted(fields - named)}"
        assert named <= set().union(*marked), (
            f"{ids}: not marked {sorted(named - set().union(*marked))}"
        )
        if not any(marked):
            assert cell.startswith("\u2013"), f"{ids}: nothing is unverified: say \u2013"
