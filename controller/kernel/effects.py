"""What the pure kernel asks its runner to do, in order.

The kernel performs no I/O; it returns these. The runner executes them strictly in order,
which is how "persisted before acknowledged" is guaranteed: a PersistTransaction always
precedes the Publish of the TransactionStarted it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .session import SessionRecord, StoppedSession, TransactionRecord


@dataclass(frozen=True)
class Publish:
    """A variable of the interface changed (or an event of ``session_event``)."""

    var: str
    value: Any


@dataclass(frozen=True)
class StartMeterTransaction:
    """Ask the meter to start a transaction; the result comes back as an input."""

    transaction_id: str


@dataclass(frozen=True)
class StopMeterTransaction:
    """Tell the meter the transaction ended."""

    transaction_id: str


@dataclass(frozen=True)
class PersistTransaction:
    """Store the open transaction durably (atomic) before anyone hears of it."""

    record: TransactionRecord


@dataclass(frozen=True)
class CloseTransaction:
    """Atomically move the open transaction into the session history; ``stopped`` (the
    EV is still plugged in) is kept in the same commit, so no restart can start again."""

    record: SessionRecord
    stopped: StoppedSession | None = None


@dataclass(frozen=True)
class EndSession:
    """The session ended (EV unplugged): forget its stopped-session marker."""

    session_id: str


Effect = (
    Publish
    | StartMeterTransaction
    | StopMeterTransaction
    | PersistTransaction
    | CloseTransaction
    | EndSession
)
