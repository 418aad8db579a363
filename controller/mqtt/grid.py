"""Grid power from MQTT: payload parsers and the feed that pushes readings to the energy manager.

The bridge knows nothing about energy: it only hands the payloads of its *input topics* to
callbacks (``MqttBridge(..., inputs={topic: callback})``). ``GridFeed`` supplies those
callbacks for the energy manager:

* grid topic -- a plain number (W, + import / - export), a JSON number, or a JSON object
  ``{"power_W": ..., "currents_A": [l1, l2, l3]}`` (currents optional, A). Each message
  becomes a ``GridReading`` pushed to a ``PushedGridSource``.
* battery topic -- a number (W, + charging the home battery). Only remembered: it is
  merged into the next grid reading's ``battery_W`` (a battery value older than
  ``max_age_s`` counts as 0, so a dead battery input cannot fake surplus). With a Modbus
  grid meter, ``BatteryMergedSource`` adds it to the meter's readings the same way.
* battery SoC topic -- a number (%, 0-100), remembered and merged as ``battery_soc`` the
  same way; too old or none yet is ``None`` (unknown: no battery-buffer rule applies).

A payload that cannot be parsed raises ``ValueError``; the bridge logs it and keeps going,
and the previous reading stays (until it is too old).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..clock import Clock, SystemClock
from ..commands import parse_json
from ..energy import GridReading, GridSource, PushedGridSource
from .bridge import InputHandler


def _number(value: Any, what: str) -> float:
    """A finite float from a JSON value or text; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{what}: expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{what}: expected a number, got {_short(value)}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what}: expected a finite number, got {_short(value)}")
    return number


def _short(value: Any) -> str:
    """``repr(value)``, cut short: log lines quote payloads, never whole ones."""
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def _json_or_text(payload: str) -> Any:
    text = payload.strip()
    if not text:
        raise ValueError("empty payload")
    try:
        return parse_json(text)  # bounded: deep nesting is an error, not a crash
    except ValueError:
        return text  # a plain number is also valid JSON; anything else is tried as text


def parse_power(payload: str) -> float:
    """A power in W: a plain or JSON number."""
    data = _json_or_text(payload)
    if isinstance(data, dict | list):
        raise ValueError("expected a number")
    return _number(data, "power")


def parse_soc(payload: str) -> float:
    """A state of charge in %: a plain or JSON number from 0 to 100."""
    data = _json_or_text(payload)
    if isinstance(data, dict | list):
        raise ValueError("expected a number")
    soc = _number(data, "state of charge")
    if not 0 <= soc <= 100:
        raise ValueError(f"state of charge: expected 0-100 %, got {soc:g}")
    return soc


def parse_grid(payload: str) -> GridReading:
    """A grid reading: a number (W) or ``{"power_W": ..., "currents_A": [l1, l2, l3]}``."""
    data = _json_or_text(payload)
    if not isinstance(data, dict):
        if isinstance(data, list):
            raise ValueError("expected a number or an object with power_W")
        return GridReading(power_W=_number(data, "power"))
    if "power_W" not in data:
        raise ValueError("object without power_W")
    power = _number(data["power_W"], "power_W")
    raw = data.get("currents_A")
    if raw is None:
        return GridReading(power_W=power)
    if not isinstance(raw, list) or len(raw) != 3:
        raise ValueError("currents_A: expected a list of 3 numbers [l1, l2, l3]")
    l1, l2, l3 = (_number(v, "currents_A") for v in raw)
    return GridReading(power_W=power, currents_A=(l1, l2, l3))


class GridFeed:
    """Turns grid and battery payloads into readings for the energy manager.

    Owned by the controller, not the bridge: it keeps the latest battery power, which
    goes into the next grid reading -- one pushed to ``source`` from the grid topic, or
    one read from a grid meter (``with_battery``).
    """

    def __init__(
        self,
        source: PushedGridSource | None = None,
        *,
        max_age_s: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        self.source = source
        self.max_age_s = max_age_s
        self._clock = clock or SystemClock()
        self._battery_W = 0.0
        self._battery_at: float | None = None
        self._soc: float | None = None
        self._soc_at: float | None = None

    def _fresh(self, at: float | None) -> bool:
        return at is not None and self._clock.monotonic() - at <= self.max_age_s

    @property
    def battery_W(self) -> float:
        """The latest battery power, or 0 when none arrived or it is too old."""
        return self._battery_W if self._fresh(self._battery_at) else 0.0

    @property
    def battery_soc(self) -> float | None:
        """The latest battery state of charge, or None when none arrived or it is too old."""
        return self._soc if self._fresh(self._soc_at) else None

    def with_battery(self, reading: GridReading) -> GridReading:
        """``reading`` with the latest battery power and state of charge."""
        return replace(reading, battery_W=self.battery_W, battery_soc=self.battery_soc)

    def on_grid(self, payload: str) -> None:
        """A grid topic message: push it (with the latest battery power) to ``source``."""
        reading = parse_grid(payload)
        if self.source is None:
            raise RuntimeError("GridFeed has no source to push grid readings to")
        self.source.push(self.with_battery(reading))

    def on_battery(self, payload: str) -> None:
        """A battery topic message: remembered for the next grid reading."""
        self._battery_W = parse_power(payload)
        self._battery_at = self._clock.monotonic()

    def on_battery_soc(self, payload: str) -> None:
        """A battery SoC topic message: remembered for the next grid reading."""
        self._soc = parse_soc(payload)
        self._soc_at = self._clock.monotonic()

    def inputs(
        self,
        grid_topic: str | None,
        battery_topic: str | None,
        battery_soc_topic: str | None = None,
    ) -> dict[str, InputHandler]:
        """The bridge's input topics for this feed (``MqttBridge(inputs=...)``)."""
        topics = (
            (grid_topic, self.on_grid),
            (battery_topic, self.on_battery),
            (battery_soc_topic, self.on_battery_soc),
        )
        return {topic: handler for topic, handler in topics if topic is not None}


class BatteryMergedSource:
    """A grid source (e.g. a Modbus grid meter) whose readings get the feed's battery power."""

    def __init__(self, source: GridSource, feed: GridFeed) -> None:
        self.source = source
        self.feed = feed

    async def read(self) -> GridReading:
        """The wrapped source's reading with the latest battery power."""
        return self.feed.with_battery(await self.source.read())
