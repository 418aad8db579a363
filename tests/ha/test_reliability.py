"""What a user saw on a real instance around restarts and meter faults, inside HA.

A restart (entry reload) with an open transaction: the Session event entity gets the
start-up SessionResumed and the session duration goes on. A meter whose counter restarts
at 0 leaves every entity available and says so once in the log.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE

from .conftest import poll
from .test_setup import eid, state

SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def duration_s(hass) -> float:
    entity = hass.states.get(eid(hass, "sensor", "session_duration"))
    return float(entity.state) * SECONDS[entity.attributes["unit_of_measurement"]]


async def reload(hass, entry) -> None:
    """Home Assistant restarts the integration: the connector stops and starts again."""
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


async def charging(hass, entry, sim) -> None:
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, entry, sim, steps=8)
    assert state(hass, "sensor", "state") == "charging"


async def test_session_event_entity_sees_the_start_up_events(hass, loaded, sim):
    await charging(hass, loaded, sim)
    session = loaded.runtime_data.manager.kernel.transaction.session_id
    event_entity = eid(hass, "event", "session_event")
    seen: list[dict] = []

    def on_change(event) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] == event_entity and new is not None:
            seen.append(dict(new.attributes))

    unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, on_change)
    try:
        await reload(hass, loaded)
        await poll(hass, loaded, sim, steps=2)
    finally:
        unsubscribe()
    resumed = [a for a in seen if a.get("event_type") == "SessionResumed"]
    assert len(resumed) == 1
    assert resumed[0]["uuid"] == session
    assert state(hass, "sensor", "state") == "charging"


async def test_session_duration_goes_on_after_a_restart(hass, loaded, sim):
    await charging(hass, loaded, sim)
    await asyncio.sleep(1.2)  # the controller's clock is the real one
    await poll(hass, loaded, sim)
    before = duration_s(hass)
    assert before >= 1.0
    await reload(hass, loaded)
    await poll(hass, loaded, sim)
    assert duration_s(hass) >= before


async def test_meter_counter_reset_keeps_entities_available(hass, loaded, sim, caplog):
    await charging(hass, loaded, sim)
    await poll(hass, loaded, sim, seconds=60, steps=10)
    energy = float(state(hass, "sensor", "session_energy"))
    sim.station.energy_Wh = 0.0  # the meter was power-cycled / replaced
    caplog.clear()
    await poll(hass, loaded, sim, steps=5)
    assert loaded.runtime_data.manager.available
    for platform, key in (("sensor", "power"), ("sensor", "state"), ("switch", "enabled")):
        assert state(hass, platform, key) != STATE_UNAVAILABLE
    assert state(hass, "sensor", "state") == "charging"
    assert loaded.runtime_data.manager.vars()["errors"] == []
    lines = [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert len(lines) == 1
    assert "counter reset" in lines[0].getMessage()
    assert float(state(hass, "sensor", "session_energy")) >= energy


async def test_a_silent_charger_logs_one_line_going_and_one_returning(hass, loaded, sim, caplog):
    caplog.set_level(logging.INFO)
    caplog.clear()
    sim.simulator.charger.inject_silence(60.0)  # every request times out (0.5 s)
    await poll(hass, loaded, sim, steps=3)
    assert state(hass, "sensor", "power") == STATE_UNAVAILABLE
    sim.simulator.charger.clear_faults()
    for _ in range(100):
        await poll(hass, loaded, sim)
        if loaded.runtime_data.manager.available:
            break
        await asyncio.sleep(0.05)
    assert state(hass, "sensor", "power") != STATE_UNAVAILABLE
    ours = ("custom_components", "pymodbus")
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name.startswith(ours) and ".simulator" not in r.name
    ]
    assert len(messages) == 2, messages
    assert "charger unreachable" in messages[0]
    assert "charger reachable again" in messages[1]


async def test_an_unusable_meter_counter_raises_a_repair_issue(hass, loaded, sim, monkeypatch):
    from homeassistant.helpers import issue_registry as ir

    from custom_components.evse_manager import meter_issue_id
    from custom_components.evse_manager.const import DOMAIN
    from custom_components.evse_manager.controller.modbus import meter

    # The meter driver times its settling on HA's real clock (tested in tests/modbus).
    monkeypatch.setattr(meter, "SETTLE_S", 1.0)

    await charging(hass, loaded, sim)
    counter = sim.station.energy_Wh
    for _ in range(4):  # lower at every reading: not a reset, the counter is unusable
        counter -= 100.0
        sim.station.energy_Wh = counter
        await poll(hass, loaded, sim)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, meter_issue_id(loaded))
    assert issue is not None
    assert issue.translation_key == "meter_counter"
    assert "implausible" in issue.translation_placeholders["error"]
    assert state(hass, "sensor", "power") != STATE_UNAVAILABLE
    assert state(hass, "sensor", "state") != "charging"
    await asyncio.sleep(1.1)
    await poll(hass, loaded, sim, steps=4)  # it held still: usable again
    assert ir.async_get(hass).async_get_issue(DOMAIN, meter_issue_id(loaded)) is None
    assert state(hass, "sensor", "state") == "charging"


async def test_enabled_switch_off_on_after_a_stop_keeps_the_session(hass, loaded, sim):
    await charging(hass, loaded, sim)
    await poll(hass, loaded, sim, seconds=60, steps=10)
    await hass.services.async_call(
        "button", "press", {"entity_id": eid(hass, "button", "stop")}, blocking=True
    )
    await poll(hass, loaded, sim, steps=2)
    energy = float(state(hass, "sensor", "last_session_energy"))  # shown in kWh
    assert energy > 1.0
    for service in ("turn_off", "turn_on"):
        await hass.services.async_call(
            "switch", service, {"entity_id": eid(hass, "switch", "enabled")}, blocking=True
        )
        await poll(hass, loaded, sim, steps=3)
    await poll(hass, loaded, sim, steps=10)
    assert state(hass, "sensor", "state") == "finished"
    assert sim.station.power_W() == 0
    assert float(state(hass, "sensor", "last_session_energy")) == energy
    (record,) = loaded.runtime_data.manager.history()
    assert record.energy_Wh == pytest.approx(energy * 1000, rel=1e-9)
