"""Home Assistant MQTT discovery built from ``controller.catalog``.

One device-based discovery message per connector lists every catalog entity as a
component, so Home Assistant shows the same entities as the native integration without
a second table. States come pre-rendered on their own topics (``state_payload``), so the
discovery needs no templates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..catalog import (
    BINARY_SENSOR,
    BUTTON,
    EVENT,
    NUMBER,
    SELECT,
    SENSOR,
    SWITCH,
    EntitySpec,
    entities,
)
from ..everest.model import dump
from ..ports import ChargerInfo
from .topics import Topics

ON = "ON"
OFF = "OFF"
PRESS = "PRESS"
# Home Assistant's MQTT platforms read this payload as "unknown".
NONE = "None"
ORIGIN = "evse_manager"
STATEFUL = (SENSOR, BINARY_SENSOR, SWITCH, NUMBER, SELECT)


def state_payload(spec: EntitySpec, value: Any) -> str:
    """The state topic payload of ``spec`` for ``value`` (from ``spec.value(vars)``)."""
    value = dump(value)
    if value is None:
        return NONE
    if spec.platform in (BINARY_SENSOR, SWITCH):
        return ON if value else OFF
    if isinstance(value, bool):
        return ON if value else OFF
    if isinstance(value, str):
        return value
    return json.dumps(value)


def states(connector: str, values: Mapping[str, Any], topics: Topics) -> dict[str, str]:
    """State topic -> payload for every stateful catalog entity of one connector."""
    return {
        topics.state(connector, spec.key): state_payload(spec, spec.value(values))
        for spec in entities(values=values)
        if spec.platform in STATEFUL
    }


def event_payload(event: Any) -> dict[str, Any]:
    """What the event entity receives: the SessionEvent JSON plus HA's ``event_type``."""
    data = dump(event)
    body = dict(data) if isinstance(data, Mapping) else {"value": data}
    return {"event_type": body.get("event"), **body}


def device(connector: str, info: ChargerInfo | None, topics: Topics) -> dict[str, Any]:
    """The device block: identity from what the charge controller reported at connect."""
    dev: dict[str, Any] = {"identifiers": [topics.node(connector)], "name": connector}
    if info is not None:
        dev.update(
            manufacturer=info.vendor or None,
            model=info.model or None,
            sw_version=info.firmware,
            serial_number=info.serial,
        )
    return {k: v for k, v in dev.items() if v is not None}


def component(
    spec: EntitySpec, connector: str, values: Mapping[str, Any], topics: Topics
) -> dict[str, Any]:
    """One entity's discovery options (unset options are left out, HA's defaults apply)."""
    node = topics.node(connector)
    cmp: dict[str, Any] = {
        "p": spec.platform,
        "unique_id": f"{node}_{spec.key}",
        "object_id": f"{node}_{spec.key}",
        "name": spec.name,
        "device_class": spec.device_class,
        "entity_category": spec.category,
        "icon": spec.icon,
    }
    if not spec.enabled_default:
        cmp["enabled_by_default"] = False
    if spec.platform in STATEFUL:
        cmp["state_topic"] = topics.state(connector, spec.key)
    if spec.platform in (SENSOR, NUMBER):
        cmp["unit_of_measurement"] = spec.unit
    if spec.platform == SENSOR:
        cmp["state_class"] = spec.state_class
        cmp["suggested_display_precision"] = spec.precision  # as the integration's sensors
        if spec.device_class == "enum" and spec.options:
            cmp["options"] = list(spec.options)
    if spec.command is not None:
        cmp["command_topic"] = topics.control(connector, spec.key)
    cmp.update(_platform_extras(spec, connector, values, topics))
    return {k: v for k, v in cmp.items() if v is not None}


def _platform_extras(
    spec: EntitySpec, connector: str, values: Mapping[str, Any], topics: Topics
) -> dict[str, Any]:
    if spec.platform == SWITCH:
        return {"payload_on": ON, "payload_off": OFF}
    if spec.platform == BUTTON:
        return {"payload_press": PRESS}
    if spec.platform == NUMBER:
        return {
            "min": spec.min_value(values) if spec.min_value else None,
            "max": spec.max_value(values) if spec.max_value else None,
            "step": spec.step,
        }
    if spec.platform == SELECT:
        return {"options": list(spec.options or ())}
    if spec.platform == EVENT:
        return {
            "state_topic": topics.state(connector, spec.key),
            "event_types": list(spec.options or ()),
        }
    return {}


def config(
    connector: str, info: ChargerInfo | None, values: Mapping[str, Any], topics: Topics
) -> dict[str, Any]:
    """The retained device discovery payload of one connector.

    Availability requires both the bridge (``<base>/status``, the last will) and the
    connector's devices to be online, so HA marks entities unavailable in either case.
    """
    return {
        "dev": device(connector, info, topics),
        "o": {"name": ORIGIN},
        "cmps": {
            spec.key: component(spec, connector, values, topics) for spec in entities(values=values)
        },
        "availability": [
            {"topic": topics.status},
            {"topic": topics.availability(connector)},
        ],
        "availability_mode": "all",
    }
