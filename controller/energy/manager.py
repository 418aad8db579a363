"""The energy manager: grid reading in, one enforced limit per connector out, with reasons.

Every ``interval_s`` it reads the house connection (a grid meter on Modbus, or values pushed
from MQTT or a Home Assistant sensor), lets each connector's ``SurplusController`` decide
for its mode, fits the decisions under the main fuse (``site.share``) and sends each
connector's kernel an ``EnforcedLimits`` through the same input an external EVerest energy
manager would use. Limits carry ``valid_for``: if this manager dies, they expire and the
kernel pauses charging instead of running unlimited. The explanation (mode, surplus, timer,
the limit that is active and why) is published as the ``energy_manager`` variable.

A connector's external limits (a CSMS's charging profiles, its ``external_limits``
variable) bound what this manager gives it, before the fuse is shared, so another
connector gets the rest: EVerest's EnergyManager works on the energy tree in which the
EVSE's node carries them (EnergyNode energyImpl.cpp set_external_limits; Market.cpp takes
the minimum along the tree). The kernel applies the lower of both limits in any case.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol

from ..clock import Clock, SystemClock, rfc3339
from ..errors import DeviceError
from ..everest import (
    EnforcedLimits,
    ExternalLimits,
    IntegerWithSource,
    LimitsRes,
    NumberWithSource,
    Powermeter,
)
from ..kernel.limits import cap_A, external_entry
from ..kernel.states import State
from ..manager import EXTERNAL_LIMITS_VAR, MAX_CURRENT_VAR, EnergyControl
from ..ports import PowerMeterPort
from .site import Demand, share
from .surplus import Decision, Mode, SiteReading, SurplusController

_LOGGER = logging.getLogger(__name__)
UUID = "energy_manager"
VAR = "energy_manager"
SETTINGS_VAR = "energy_settings"
# Kernel states in which an EV draws (or is about to draw) what the limit allows.
DRAWING_STATES = frozenset(
    {State.PrepareCharging, State.Charging, State.ChargingPausedEVSE, State.SwitchPhases}
)
# What users may tune at run time (set_energy_settings); the rest is installation.
TUNABLE = (
    "min_current_A",
    "max_current_A",
    "enable_threshold_W",
    "disable_threshold_W",
    "enable_delay_s",
    "disable_delay_s",
    "import_budget_Wh",
    "phase_up_delay_s",
    "phase_down_delay_s",
    "buffer_W",
    "battery_to_ev",
    "priority_soc",
    "buffer_soc",
    "buffer_start_soc",
    "phase_switching",
)


@dataclass(frozen=True, kw_only=True)
class GridReading:
    """The house connection: + import / - export, optionally per phase and the battery."""

    power_W: float
    currents_A: tuple[float, float, float] | None = None
    battery_W: float = 0.0
    battery_soc: float | None = None  # the home battery's state of charge (%), if known


class GridSource(Protocol):
    """Where the grid reading comes from."""

    async def read(self) -> GridReading:
        """The latest reading; raises DeviceError when there is none."""
        ...


class MeterGridSource:
    """A grid meter read through any PowerMeterPort (e.g. a Modbus meter map)."""

    def __init__(self, meter: PowerMeterPort) -> None:
        self.meter = meter

    async def read(self) -> GridReading:
        """One sample of the grid meter."""
        return grid_from_powermeter(await self.meter.read())


def grid_from_powermeter(sample: Powermeter) -> GridReading:
    """A meter sample as a grid reading."""
    if sample.power_W is None:
        raise DeviceError("grid meter reports no power")
    currents = None
    if sample.current_A is not None:
        c = sample.current_A
        currents = (c.L1 or 0.0, c.L2 or 0.0, c.L3 or 0.0)
    return GridReading(power_W=sample.power_W.total, currents_A=currents)


class PushedGridSource:
    """Readings pushed by an adapter (an MQTT topic, a Home Assistant sensor); stale ones
    are refused so a dead input never keeps an old surplus alive."""

    def __init__(self, max_age_s: float = 60.0, clock: Clock | None = None) -> None:
        self.max_age_s = max_age_s
        self._clock = clock or SystemClock()
        self._reading: GridReading | None = None
        self._at = 0.0

    def push(self, reading: GridReading) -> None:
        """A new reading arrived."""
        self._reading = reading
        self._at = self._clock.monotonic()

    async def read(self) -> GridReading:
        """The last pushed reading if fresh."""
        if self._reading is None:
            raise DeviceError("no grid reading received yet")
        age = self._clock.monotonic() - self._at
        if age > self.max_age_s:
            raise DeviceError(f"grid reading is {age:.0f} s old")
        return self._reading


class LimitTarget(Protocol):
    """What the energy manager needs of a connector's kernel configuration."""

    @property
    def module_uuid(self) -> str:
        """The uuid its enforced limits are addressed to."""
        ...

    @property
    def request_zero_power_in_idle(self) -> bool:
        """Whether it gives up its share of the fuse without a car."""
        ...


