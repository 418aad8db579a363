"""The ``http:`` configuration section.

The API can start and stop charging, so it refuses to run without a token unless it is
reachable from this machine only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import voluptuous as vol

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_EVENT_QUEUE = 1000


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (the only safe unauthenticated binds)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_auth(config: dict[str, Any]) -> dict[str, Any]:
    if config["allow_unauthenticated"]:
        if not is_loopback(config["host"]):
            raise vol.Invalid(
                f"allow_unauthenticated is only allowed when host is a loopback address "
                f"(127.0.0.1, ::1, localhost), not {config['host']!r}; set a token instead"
            )
    elif not config.get("token"):
        raise vol.Invalid("token is required (or allow_unauthenticated: true on a loopback host)")
    return config


HTTP_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional("host", default=DEFAULT_HOST): vol.All(str, vol.Length(min=1, max=253)),
            vol.Optional("port", default=DEFAULT_PORT): vol.All(int, vol.Range(min=0, max=65535)),
            vol.Optional("token"): vol.All(str, vol.Length(min=1)),
            vol.Optional("allow_unauthenticated", default=False): bool,
            vol.Optional("event_queue", default=DEFAULT_EVENT_QUEUE): vol.All(
                int, vol.Range(min=1)
            ),
        }
    ),
    _check_auth,
)


@dataclass(frozen=True)
class HttpSettings:
    """Validated ``http:`` settings (build with ``HttpSettings(**HTTP_SCHEMA(data))``).

    ``port`` 0 picks a free port (see ``HttpApi.port``); ``event_queue`` bounds how many
    updates a slow WebSocket client may fall behind before it is disconnected.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    allow_unauthenticated: bool = False
    event_queue: int = DEFAULT_EVENT_QUEUE
