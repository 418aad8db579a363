"""Telemetry on change: measurements are published when they moved, not on every poll.

The meter sample (``powermeter``), the board telemetry and the live session figures
change at every poll, if only in their timestamp. A dashboard wants a value when it
changed by more than it can show, and at least every so often while it creeps. So a
telemetry variable is published when, compared with the value last published,

* its shape or a non-numeric field changed (a phase appeared, the relays switched), or
* a number moved by at least the deadband of its unit, or
* anything but the timestamp moved and ``max_interval_s`` has passed since then.

A field's unit is in its EVerest name (``power_W``, ``energy_Wh_import``,
``evse_temperature_C``); a unit without a deadband counts every change. The timestamp
alone changing is no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import voluptuous as vol

TELEMETRY_VARS = frozenset({"powermeter", "telemetry", "session_info"})
IGNORED = frozenset({"timestamp"})
DEFAULT_DEADBANDS: dict[str, float] = {
    "W": 10.0,  # power: a dashboard shows kW with two decimals
    "VAR": 10.0,
    "Wh": 10.0,  # energy: kWh with two decimals
    "A": 0.1,
    "V": 1.0,
    "Hz": 0.01,
    "C": 0.5,
    "s": 60.0,  # a session's duration: minutes
}
DEFAULT_MAX_INTERVAL_S = 60.0
Leaves = dict[tuple[str, ...], Any]
_SCALARS = frozenset({str, int, float, bool, type(None)})

_DEADBAND = vol.All(vol.Coerce(float), vol.Range(min=0))
TELEMETRY_SCHEMA = vol.Schema(
    {
        vol.Optional("max_interval_s", default=DEFAULT_MAX_INTERVAL_S): vol.All(
            vol.Coerce(float), vol.Range(min=0, max=86400)
        ),
        vol.Optional("deadband", default={}): {vol.In(tuple(DEFAULT_DEADBANDS)): _DEADBAND},
    }
)


@dataclass(frozen=True, kw_only=True)
class TelemetrySettings:
    """The ``mqtt.telemetry`` section; deadbands not given keep their defaults."""

    max_interval_s: float = DEFAULT_MAX_INTERVAL_S
    deadband: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DEADBANDS))

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> TelemetrySettings:
        """From the validated section (``TELEMETRY_SCHEMA``)."""
        return cls(
            max_interval_s=data["max_interval_s"],
            deadband={**DEFAULT_DEADBANDS, **data["deadband"]},
        )


def flatten(value: Any) -> Leaves:
    """Every scalar of a JSON value by its path, timestamps left out (built without a
    generator per node: every telemetry update of every connector is flattened)."""
    out: Leaves = {}
    _flatten(value, (), out)
    return out


def _flatten(value: Any, path: tuple[str, ...], out: Leaves) -> None:
    if type(value) in _SCALARS:
        out[path] = value
    elif type(value) is dict or isinstance(value, Mapping):
        for key, item in value.items():
            if key in IGNORED:
                continue
            if type(item) in _SCALARS:  # a leaf without a call for it (most of them)
                out[(*path, str(key))] = item
            else:
                _flatten(item, (*path, str(key)), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, (*path, str(index)), out)
    else:
        out[path] = value


@cache
def unit(path: tuple[str, ...]) -> str | None:
    """The unit in a field's EVerest name: ``power_W`` -> ``W``, ``VAR`` -> ``VAR``
    (remembered: the same few paths come with every update)."""
    for key in path:
        for token in key.split("_"):
            if token in DEFAULT_DEADBANDS:
                return token
    return None


class TelemetryFilter:
    """Decides, per topic, whether a telemetry value is worth publishing now."""

    def __init__(self, settings: TelemetrySettings) -> None:
        self._settings = settings
        self._last: dict[str, tuple[Leaves, float]] = {}

    def due(self, topic: str, value: Any, now: float) -> bool:
        """True if ``value`` should go out on ``topic`` (then it counts as published)."""
        new = flatten(value)
        last = self._last.get(topic)
        if last is not None:
            old, published_at = last
            if new == old:
                return False
            recent = now - published_at < self._settings.max_interval_s
            if recent and not self._significant(old, new):
                return False
        self._last[topic] = (new, now)
        return True

    def published(self, topic: str, value: Any, now: float) -> None:
        """``value`` went out anyway (a snapshot after a reconnect)."""
        self._last[topic] = (flatten(value), now)

    def forget(self, prefix: str) -> None:
        """A removed connector: its topics start afresh."""
        for topic in [t for t in self._last if t.startswith(prefix)]:
            del self._last[topic]

    def _significant(
        self, old: dict[tuple[str, ...], Any], new: dict[tuple[str, ...], Any]
    ) -> bool:
        if old.keys() != new.keys():
            return True
        deadbands = self._settings.deadband
        for path, value in new.items():
            before = old[path]
            if value == before:
                continue
            if not _number(value) or not _number(before):
                return True
            band = deadbands.get(unit(path) or "", 0.0)
            if abs(value - before) >= band:
                return True
        return False


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