class ManagedConnector(Protocol):
    """A connector as the energy manager sees it: an ``EvseManager`` in this process, or a
    ``RemoteConnector`` of another controller process seen over MQTT. ``state`` and
    ``vars()`` raise ``RuntimeError`` while the connector is not running."""

    energy: EnergyControl | None

    @property
    def label(self) -> str: ...

    @property
    def running(self) -> bool: ...

    @property
    def state(self) -> State: ...

    @property
    def config(self) -> LimitTarget: ...

    def vars(self) -> dict[str, Any]: ...

    def publish(self, var: str, value: Any) -> None: ...

    def save_setting(self, name: str, value: Any) -> None: ...

    def load_setting(self, name: str) -> Any: ...

    async def set_enforced_limits(self, limits: EnforcedLimits) -> None: ...


@dataclass(frozen=True, kw_only=True)
class SiteSettings:
    """The house: main fuse per phase and how often to decide."""

    fuse_A: float | None = None  # None: no site limit
    interval_s: float = 10.0
    limit_valid_s: float = 60.0


@dataclass
class ConnectorControl:
    """One connector under the energy manager; registered as the manager's ``energy``
    handle so the command API can change its mode and tuning."""

    manager: ManagedConnector
    surplus: SurplusController
    grid_phases: tuple[int, ...] = (1, 2, 3)  # which house phases its L1, L2, L3 are on
    sent: tuple[float, int] | None = None
    sent_at: float = field(default=-1e18)

    def attach(self) -> None:
        """Become the manager's energy handle, restore what the user chose before (mode,
        tuning: they survive restarts) and show the settings."""
        self.manager.energy = self
        self._restore()
        self.publish_settings()

    def _restore(self) -> None:
        saved = self.manager.load_setting(SETTINGS_VAR)
        if not isinstance(saved, dict):
            return
        try:
            mode = Mode(saved.get("mode", self.surplus.mode))
            tuned = {k: v for k, v in saved.items() if k in TUNABLE}
            settings = replace(self.surplus.settings, **tuned)
        except (ValueError, TypeError) as err:
            _LOGGER.warning("%s: ignoring saved energy settings: %s", self.manager.label, err)
            return
        if settings.min_current_A <= settings.max_current_A:
            self.surplus.settings = settings
        self.surplus.set_mode(mode)

    def set_mode(self, mode: str) -> None:
        """Switch mode; acts at the next step."""
        self.surplus.set_mode(Mode(mode))
        self._save()
        self.publish_settings()

    def _save(self) -> None:
        self.manager.save_setting(SETTINGS_VAR, self._settings_json())

    def _settings_json(self) -> dict[str, Any]:
        s = self.surplus.settings
        body: dict[str, Any] = {"mode": self.surplus.mode.value}
        body.update({key: getattr(s, key) for key in TUNABLE})
        return body

    def update_settings(self, changes: Mapping[str, Any]) -> None:
        """Replace tunable settings; the minimum must stay at or below the maximum."""
        unknown = set(changes) - set(TUNABLE)
        if unknown:
            raise ValueError(f"not tunable: {', '.join(sorted(unknown))}")
        settings = replace(self.surplus.settings, **changes)
        if settings.min_current_A > settings.max_current_A:
            raise ValueError("min_current_A is above max_current_A")
        self.surplus.settings = settings
        self._save()
        self.publish_settings()

    def publish_settings(self) -> None:
        """The ``energy_settings`` variable: mode and every tunable value."""
        self.manager.publish(SETTINGS_VAR, self._settings_json())


