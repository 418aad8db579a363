"""What a user hit on a real instance (issue 10, section 2), each inside Home Assistant
against the simulator over Modbus TCP."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta

import pytest
import voluptuous_serialize
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.evse_manager import connector as connector_module
from custom_components.evse_manager.const import DOMAIN
from custom_components.evse_manager.controller.catalog import ENERGY_ENTITIES, entities
from custom_components.evse_manager.controller.clock import ManualClock
from custom_components.evse_manager.controller.modbus.maps import load_map
from custom_components.evse_manager.controller.simulation import SimulatedStation
from custom_components.evse_manager.controller.simulator import ModbusSimulator, free_port
from custom_components.evse_manager.controller.simulator.scenarios import power_ready

from .conftest import CHARGER, METER, call, entry_data, poll, set_up, solar_entry

SECRET = "s3cret-pw"
LOGIN = {
    "mqtt_username": "evse-user",
    "mqtt_password": SECRET,
    "mqtt_base_topic": "evse_manager/garage",
    "mqtt_discovery": False,
}


def mqtt_entry(sim) -> MockConfigEntry:
    """An entry whose MQTT bridge has a login (the broker is not there: it retries)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Garage",
        unique_id="garage-wallbox",
        data=entry_data(sim.simulator),
        options={
            "poll_interval_s": 60.0,
            "mqtt_host": "127.0.0.1",  # nothing listens on the port: it retries
            "mqtt_port": free_port(),
            **LOGIN,
        },
    )


async def test_diagnostics_redact_the_mqtt_login_and_broker(hass, hass_client, sim):
    entry = mqtt_entry(sim)
    await set_up(hass, entry)
    text = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, entry))
    for secret in (SECRET, "evse-user", "127.0.0.1"):
        assert secret not in text
    await hass.config_entries.async_unload(entry.entry_id)


def shown(result) -> str:
    """The form as the browser receives it."""
    schema = voluptuous_serialize.convert(
        result["data_schema"], custom_serializer=cv.custom_serializer
    )
    return json.dumps(schema)


async def test_options_form_never_sends_the_password_and_keeps_it(hass, sim):
    entry = mqtt_entry(sim)
    await set_up(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert SECRET not in shown(result)
    assert "evse-user" in shown(result)  # the username is no secret to its owner
    mqtt = {"mqtt_host": entry.options["mqtt_host"], "mqtt_port": entry.options["mqtt_port"]}
    base = {
        "poll_interval_s": 60,
        "phases": "auto",
        "free_charging": True,
        "solar": {},
        "csms": {},
    }
    form = {**base, "mqtt": {**mqtt, **LOGIN, "mqtt_password": ""}}
    result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["mqtt_password"] == SECRET  # empty field: the stored one stays
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert SECRET not in shown(result)
    without_login = {k: v for k, v in LOGIN.items() if k not in ("mqtt_username", "mqtt_password")}
    form = {**base, "mqtt": {**mqtt, **without_login}}
    result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    await hass.async_block_till_done()
    assert "mqtt_password" not in entry.options  # no username: the login is removed
    assert "mqtt_username" not in entry.options
    await hass.config_entries.async_unload(entry.entry_id)


def vote(connector_id: int, state: str = "Disable") -> dict:
    source = {"enable_source": "LocalAPI", "enable_state": state, "enable_priority": 5}
    return {"connector_id": connector_id, "cmd_source": source}


async def test_enable_disable_refuses_a_connector_the_evse_does_not_have(hass, loaded):
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, loaded, "enable_disable", response=True, **vote(5))
    assert "connector_id 5" in err.value.translation_placeholders["error"]
    assert loaded.runtime_data.manager.vars()["enabled"] is True  # nothing happened
    with pytest.raises(ServiceValidationError):
        await call(hass, loaded, "force_unlock", response=True, connector_id=2)
    for known in (0, 1):  # the whole EVSE and its one connector
        result = await call(hass, loaded, "enable_disable", response=True, **vote(known, "Enable"))
        assert result == {"result": True}


