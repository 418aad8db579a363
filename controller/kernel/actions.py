"""Entry, exit and internal actions of the charging kernel's transitions.

``_enter_<State>`` runs once when a transition lands in that state (events, deadlines,
session bookkeeping); ``exit`` drops the deadlines owned by the state being left; an
internal transition (the table leads back to the same state) runs ``_on_<trigger>``
instead. Where a trigger leads is decided only by ``transitions.py``; sessions end only
here.
"""

from __future__ import annotations

from collections.abc import Callable

from ..everest import (
    AuthorizationType,
    IdToken,
    IdTokenType,
    ProvidedIdToken,
    SessionEventEnum,
    StartSessionReason,
)
from .arbitration import EnableArbiter
from .bookkeeping import Bookkeeper
from .config import KernelConfig
from .effects import StartMeterTransaction
from .facts import Facts
from .faults import ActiveErrors
from .limits import EnergyLimits
from .outbox import Outbox
from .phases import Phases
from .readiness import Readiness
from .states import State, Trigger
from .timers import Timers

# evse_managerImpl.cpp ready(): the token EVerest authorizes free-service plug-ins with.
FREE_TOKEN = ProvidedIdToken(
    id_token=IdToken(value="FREESERVICE", type=IdTokenType.Local),
    authorization_type=AuthorizationType.RFID,
    prevalidated=True,
)

_STATE_DEADLINES: dict[State, tuple[str, ...]] = {
    State.PrepareCharging: ("wakeup", "wakeup_f_end", "wakeup_x1_end", "wakeup_pause"),
    State.StoppingCharging: ("stopping", "c1_power_off"),
    State.ChargingPausedEVSE: ("fault_f_end",),
    State.SwitchPhases: ("phase_switch",),
}


