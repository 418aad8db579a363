"""Configuration of OCPP connectors and of the central system they connect to.

A connector's charger is ``{kind: ocpp, charge_point_id: ..., connector_id: 1,
password: ..., reservation_expiry_s: 3600}``; the top-level ``ocpp`` section says where
the central system listens (``host``, ``port``, TLS ``certfile`` / ``keyfile``) and how
often the chargers report.
Validated here without the ``ocpp`` package, so ``--check`` needs nothing more.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import voluptuous as vol

# A charge point id ends the WebSocket URL: printable, no slash (OCPP 1.6 CiString20 is
# the ChargeBoxIdentity in the BootNotification; 2.0.1 allows 48 characters).
_CP_ID = vol.All(str, vol.Length(min=1, max=48), vol.Match(r"^[^/\s?#%]+$"))

OCPP_CHARGER_SCHEMA = vol.Schema(
    {
        vol.Required("kind"): "ocpp",
        vol.Required("charge_point_id"): _CP_ID,
        vol.Optional("connector_id", default=1): vol.All(int, vol.Range(min=1, max=99)),
        vol.Optional("password"): vol.All(str, vol.Length(min=8, max=64)),
        vol.Optional("id_tag", default="evse_manager"): vol.All(str, vol.Length(min=1, max=20)),
        # How long a ReserveNow holds at the wallbox (renewed half-way while reserved).
        vol.Optional("reservation_expiry_s", default=3600): vol.All(
            vol.Coerce(float), vol.Range(min=60, max=86400)
        ),
        # For a charger whose messages break the OCPP JSON schema (extra fields, ...).
        vol.Optional("skip_schema_validation", default=False): bool,
    }
)

OCPP_SCHEMA = vol.Schema(
    {
        vol.Optional("host", default="0.0.0.0"): vol.All(str, vol.Length(min=1, max=253)),
        vol.Optional("port", default=8887): vol.All(int, vol.Range(min=1, max=65535)),
        vol.Optional("certfile"): vol.All(str, vol.Length(min=1)),
        vol.Optional("keyfile"): vol.All(str, vol.Length(min=1)),
        vol.Optional("heartbeat_interval_s", default=300): vol.All(
            int, vol.Range(min=10, max=86400)
        ),
        vol.Optional("meter_interval_s", default=10): vol.All(int, vol.Range(min=1, max=3600)),
    }
)


def is_ocpp_charger(value: Any) -> bool:
    """Whether a connector's ``charger`` entry is an OCPP one."""
    return isinstance(value, Mapping) and value.get("kind") == "ocpp"


@dataclass(frozen=True, kw_only=True)
class OcppChargerConfig:
    """Which OCPP connector drives a connector of ours."""

    charge_point_id: str
    connector_id: int = 1
    password: str | None = None
    id_tag: str = "evse_manager"
    skip_schema_validation: bool = False
    reservation_expiry_s: float = 3600.0


def charger_config(data: Mapping[str, Any]) -> OcppChargerConfig:
    """A validated ``charger`` entry of kind ocpp."""
    c = OCPP_CHARGER_SCHEMA(dict(data))
    return OcppChargerConfig(
        charge_point_id=c["charge_point_id"],
        connector_id=c["connector_id"],
        password=c.get("password"),
        id_tag=c["id_tag"],
        skip_schema_validation=c["skip_schema_validation"],
        reservation_expiry_s=c["reservation_expiry_s"],
    )


def ssl_context(settings: Mapping[str, Any]) -> ssl.SSLContext | None:
    """A server TLS context from ``certfile`` (+ ``keyfile``), None without one; raises
    OSError / ValueError for unreadable files (``--check`` reports it)."""
    certfile = settings.get("certfile")
    if certfile is None:
        if settings.get("keyfile") is not None:
            raise ValueError("keyfile needs certfile")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, settings.get("keyfile"))
    return context
