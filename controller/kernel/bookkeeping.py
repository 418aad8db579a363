"""Session, authorization, transaction and reservation bookkeeping of one connector.

``Bookkeeper`` owns the current session's facts (``SessionFacts``) and the reservation,
and publishes the session events and figures that go with them. It never changes the
machine's state: the actions (``actions.py``) call it on transitions, and the commands call
it for what EVerest does without a transition (authorize, reserve, the requests kept
in ``facts``: stop, pause, unlock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..clock import Clock, rfc3339
from ..everest import (
    CarManufacturer,
    EVInfo,
    PauseChargingEVSEReason,
    Powermeter,
    ProvidedIdToken,
    SessionEventEnum,
    StartSessionReason,
    StopTransactionReason,
    StopTransactionRequest,
)
from ..everest.evse_manager import (
    AuthorizationEvent,
    ChargingPausedEVSEReasons,
    ChargingStateChangedEvent,
    SessionFinished,
    SessionStarted,
    TransactionFinished,
    TransactionStarted,
)
from .config import KernelConfig
from .effects import CloseTransaction, EndSession, PersistTransaction, StopMeterTransaction
from .outbox import Outbox
from .session import (
    Session,
    SessionFacts,
    SessionInfo,
    SessionRecord,
    StoppedSession,
    TransactionRecord,
)
from .states import State
from .timers import Timers

_POWER_LOSS = StopTransactionRequest(reason=StopTransactionReason.PowerLoss)


class Bookkeeper:
    """Sessions, authorization and its timeout, transactions and the reservation."""

    def __init__(
        self,
        config: KernelConfig,
        clock: Clock,
        timers: Timers,
        out: Outbox,
        *,
        meter: Callable[[], Powermeter],
        new_id: Callable[[], str],
    ) -> None:
        self._config = config
        self._clock = clock
        self._timers = timers
        self._out = out
        self._meter = meter
        self._new_id = new_id
        self.facts = SessionFacts()  # read by the kernel; requests are set by commands
        self.reservation: int | None = None
        self.announced_pause: frozenset[PauseChargingEVSEReason] = frozenset()
        self._session_figures: tuple[object, ...] | None = None  # last session_info's

    # ------------------------------------------------------------------ events

    @property
    def uuid(self) -> str:
        """The current session's id ("" outside a session)."""
        return self.facts.session.uuid if self.facts.session is not None else ""

    def emit(self, event: SessionEventEnum, uuid: str | None = None, **payload: Any) -> None:
        """A session event, of the current session unless ``uuid`` says otherwise."""
        self._out.emit(event, self.uuid if uuid is None else uuid, **payload)

    def auth_event(self) -> AuthorizationEvent:
        """The payload of Authorized / Deauthorized."""
        return AuthorizationEvent(meter_value=self._meter())

    def emit_with_meter(self, event: SessionEventEnum) -> None:
        """An event that carries the meter reading as a charging state change."""
        self.emit(event, charging_state_changed_event=self._state_change())

    def emit_paused_evse(self, reasons: frozenset[PauseChargingEVSEReason]) -> None:
        """ChargingPausedEVSE with its reasons in EVerest's order (Error, NoEnergy, UserPause)."""
        self.announced_pause = reasons
        ordered = [r for r in PauseChargingEVSEReason if r in reasons]
        self.emit(
            SessionEventEnum.ChargingPausedEVSE,
            charging_paused_evse=ChargingPausedEVSEReasons(reasons=ordered),
            charging_state_changed_event=self._state_change(),
        )

    def _state_change(self) -> ChargingStateChangedEvent:
        return ChargingStateChangedEvent(meter_value=self._meter())

    # ------------------------------------------------------------------ sessions

    def start_session(self, reason: StartSessionReason, token: ProvidedIdToken | None) -> None:
        """SessionStarted (with the reservation and the session log directory)."""
        session = Session(
            uuid=self._new_id(),
            started_at=rfc3339(self._clock.now()),
            reason=reason,
            started_mono=self._timers.now(),
        )
        self.facts.session = session
        self._out.set_var("ev_info", EVInfo())
        self._out.set_var("car_manufacturer", CarManufacturer.Unknown)
        # evse_managerImpl.cpp session_started: SessionLog.cpp startSession's directory.
        log = None
        if self._config.session_logging:
            log = f"{self._config.session_logging_path}/{session.started_at}-{session.uuid}"
        self.emit(
            SessionEventEnum.SessionStarted,
            session_started=SessionStarted(
                reason=reason,
                meter_value=self._meter(),
                id_tag=token,
                # evse_managerImpl.cpp session_started: reservation_id whenever reserved.
                reservation_id=self.reservation,
                logging_path=log,
            ),
        )
        if reason is StartSessionReason.Authorized:
            self.reservation = None  # ends silently: the reserved user arrived

    def end_session(self) -> None:
        """SessionFinished; every fact of the session is forgotten."""
        if self.facts.session is None:
            return
        self.emit(
            SessionEventEnum.SessionFinished,
            session_finished=SessionFinished(meter_value=self._meter()),
        )
        self._out.add(EndSession(self.facts.session.uuid))
        self.facts.end()
        self._timers.cancel("auth_timeout")
        self._out.set_var("ev_info", EVInfo())
        self._out.set_var("session_info", None)
        self._session_figures = None

    def resume_session(self, uuid: str, started_at: str, reason: StartSessionReason) -> None:
        """A session of the previous process, with its real start (its duration goes on)."""
        elapsed = max(0.0, _seconds_between(started_at, rfc3339(self._clock.now())))
        self.facts.session = Session(
            uuid=uuid,
            started_at=started_at,
            reason=reason,
            started_mono=self._timers.now() - elapsed,
        )

    def publish_session_info(self, state: State) -> None:
        """The live figures of the current session (an extension variable)."""
        facts = self.facts
        if facts.session is None:
            return
        meter = self._meter()
        total = meter.energy_Wh_import.total
        energy = facts.transaction.energy_Wh(total) if facts.transaction else 0.0
        power = meter.power_W.total if meter.power_W is not None else 0.0
        figures = (
            facts.session.uuid,
            state.value,
            facts.session.started_at,
            round(self._timers.now() - facts.session.started_mono, 1),
            energy,
            power,
            facts.auth.id_token.value if facts.auth else None,
        )
        if figures == self._session_figures:
            return  # every step ends here: built only when a figure changed
        self._session_figures = figures
        uuid, state_name, started_at, duration, energy, power, id_tag = figures
        self._out.set_var(
            "session_info",
            SessionInfo(
                uuid=uuid,
                state=state_name,
                started_at=started_at,
                duration_s=duration,
                energy_Wh=energy,
                power_W=power,
                id_tag=id_tag,
            ),
        )

    # ------------------------------------------------------------------ restart

    def restore(self, record: TransactionRecord, plugged: bool) -> None:
        """A transaction was open when the previous process died: it goes on, unless the
        EV left meanwhile (then it ends with PowerLoss, before Enabled)."""
        started_at = record.session_started_at or record.started_at
        self.resume_session(record.session_id, started_at, record.session_reason)
        self.facts.transaction = record
        self.facts.auth = record.id_tag
        self._check_counter(record)
        self.emit(SessionEventEnum.SessionResumed)
        if not plugged:
            self.facts.stop = _POWER_LOSS
            self.facts.ending = True

    def finish_restored(self, record: TransactionRecord) -> None:
        """EvseManager.cpp init: SessionResumed with the stored session id, then
        Charger.cpp cleanup_transactions_on_startup stops the meter's transaction and emits
        TransactionFinished(PowerLoss) without id_tag; the charger has no session then, so
        that event's uuid is empty and no SessionFinished follows. A plugged-in EV starts a
        new session."""
        self.emit(SessionEventEnum.SessionResumed, uuid=record.session_id)
        self.facts.transaction = record
        self._check_counter(record)
        self.facts.stop = _POWER_LOSS
        self.facts.ending = True

    def restore_stopped(self, stopped: StoppedSession, plugged: bool) -> None:
        """The previous process had finished this session's transaction with the EV left
        plugged in: the session stays stopped until the unplug (no new transaction); if
        the EV left meanwhile it ends before Enabled."""
        self.resume_session(stopped.session_id, stopped.started_at, stopped.session_reason)
        self.facts.replug_needed = True
        self.emit(SessionEventEnum.SessionResumed)
        self.facts.ending = not plugged

    def _check_counter(self, record: TransactionRecord) -> None:
        counted_from = record.start_energy_Wh if record.baseline_Wh is None else record.baseline_Wh
        if self._meter().energy_Wh_import.total < counted_from:
            self.counter_reset(counted_from)  # reset while no controller ran

    # ------------------------------------------------------------------ authorization

    def authorize(self, token: ProvidedIdToken, reservation_id: int | None, plugged: bool) -> None:
        """Authorized (a session starts first if there is none); before the plug-in the
        authorization times out."""
        self.facts.auth_reservation = (
            reservation_id if reservation_id is not None else self.reservation
        )
        if self.facts.session is None:
            self.start_session(StartSessionReason.Authorized, token)
        self.facts.auth = token
        self.emit(SessionEventEnum.Authorized, authorization_event=self.auth_event())
        if not plugged:
            self.arm_auth_timeout()
        else:
            self._timers.cancel("auth_timeout")

    def arm_auth_timeout(self) -> None:
        """The connection timeout (EvseManager connection_timeout) starts."""
        if self._config.auth_timeout_s is not None:
            self._timers.arm("auth_timeout", self._config.auth_timeout_s)

    # ------------------------------------------------------------------ transactions

    def open_transaction(self) -> None:
        """The meter started the transaction: persist it, then TransactionStarted."""
        facts = self.facts
        if facts.session is None or facts.auth is None:
            return
        reservation = facts.auth_reservation
        record = TransactionRecord(
            session_id=facts.session.uuid,
            connector_id=self._config.connector_id,
            started_at=rfc3339(self._clock.now()),
            session_reason=facts.session.reason,
            id_tag=facts.auth,
            start_meter=self._meter(),
            reservation_id=reservation,
            session_started_at=facts.session.started_at,
        )
        self._out.add(PersistTransaction(record))
        facts.transaction = record
        self.reservation = None  # ends silently at TransactionStarted
        self._timers.cancel("auth_timeout")
        self.emit(
            SessionEventEnum.TransactionStarted,
            transaction_started=TransactionStarted(
                id_tag=record.id_tag, meter_value=self._meter(), reservation_id=reservation
            ),
        )

    def finish_transaction(self, plugged: bool) -> None:
        """Close the open transaction (if any) into the history: TransactionFinished."""
        record = self.facts.transaction
        if record is None:
            return
        reason, id_tag = self._stop_reason(plugged)
        self._out.add(StopMeterTransaction(record.session_id))
        meter = self._meter()
        summary = _summary(record, rfc3339(self._clock.now()), meter, reason)
        self._out.add(CloseTransaction(summary, self._stopped_session(plugged)))
        self._out.set_var("last_session", summary)
        self.facts.transaction = None
        self.emit(
            SessionEventEnum.TransactionFinished,
            transaction_finished=TransactionFinished(
                meter_value=meter, reason=reason, id_tag=id_tag
            ),
        )

    def _stop_reason(self, plugged: bool) -> tuple[StopTransactionReason, ProvidedIdToken | None]:
        stop = self.facts.stop
        if stop is not None:
            return stop.reason, stop.id_tag
        if not plugged:
            return StopTransactionReason.EVDisconnected, None
        return StopTransactionReason.Other, None

    def _stopped_session(self, plugged: bool) -> StoppedSession | None:
        """What keeps a finished session stopped across restarts while the EV stays."""
        session = self.facts.session
        if session is None or not plugged:
            return None
        return StoppedSession(
            session_id=session.uuid,
            started_at=session.started_at,
            session_reason=session.reason,
        )

    def counter_reset(self, before_Wh: float) -> None:
        """The meter's counter went back (replaced or power-cycled meter): the transaction
        keeps the energy counted so far and counts on from the new reading."""
        record = self.facts.transaction
        if record is None:
            return
        record = replace(
            record,
            energy_before_reset_Wh=record.energy_Wh(before_Wh),
            baseline_Wh=self._meter().energy_Wh_import.total,
        )
        self.facts.transaction = record
        self._out.add(PersistTransaction(record))

    # ------------------------------------------------------------------ reservation

    def reserve(self, reservation_id: int) -> bool:
        """EvseManager.cpp reserve: a global reservation (-1) may be made specific by a
        later id (ReservationStart again); the same specific id again is accepted
        silently; another id is refused."""
        stored = -1 if self.reservation is None else self.reservation
        overwrite = stored == reservation_id
        if self.reservation is not None and stored != -1 and not overwrite:
            return False
        self.reservation = reservation_id if reservation_id >= 0 else stored
        if not overwrite or self.reservation == -1:
            self.emit(SessionEventEnum.ReservationStart, uuid="")
        return True

    def end_reservation(self) -> None:
        """ReservationEnd, if there is a reservation."""
        if self.reservation is None:
            return
        self.reservation = None
        self.emit(SessionEventEnum.ReservationEnd, uuid="")


def _summary(
    record: TransactionRecord, finished_at: str, meter: Powermeter, reason: StopTransactionReason
) -> SessionRecord:
    stop_energy = meter.energy_Wh_import.total
    return SessionRecord(
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


def _seconds_between(start: str, end: str) -> float:
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    finish = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return (finish - begin).total_seconds()
