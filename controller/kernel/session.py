"""Session and transaction records: what is persisted and what history keeps."""

from __future__ import annotations

from dataclasses import dataclass

from ..everest import (
    EverestModel,
    Powermeter,
    ProvidedIdToken,
    StartSessionReason,
    StopTransactionRequest,
)
from ..everest.evse_manager import StopTransactionReason


@dataclass(frozen=True, kw_only=True)
class Session:
    """A session: from plug-in (or early authorization) to unplug."""

    uuid: str
    started_at: str
    reason: StartSessionReason
    started_mono: float


@dataclass
class SessionFacts:
    """What the kernel knows about the current session, in one place: the session and its
    transaction, authorization and the requests made during it. ``end()`` is the one
    place that says what a session's end forgets."""

    session: Session | None = None
    transaction: TransactionRecord | None = None
    auth: ProvidedIdToken | None = None
    auth_reservation: int | None = None  # the reservation the authorization was for
    meter_start_pending: bool = False
    meter_start_failed: bool = False
    replug_needed: bool = False  # the transaction ended: no second one until the unplug
    stop: StopTransactionRequest | None = None
    user_pause: bool = False
    unlock_requested: bool = False
    # Nothing is left to wait for (authorization withdrawn with no EV, or what a restart
    # found): the session, and a transaction still open, end at the next step.
    ending: bool = False

    def end(self) -> None:
        """The session ended: every fact of it back to its start (a transaction is
        finished before, and is not touched)."""
        self.session = None
        self.auth = None
        self.auth_reservation = None
        self.meter_start_pending = False
        self.meter_start_failed = False
        self.replug_needed = False
        self.stop = None
        self.user_pause = False
        self.unlock_requested = False
        self.ending = False


@dataclass(frozen=True, kw_only=True)
class TransactionRecord(EverestModel):
    """The open transaction as persisted: enough to resume or finish it after a restart."""

    session_id: str
    connector_id: int
    started_at: str
    session_reason: StartSessionReason
    id_tag: ProvidedIdToken
    start_meter: Powermeter
    reservation_id: int | None = None
    # When the session (not the transaction) began: a resumed session keeps its duration.
    session_started_at: str | None = None
    # Meter counter resets during the transaction: the energy counted up to the last reset
    # and the counter value the energy is counted from since (None: ``start_meter``).
    energy_before_reset_Wh: float = 0.0
    baseline_Wh: float | None = None

    @property
    def start_energy_Wh(self) -> float:
        """Meter reading when the transaction started."""
        return self.start_meter.energy_Wh_import.total

    def energy_Wh(self, counter_Wh: float) -> float:
        """Energy of the transaction at meter reading ``counter_Wh`` (resets included)."""
        baseline = self.start_energy_Wh if self.baseline_Wh is None else self.baseline_Wh
        return self.energy_before_reset_Wh + counter_Wh - baseline


@dataclass(frozen=True, kw_only=True)
class StoppedSession(EverestModel):
    """A session whose transaction has finished while the EV stays plugged in: kept
    across restarts so that it stays stopped until the EV is unplugged."""

    session_id: str
    started_at: str
    session_reason: StartSessionReason


@dataclass(frozen=True, kw_only=True)
class SessionRecord(EverestModel):
    """One finished transaction in the local history."""

    session_id: str
    connector_id: int
    id_tag: str
    started_at: str
    finished_at: str
    start_energy_Wh: float
    stop_energy_Wh: float
    energy_Wh: float
    duration_s: float
    start_reason: StartSessionReason
    stop_reason: StopTransactionReason


@dataclass(frozen=True, kw_only=True)
class SessionInfo(EverestModel):
    """Live figures of the current session for dashboards (an extension variable)."""

    uuid: str
    state: str
    started_at: str
    duration_s: float
    energy_Wh: float
    power_W: float
    id_tag: str | None = None
