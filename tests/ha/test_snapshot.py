"""Every entity's state and attributes while charging, as a reviewed snapshot.

Regenerate after an intended change with ``pytest tests/ha/test_snapshot.py --snapshot-update``.
Values that follow the wall clock (durations, the event's timestamp and session uuid) and
the EVSE ID (derived from the random entry id; test_user_findings checks it) are left out so
the snapshot is stable.
"""

from __future__ import annotations

from homeassistant.helpers import entity_registry as er

from .conftest import poll

VOLATILE_KEYS = {"session_duration", "last_session_duration", "session_event", "evse_id"}


async def test_entity_states_while_charging(hass, loaded, sim, snapshot):
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=8)
    await poll(hass, loaded, sim, seconds=5, steps=60)
    registry = er.async_get(hass)
    states = {}
    for entry in sorted(
        er.async_entries_for_config_entry(registry, loaded.entry_id), key=lambda e: e.entity_id
    ):
        key = entry.unique_id.removeprefix("garage-wallbox_")
        if key in VOLATILE_KEYS:
            continue
        state = hass.states.get(entry.entity_id)
        states[entry.entity_id] = {
            "state": None if state is None else state.state,
            "attributes": None if state is None else dict(state.attributes),
            "disabled_by_default": entry.disabled_by is not None,
            "category": entry.entity_category,
        }
    assert states == snapshot