async def test_simulate_ev_refuses_an_empty_scenario_and_a_new_one_replaces_the_old(
    hass, socket_enabled
):
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Try it",
        unique_id="sim-ev",
        data={"mode": "simulator", "charger": {"map": CHARGER}, "meter": {"map": METER}},
        options={"poll_interval_s": 60.0},
    )
    await set_up(hass, entry)
    try:
        for empty in ("", " ; ;"):
            with pytest.raises(ServiceValidationError) as err:
                await call(hass, entry, "simulate_ev", scenario=empty)
            assert err.value.translation_key == "invalid_scenario"
            assert "no commands" in err.value.translation_placeholders["error"]
        await call(hass, entry, "simulate_ev", scenario="plugin;sleep 3600;unplug")
        first = entry.runtime_data.scenario
        await call(hass, entry, "simulate_ev", scenario="sleep 3600;plugin")
        with contextlib.suppress(asyncio.CancelledError):
            await first  # cancelled: its unplug will never cut into the new scenario
        assert first.cancelled()
        assert entry.runtime_data.scenario is not first
        assert not entry.runtime_data.scenario.done()
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def test_each_entry_has_its_own_evse_id_and_log_name(hass, sim, caplog):
    entries = [
        MockConfigEntry(
            domain=DOMAIN,
            title=title,
            unique_id=title.lower(),
            data=entry_data(sim.simulator),
            options={"poll_interval_s": 60.0},
        )
        for title in ("Garage", "Carport")
    ]
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)

    def evse_id(entry) -> str:
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_evse_id")
        return hass.states.get(entity_id).state

    ids = [evse_id(e) for e in entries]
    assert len(set(ids)) == 2
    await hass.config_entries.async_reload(entries[0].entry_id)
    await hass.async_block_till_done()
    assert evse_id(entries[0]) == ids[0]  # stable across a restart of the entry
    await sim.simulator.cut_link()
    for entry in entries:
        await poll(hass, entry, sim)
    assert "Garage: charger unreachable" in caplog.text
    assert "Carport: charger unreachable" in caplog.text
    assert "evse1:" not in caplog.text
    await sim.simulator.restore_link()
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)


async def test_modbus_flow_refuses_a_unit_id_where_the_charger_is_silent(hass, socket_enabled):
    """An Alfen answers its identity on unit 200 whatever unit the socket is: the probe
    must read what charging needs at the unit given, or a wrong one is saved."""
    simulator = ModbusSimulator(
        SimulatedStation(clock=ManualClock()), load_map("alfen_eve"), load_map(METER)
    )
    await simulator.start()
    try:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "modbus"}
        )
        form = {
            "name": "Alfen",
            "map": "alfen_eve",
            "kind": "tcp",
            "host": "127.0.0.1",
            "port": simulator.port,
            "meter_map": "charger",
        }
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**form, "unit": 77}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "cannot_connect"}
        error = result["description_placeholders"]["error"]
        assert "unit 77" in error
        assert "exception_code=11" in error  # as a gateway answers for a unit it lacks
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**form, "unit": 1}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        assert entry.state is ConfigEntryState.LOADED
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulator.stop()


async def test_stopping_home_assistant_stops_charging(hass, loaded, sim):
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=8)
    assert power_ready(sim.station)
    assert sim.station.power_W() > 10_000
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)  # HA stops without unloading entries
    await hass.async_block_till_done()
    sim.station.advance()
    assert not power_ready(sim.station)  # no PWM offer: the EV cannot draw
    assert not sim.station.output.enabled  # relays open
    assert sim.station.power_W() == 0


