"""The README's entity table is what a real entry creates: names, platforms, which are
disabled by default, and which exist only with a grid power sensor."""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_manager.const import DOMAIN

from .conftest import entry_data

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "### Entities (one device per connector)"
WITH_GRID = "With a grid power sensor"
GRID = "sensor.house_grid_power"

Row = tuple[str, str, bool]  # name, platform, disabled by default


def readme_rows() -> tuple[set[Row], set[Row]]:
    """(always, only with a grid sensor) from the README's entity table."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(HEADING) :]
    section = section[: section.index("\n### ", len(HEADING))]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    always: set[Row] = set()
    energy: set[Row] = set()
    for line in lines[1:]:  # after the header row
        names, platform, notes = (cell.strip() for cell in line.strip("|").split("|"))
        rows = energy if notes.startswith(WITH_GRID) else always
        for name in names.split(", "):
            rows.add((name.rstrip("*"), platform, name.endswith("*")))
    return always, energy


async def registry_rows(hass, sim, options: dict) -> set[Row]:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Garage",
        unique_id="garage-wallbox",
        data=entry_data(sim.simulator),
        options={"poll_interval_s": 60.0, **options},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    try:
        found = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        return {(e.original_name, e.domain, e.disabled_by is not None) for e in found}
    finally:
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("grid", [False, True], ids=["without_grid_sensor", "with_grid_sensor"])
async def test_readme_entity_table_is_what_an_entry_creates(hass, sim, grid):
    hass.states.async_set(GRID, "0", {"unit_of_measurement": "W", "device_class": "power"})
    always, energy = readme_rows()
    created = await registry_rows(hass, sim, {"grid_power_entity": GRID} if grid else {})
    assert created == (always | energy if grid else always)
