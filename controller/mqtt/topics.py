"""Topic names in one place, so the bridge, discovery and tests cannot drift apart."""

from __future__ import annotations

import re
from dataclasses import dataclass

CMD = "cmd"
SET = "set"


def node_id(text: str) -> str:
    """Home Assistant accepts only ``[a-zA-Z0-9_-]`` in discovery node ids."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", text)


@dataclass(frozen=True)
class Route:
    """A parsed incoming topic: ``<base>/<connector>/<kind>/<name>``."""

    connector: str
    kind: str
    name: str


@dataclass(frozen=True)
class Topics:
    """Every topic of one bridge (see ``controller.mqtt`` for the layout)."""

    base: str
    discovery_prefix: str = "homeassistant"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def connectors(self) -> str:
        """Retained list of the connectors served, so a restart can retire removed ones."""
        return f"{self.base}/connectors"

    @property
    def ha_status(self) -> str:
        return f"{self.discovery_prefix}/status"

    @property
    def command_filter(self) -> str:
        return f"{self.base}/+/{CMD}/+"

    @property
    def set_filter(self) -> str:
        return f"{self.base}/+/{SET}/+"

    def var(self, connector: str, var: str) -> str:
        return f"{self.base}/{connector}/{var}"

    def state(self, connector: str, key: str) -> str:
        return f"{self.base}/{connector}/state/{key}"

    def availability(self, connector: str) -> str:
        return f"{self.base}/{connector}/availability"

    def command(self, connector: str, name: str) -> str:
        return f"{self.base}/{connector}/{CMD}/{name}"

    def control(self, connector: str, key: str) -> str:
        return f"{self.base}/{connector}/{SET}/{key}"

    def result(self, connector: str, name: str) -> str:
        return f"{self.base}/{connector}/result/{name}"

    def set_result(self, connector: str, key: str) -> str:
        return f"{self.base}/{connector}/set_result/{key}"

    def node(self, connector: str) -> str:
        return node_id(f"{self.base}_{connector}")

    def discovery(self, connector: str) -> str:
        return f"{self.discovery_prefix}/device/{self.node(connector)}/config"

    def parse(self, topic: str) -> Route | None:
        """The route of a command or control topic, or None for anything else."""
        prefix = f"{self.base}/"
        if not topic.startswith(prefix):
            return None
        parts = topic[len(prefix) :].split("/")
        if len(parts) != 3 or parts[1] not in (CMD, SET) or not parts[0] or not parts[2]:
            return None
        return Route(parts[0], parts[1], parts[2])