async def test_removing_the_grid_sensor_removes_the_energy_manager_entities(hass, sim):
    entry = await solar_entry(hass, sim)
    registry = er.async_get(hass)

    def keys() -> set[str]:
        found = er.async_entries_for_config_entry(registry, entry.entry_id)
        return {e.unique_id.removeprefix("solar_") for e in found}

    energy_keys = {s.key for s in ENERGY_ENTITIES}
    assert energy_keys <= keys()
    hass.config_entries.async_update_entry(entry, options={"poll_interval_s": 60.0})
    await hass.async_block_till_done()  # the options listener reloads the entry
    assert entry.state is ConfigEntryState.LOADED
    assert keys() == {s.key for s in entities(values={})}
    assert not keys() & energy_keys
    unavailable = [s for s in hass.states.async_all() if s.state == STATE_UNAVAILABLE]
    assert unavailable == []
    await hass.config_entries.async_unload(entry.entry_id)


def entity(hass, entry, platform: str, key: str):
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{entry.unique_id}_{key}")
    assert entity_id is not None, key
    return hass.states.get(entity_id)


async def set_number(hass, entry, key: str, value: float) -> None:
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": entity(hass, entry, "number", key).entity_id, "value": value},
        blocking=True,
    )
    await hass.async_block_till_done()


async def test_maximum_current_survives_a_restart(hass, loaded, sim):
    assert float(entity(hass, loaded, "number", "max_current").state) == 16
    await set_number(hass, loaded, "max_current", 10)
    assert float(entity(hass, loaded, "number", "max_current").state) == 10
    await hass.config_entries.async_reload(loaded.entry_id)  # as at a restart
    await hass.async_block_till_done()
    assert float(entity(hass, loaded, "number", "max_current").state) == 10
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=8)
    assert sim.simulator.charger.setpoint_A == 10  # what the charger offers
    assert float(entity(hass, loaded, "sensor", "current_limit").state) == 10


@pytest.fixture
async def on_sim_time(hass, entry, sim, monkeypatch):
    """The entry set up with its controller on the simulator's ManualClock (time is the
    one edge a test must own: valid_for runs on the controller's clock)."""
    real = connector_module.open_connector
    monkeypatch.setattr(
        connector_module,
        "open_connector",
        lambda config, registry, store: real(config, registry, store, sim.clock),
    )
    await set_up(hass, entry)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


async def test_an_expired_enforced_limit_shows_and_ends_with_its_session(hass, on_sim_time, sim):
    loaded = on_sim_time
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=8)
    limits = {
        "uuid": "evse_manager",  # the connector's own (its limits variable)
        "valid_for": 60,
        "limits_root_side": {"ac_max_current_A": {"value": 8, "source": "solar"}},
    }
    await call(hass, loaded, "enforce_limits", value=limits)
    await poll(hass, loaded, sim, steps=2)
    assert float(entity(hass, loaded, "sensor", "enforced_limit").state) == 8
    assert sim.simulator.charger.setpoint_A == 8
    await poll(hass, loaded, sim, seconds=61)
    await poll(hass, loaded, sim, steps=2)
    # Expired: EVerest stops the power, and the entities say so.
    assert float(entity(hass, loaded, "sensor", "enforced_limit").state) == 0
    assert entity(hass, loaded, "sensor", "enforced_limit_source").state == "expired"
    assert float(entity(hass, loaded, "sensor", "current_limit").state) == 0
    assert sim.station.power_W() == 0
    assert float(entity(hass, loaded, "number", "max_current").state) == 16  # unchanged
    sim.station.unplug()
    await poll(hass, loaded, sim, steps=3)
    assert entity(hass, loaded, "sensor", "enforced_limit").state == "unknown"  # no limit
    sim.station.plug_in()  # the next session is not held by the expired limit
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=8)
    assert entity(hass, loaded, "sensor", "state").state == "charging"
    assert sim.simulator.charger.setpoint_A == 16


