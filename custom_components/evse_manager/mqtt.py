"""Optionally, the controller's own MQTT bridge from inside Home Assistant: the same topics,
commands and (if wanted) discovery as the standalone controller, for Node-RED, evcc or
another Home Assistant. Discovery is off by default: this Home Assistant already has the
entities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .const import (
    CONF_MQTT_BASE_TOPIC,
    CONF_MQTT_DISCOVERY,
    CONF_MQTT_HOST,
    CONF_MQTT_PASSWORD,
    CONF_MQTT_PORT,
    CONF_MQTT_USERNAME,
    MQTT_CONNECTOR,
)
from .controller.manager import EvseManager
from .controller.mqtt import MQTT_SCHEMA, MqttBridge, MqttSettings


def default_base_topic(slug: str) -> str:
    """One base per entry, so several chargers never share a status topic."""
    return f"evse_manager/{slug}"


def mqtt_settings(entry_id: str, slug: str, options: Mapping[str, Any]) -> MqttSettings:
    """The bridge settings from an entry's options (raises vol.Invalid when invalid)."""
    data: dict[str, Any] = {
        "host": options[CONF_MQTT_HOST],
        "port": options.get(CONF_MQTT_PORT, 1883),
        "username": options.get(CONF_MQTT_USERNAME) or None,
        "password": options.get(CONF_MQTT_PASSWORD) or None,
        "base_topic": options.get(CONF_MQTT_BASE_TOPIC) or default_base_topic(slug),
        "discovery": options.get(CONF_MQTT_DISCOVERY, False),
        "client_id": f"evse_manager_{entry_id}",
    }
    return MqttSettings(**MQTT_SCHEMA(data))


def mqtt_bridge(manager: EvseManager, settings: MqttSettings) -> MqttBridge:
    """The bridge of one connector (not started)."""
    return MqttBridge({MQTT_CONNECTOR: manager}, settings)