class EnergyManager:
    """Decides and enforces the limits of several connectors on one site."""

    def __init__(
        self,
        connectors: Mapping[str, ConnectorControl],
        source: GridSource,
        settings: SiteSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.connectors = dict(connectors)
        for control in self.connectors.values():
            control.attach()
        self.source = source
        self.settings = settings or SiteSettings()
        self._clock = clock or SystemClock()
        self._task: asyncio.Task[None] | None = None

    def add(self, name: str, control: ConnectorControl) -> None:
        """Manage one more connector from the next step on (a charger set up later)."""
        control.attach()
        self.connectors = {**self.connectors, name: control}  # a step in progress keeps its copy

    def remove(self, name: str) -> None:
        """Stop managing ``name``; its last limits expire by themselves."""
        self.connectors = {k: v for k, v in self.connectors.items() if k != name}

    def set_mode(self, name: str, mode: Mode | str) -> None:
        """Change a connector's mode (off, fast, pv, minpv); acts at the next step."""
        self.connectors[name].set_mode(Mode(mode))

    async def start(self) -> None:
        """Run ``step`` every ``interval_s`` in the background."""
        self._task = asyncio.create_task(self._run(), name="energy_manager")

    async def stop(self) -> None:
        """Stop deciding; the limits already sent expire by themselves."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:  # one bad cycle must not end energy management
                _LOGGER.exception("energy manager step failed")
            await asyncio.sleep(self.settings.interval_s)

    async def step(self) -> dict[str, float]:
        """One cycle: read, decide, share the fuse, enforce, explain. Returns the limits."""
        now = self._clock.monotonic()
        try:
            grid: GridReading | None = await self.source.read()
        except DeviceError as err:
            _LOGGER.warning("energy manager: %s", err)
            grid = None
        connectors = self.connectors  # add/remove replace the dict: this one stays whole
        decisions = self._decide_in_turn(grid, now)
        external = {name: self._external(connectors[name], decisions[name]) for name in decisions}
        fitted = self._fit(decisions, grid, external)
        # The user's maximum current is a ceiling the energy manager respects.
        limits = {
            name: min(amps, _ceiling(connectors[name].manager)) for name, amps in fitted.items()
        }
        for name, control in connectors.items():
            if not control.manager.running:
                continue  # still waiting for its devices: nothing to enforce yet
            await self._enforce(control, decisions[name], limits[name], now)
            self._explain(
                control, decisions[name], fitted[name], limits[name], grid, external=external[name]
            )
        return limits

    def _external(self, control: ConnectorControl, decision: Decision) -> float:
        """The current the connector's external limits allow now (inf: none)."""
        try:
            value = control.manager.vars().get(EXTERNAL_LIMITS_VAR)
        except RuntimeError:  # a connector still waiting for its devices
            return math.inf
        if not isinstance(value, ExternalLimits):
            return math.inf
        entry = external_entry(value, self._clock.now())
        cap = cap_A(entry, control.surplus.settings.voltage_V, decision.phases)
        return math.inf if cap is None else cap

    def _decide_in_turn(self, grid: GridReading | None, now: float) -> dict[str, Decision]:
        """Connectors decide in configuration order (their priority), each seeing the grid
        as it will be once those before it draw what they were just given. Without this,
        every connector would claim the same surplus and they would all overshoot, then
        all back off, every cycle."""
        decisions: dict[str, Decision] = {}
        claimed_W = 0.0  # power the connectors decided so far add to the grid
        for name, control in self.connectors.items():
            seen = None if grid is None else replace(grid, power_W=grid.power_W + claimed_W)
            decision = self._decide(control, seen, now)
            decisions[name] = decision
            amps = min(
                decision.current_A, _ceiling(control.manager), self._external(control, decision)
            )
            planned_W = amps * decision.phases * control.surplus.settings.voltage_V
            if not _drawing(control.manager):
                planned_W = 0.0  # no EV that wants energy: it will not draw what it may
            claimed_W += planned_W - _charge_power(control.manager)
        return decisions

    def _decide(self, control: ConnectorControl, grid: GridReading | None, now: float) -> Decision:
        surplus = control.surplus
        if _unplugged(control.manager):
            surplus.forget_car()  # what it learnt about this EV's draw leaves with it
        if grid is None:
            return _without_reading(surplus)
        charge_W = _charge_power(control.manager)
        reading = SiteReading(
            grid_W=grid.power_W,
            charge_W=charge_W,
            charge_A=_charge_current(control.manager),
            battery_W=grid.battery_W,
            battery_soc=grid.battery_soc,
        )
        return surplus.step(now, reading)

    def _fit(
        self,
        decisions: dict[str, Decision],
        grid: GridReading | None,
        external: Mapping[str, float],
    ) -> dict[str, float]:
        fuse = self.settings.fuse_A
        wanted = {
            name: 0.0
            if _gives_up_share(self.connectors[name].manager)
            else min(d.current_A, external[name])
            for name, d in decisions.items()
        }
        if fuse is None:
            return wanted
        if grid is None or grid.currents_A is None:
            # Household load unknown: only the minimum current is safe to promise.
            return {
                name: min(amps, self.connectors[name].surplus.settings.min_current_A)
                for name, amps in wanted.items()
            }
        household = list(grid.currents_A)
        demands = []
        for name, control in self.connectors.items():
            for phase, amps in zip(
                control.grid_phases, _ev_currents(control.manager), strict=False
            ):
                household[phase - 1] -= amps
            d = decisions[name]
            phases = control.grid_phases[: d.phases]
            max_a = wanted[name]
            min_a = min(control.surplus.settings.min_current_A, max_a)
            demands.append(Demand(name=name, phases=phases, min_A=min_a, max_A=max_a))
        return share(fuse, [max(0.0, h) for h in household], demands)

    async def _enforce(
        self, control: ConnectorControl, decision: Decision, amps: float, now: float
    ) -> None:
        wanted = (amps, decision.phases)
        refresh = now - control.sent_at >= self.settings.limit_valid_s / 3
        if wanted == control.sent and not refresh:
            return
        limits = EnforcedLimits(
            # energyImpl.cpp handle_enforce_limits: addressed to the connector's own uuid.
            uuid=control.manager.config.module_uuid,
            valid_for=int(self.settings.limit_valid_s),
            limits_root_side=LimitsRes(
                ac_max_current_A=NumberWithSource(value=amps, source=f"{UUID}/{decision.mode}"),
                ac_max_phase_count=IntegerWithSource(value=decision.phases, source=UUID)
                if control.surplus.settings.phase_switching
                else None,
            ),
        )
        await control.manager.set_enforced_limits(limits)
        control.sent, control.sent_at = wanted, now

    def _timer_ends_at(self, decision: Decision) -> str | None:
        """When the running timer fires (RFC 3339, whole seconds), or None."""
        if decision.timer is None or decision.timer_remaining_s is None:
            return None
        ends = self._clock.now() + timedelta(seconds=decision.timer_remaining_s)
        return rfc3339(ends.replace(microsecond=0))

    def _explain(
        self,
        control: ConnectorControl,
        decision: Decision,
        fitted: float,
        amps: float,
        grid: GridReading | None,
        *,
        external: float,
    ) -> None:
        body: dict[str, Any] = decision.to_json()
        body["limit_A"] = amps
        body["grid_W"] = None if grid is None else grid.power_W
        body["fuse_A"] = self.settings.fuse_A
        body["limited_by"] = _limited_by(decision, fitted, amps, external)
        body["timer_ends_at"] = self._timer_ends_at(decision)
        control.manager.publish(VAR, body)


def _limited_by(decision: Decision, fitted: float, amps: float, external: float) -> str:
    if amps + 1e-9 < fitted:
        return "max_current"  # the user's ceiling
    if fitted + 1e-9 < min(decision.current_A, external):
        return "fuse"
    if external + 1e-9 < decision.current_A:
        return "external"  # the CSMS's charging profile
    if decision.mode in (Mode.PV, Mode.MINPV):
        return "surplus" if decision.current_A > 0 else "waiting"
    return decision.mode.value


def _without_reading(surplus: SurplusController) -> Decision:
    """No grid reading: pv stops, min+pv keeps its minimum, fast and off are unaffected."""
    s = surplus.settings
    amps = {Mode.OFF: 0.0, Mode.PV: 0.0, Mode.MINPV: s.min_current_A, Mode.FAST: s.max_current_A}
    current = amps[surplus.mode]
    surplus.current_A = current
    return Decision(
        current_A=current,
        phases=surplus.phases,
        mode=surplus.mode,
        surplus_W=0.0,
        reason="no grid reading",
    )


def _ceiling(manager: ManagedConnector) -> float:
    """The user's maximum current at this connector (none set: no ceiling)."""
    try:
        value = manager.vars().get(MAX_CURRENT_VAR)
    except RuntimeError:  # a connector still waiting for its devices
        return math.inf
    return float(value) if isinstance(value, int | float) else math.inf


def _sample(manager: ManagedConnector) -> Powermeter | None:
    try:
        value = manager.vars().get("powermeter")
    except RuntimeError:  # a connector still waiting for its devices
        return None
    return value if isinstance(value, Powermeter) else None


def _gives_up_share(manager: ManagedConnector) -> bool:
    """A connector that is not running cannot take a limit (what its charger draws at its
    failsafe current is household load at the grid meter), nor one idle with
    request_zero_power_in_idle: the others get its share of the fuse."""
    return not manager.running or _requests_zero(manager)


def _requests_zero(manager: ManagedConnector) -> bool:
    """EvseManager request_zero_power_in_idle (energyImpl.cpp): no car, no power, so the
    other connectors get the fuse's share."""
    try:
        return manager.config.request_zero_power_in_idle and manager.state is State.Idle
    except RuntimeError:
        return False


def _unplugged(manager: ManagedConnector) -> bool:
    """No EV at this connector (EvseManager Idle: nothing plugged in)."""
    try:
        return manager.state is State.Idle
    except RuntimeError:
        return False


def _drawing(manager: ManagedConnector) -> bool:
    """Whether an EV at this connector draws (or is about to draw) what it is allowed."""
    try:
        return manager.state in DRAWING_STATES
    except RuntimeError:
        return False


def _charge_power(manager: ManagedConnector) -> float:
    sample = _sample(manager)
    return sample.power_W.total if sample is not None and sample.power_W is not None else 0.0


def _charge_current(manager: ManagedConnector) -> float | None:
    """The connector's highest phase current (the surplus base), None when not measured."""
    sample = _sample(manager)
    if sample is None or sample.current_A is None:
        return None
    return max(_ev_currents(manager))


def _ev_currents(manager: ManagedConnector) -> tuple[float, float, float]:
    sample = _sample(manager)
    if sample is None or sample.current_A is None:
        return (0.0, 0.0, 0.0)
    c = sample.current_A
    return (c.L1 or 0.0, c.L2 or 0.0, c.L3 or 0.0)
