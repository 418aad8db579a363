"""A connector of another controller process, seen through its MQTT topics.

When the energy manager runs as its own process (``python -m controller.energy``), it cannot
call the connectors' ``EvseManager`` objects: it reads what they publish (their kernel state,
meter sample and the user's maximum current, retained under ``<base>/<connector>/``) and sends
``enforce_limits`` to their command topic, as EVerest's EnergyManager module talks to its
EvseManagers over MQTT. ``RemoteConnector`` is that view; it satisfies the energy manager's
``ManagedConnector`` like an in-process ``EvseManager`` does.

Safety: a connector counts as running only while its controller process is online (its
``status`` topic, which the broker sets ``offline`` by last will when the process dies) and
the connector itself is available. While it is not, it has no state and no meter sample, so
the energy manager sends it nothing and counts whatever it still draws (the charger's
failsafe current) as household load read at the grid meter, never as a stale EV current.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import voluptuous as vol

from ..commands import parse_json
from ..everest import EnforcedLimits, ExternalLimits, Powermeter
from ..everest.model import dump
from ..kernel.states import State
from ..manager import EXTERNAL_LIMITS_VAR, MAX_CURRENT_VAR, EnergyControl
from ..store import SessionStore

_LOGGER = logging.getLogger(__name__)
ONLINE = "online"
STATE_VAR = "state"
POWERMETER_VAR = "powermeter"

Publish = Callable[[str, str, int, bool], None]  # topic, payload, qos, retain


@dataclass(frozen=True, kw_only=True)
class RemoteSettings:
    """What the energy process must be told of a connector's kernel configuration."""

    module_uuid: str = "evse_manager"
    request_zero_power_in_idle: bool = False


@dataclass(frozen=True, kw_only=True)
class RemoteTopics:
    """Where a connector of another process publishes, and where the energy process
    publishes about it (``energy_base``)."""

    base: str  # the controller process's MQTT base topic
    connector: str  # its connector name there
    energy_base: str  # this energy process's base topic
    name: str  # the connector's name in the energy process (unique across processes)

    def var(self, var: str) -> str:
        return f"{self.base}/{self.connector}/{var}"

    @property
    def status(self) -> str:
        """The controller process's own status (last will: offline)."""
        return f"{self.base}/status"

    @property
    def availability(self) -> str:
        return self.var("availability")

    @property
    def enforce_limits(self) -> str:
        return f"{self.base}/{self.connector}/cmd/enforce_limits"

    @property
    def enforce_result(self) -> str:
        return f"{self.base}/{self.connector}/result/enforce_limits"

    def own(self, var: str) -> str:
        """A variable this process publishes about the connector."""
        return f"{self.energy_base}/{self.name}/{var}"

    @property
    def subscriptions(self) -> tuple[str, ...]:
        return (
            self.status,
            self.availability,
            self.var(STATE_VAR),
            self.var(POWERMETER_VAR),
            self.var(MAX_CURRENT_VAR),
            self.var(EXTERNAL_LIMITS_VAR),
            self.enforce_result,
        )


class RemoteConnector:
    """One connector of another controller process, fed by ``on_message``."""

    def __init__(
        self,
        topics: RemoteTopics,
        publish: Publish,
        store: SessionStore,
        settings: RemoteSettings | None = None,
    ) -> None:
        self.topics = topics
        self.label = topics.name
        self.energy: EnergyControl | None = None
        self._config = settings or RemoteSettings()
        self._publish = publish
        self._store = store
        self._published: dict[str, str] = {}
        self._process_online = False
        self._available = False
        self._state: State | None = None
        self._vars: dict[str, Any] = {}
        self._ids = itertools.count(1)
        self._handlers: dict[str, Callable[[str], None]] = {
            topics.status: self._on_status,
            topics.availability: self._on_availability,
            topics.var(STATE_VAR): self._on_state,
            topics.var(POWERMETER_VAR): self._on_powermeter,
            topics.var(MAX_CURRENT_VAR): self._on_max_current,
            topics.var(EXTERNAL_LIMITS_VAR): self._on_external_limits,
            topics.enforce_result: self._on_enforce_result,
        }

    # ------------------------------------------------------------------ ManagedConnector

    @property
    def config(self) -> RemoteSettings:
        return self._config

    @property
    def running(self) -> bool:
        """Its process is online, the connector available and its state known."""
        return self._process_online and self._available and self._state is not None

    @property
    def state(self) -> State:
        if not self.running or self._state is None:
            raise RuntimeError(f"{self.label}: not running")
        return self._state

    def vars(self) -> dict[str, Any]:
        if not self.running:
            raise RuntimeError(f"{self.label}: not running")
        return dict(self._vars)

    def publish(self, var: str, value: Any) -> None:
        """The energy manager's explanation and settings, under this process's base;
        only on change, like ``EvseManager.publish``."""
        payload = json.dumps(dump(value))
        if self._published.get(var) != payload:
            self._published[var] = payload
            self._publish(self.topics.own(var), payload, 0, True)

    def save_setting(self, name: str, value: Any) -> None:
        self._store.save_setting(self.topics.name, name, value)

    def load_setting(self, name: str) -> Any:
        return self._store.load_setting(self.topics.name, name)

    async def set_enforced_limits(self, limits: EnforcedLimits) -> None:
        """Sent as the connector's ``enforce_limits`` command (QoS 1); its answer is
        checked in ``_on_enforce_result``."""
        request = {"id": f"energy-{next(self._ids)}", "args": {"value": dump(limits)}}
        self._publish(self.topics.enforce_limits, json.dumps(request), 1, False)

    # ------------------------------------------------------------------ MQTT input

    def on_message(self, topic: str, payload: str) -> bool:
        """Take one message of this connector's topics; False if it is not one of them.
        A malformed payload raises ``ValueError`` and leaves the previous value."""
        handler = self._handlers.get(topic)
        if handler is None:
            return False
        handler(payload)
        return True

    def _on_status(self, payload: str) -> None:
        self._process_online = payload.strip() == ONLINE

    def _on_availability(self, payload: str) -> None:
        self._available = payload.strip() == ONLINE

    def _on_state(self, payload: str) -> None:
        value = _json(payload)
        try:
            self._state = State(value)
        except ValueError:
            raise ValueError(f"unknown kernel state {value!r}") from None

    def _on_powermeter(self, payload: str) -> None:
        value = _json(payload)
        if not isinstance(value, dict):
            raise ValueError("powermeter: expected a JSON object")
        try:
            self._vars[POWERMETER_VAR] = Powermeter.from_json(value)
        except vol.Invalid as err:
            raise ValueError(f"powermeter: {err}") from None

    def _on_max_current(self, payload: str) -> None:
        value = _json(payload)
        if value is None:
            self._vars.pop(MAX_CURRENT_VAR, None)
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"max_current: expected a number, got {value!r}")
        self._vars[MAX_CURRENT_VAR] = float(value)

    def _on_external_limits(self, payload: str) -> None:
        """The connector's external limits: this energy manager stays under them."""
        value = _json(payload)
        try:
            self._vars[EXTERNAL_LIMITS_VAR] = ExternalLimits.from_json(value)
        except vol.Invalid as err:
            raise ValueError(f"external_limits: {err}") from None

    def _on_enforce_result(self, payload: str) -> None:
        value = _json(payload)
        if isinstance(value, dict) and value.get("ok") is False:
            _LOGGER.warning("%s: enforce_limits refused: %s", self.label, value.get("error"))


def _json(payload: str) -> Any:
    if not payload.strip():
        raise ValueError("empty payload")
    return parse_json(payload)
