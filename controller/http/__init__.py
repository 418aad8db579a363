"""Local HTTP API: REST for state, history and commands, a WebSocket for live updates.

A thin adapter over ``EvseManager`` and ``controller.commands``: it holds no state of its
own, so every interface (MQTT, HTTP, Home Assistant) sees and changes the same connector.
"""

from .api import HttpApi
from .settings import HTTP_SCHEMA, HttpSettings

__all__ = ["HTTP_SCHEMA", "HttpApi", "HttpSettings"]
