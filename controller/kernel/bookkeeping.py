"""Session, authorization, transaction and reservation bookkeeping of the charging kernel.

Split out of ``machine.py``: these actions open and close sessions and transactions,
record authorization and its timeouts, end reservations, run the EV wake-up timer and
publish the session events and figures that go with them. Guards, entry actions and
inputs call them; they never change ``state`` themselves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..clock import rfc3339
from ..everest import (
    CarManufacturer,
    EVInfo,
    EvseManagerError,
    PauseChargingEVSEReason,
    ProvidedIdToken,
    SessionEventEnum,
    StartSessionReason,
    StopTransactionReason,
)
from ..everest.evse_manager import (
    ChargingPausedEVSEReasons,
    ChargingStateChangedEvent,
    SessionFinished,
    SessionStarted,
    TransactionFinished,
    TransactionStarted,
)
from .core import KernelCore
from .effects import CloseTransaction, EndSession, PersistTransaction, StopMeterTransaction
from .session import Session, SessionInfo, SessionRecord, StoppedSession, TransactionRecord


class BookkeepingMixin(KernelCore):
    """Sessions, authorization, transactions, reservations and the EV wake-up timer."""

    def _start_session(self, reason: StartSessionReason, token: ProvidedIdToken | None) -> None:
        self._facts.session = Session(
            uuid=self._new_id(),
            started_at=rfc3339(self._clock.now()),
            reason=reason,
            started_mono=self._now(),
        )
        self._set_var("ev_info", EVInfo())
        self._set_var("car_manufacturer", CarManufacturer.Unknown)
        # evse_managerImpl.cpp session_started: reservation_id whenever reserved.
        reservation = self._reservation
        # evse_managerImpl.cpp session_started: SessionLog.cpp startSession's directory.
        log = None
        if self.config.session_logging:
            session = self._facts.session
            log = f"{self.config.session_logging_path}/{session.started_at}-{session.uuid}"
        self._emit(
            SessionEventEnum.SessionStarted,
            session_started=SessionStarted(
                reason=reason,
                meter_value=self._meter,
                id_tag=token,
                reservation_id=reservation,
                logging_path=log,
            ),
        )
        if reason is StartSessionReason.Authorized:
            self._reservation = None  # ends silently: the reserved user arrived

    def _end_session(self) -> None:
        if self._facts.session is None:
            return
        self._emit(
            SessionEventEnum.SessionFinished,
            session_finished=SessionFinished(meter_value=self._meter),
        )
        self._effects.append(EndSession(self._facts.session.uuid))
        self._facts.end()
        self._deadlines.pop("auth_timeout", None)
        self._set_var("ev_info", EVInfo())
        self._set_var("session_info", None)
        lifted = self._limits.lift_lapsed()
        if lifted is not None:
            self._set_var("enforced_limits", lifted)
        if self._errors.clear_on_unplug():
            self._publish_errors()

    def _authorize(self, token: ProvidedIdToken, reservation_id: int | None) -> None:
        self._facts.auth_reservation = (
            reservation_id if reservation_id is not None else self._reservation
        )
        if self._facts.session is None:
            self._start_session(StartSessionReason.Authorized, token)
        self._facts.auth = token
        self._emit(SessionEventEnum.Authorized, authorization_event=self._auth_event())
        if not self._status.cp.plugged:
            self._arm_auth_timeout()
        else:
            self._deadlines.pop("auth_timeout", None)

    def _arm_auth_timeout(self) -> None:
        if self.config.auth_timeout_s is not None:
            self._deadlines["auth_timeout"] = self._now() + self.config.auth_timeout_s

    def _plugin_timeout(self) -> None:
        self._emit(SessionEventEnum.PluginTimeout)
        if self.config.raise_mrec9:
            self._raise_own(EvseManagerError.MREC9AuthorizationTimeout, "no authorization")

    def _open_transaction(self) -> None:
        if self._facts.session is None or self._facts.auth is None:
            return
        reservation = self._facts.auth_reservation
        record = TransactionRecord(
            session_id=self._facts.session.uuid,
            connector_id=self.config.connector_id,
            started_at=rfc3339(self._clock.now()),
            session_reason=self._facts.session.reason,
            id_tag=self._facts.auth,
            start_meter=self._meter,
            reservation_id=reservation,
            session_started_at=self._facts.session.started_at,
        )
        self._effects.append(PersistTransaction(record))
        self._facts.transaction = record
        self._reservation = None  # ends silently at TransactionStarted
        self._deadlines.pop("auth_timeout", None)
        self._emit(
            SessionEventEnum.TransactionStarted,
            transaction_started=TransactionStarted(
                id_tag=record.id_tag, meter_value=self._meter, reservation_id=reservation
            ),
        )

    def _finish_transaction(self) -> None:
        record = self._facts.transaction
        if record is None:
            return
        if self._facts.stop is not None:
            reason, id_tag = self._facts.stop.reason, self._facts.stop.id_tag
        elif not self._status.cp.plugged:
            reason, id_tag = StopTransactionReason.EVDisconnected, None
        else:
            reason, id_tag = StopTransactionReason.Other, None
        self._effects.append(StopMeterTransaction(record.session_id))
        finished_at = rfc3339(self._clock.now())
        stop_energy = self._meter.energy_Wh_import.total
        summary = SessionRecord(
            session_id=record.session_id,
            connector_id=record.connector_id,
            id_tag=record.id_tag.id_token.value,
            started_at=record.started_at,
            finished_at=finished_at,
            start_energy_Wh=record.start_energy_Wh,
            stop_energy_Wh=stop_energy,
            energy_Wh=record.energy_Wh(stop_energy),
            duration_s=_seconds_between(record.started_at, finished_at),
            start_reason=record.session_reason,
            stop_reason=reason,
        )
        self._effects.append(CloseTransaction(summary, self._stopped_session()))
        self._set_var("last_session", summary)
        self._facts.transaction = None
        self._emit(
            SessionEventEnum.TransactionFinished,
            transaction_finished=TransactionFinished(
                meter_value=self._meter, reason=reason, id_tag=id_tag
            ),
        )

    def _stopped_session(self) -> StoppedSession | None:
        """What keeps a finished session stopped across restarts while the EV stays."""
        if self._facts.session is None or not self._status.cp.plugged:
            return None
        return StoppedSession(
            session_id=self._facts.session.uuid,
            started_at=self._facts.session.started_at,
            session_reason=self._facts.session.reason,
        )

    def _resume_session(self, uuid: str, started_at: str, reason: StartSessionReason) -> None:
        """A session of the previous process, with its real start (its duration goes on)."""
        elapsed = max(0.0, _seconds_between(started_at, rfc3339(self._clock.now())))
        self._facts.session = Session(
            uuid=uuid, started_at=started_at, reason=reason, started_mono=self._now() - elapsed
        )

    def _counter_reset(self, before_Wh: float) -> None:
        """The meter's counter went back (replaced or power-cycled meter): the transaction
        keeps the energy counted so far and counts on from the new reading."""
        record = self._facts.transaction
        if record is None:
            return
        record = replace(
            record,
            energy_before_reset_Wh=record.energy_Wh(before_Wh),
            baseline_Wh=self._meter.energy_Wh_import.total,
        )
        self._facts.transaction = record
        self._effects.append(PersistTransaction(record))

    def _end_reservation(self) -> None:
        if self._reservation is None:
            return
        self._reservation = None
        self._emit(SessionEventEnum.ReservationEnd, uuid="")

    def _emit_paused_evse(self, reasons: frozenset[PauseChargingEVSEReason]) -> None:
        self._paused_reasons = reasons
        ordered = [r for r in PauseChargingEVSEReason if r in reasons]
        self._emit(
            SessionEventEnum.ChargingPausedEVSE,
            charging_paused_evse=ChargingPausedEVSEReasons(reasons=ordered),
            charging_state_changed_event=ChargingStateChangedEvent(meter_value=self._meter),
        )

    def _publish_session_info(self) -> None:
        if self._facts.session is None:
            return
        total = self._meter.energy_Wh_import.total
        energy = self._facts.transaction.energy_Wh(total) if self._facts.transaction else 0.0
        power = self._meter.power_W.total if self._meter.power_W is not None else 0.0
        self._set_var(
            "session_info",
            SessionInfo(
                uuid=self._facts.session.uuid,
                state=self.state.value,
                started_at=self._facts.session.started_at,
                duration_s=round(self._now() - self._facts.session.started_mono, 1),
                energy_Wh=energy,
                power_W=power,
                id_tag=self._facts.auth.id_token.value if self._facts.auth else None,
            ),
        )

    def _run_wakeup(self) -> None:
        """No EV response 30 s after PWM: one F pulse (T_step_EF), then wait 10 s more."""
        if self._due("wakeup"):
            del self._deadlines["wakeup"]
            self._deadlines["wakeup_f_end"] = self._now() + self.config.wakeup_f_s
        elif self._due("wakeup_f_end"):
            del self._deadlines["wakeup_f_end"]
            self._deadlines["wakeup_x1_end"] = self._now() + self.config.wakeup_x1_s
        elif self._due("wakeup_x1_end"):
            del self._deadlines["wakeup_x1_end"]
            self._deadlines["wakeup_pause"] = self._now() + self.config.wakeup_pause_s


def _seconds_between(start: str, end: str) -> float:
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    finish = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return (finish - begin).total_seconds()
