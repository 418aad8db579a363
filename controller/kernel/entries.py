"""Entry and exit actions of the charging kernel's states.

``_enter_<State>`` runs once when a transition lands in that state (events, deadlines,
session bookkeeping); ``_exit`` drops the deadlines owned by the state being left; an
internal transition (the table leads back to the same state) runs ``_on_<trigger>``
instead. These, and the inputs, are the only places that change anything; where a trigger
leads is decided only by ``transitions.py``.
"""

from __future__ import annotations

from ..everest import (
    AuthorizationType,
    IdToken,
    IdTokenType,
    ProvidedIdToken,
    SessionEventEnum,
    StartSessionReason,
)
from ..everest.evse_manager import ChargingStateChangedEvent
from .bookkeeping import BookkeepingMixin
from .effects import StartMeterTransaction
from .output import OutputMixin
from .states import State, Trigger

# evse_managerImpl.cpp ready(): the token EVerest authorizes free-service plug-ins with.
FREE_TOKEN = ProvidedIdToken(
    id_token=IdToken(value="FREESERVICE", type=IdTokenType.Local),
    authorization_type=AuthorizationType.RFID,
    prevalidated=True,
)


class EntriesMixin(BookkeepingMixin, OutputMixin):
    """What happens on entering (and leaving) each state."""

    def _exit(self, state: State) -> None:
        for name in _STATE_DEADLINES.get(state, ()):
            self._deadlines.pop(name, None)

    def _enter(self, state: State, trigger: Trigger) -> None:
        entry = getattr(self, f"_enter_{state.name}", None)
        if entry is not None:
            entry(trigger)

    def _internal(self, trigger: Trigger) -> None:
        action = getattr(self, f"_on_{trigger.value}")
        action()

    def _on_unplug(self) -> None:
        """Disabled or Idle and the EV left: the session (and a transaction left open
        while disabled) ends; the state stays."""
        if self._facts.transaction is not None:
            self._emit(SessionEventEnum.ChargingFinished)
            self._finish_transaction()
        self._end_session()

    def _on_start_meter_transaction(self) -> None:
        """Authorized (and the cable known): ask the meter; its answer is an input."""
        self._facts.meter_start_pending = True
        self._effects.append(StartMeterTransaction(self._session_id()))

    def _on_wakeup_step(self) -> None:
        self._run_wakeup()

    def _on_pause_reasons_changed(self) -> None:
        self._emit_paused_evse(self.pause_reasons())

    def _enter_Disabled(self, trigger: Trigger) -> None:
        self._end_reservation()

    def _enter_Idle(self, trigger: Trigger) -> None:
        if trigger is Trigger.UNPLUG:
            self._end_session()

    def _enter_WaitingForAuthentication(self, trigger: Trigger) -> None:
        if self._facts.session is None:
            self._start_session(StartSessionReason.EVConnected, None)
        self._emit(SessionEventEnum.AuthRequired)
        if self._facts.auth is None:
            self._arm_auth_timeout()
            if self.config.free_charging:
                self._authorize(FREE_TOKEN, None)

    def _enter_PrepareCharging(self, trigger: Trigger) -> None:
        if trigger is Trigger.PHASES_SWITCHED:
            self._bsp_phases = self._phases  # the hardware switches now
        self._emit(SessionEventEnum.PrepareCharging)
        self._deadlines["wakeup"] = self._now() + self.config.wakeup_after_s

    def _enter_Charging(self, trigger: Trigger) -> None:
        self._emit(
            SessionEventEnum.ChargingStarted,
            charging_state_changed_event=ChargingStateChangedEvent(meter_value=self._meter),
        )

    def _enter_StoppingCharging(self, trigger: Trigger) -> None:
        self._emit(SessionEventEnum.StoppingCharging)
        self._deadlines["stopping"] = self._now() + self.config.stopping_timeout_s
        timeout = self.config.power_off_under_load_in_c1_timeout_s
        self._deadlines["c1_power_off"] = self._now() + timeout

    def _enter_ChargingPausedEV(self, trigger: Trigger) -> None:
        self._emit(
            SessionEventEnum.ChargingPausedEV,
            charging_state_changed_event=ChargingStateChangedEvent(meter_value=self._meter),
        )

    def _enter_ChargingPausedEVSE(self, trigger: Trigger) -> None:
        self._emit_paused_evse(self.pause_reasons())

    def _enter_SwitchPhases(self, trigger: Trigger) -> None:
        self._emit(SessionEventEnum.SwitchingPhases)
        self._deadlines["phase_switch"] = self._now() + self.config.switch_3ph1ph_delay_s

    def _enter_Finished(self, trigger: Trigger) -> None:
        self._deadlines.pop("auth_timeout", None)
        if self._facts.transaction is not None:
            self._emit(SessionEventEnum.ChargingFinished)
            self._finish_transaction()
        self._facts.auth = None
        self._facts.replug_needed = True


_STATE_DEADLINES: dict[State, tuple[str, ...]] = {
    State.PrepareCharging: ("wakeup", "wakeup_f_end", "wakeup_x1_end", "wakeup_pause"),
    State.StoppingCharging: ("stopping", "c1_power_off"),
    State.ChargingPausedEVSE: ("fault_f_end",),
    State.SwitchPhases: ("phase_switch",),
}
