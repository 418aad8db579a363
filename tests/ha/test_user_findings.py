"""What a user hit on a real instance (issue 10, section 2), each inside Home Assistant
against the simulator over Modbus TCP."""

from __future__ import annotations

import json

import voluptuous_serialize
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import config_validation as cv
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.evse_manager.const import DOMAIN
from custom_components.evse_manager.controller.simulator import free_port

from .conftest import entry_data

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
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
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
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert SECRET not in shown(result)
    assert "evse-user" in shown(result)  # the username is no secret to its owner
    mqtt = {"mqtt_host": entry.options["mqtt_host"], "mqtt_port": entry.options["mqtt_port"]}
    base = {"poll_interval_s": 60, "phases": "auto", "free_charging": True, "solar": {}}
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