class Actions:
    """What happens on the way: the parts a transition may change, and nothing else."""

    def __init__(
        self,
        config: KernelConfig,
        facts: Callable[[], Facts],
        *,
        book: Bookkeeper,
        timers: Timers,
        out: Outbox,
        phases: Phases,
        errors: ActiveErrors,
        limits: EnergyLimits,
        readiness: Readiness,
        arbiter: EnableArbiter,
    ) -> None:
        self._config = config
        self._facts = facts  # read-only: what the guards see, taken now
        self._book = book
        self._timers = timers
        self._out = out
        self._phases = phases
        self._errors = errors
        self._limits = limits
        self._readiness = readiness
        self._arbiter = arbiter

    def exit(self, state: State) -> None:
        """Leaving ``state``: its deadlines go."""
        self._timers.cancel(*_STATE_DEADLINES.get(state, ()))

    def enter(self, state: State, trigger: Trigger) -> None:
        """Landed in ``state`` by ``trigger``."""
        entry = getattr(self, f"_enter_{state.name}", None)
        if entry is not None:
            entry(trigger)

    def internal(self, trigger: Trigger) -> None:
        """``trigger`` led back to the same state."""
        getattr(self, f"_on_{trigger.value}")()

    # ------------------------------------------------------------------ internal

    def _on_unplug(self) -> None:
        """Disabled or Idle and the EV left: the session (and a transaction left open
        while disabled) ends; the state stays."""
        if self._book.facts.transaction is not None:
            self._book.emit(SessionEventEnum.ChargingFinished)
            self._book.finish_transaction(plugged=False)
        self._end_session()

    def _on_end_session(self) -> None:
        """Authorization withdrawn with no EV, or a restart found the session over: what
        is still open ends (TransactionFinished, SessionFinished), without ChargingFinished."""
        self._book.finish_transaction(self._facts().plugged)
        self._end_session()
        self._book.facts.end()  # also without a session (a restored transaction alone)

    def _on_announce(self) -> None:
        """EvseManager.cpp ready_to_start_charging: Enabled/Disabled, then ready (true)."""
        enabled = self._arbiter.enabled
        event = SessionEventEnum.Enabled if enabled else SessionEventEnum.Disabled
        self._book.emit(event, source=self._arbiter.winner())
        self._out.set_var("ready", True)
        self._out.set_var("waiting_for_external_ready", False)
        self._readiness.announced()

    def _on_start_meter_transaction(self) -> None:
        """Authorized (and the cable known): ask the meter; its answer is an input."""
        self._book.facts.meter_start_pending = True
        self._out.add(StartMeterTransaction(self._book.uuid))

    def _on_wakeup_step(self) -> None:
        """No EV response 30 s after PWM: one F pulse (T_step_EF), then wait 10 s more."""
        timers, config = self._timers, self._config
        if timers.due("wakeup"):
            timers.cancel("wakeup")
            timers.arm("wakeup_f_end", config.wakeup_f_s)
        elif timers.due("wakeup_f_end"):
            timers.cancel("wakeup_f_end")
            timers.arm("wakeup_x1_end", config.wakeup_x1_s)
        elif timers.due("wakeup_x1_end"):
            timers.cancel("wakeup_x1_end")
            timers.arm("wakeup_pause", config.wakeup_pause_s)

    def _on_pause_reasons_changed(self) -> None:
        self._book.emit_paused_evse(self._facts().pause_reasons)

    # ------------------------------------------------------------------ entries

    def _enter_Disabled(self, trigger: Trigger) -> None:
        self._book.end_reservation()

    def _enter_Idle(self, trigger: Trigger) -> None:
        if trigger is Trigger.UNPLUG:
            self._end_session()

    def _enter_WaitingForAuthentication(self, trigger: Trigger) -> None:
        book = self._book
        if book.facts.session is None:
            book.start_session(StartSessionReason.EVConnected, None)
        book.emit(SessionEventEnum.AuthRequired)
        if book.facts.auth is None:
            book.arm_auth_timeout()
            if self._config.free_charging:
                book.authorize(FREE_TOKEN, None, self._facts().plugged)

    def _enter_PrepareCharging(self, trigger: Trigger) -> None:
        if trigger is Trigger.PHASES_SWITCHED:
            self._phases.switched()
        self._book.emit(SessionEventEnum.PrepareCharging)
        self._timers.arm("wakeup", self._config.wakeup_after_s)

    def _enter_Charging(self, trigger: Trigger) -> None:
        self._book.emit_with_meter(SessionEventEnum.ChargingStarted)

    def _enter_StoppingCharging(self, trigger: Trigger) -> None:
        self._book.emit(SessionEventEnum.StoppingCharging)
        self._timers.arm("stopping", self._config.stopping_timeout_s)
        self._timers.arm("c1_power_off", self._config.power_off_under_load_in_c1_timeout_s)

    def _enter_ChargingPausedEV(self, trigger: Trigger) -> None:
        self._book.emit_with_meter(SessionEventEnum.ChargingPausedEV)

    def _enter_ChargingPausedEVSE(self, trigger: Trigger) -> None:
        self._book.emit_paused_evse(self._facts().pause_reasons)

    def _enter_SwitchPhases(self, trigger: Trigger) -> None:
        self._book.emit(SessionEventEnum.SwitchingPhases)
        self._timers.arm("phase_switch", self._config.switch_3ph1ph_delay_s)

    def _enter_Finished(self, trigger: Trigger) -> None:
        book = self._book
        self._timers.cancel("auth_timeout")
        if book.facts.transaction is not None:
            book.emit(SessionEventEnum.ChargingFinished)
            book.finish_transaction(self._facts().plugged)
        book.facts.auth = None
        book.facts.replug_needed = True

    # ------------------------------------------------------------------ session end

    def _end_session(self) -> None:
        """The session ends: an expired energy-manager limit and the errors that end with
        the session go with it."""
        if self._book.facts.session is None:
            return
        self._book.end_session()
        lifted = self._limits.lift_lapsed()
        if lifted is not None:
            self._out.set_var("enforced_limits", lifted)
        if self._errors.clear_on_unplug():
            self._out.set_var("errors", self._errors.active())
