"""Bridge settings: the ``mqtt:`` section of the controller configuration, validated."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol

from .telemetry import TELEMETRY_SCHEMA, TelemetrySettings


def _topic_root(value: Any) -> str:
    """A topic prefix must be usable in subscriptions, so no wildcards and no empty levels."""
    text = str(value).strip("/")
    if not text or any(c in text for c in "+#\0") or "//" in text:
        raise vol.Invalid(f"invalid topic prefix {value!r}")
    return text


_OPTIONAL_STR = vol.Any(None, vol.Coerce(str))
_SECONDS = vol.All(vol.Coerce(float), vol.Range(min=0.01))

MQTT_SCHEMA = vol.Schema(
    {
        vol.Required("host"): vol.Coerce(str),
        vol.Optional("port", default=1883): vol.All(vol.Coerce(int), vol.Range(min=1, max=65535)),
        vol.Optional("username", default=None): _OPTIONAL_STR,
        vol.Optional("password", default=None): _OPTIONAL_STR,
        vol.Optional("tls", default=False): vol.Boolean(),
        vol.Optional("ca_file", default=None): _OPTIONAL_STR,
        vol.Optional("certfile", default=None): _OPTIONAL_STR,
        vol.Optional("keyfile", default=None): _OPTIONAL_STR,
        vol.Optional("client_id", default=None): _OPTIONAL_STR,
        vol.Optional("base_topic", default="evse_manager"): _topic_root,
        vol.Optional("discovery", default=True): vol.Boolean(),
        vol.Optional("discovery_prefix", default="homeassistant"): _topic_root,
        vol.Optional("queue_size", default=1000): vol.All(vol.Coerce(int), vol.Range(min=1)),
        vol.Optional("max_inflight", default=100): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=65535)
        ),
        vol.Optional("telemetry", default={}): vol.All(
            TELEMETRY_SCHEMA, TelemetrySettings.from_config
        ),
        vol.Optional("reconnect_min_s", default=1.0): _SECONDS,
        vol.Optional("reconnect_max_s", default=60.0): _SECONDS,
    }
)


@dataclass(frozen=True, kw_only=True)
class MqttSettings:
    """Validated bridge settings (build them with ``MqttSettings(**MQTT_SCHEMA(data))``)."""

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    client_id: str | None = None
    base_topic: str = "evse_manager"
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    queue_size: int = 1000
    max_inflight: int = 100  # publishes handed to the broker and not yet confirmed
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context, or None for plain TCP; a client certificate when one is given."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.certfile is not None:
            context.load_cert_chain(self.certfile, self.keyfile)
        return context
