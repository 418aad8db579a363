"""Solar-surplus charging for one connector: how much current, on how many phases, and why.

A pure state machine over time (no I/O): feed it a ``SiteReading`` every few seconds and
it answers a ``Decision``. Relays are protected by timers: charging starts only after the
surplus stayed above the start threshold for ``enable_delay_s``; 1p/3p switches have their
own timers. While the surplus no longer covers the minimum current, charging rides the dip
at the minimum and imports; it stops once that import used up ``import_budget_Wh`` or the
dip lasted ``disable_delay_s``, whichever comes first (a 3p charger drops to 1p instead
when 1p fits). Above the minimum the current goes down at once, except a drop of at most
``down_confirm_A``, written once it persisted ``down_confirm_s`` (so a short small dip
costs no write and imports at most that much, that long; on a whole-amp charger after one
reading when the car would import over half an amp meanwhile, unless the current rose in
the last minute); it goes up once the surplus has
covered the next step plus ``hysteresis_A`` for ``up_confirm_s`` (at once for a rise of
``BIG_UP_A``): fewer writes for noise and short spikes. On a whole-amp charger a rise
above the highest current of the last ``new_high_window_s`` waits ``new_high_confirm_s``,
while a rise of ``BIG_UP_A`` back to that highest still goes at once: after a passing cloud
the current returns to where it was, not onto the cloud's bright edge that fades seconds
later. A start waits for what the car will draw at the minimum current: once it has held
the minimum, how much less than that it draws (at most ``UNDER_MAX_A``) is remembered
until it is unplugged (``forget_car``); not for a start on the home battery's charging
power that the battery would not carry through a dip.

Surplus is what the EV could draw without importing from the grid:
``base - grid_W - buffer_W - discharge`` (+ the home battery's charging power when it may
go to the car), with ``grid_W`` positive when importing at the house connection. The base is what
the connector draws, counted (as evcc's Loadpoint.effectiveCurrent, core/loadpoint.go) as
the current it was allowed, at most the measured current + 2 A: a car that draws a little
less than allowed then still gets the whole surplus.

A home battery enters as evcc's Site.sitePower (core/site.go) has it: its discharge is
consumption like any other (the car must not empty it); its charging power is surplus for
the car (``battery_to_ev``) only at or above ``priority_soc`` -- below, the battery comes
first. Above ``buffer_soc`` a running charge holds its minimum on the battery instead of
stopping; at or above ``buffer_start_soc`` it also starts on the battery at once (evcc
Loadpoint.pvMaxCurrent, core/loadpoint.go: ``batteryStart || batteryBuffered &&
charging`` returns the minimum current). 0 turns each off; an unknown state of charge
never counts as above a threshold, and never lets the car take the battery's charge when
``priority_soc`` is set.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

BASE_MARGIN_A = 2.0  # evcc effectiveCurrent: measured + 2 A at most
DRAWING_A = 1.0  # evcc minActiveCurrent (core/loadpoint.go): below this a phase is idle
UNDER_MAX_A = 1.0  # the most a car is believed to draw under the minimum (a slow ramp is not)
STEADY_A = 0.2  # two readings this close: the car's draw at the minimum has settled
BIG_UP_A = 2.0  # a rise this large (a cloud passed, a kettle went off) goes up at once
MAX_STEP_GAP_S = 60.0  # a longer gap between readings counts as this long (import budget)
# A charger with whole-amp steps (or coarser) can only drop a whole amp: when that leaves the
# car importing more than about half of it, waiting ``down_confirm_s`` costs more import
# than the write it may save, so the drop is written after one reading (the manager's 10 s).
# Not while a recent rise settles: the bright edge after a cloud fades within a minute, and
# writing its fall sooner costs a write for no import saved. Measured on
# benchmarks/pv_surplus.py (40 days a trace): overcast grid import 0.408 -> 0.404 kWh with 1 A
# chargers; 0.5 A wrote half a write more there with the battery, no settling wait 0.5 more
# on broken clouds.
COARSE_STEP_A = 1.0
SHORT_OF_STEP_A = 0.55
SHORT_DROP_WAIT_S = 10.0
RISE_SETTLE_S = 60.0


class Mode(StrEnum):
    """Charging mode of a connector."""

    OFF = "off"  # no charging
    FAST = "fast"  # as fast as the installation allows
    PV = "pv"  # surplus only
    MINPV = "minpv"  # minimum current always, surplus on top


@dataclass(frozen=True, kw_only=True)
class SurplusSettings:
    """Installation and tuning of one connector (start/stop defaults follow evcc's; the
    phase timers, the import budget and the up/down confirmation are tuned on
    benchmarks/pv_surplus.py, across all its seeds)."""

    min_current_A: float = 6.0
    max_current_A: float = 16.0
    phases: int = 3  # phases wired to the charger
    phase_switching: bool = False  # the charger can switch 1p/3p
    voltage_V: float = 230.0
    enable_threshold_W: float = 0.0  # extra surplus above minimum power needed to start
    disable_threshold_W: float = 0.0  # grid import at minimum current not counted as a dip
    enable_delay_s: float = 60.0
    disable_delay_s: float = 180.0  # longest dip ridden at minimum current
    import_budget_Wh: float = 150.0  # most grid energy one dip may import before stopping
    phase_up_delay_s: float = 60.0
    phase_down_delay_s: float = 180.0
    current_step_A: float = 1.0  # the charger's setpoint resolution (its map's fact)
    # Extra surplus needed before going up a step; up_confirm_s already keeps noise out
    # (on the benchmark 0.05 A cost 0.2-0.4 points of capture, saved at most 0.01 kWh import).
    hysteresis_A: float = 0.0
    up_confirm_s: float = 10.0  # a higher current must stay possible this long (fewer writes)
    # Whole-amp chargers: a rise above the highest current of the last ``new_high_window_s``
    # (on these phases) must stay possible ``new_high_confirm_s``; a rise of ``BIG_UP_A``
    # back to a level held within it (the cloud passed, the kettle is off) still goes at
    # once (window and wait chosen from 120-1200 s and 20-30 s, measured). The bright
    # edge after a passing cloud overshoots the clear sky for seconds (cloud enhancement)
    # and costs a rise and a fall. Measured on benchmarks/pv_surplus.py, 1 A chargers, broken
    # clouds: 254.5 -> 224 writes a day (evcc 235), grid import 3.52 -> 3.44 kWh, captured
    # 32.69 -> 32.52 kWh (evcc 32.50); overcast captured 9.72 -> 9.68 kWh (evcc 9.68). On
    # 0.1 A chargers it cost capture where they already write far less than evcc: not there.
    new_high_window_s: float = 240.0
    new_high_confirm_s: float = 20.0
    down_confirm_A: float = 1.0  # a drop this small (above the minimum) must persist ...
    down_confirm_s: float = 20.0  # ... this long before it is written (bounded import)
    buffer_W: float = 0.0  # keep this much exported
    battery_to_ev: bool = False  # count home-battery charging power as surplus
    priority_soc: float = 0.0  # %: below it the home battery charges first (evcc prioritySoc)
    buffer_soc: float = 0.0  # %: above it a running charge holds its minimum on the battery
    buffer_start_soc: float = 0.0  # %: at or above it charging starts on the battery

    def __post_init__(self) -> None:
        """The thresholds' order, as evcc's SetPrioritySoc/SetBufferSoc/SetBufferStartSoc
        (core/site_api.go) enforce it: priority <= buffer <= buffer start (0: off)."""
        socs = (self.priority_soc, self.buffer_soc, self.buffer_start_soc)
        if any(not 0 <= soc <= 100 for soc in socs):
            raise ValueError("battery SoC thresholds are percentages (0-100)")
        if self.buffer_soc and self.priority_soc > self.buffer_soc:
            raise ValueError("priority_soc is above buffer_soc")
        if self.buffer_start_soc and self.buffer_soc > self.buffer_start_soc:
            raise ValueError("buffer_soc is above buffer_start_soc")


@dataclass(frozen=True, kw_only=True)
class SiteReading:
    """One look at the house connection."""

    grid_W: float  # + import, - export
    charge_W: float  # what this connector draws now (part of grid_W)
    charge_A: float | None = None  # its highest phase current now; None: not measured
    battery_W: float = 0.0  # + charging the home battery, - discharging it
    battery_soc: float | None = None  # its state of charge (%); None: unknown


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
    _dip_Wh: float = 0.0  # grid energy imported in the present dip
    _last: float | None = None  # time of the previous step
    _up_since: float | None = None  # since when a higher current has been possible
    _down_since: float | None = None  # since when a small drop has been needed
    _high_since: float | None = None  # since when a new high has been possible
    _rose_at: float | None = None  # when the current last went up (while charging)
    _now: float = 0.0
    _soc: float | None = None  # the home battery's state of charge at this step
    _battery_in_W: float = 0.0  # the home battery's charging power counted as surplus now
    _under_A: float = 0.0  # how much less than the minimum current this car draws there
    _held: bool = False  # the previous step kept the current and phases it had
    _at_min_A: float | None = None  # the car's draw at the previous reading held at minimum
    _recent: deque[tuple[float, float, int]] = field(default_factory=deque)  # (t, A, phases)

    def __post_init__(self) -> None:
        if not self.phases:
            self.phases = self.settings.phases

    def set_mode(self, mode: Mode) -> None:
        """Switch mode; timers restart so a new mode never acts on an old countdown."""
        self.mode = mode
        for timer in (self._enable, self._disable, self._up, self._down):
            timer.reset()
        self._dip_Wh = 0.0

    def surplus_W(self, reading: SiteReading) -> float:
        """What the EV could draw now without importing (see the module docstring)."""
        s = self.settings
        surplus = self._base_W(reading) - reading.grid_W - s.buffer_W
        if self._battery_gives(reading.battery_soc):
            surplus += max(0.0, reading.battery_W)
        return surplus - max(0.0, -reading.battery_W)  # discharge: consumption (evcc)

    def _battery_gives(self, soc: float | None) -> bool:
        """The battery's charging power may go to the car (evcc sitePower: not below
        prioritySoc)."""
        s = self.settings
        if not s.battery_to_ev:
            return False
        return s.priority_soc <= 0 or (soc is not None and soc >= s.priority_soc)

    def _on_battery(self, *, starting: bool) -> bool:
        """The battery may carry the minimum current: above ``buffer_soc`` while charging,
        at or above ``buffer_start_soc`` also to start (evcc batteryBuffered/batteryStart)."""
        s, soc = self.settings, self._soc
        if soc is None:
            return False
        start = s.buffer_start_soc > 0 and soc >= s.buffer_start_soc
        return start or (not starting and s.buffer_soc > 0 and soc > s.buffer_soc)

    def _base_W(self, reading: SiteReading) -> float:
        """The connector's draw, counted at the allowed current when the car draws a little
        less (evcc effectiveCurrent: min(measured + 2 A, offered)). Not drawing: what the
        meter says, so a car that has not started yet is not counted at its setpoint."""
        measured = reading.charge_A
        if measured is None or measured < DRAWING_A or self.current_A <= measured:
            return reading.charge_W
        base = min(measured + BASE_MARGIN_A, self.current_A)
        return reading.charge_W * base / measured

    def step(self, now: float, reading: SiteReading) -> Decision:
        """The decision for this reading at monotonic time ``now``."""
        s = self.settings
        gap = 0.0 if self._last is None else min(max(0.0, now - self._last), MAX_STEP_GAP_S)
        self._last = self._now = now
        self._soc = reading.battery_soc
        gives = self._battery_gives(reading.battery_soc)
        self._battery_in_W = max(0.0, reading.battery_W) if gives else 0.0
        self._learn_under(reading)
        surplus = self.surplus_W(reading)
        if self.mode is Mode.OFF:
            return self._set(0.0, self.phases, surplus, "mode off")
        if self.mode is Mode.FAST:
            return self._set(s.max_current_A, s.phases, surplus, "fast: maximum current")
        if self.current_A <= 0:
            return self._idle(now, surplus)
        self._count_dip(surplus, gap)
        measured = surplus - self._base_W(reading) + reading.charge_W
        switched = self._choose_phases(now, surplus, measured)
        if isinstance(switched, Decision):
            return switched
        if self.mode is Mode.MINPV:
            target = max(s.min_current_A, self._amps(surplus, self.phases))
            return self._follow(target, self.phases, surplus, "min+pv")
        return self._pv(now, surplus)

    # ------------------------------------------------------------------ not charging

    def _idle(self, now: float, surplus: float) -> Decision:
        """Not charging: start (pv: after the enable delay) on the phases the surplus
        supports; until then the phases stay as they are (no relay cycle for nothing)."""
        s = self.settings
        phases = self._start_phases(surplus)
        self._disable.reset()
        self._up.reset()
        self._down.reset()
        self._dip_Wh = 0.0
        if self.mode is Mode.MINPV:
            target = max(s.min_current_A, self._amps(surplus, phases))
            return self._set(self._clamp(target), phases, surplus, "min+pv: start")
        if self._on_battery(starting=True):
            self._enable.reset()
            target = self._clamp(self._amps(surplus, phases))
            return self._set(target, phases, surplus, "home battery above buffer start SoC: start")
        needed = self._start_power(phases) + s.enable_threshold_W
        if surplus < needed:
            self._enable.reset()
            return self._set(0.0, self.phases, surplus, f"waiting for {needed:.0f} W surplus")
        left = self._enable.run(now, s.enable_delay_s)
        if left > 0:
            reason = "surplus: start timer"
            return self._set(0.0, self.phases, surplus, reason, timer="enable", left=left)
        self._enable.reset()
        target = self._clamp(self._amps(surplus, phases))
        return self._set(target, phases, surplus, "pv surplus: start")

    def _start_phases(self, surplus: float) -> int:
        s = self.settings
        if not s.phase_switching or s.phases == 1:
            return s.phases
        return 3 if surplus >= self._start_power(3) else 1

    def _start_power(self, phases: int) -> float:
        """What this car draws at the minimum current: a start needs no more surplus. Not
        while the surplus counts the home battery's charging power and the battery would
        not hold the minimum in a dip (at or below ``buffer_soc``): such a start takes the
        charge the battery would have had, and on thin surplus it stops at the next dip, so
        it waits for the full minimum (measured on benchmarks/pv_surplus.py: relay cycles
        6.5 -> 6 on overcast days with 0.1 A chargers and the battery, as many as evcc)."""
        s = self.settings
        on_charge = self._battery_in_W > 0 and not self._on_battery(starting=False)
        under = 0.0 if on_charge else self._under_A
        return (s.min_current_A - under) * s.voltage_V * phases

    def _learn_under(self, reading: SiteReading) -> None:
        """Remember how much less than the minimum current the car draws once it has held
        it and its draw has settled (two readings within ``STEADY_A``; at most
        ``UNDER_MAX_A``, so a car still ramping up is not taken for one that draws less; a
        car that caps its own current draws the minimum in full), so that the next start
        waits only for what it will draw."""
        s, measured = self.settings, reading.charge_A
        at_min = abs(self.current_A - s.min_current_A) < 1e-9
        if measured is None or measured < DRAWING_A or not (self._held and at_min):
            self._at_min_A = None
            return
        if self._at_min_A is not None and abs(measured - self._at_min_A) <= STEADY_A:
            self._under_A = min(UNDER_MAX_A, max(0.0, s.min_current_A - measured))
        self._at_min_A = measured

    def forget_car(self) -> None:
        """The EV left: the next one's draw at the minimum is not known yet."""
        self._under_A = 0.0

    # ------------------------------------------------------------------ pv

    def _count_dip(self, surplus: float, gap: float) -> None:
        """Add this interval's shortfall at the minimum current to the present dip (grid
        import, or home-battery discharge below ``buffer_soc``); a surplus that covers the
        minimum again, or a battery above ``buffer_soc``, ends the dip."""
        short = self._min_power(self.phases) - surplus - self.settings.disable_threshold_W
        if short <= 0 or self._on_battery(starting=False):  # the battery carries it
            self._dip_Wh = 0.0
            return
        self._dip_Wh += short * gap / 3600

    def _budget_spent(self) -> bool:
        return self._dip_Wh > self.settings.import_budget_Wh

    def _pv(self, now: float, surplus: float) -> Decision:
        s = self.settings
        phases = self.phases
        if surplus + s.disable_threshold_W < self._min_power(phases):
            if self._on_battery(starting=False):
                self._disable.reset()
                reason = "home battery above buffer SoC: holding the minimum"
                return self._follow(s.min_current_A, phases, surplus, reason)
            left = self._disable.run(now, s.disable_delay_s)
            if left > 0 and not self._budget_spent():
                reason = f"surplus too low: riding the dip ({self._dip_Wh:.0f} Wh imported)"
                return self._follow(
                    s.min_current_A, phases, surplus, reason, timer="disable", left=left
                )
            self._disable.reset()
            self._dip_Wh = 0.0
            return self._set(0.0, phases, surplus, "surplus too low: stopped")
        self._disable.reset()
        return self._follow(self._amps(surplus, phases), phases, surplus, "pv surplus")

    # ------------------------------------------------------------------ phases

    def _choose_phases(self, now: float, surplus: float, measured: float) -> int | Decision:
        """While charging: 3p -> 1p once 3p minimum has not fitted for the down delay (or
        the dip's import budget is spent) and 1p would; 1p -> 3p once 3p minimum has fitted
        for the up delay, counted with what the car draws (``measured``, as evcc's
        pvScalePhases, core/loadpoint.go): a car that caps below its setpoint would not
        draw the 3p minimum's worth of surplus either. A dip that 1p cannot ride either is
        left to the stop rule, unless the home battery holds the minimum (above
        ``buffer_soc``): then it holds the 1p minimum after the down delay, not three times
        that (evcc's pvScalePhases goes down whenever the 3p minimum does not fit)."""
        s = self.settings
        if not s.phase_switching or s.phases == 1:
            return self.phases
        if self.phases == 3 and surplus < self._min_power(3):
            self._up.reset()
            short_of_1p = surplus + s.disable_threshold_W < self._min_power(1)
            if short_of_1p and not self._on_battery(starting=False):
                self._down.reset()
                return self.phases
            left = self._down.run(now, s.phase_down_delay_s)
            if left > 0 and not self._budget_spent():
                reason = "3p too much: 1p timer"
                return self._follow(
                    s.min_current_A, 3, surplus, reason, timer="phase_down", left=left
                )
            self._down.reset()
            self._dip_Wh = 0.0
            self.phases = 1
        elif self.phases == 1 and measured >= self._min_power(3):
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
        stepped = round(math.floor(amps / step + 1e-6) * step, 3)
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
        """Move towards the raw ``target``: down at once, but a drop of at most
        ``down_confirm_A`` above the minimum only once it persisted ``down_confirm_s``;
        up once the surplus has covered the next step plus ``hysteresis_A`` for
        ``up_confirm_s`` (at once for ``BIG_UP_A`` or more). Noise around a step, short
        spikes and short small dips then cost no writes."""
        s = self.settings
        now = self.current_A
        new = now
        if now <= 0 or phases != self.phases:
            new = self._clamp(target)
            self._up_since = self._down_since = self._high_since = None
        elif target < now:
            self._up_since = self._high_since = None
            new = self._lower(now, target)
        elif (up := self._clamp(target - s.hysteresis_A)) >= now + s.current_step_A - 1e-9:
            self._down_since = None
            new = self._raise(now, up)
        else:
            self._up_since = self._down_since = self._high_since = None
        return self._set(new, phases, surplus, reason, timer=timer, left=left)

    def _raise(self, now: float, up: float) -> float:
        """The current for a higher step ``up``: after ``up_confirm_s``, or at once for
        ``BIG_UP_A``; on a whole-amp charger a new high (above the recent highest current)
        also only once it lasted ``new_high_confirm_s``; meanwhile it goes back to that
        highest at once when that alone is a rise of ``BIG_UP_A`` (one write, not two)."""
        s = self.settings
        if self._up_since is None:
            self._up_since = self._now
        high = self._recent_high()
        if high is None or up <= high + 1e-9:
            self._high_since = None
        else:
            if self._high_since is None:
                self._high_since = self._now
            if self._now - self._high_since < s.new_high_confirm_s:
                if high - now >= BIG_UP_A:
                    self._rose_at = self._now
                    return high
                return now
        if self._now - self._up_since < s.up_confirm_s and up - now < BIG_UP_A:
            return now
        self._up_since = self._high_since = None
        self._rose_at = self._now
        return up

    def _recent_high(self) -> float | None:
        """The highest current of the last ``new_high_window_s`` on these phases, on a
        whole-amp charger (None on a finer one, or with nothing recent)."""
        if self.settings.current_step_A < COARSE_STEP_A - 1e-9:
            return None
        since = self._now - self.settings.new_high_window_s
        currents = [a for t, a, ph in self._recent if ph == self.phases and t >= since]
        return max(currents, default=None)

    def _lower(self, now: float, target: float) -> float:
        """The current for a lower ``target``: a small drop above the minimum waits
        ``down_confirm_s`` (importing at most ``down_confirm_A`` meanwhile), any other at
        once."""
        s = self.settings
        down = self._clamp(target)
        small = now - down <= max(s.down_confirm_A, s.current_step_A) + 1e-9
        if down >= now or not small or target <= s.min_current_A:
            self._down_since = None
            return down
        if self._down_since is None:
            self._down_since = self._now
        if self._now - self._down_since >= self._small_drop_wait(now - target):
            self._down_since = None
            return down
        return now

    def _small_drop_wait(self, short_A: float) -> float:
        """How long a small drop waits: ``down_confirm_s``, or one reading on a whole-amp
        charger whose car would import ``short_A`` of at least ``SHORT_OF_STEP_A`` meanwhile,
        unless the current rose at most ``RISE_SETTLE_S`` ago (see the constants)."""
        s = self.settings
        settling = self._rose_at is not None and self._now - self._rose_at <= RISE_SETTLE_S
        if s.current_step_A < COARSE_STEP_A - 1e-9 or short_A < SHORT_OF_STEP_A or settling:
            return s.down_confirm_s
        return min(s.down_confirm_s, SHORT_DROP_WAIT_S)

    def _remember(self, current: float, phases: int) -> None:
        """Keep this step's current for ``_recent_high`` (the window's steps only)."""
        recent, since = self._recent, self._now - self.settings.new_high_window_s
        recent.append((self._now, current, phases))
        while recent and recent[0][0] < since:
            recent.popleft()

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
        self._held = current == self.current_A and phases == self.phases
        self.current_A = current
        self.phases = phases
        self._remember(current, phases)
        return Decision(
            current_A=current,
            phases=phases,
            mode=self.mode,
            surplus_W=surplus,
            reason=reason,
            timer=timer,
            timer_remaining_s=left,
        )
