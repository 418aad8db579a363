"""Our discovery inside a real Home Assistant, through its own MQTT integration."""

from __future__ import annotations

import asyncio

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from controller.catalog import entities
from controller.mqtt import MqttBridge

from .conftest import peer, running, settings

POLLS = 200


async def _settle(hass: HomeAssistant, condition) -> None:
    """Let HA and the bridge work until ``condition()`` holds (bounded)."""
    for _ in range(POLLS):
        if condition():
            return
        await asyncio.sleep(0.05)
        await hass.async_block_till_done()
    raise AssertionError("Home Assistant did not get there in time")


def _entity(hass: HomeAssistant, platform: str, key: str) -> str | None:
    unique_id = f"evse_manager_evse1_{key}"
    return er.async_get(hass).async_get_entity_id(platform, "mqtt", unique_id)


def _mqtt_entities(hass: HomeAssistant) -> list[er.RegistryEntry]:
    return [e for e in er.async_get(hass).entities.values() if e.platform == "mqtt"]


async def test_home_assistant_builds_entities_and_switch_reaches_kernel(
    hass, mock_hass_config, mosquitto, socket_enabled, rig
):
    await rig.start_charging()
    entry = MockConfigEntry(
        domain="mqtt",
        data={"broker": "127.0.0.1", "port": mosquitto.port, "birth_message": {}},
    )
    entry.add_to_hass(hass)
    bridge = MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))
    async with running(bridge):
        assert await hass.config_entries.async_setup(entry.entry_id)
        try:
            power = enabled = None

            def ready() -> bool:
                nonlocal power, enabled
                power = _entity(hass, "sensor", "power")
                enabled = _entity(hass, "switch", "enabled")
                return (
                    power is not None
                    and enabled is not None
                    and hass.states.get(power) is not None
                    and hass.states.get(power).state == "11040.0"
                    and hass.states.get(enabled).state == "on"
                )

            await _settle(hass, ready)
            assert power is not None
            assert enabled is not None
            assert hass.states.get(power).attributes["unit_of_measurement"] == "W"
            # Every catalog entity was accepted (an invalid component would be missing).
            await _settle(hass, lambda: len(_mqtt_entities(hass)) == len(entities(values={})))
            assert {e.unique_id for e in _mqtt_entities(hass)} == {
                f"evse_manager_evse1_{e.key}" for e in entities(values={})
            }
            energy = er.async_get(hass).async_get(_entity(hass, "sensor", "energy"))
            assert energy.options["sensor"]["suggested_display_precision"] == 2
            charging = _entity(hass, "binary_sensor", "charging")
            assert charging is not None
            assert hass.states.get(charging).state == "on"
            device = dr.async_get(hass).async_get_device({("mqtt", "evse_manager_evse1")})
            assert device is not None
            assert device.manufacturer == "Simulated"
            assert device.serial_number == "SIM-0001"

            async with peer(mosquitto.port, "evse_manager/evse1/set_result/enabled") as other:
                await hass.services.async_call(
                    "switch", "turn_off", {"entity_id": enabled}, blocking=True
                )
                await _settle(hass, lambda: hass.states.get(enabled).state == "off")
                result = await other.wait_for("evse_manager/evse1/set_result/enabled")
            assert rig.manager.vars()["enabled"] is False
            assert result[0].json()["ok"] is True
        finally:
            assert await hass.config_entries.async_unload(entry.entry_id)
