"""The ``csms`` section: which backend we report to, as which charge point, how often.

``url`` is the backend's OCPP-J endpoint; the charge point id is appended as the last
path segment (OCPP-J 1.6 §3.1.1, 2.0.1 part 4 §3.2: ``<url>/<charge point id>``).
``password`` logs in with HTTP Basic ``<id>:<password>`` (security profile 1, or 2 over
``wss://``). ``connectors`` maps our connector names to OCPP connector ids (1.6) / EVSE
ids (2.0.1); without it the connectors are numbered 1, 2, ... in configuration order.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol

from ..settings import _CP_ID

VERSIONS = ("1.6", "2.0.1")

CSMS_SCHEMA = vol.Schema(
    {
        vol.Required("url"): vol.All(str, vol.Match(r"^wss?://[^\s/?#]+(/[^\s?#]*)?$")),
        vol.Required("charge_point_id"): _CP_ID,
        vol.Optional("version", default="1.6"): vol.All(vol.Coerce(str), vol.In(VERSIONS)),
        vol.Optional("password"): vol.All(str, vol.Length(min=8, max=64)),
        vol.Optional("cafile"): vol.All(str, vol.Length(min=1)),
        vol.Optional("vendor"): vol.All(str, vol.Length(min=1, max=20)),
        vol.Optional("model"): vol.All(str, vol.Length(min=1, max=20)),
        vol.Optional("connectors"): vol.All(
            {str: vol.All(int, vol.Range(min=1, max=99))}, vol.Length(min=1)
        ),
        # Used until the CSMS answers the BootNotification with its own interval.
        vol.Optional("heartbeat_interval_s", default=300): vol.All(
            int, vol.Range(min=1, max=86400)
        ),
        vol.Optional("meter_interval_s", default=60): vol.All(int, vol.Range(min=0, max=3600)),
        vol.Optional("response_timeout_s", default=30): vol.All(
            vol.Coerce(float), vol.Range(min=0.1, max=300)
        ),
        vol.Optional("reconnect_min_s", default=1.0): vol.All(
            vol.Coerce(float), vol.Range(min=0.01, max=600)
        ),
        vol.Optional("reconnect_max_s", default=60.0): vol.All(
            vol.Coerce(float), vol.Range(min=0.01, max=3600)
        ),
        # OCPP 1.6 TransactionMessageAttempts: a message the CSMS answers with a
        # CALLERROR is tried this often, then dropped (an answer was given).
        vol.Optional("transaction_message_attempts", default=3): vol.All(
            int, vol.Range(min=1, max=100)
        ),
    }
)


@dataclass(frozen=True, kw_only=True)
class CsmsSettings:
    """The validated ``csms`` section."""

    url: str
    charge_point_id: str
    version: str = "1.6"
    password: str | None = None
    cafile: str | None = None
    vendor: str | None = None
    model: str | None = None
    connectors: Mapping[str, int] = field(default_factory=dict)  # our name -> OCPP id
    heartbeat_interval_s: int = 300
    meter_interval_s: int = 60  # 0: no MeterValues during a transaction
    response_timeout_s: float = 30.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    transaction_message_attempts: int = 3

    @property
    def endpoint(self) -> str:
        """The URL we connect to: the backend's plus our charge point id."""
        return f"{self.url.rstrip('/')}/{self.charge_point_id}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """For ``wss://``: the system's CAs, or ``cafile``'s (a private CSMS)."""
        if not self.url.startswith("wss://"):
            return None
        return ssl.create_default_context(cafile=self.cafile)


def csms_settings(data: Mapping[str, Any], connectors: Sequence[str]) -> CsmsSettings:
    """The section validated against the configured connector names (vol.Invalid or
    ValueError name what is wrong)."""
    c = CSMS_SCHEMA(dict(data))
    mapping: dict[str, int] = dict(c.pop("connectors", None) or {})
    if not mapping:
        mapping = {name: index for index, name in enumerate(connectors, start=1)}
    unknown = sorted(set(mapping) - set(connectors))
    if unknown:
        raise ValueError(f"connectors: {', '.join(unknown)} not configured")
    if len(set(mapping.values())) != len(mapping):
        raise ValueError("connectors: each OCPP connector id once")
    if c["reconnect_min_s"] > c["reconnect_max_s"]:
        raise ValueError("reconnect_min_s is above reconnect_max_s")
    settings = CsmsSettings(connectors=mapping, **c)
    settings.ssl_context()  # a cafile that cannot be read fails here, at --check
    return settings
