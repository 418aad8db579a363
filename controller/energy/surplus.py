"""Solar-surplus charging for one connector: how much current, on how many phases, and why.

A pure state machine over time (no I/O): feed it a ``SiteReading`` every few seconds and
it answers a ``Decision``. Relays are protected by timers: charging starts only after the
surplus stayed above the start threshold for ``enable_delay_s``, stops only after it stayed
below the stop threshold for ``disable_delay_s``, and 1p/3p switches have their own timers.
Current writes are protected by a dead band: a new current goes out only when it differs
by at least ``current_step_A`` (or when it must go down to avoid importing).

Surplus is what the EV could draw without importing from the grid:
``charge_W - grid_W - buffer_W`` (+ ``battery_W`` when the home battery may be drained
into the car), with ``grid_W`` positive when importing at the house connection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum


class Mode(StrEnum):
    """Charging mode of a connector."""

    OFF = "off"  # no charging
    FAST = "fast"  # as fast as the installation allows
    PV = "pv"  # surplus only
    MINPV = "minpv"  # minimum current always, surplus on top


@dataclass(frozen=True, kw_only=True)
class SurplusSettings:
    """Installation and tuning of one connector (defaults follow evcc's)."""

    min_current_A: float = 6.0
    max_current_A: float = 16.0
    phases: int = 3  # phases wired to the charger
    phase_switching: bool = False  # the charger can switch 1p/3p
    voltage_V: float = 230.0
    enable_threshold_W: float = 0.0  # extra surplus above minimum power needed to start
    disable_threshold_W: float = 0.0  # grid import tolerated before stopping
    enable_delay_s: float = 60.0
    disable_delay_s: float = 180.0
    phase_up_delay_s: float = 60.0
    phase_down_delay_s: float = 180.0
    current_step_A: float = 1.0
    hysteresis_A: float = 0.3  # dead band around step boundaries (fewer writes)
    buffer_W: float = 0.0  # keep this much exported
    battery_to_ev: bool = False  # count home-battery charging power as surplus


@dataclass(frozen=True, kw_only=True)
class SiteReading:
    """One look at the house connection."""

    grid_W: float  # + import, - export
    charge_W: float  # what this connector draws now (part of grid_W)
    battery_W: float = 0.0  # + charging the home battery


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What the connector may draw now, and why (shown to the user)."""

    current_A: float  # 0: no charging
    phases: int
    mode: Mode
    surplus_W: float
    reason: str
    timer: str | None = None  # enable | disable | phase_up | phase_down
    timer_remaining_s: float | None = None

    def to_json(self) -> dict[str, object]:
        """The explanation variable's JSON form."""
        return {
            "mode": self.mode.value,
            "current_A": self.current_A,
            "phases": self.phases,
            "surplus_W": round(self.surplus_W, 1),
            "reason": self.reason,
            "timer": self.timer,
            "timer_remaining_s": None
            if self.timer_remaining_s is None
            else round(self.timer_remaining_s, 1),
        }


@dataclass
class _Timer:
    name: str
    started: float | None = None

    def run(self, now: float, delay: float) -> float:
        """Start (if not running) and return the seconds left."""
        if self.started is None:
            self.started = now
        return max(0.0, delay - (now - self.started))

    def reset(self) -> None:
        self.started = None


@dataclass
class SurplusController:
    """Decides current and phases for one connector from successive site readings."""

    settings: SurplusSettings = field(default_factory=SurplusSettings)
    mode: Mode = Mode.PV
    current_A: float = 0.0
    phases: int = 0
    _enable: _Timer = field(default_factory=lambda: _Timer("enable"))
    _disable: _Timer = field(default_factory=lambda: _Timer("disable"))
    _up: _Timer = field(default_factory=lambda: _Timer("phase_up"))
    _down: _Timer = field(default_factory=lambda: _Timer("phase_down"))

    def __post_init__(self) -> None:
        if not self.phases:
            self.phases = self.settings.phases

    def set_mode(self, mode: Mode) -> None:
        """Switch mode; timers restart so a new mode never acts on an old countdown."""
        self.mode = mode
        for timer in (self._enable, self._disable, self._up, self._down):
            timer.reset()

    def step(self, now: float, reading: SiteReading) -> Decision:
        """The decision for this reading at monotonic time ``now``."""
        s = self.settings
        surplus = reading.charge_W - reading.grid_W - s.buffer_W
        if s.battery_to_ev:
            surplus += max(0.0, reading.battery_W)
        if self.mode is Mode.OFF:
            return self._set(0.0, self.phases, surplus, "mode off")
        if self.mode is Mode.FAST:
            return self._set(s.max_current_A, s.phases, surplus, "fast: maximum current")
        phases = self._choose_phases(now, surplus)
        if isinstance(phases, Decision):
            return phases
        if self.mode is Mode.MINPV:
            target = max(s.min_current_A, self._amps(surplus, phases))
            return self._follow(target, phases, surplus, "min+pv")
        return self._pv(now, surplus, phases)

    # ------------------------------------------------------------------ pv

    def _pv(self, now: float, surplus: float, phases: int) -> Decision:
        s = self.settings
        target = self._amps(surplus, phases)
        if self.current_A <= 0:
            self._disable.reset()
            needed = self._min_power(phases) + s.enable_threshold_W
            if surplus < needed:
                self._enable.reset()
                return self._set(0.0, phases, surplus, f"waiting for {needed:.0f} W surplus")
            left = self._enable.run(now, s.enable_delay_s)
            if left > 0:
                return self._set(
                    0.0, phases, surplus, "surplus: start timer", timer="enable", left=left
                )
            self._enable.reset()
            return self._set(self._clamp(target), phases, surplus, "pv surplus: start")
        self._enable.reset()
        if surplus + s.disable_threshold_W < self._min_power(phases):
            left = self._disable.run(now, s.disable_delay_s)
            if left > 0:
                reason = "surplus too low: stop timer (minimum current meanwhile)"
                return self._follow(
                    s.min_current_A, phases, surplus, reason, timer="disable", left=left
                )
            self._disable.reset()
            return self._set(0.0, phases, surplus, "surplus too low: stopped")
        self._disable.reset()
        return self._follow(target, phases, surplus, "pv surplus")

    # ------------------------------------------------------------------ phases

    def _choose_phases(self, now: float, surplus: float) -> int | Decision:
        s = self.settings
        if not s.phase_switching or s.phases == 1:
            return s.phases
        three_p = self._min_power(3)
        wants_three = surplus >= three_p
        if self.current_A <= 0:
            # Not charging: start on whatever the surplus supports, no relay cycle to save.
            self._up.reset()
            self._down.reset()
            self.phases = 3 if wants_three else 1
            return self.phases
        if self.phases == 3 and surplus < three_p:
            self._up.reset()
            left = self._down.run(now, s.phase_down_delay_s)
            if left > 0:
                reason = "3p too much: 1p timer"
                return self._follow(
                    s.min_current_A, 3, surplus, reason, timer="phase_down", left=left
                )
            self._down.reset()
            self.phases = 1
        elif self.phases == 1 and surplus >= three_p:
            self._down.reset()
            left = self._up.run(now, s.phase_up_delay_s)
            if left > 0:
                target = self._amps(surplus, 1)
                reason = "enough for 3p: timer"
                return self._follow(target, 1, surplus, reason, timer="phase_up", left=left)
            self._up.reset()
            self.phases = 3
        else:
            self._up.reset()
            self._down.reset()
        return self.phases

    # ------------------------------------------------------------------ helpers

    def _amps(self, watts: float, phases: int) -> float:
        return watts / (self.settings.voltage_V * phases)

    def _min_power(self, phases: int) -> float:
        return self.settings.min_current_A * self.settings.voltage_V * phases

    def _clamp(self, amps: float) -> float:
        s = self.settings
        step = s.current_step_A
        stepped = math.floor(amps / step + 1e-9) * step
        return max(s.min_current_A, min(s.max_current_A, stepped))

    def _follow(
        self,
        target: float,
        phases: int,
        surplus: float,
        reason: str,
        *,
        timer: str | None = None,
        left: float | None = None,
    ) -> Decision:
        """Move towards the raw ``target`` with hysteresis: up only once the surplus covers
        the next step plus ``hysteresis_A``, down once it falls ``hysteresis_A`` short of
        the present current. Noise around a step boundary then costs no writes."""
        h = self.settings.hysteresis_A
        now = self.current_A
        if now <= 0 or phases != self.phases:
            new = self._clamp(target)
        elif target > now:
            up = self._clamp(target - h)
            new = up if up >= now + self.settings.current_step_A else now
        elif target < now - h:
            new = self._clamp(target)
        else:
            new = now
        return self._set(new, phases, surplus, reason, timer=timer, left=left)

    def _set(
        self,
        current: float,
        phases: int,
        surplus: float,
        reason: str,
        *,
        timer: str | None = None,
        left: float | None = None,
    ) -> Decision:
        self.current_A = current
        self.phases = phases
        return Decision(
            current_A=current,
            phases=phases,
            mode=self.mode,
            surplus_W=surplus,
            reason=reason,
            timer=timer,
            timer_remaining_s=left,
        )
