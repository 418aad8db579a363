"""Diagnostics: the entry, the charger's identity, every variable and recent sessions,
with tokens, serials, hosts and logins redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from . import EvseConfigEntry
from .controller.everest.model import dump

TO_REDACT = {
    "host",
    "serial_port",
    "serial",
    "serial_number",
    "id_tag",
    "id_tags",  # the RFID cards an entry accepts
    "id_token",
    "value_id",
}
# The MQTT login and broker (options), and anything else a bridge or API could hold.
SECRETS = {
    "mqtt_host",
    "mqtt_username",
    "mqtt_password",
    "csms_url",  # the charging backend's address and login (options)
    "csms_password",
    "username",
    "password",
    "token",
    "keyfile",
    "certfile",
    "ca_file",
}
TOKEN_KEYS = {"id_token", "parent_id_token", "id_tag", "evse_id", "certificate"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvseConfigEntry
) -> dict[str, Any]:
    """What a bug report needs, nothing that identifies a user or a card."""
    manager = entry.runtime_data.manager
    info = manager.charger_info
    return async_redact_data(
        {
            "entry": {"data": dict(entry.data), "options": dict(entry.options)},
            "available": manager.available,
            "charger": dump(asdict(info)) if info is not None else None,
            "vars": {name: dump(value) for name, value in manager.vars().items()},
            "sessions": [dump(record) for record in manager.history(5)],
        },
        TO_REDACT | TOKEN_KEYS | SECRETS,
    )
