"""A read-only view of everything the guards and the output derivation may look at.

The kernel hands one out (``ChargingKernel._facts``) whenever a guard runs or the output
is asked for. It offers values only (no part, no setter), each read from the part that
owns it when asked, so a guard is a function from facts to a trigger and the charger
output a function of the facts; neither can change anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..everest import CpState, PauseChargingEVSEReason
from ..ports import ChargerInfo, ChargerStatus
from .arbitration import EnableArbiter
from .bookkeeping import Bookkeeper
from .cable import Cable
from .faults import ActiveErrors
from .limits import EnergyLimits
from .phases import Phases
from .pwm import MIN_CURRENT_A, PwmSignal
from .readiness import Readiness
from .states import State
from .timers import Timers


@dataclass(frozen=True)
class Parts:
    """The kernel's parts the facts are read from (set up once by the kernel)."""

    info: ChargerInfo
    arbiter: EnableArbiter
    readiness: Readiness
    book: Bookkeeper
    errors: ActiveErrors
    limits: EnergyLimits
    phases: Phases
    cable: Cable
    pwm: PwmSignal
    timers: Timers


class Facts:
    """The connector's state and facts as they are now."""

    __slots__ = ("_parts", "_status", "state")

    def __init__(self, state: State, status: ChargerStatus, parts: Parts) -> None:
        self.state = state
        self._status = status
        self._parts = parts

    # ---------------------------------------------------------------- EVSE

    @property
    def enabled(self) -> bool:
        """The enable/disable arbitration lets the EVSE leave Disabled."""
        return self._parts.arbiter.enabled

    @property
    def ready(self) -> bool:
        """external_ready: the signal came (or none is needed)."""
        return self._parts.readiness.ready

    @property
    def announce_due(self) -> bool:
        """Enabled/ready are not published yet, and it is time."""
        return self._parts.readiness.announce_due

    @property
    def has_lock(self) -> bool:
        """The hardware has a connector lock."""
        return self._parts.info.has_lock

    @property
    def inoperative(self) -> bool:
        """A fatal error is active."""
        return self._parts.errors.inoperative

    # ---------------------------------------------------------------- EV and charger

    @property
    def cp(self) -> CpState:
        """The EV's state (during F the last EV state)."""
        return self._status.cp

    @property
    def plugged(self) -> bool:
        """An EV is connected."""
        return self._status.cp.plugged

    @property
    def requests_power(self) -> bool:
        """The EV asks for power (C or D)."""
        return self._status.cp.requests_power

    @property
    def relays_on(self) -> bool:
        """The charger reports its contactors closed."""
        return self._status.relays_on

    @property
    def cable_unknown(self) -> bool:
        """A socket without a PP reading yet."""
        return self._parts.cable.unknown(self._status.pp_ampacity)

    # ---------------------------------------------------------------- session

    @property
    def in_session(self) -> bool:
        """A session is open."""
        return self._parts.book.facts.session is not None

    @property
    def transaction_open(self) -> bool:
        """A transaction is open."""
        return self._parts.book.facts.transaction is not None

    @property
    def authorized(self) -> bool:
        """The session has a valid authorization."""
        return self._parts.book.facts.auth is not None

    @property
    def replug_needed(self) -> bool:
        """The session's transaction ended: no second one until the unplug."""
        return self._parts.book.facts.replug_needed

    @property
    def meter_start_pending(self) -> bool:
        """The meter was asked to start the transaction and has not answered."""
        return self._parts.book.facts.meter_start_pending

    @property
    def meter_start_failed(self) -> bool:
        """The meter refused to start the transaction."""
        return self._parts.book.facts.meter_start_failed

    @property
    def session_ending(self) -> bool:
        """A withdrawal or a restart left the session with nothing to wait for."""
        return self._parts.book.facts.ending

    @property
    def reservation_id(self) -> int | None:
        """The reservation the EVSE holds (-1: a global one), if any."""
        return self._parts.book.reservation

    @property
    def unlock_requested(self) -> bool:
        """force_unlock was called in this session."""
        return self._parts.book.facts.unlock_requested

    @property
    def stop_wanted(self) -> bool:
        """The EV left or someone asked to end the transaction."""
        return not self.plugged or self._parts.book.facts.stop is not None

    # ---------------------------------------------------------------- current and phases

    @property
    def allowed_A(self) -> float:
        """The current the EV may draw now, by every limit (0: no power)."""
        parts = self._parts
        ampacity = parts.cable.ampacity(self.state, self._status.pp_ampacity)
        return parts.limits.allowed_current(parts.phases.requested, ampacity, parts.timers.now())

    @property
    def signalled_A(self) -> float:
        """The current the PWM signals now."""
        return self._parts.pwm.current_A

    @property
    def pause_reasons(self) -> frozenset[PauseChargingEVSEReason]:
        """Why the EVSE holds charging now (empty: it does not)."""
        reasons: set[PauseChargingEVSEReason] = set()
        if self._parts.book.facts.user_pause:
            reasons.add(PauseChargingEVSEReason.UserPause)
        if self.inoperative:
            reasons.add(PauseChargingEVSEReason.Error)
        if self.allowed_A < MIN_CURRENT_A:
            reasons.add(PauseChargingEVSEReason.NoEnergy)
        return frozenset(reasons)

    @property
    def announced_pause(self) -> frozenset[PauseChargingEVSEReason]:
        """The reasons the last ChargingPausedEVSE gave."""
        return self._parts.book.announced_pause

    @property
    def phase_switch_wanted(self) -> bool:
        """A requested phase count the hardware does not have yet."""
        return self._parts.phases.switch_wanted

    @property
    def hardware_phases(self) -> int:
        """The phase count the hardware is told."""
        return self._parts.phases.hardware

    # ---------------------------------------------------------------- deadlines

    def armed(self, name: str) -> bool:
        """The deadline ``name`` is armed (due or not)."""
        return self._parts.timers.pending(name)

    def due(self, *names: str) -> bool:
        """One of these deadlines has come."""
        return any(self._parts.timers.due(name) for name in names)