async def test_the_energy_manager_stays_under_the_maximum_current(hass, sim, freezer):
    entry = await solar_entry(hass, sim)
    try:
        energy = entry.runtime_data.energy

        def due() -> None:
            """Resend the limits at the next step (as after its refresh interval), so a
            number the energy manager overwrote would show at once."""
            for control in energy.connectors.values():
                control.sent_at = -1e18

        sim.station.plug_in()
        sim.station.draw_power(16.0, 3)
        await call(hass, entry, "set_charge_mode", mode="fast")
        await energy.step()
        await poll(hass, entry, sim, steps=8)
        assert sim.simulator.charger.setpoint_A == 16
        await set_number(hass, entry, "max_current", 10)
        for _ in range(3):  # the energy manager keeps deciding: it must not undo the number
            due()
            freezer.tick(5)  # Charger.cpp: the PWM changes at most every 5 s while charging
            await energy.step()
            await poll(hass, entry, sim, seconds=6)
        assert float(entity(hass, entry, "number", "max_current").state) == 10
        assert sim.simulator.charger.setpoint_A == 10
        assert float(entity(hass, entry, "sensor", "enforced_limit").state) == 10
        assert entity(hass, entry, "sensor", "energy_limited_by").state == "max_current"
    finally:
        await hass.config_entries.async_unload(entry.entry_id)


async def test_energy_durations_and_errors_show_as_a_user_reads_them(hass, loaded, sim):
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=8)
    await poll(hass, loaded, sim, seconds=5, steps=60)
    registry = er.async_get(hass)
    for key in ("energy", "session_energy", "last_session_energy"):
        state = entity(hass, loaded, "sensor", key)
        assert state.attributes["unit_of_measurement"] == "kWh", key
        options = registry.async_get(state.entity_id).options["sensor"]
        assert options["suggested_display_precision"] == 2, key
    energy = entity(hass, loaded, "sensor", "session_energy")
    assert float(energy.state) == pytest.approx(sim.station.energy_Wh / 1000, abs=0.01)
    # Per session: no state class, so the Energy dashboard offers only the Energy counter.
    assert "state_class" not in energy.attributes
    assert entity(hass, loaded, "sensor", "energy").attributes["state_class"] == "total_increasing"
    duration = entity(hass, loaded, "sensor", "session_duration")
    assert duration.attributes["device_class"] == "duration"
    assert duration.attributes["unit_of_measurement"] == "min"
    error = entity(hass, loaded, "sensor", "error")
    assert error.state == "no_error"
    assert error.attributes["device_class"] == "enum"
    assert "diode_fault" in error.attributes["options"]
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, loaded.unique_id)})
    assert device.sw_version == "100"  # the simulator's firmware revision, not "0.0"


async def test_energy_commands_without_an_energy_manager_speak_home_assistant(hass, loaded):
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, loaded, "set_charge_mode", mode="fast")
    assert err.value.translation_key == "no_energy_manager"
    assert "energy section" not in str(err.value)


async def test_flow_dropdowns_show_device_names(hass, socket_enabled):
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "modbus"}
    )
    fields = {
        f["name"]: f
        for f in voluptuous_serialize.convert(
            result["data_schema"], custom_serializer=cv.custom_serializer
        )
    }
    chargers = fields["map"]["selector"]["select"]["options"]
    assert {
        "value": "heidelberg_energy_control",
        "label": "Heidelberg Wallbox Energy Control",
    } in chargers
    meters = fields["meter_map"]["selector"]["select"]["options"]
    assert {"value": "eastron_sdm630", "label": "Eastron SDM630-Modbus"} in meters


async def test_surplus_timer_is_the_moment_it_fires(hass, sim):
    entry = await solar_entry(hass, sim, "-5000")
    try:
        sim.station.plug_in()
        sim.station.draw_power(16.0, 3)
        await poll(hass, entry, sim, steps=4)
        await call(hass, entry, "set_energy_settings", enable_delay_s=300)
        before = dt_util.utcnow()
        await entry.runtime_data.energy.step()
        await hass.async_block_till_done()
        timer = entity(hass, entry, "sensor", "energy_timer")
        assert timer.attributes["device_class"] == "timestamp"
        fires = dt_util.parse_datetime(timer.state)
        assert before + timedelta(seconds=298) <= fires <= dt_util.utcnow() + timedelta(seconds=301)
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
