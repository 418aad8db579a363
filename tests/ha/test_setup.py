"""Setup, unload, not-ready, entities through a simulated session, availability."""

from __future__ import annotations

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_manager.const import DOMAIN
from custom_components.evse_manager.controller.catalog import entities

from .conftest import entry_data, poll


def eid(hass, platform: str, key: str) -> str:
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id(platform, DOMAIN, f"garage-wallbox_{key}")
    assert entity_id is not None, key
    return entity_id


def state(hass, platform: str, key: str) -> str:
    return hass.states.get(eid(hass, platform, key)).state


async def test_setup_creates_one_device_with_every_catalog_entity(hass, loaded):
    registry = er.async_get(hass)
    entries = er.async_entries_for_config_entry(registry, loaded.entry_id)
    assert {e.unique_id for e in entries} == {
        f"garage-wallbox_{s.key}" for s in entities(values={})
    }
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), loaded.entry_id)
    assert len(devices) == 1
    assert devices[0].name == "Garage"
    assert devices[0].model == "Wallbox Energy Control"
    assert loaded.state is ConfigEntryState.LOADED
    assert state(hass, "sensor", "state") == "idle"
    assert state(hass, "binary_sensor", "plugged_in") == "off"
    assert state(hass, "switch", "enabled") == "on"


async def test_energy_sensor_fits_the_energy_dashboard(hass, loaded):
    attrs = hass.states.get(eid(hass, "sensor", "energy")).attributes
    assert attrs["device_class"] == "energy"
    assert attrs["state_class"] == "total_increasing"
    assert attrs["unit_of_measurement"] == "kWh"  # counted in Wh, shown in kWh


async def test_entities_follow_a_session(hass, loaded, sim):
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=8)
    assert state(hass, "binary_sensor", "plugged_in") == "on"
    assert state(hass, "binary_sensor", "charging") == "on"
    assert state(hass, "sensor", "state") == "charging"
    assert state(hass, "sensor", "cp_state") == "c"
    assert float(state(hass, "sensor", "power")) == pytest.approx(16 * 3 * 230, rel=0.01)
    assert float(state(hass, "sensor", "current_l1")) == pytest.approx(16.0)
    event = hass.states.get(eid(hass, "event", "session_event"))
    assert event.attributes["event_type"] == "ChargingStarted"
    assert event.attributes["uuid"]
    await poll(hass, loaded, sim, seconds=5, steps=120)  # 10 minutes
    energy = float(state(hass, "sensor", "session_energy")) * 1000  # shown in kWh
    assert energy == pytest.approx(sim.station.energy_Wh, abs=10.0)
    assert energy > 1500
    await hass.services.async_call(
        "button", "press", {"entity_id": eid(hass, "button", "stop")}, blocking=True
    )
    await poll(hass, loaded, sim, steps=2)
    sim.station.unplug()
    await poll(hass, loaded, sim, steps=2)
    assert state(hass, "binary_sensor", "plugged_in") == "off"
    last = float(state(hass, "sensor", "last_session_energy")) * 1000
    assert last == pytest.approx(energy, abs=30)
    assert (
        hass.states.get(eid(hass, "event", "session_event")).attributes["event_type"]
        == "SessionFinished"
    )


async def test_switch_number_and_buttons_reach_the_charger(hass, loaded, sim, freezer):
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=8)
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": eid(hass, "number", "max_current"), "value": 10},
        blocking=True,
    )
    freezer.tick(5)  # Charger.cpp: the PWM changes at most every 5 s while charging
    await poll(hass, loaded, sim, steps=2)
    assert sim.simulator.charger.setpoint_A == 10
    assert float(state(hass, "number", "max_current")) == 10
    await hass.services.async_call(
        "button", "press", {"entity_id": eid(hass, "button", "pause")}, blocking=True
    )
    await poll(hass, loaded, sim, steps=2)
    assert state(hass, "sensor", "state") == "charging_paused_evse"
    await hass.services.async_call(
        "button", "press", {"entity_id": eid(hass, "button", "resume")}, blocking=True
    )
    await poll(hass, loaded, sim, steps=4)
    assert state(hass, "sensor", "state") == "charging"
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": eid(hass, "switch", "enabled")}, blocking=True
    )
    await poll(hass, loaded, sim, steps=4)
    assert state(hass, "switch", "enabled") == "off"
    assert sim.station.power_W() == 0


async def test_refused_button_raises_a_translated_error(hass, loaded):
    from homeassistant.exceptions import HomeAssistantError

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button", "press", {"entity_id": eid(hass, "button", "resume")}, blocking=True
        )
    assert err.value.translation_key == "command_refused"


async def test_link_loss_makes_entities_unavailable_until_it_returns(hass, loaded, sim, caplog):
    await sim.simulator.cut_link()
    await poll(hass, loaded, sim)
    assert state(hass, "sensor", "power") == STATE_UNAVAILABLE
    assert state(hass, "switch", "enabled") == STATE_UNAVAILABLE
    await poll(hass, loaded, sim)
    assert caplog.text.count("charger unreachable") == 1
    await sim.simulator.restore_link()
    for _ in range(100):
        await poll(hass, loaded, sim)
        if loaded.runtime_data.manager.available:
            break
        await __import__("asyncio").sleep(0.05)
    assert state(hass, "sensor", "power") != STATE_UNAVAILABLE
    assert state(hass, "switch", "enabled") == "on"


async def test_unreachable_device_is_not_ready_and_retried(hass, socket_enabled):
    from custom_components.evse_manager.controller.clock import ManualClock
    from custom_components.evse_manager.controller.modbus.maps import load_map
    from custom_components.evse_manager.controller.simulation import SimulatedStation
    from custom_components.evse_manager.controller.simulator import ModbusSimulator

    from .conftest import CHARGER, METER

    # Never started: its ports are free, nothing answers there.
    nothing = ModbusSimulator(
        SimulatedStation(clock=ManualClock()), load_map(CHARGER), load_map(METER)
    )
    entry = MockConfigEntry(domain=DOMAIN, title="Nowhere", data=entry_data(nothing))
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "cannot connect" in entry.reason
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_leaves_the_charger_safe(hass, loaded, sim):
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=8)
    assert sim.station.power_W() > 0
    assert await hass.config_entries.async_unload(loaded.entry_id)
    assert loaded.state is ConfigEntryState.NOT_LOADED
    sim.station.advance()
    assert sim.station.power_W() == 0
    assert state(hass, "sensor", "power") == STATE_UNAVAILABLE


async def test_simulator_mode_runs_the_simulator_inside_home_assistant(hass, socket_enabled):
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Try it",
        unique_id="sim",
        data={
            "mode": "simulator",
            "charger": {"map": "phoenix_ev_eth"},
            "meter": {"map": "abb_b23"},
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    simulator = entry.runtime_data.simulator
    assert simulator is not None
    simulator.station.plug_in()
    await entry.runtime_data.manager.poll_now()
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    plugged = registry.async_get_entity_id("binary_sensor", DOMAIN, "sim_plugged_in")
    assert hass.states.get(plugged).state == "on"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_entry_whose_map_is_gone_fails_with_a_clear_error(hass, sim):
    data = entry_data(sim.simulator)
    data["charger"]["map"] = "retired_wallbox"
    entry = MockConfigEntry(domain=DOMAIN, title="Old", data=data)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "unknown device map 'retired_wallbox'" in entry.reason
