"""The messages waiting for the CSMS, in order; the transaction messages durably.

EVerest's OCPP 1.6 message queue (libocpp ``MessageQueue``) keeps transaction-related
messages (StartTransaction, StopTransaction, MeterValues of a transaction; 2.0.1
TransactionEvent) until the CSMS answers them, across reconnects and restarts, and
drops the others while offline: so do we. The durable ones live in the controller's
session database (their own tables beside the store's), written before the update
that caused them returns; everything is delivered in the order it was queued.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS csms_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS csms_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
MAX_VOLATILE = 1000  # status messages waiting while online (never while offline)


@dataclass
class Message:
    """One call to make: ``action`` with the ocpp package's snake-case fields."""

    action: str
    payload: dict[str, Any]
    seq: int | None = None  # its row when durable
    attempts: int = 0  # CALLERRORs so far


class Outbox:
    """FIFO of messages for the CSMS: durable ones survive a restart."""

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        rows = self._db.execute("SELECT seq, action, payload FROM csms_outbox ORDER BY seq")
        self._queue: deque[Message] = deque(
            Message(action, json.loads(payload), seq) for seq, action, payload in rows
        )
        self.online = False  # volatile messages are taken only while online
        if self._queue:
            _LOGGER.info("CSMS: %d transaction messages still to deliver", len(self._queue))

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def durable(self) -> int:
        """Transaction messages not yet answered."""
        return sum(m.seq is not None for m in self._queue)

    def push(self, action: str, payload: dict[str, Any], *, durable: bool) -> None:
        """Queue a call; a durable one is committed before this returns."""
        seq = None
        if durable:
            cur = self._db.execute(
                "INSERT INTO csms_outbox (action, payload) VALUES (?, ?)",
                (action, json.dumps(payload)),
            )
            seq = cur.lastrowid
        elif not self.online or sum(m.seq is None for m in self._queue) >= MAX_VOLATILE:
            return
        self._queue.append(Message(action, payload, seq))

    def head(self) -> Message | None:
        """The next message to deliver."""
        return self._queue[0] if self._queue else None

    def done(self, message: Message) -> None:
        """The head was answered (or given up): it goes."""
        if self._queue and self._queue[0] is message:
            self._queue.popleft()
        if message.seq is not None:
            self._db.execute("DELETE FROM csms_outbox WHERE seq = ?", (message.seq,))

    def offline(self) -> None:
        """The connection is gone: what is not durable is dropped."""
        self.online = False
        self._queue = deque(m for m in self._queue if m.seq is not None)

    def save(self, name: str, value: Any) -> None:
        """Keep a fact the messages need across restarts (a CSMS transaction id)."""
        self._db.execute(
            "INSERT OR REPLACE INTO csms_state VALUES (?, ?)", (name, json.dumps(value))
        )

    def load(self, name: str) -> Any:
        """A kept fact, or None."""
        row = self._db.execute("SELECT value FROM csms_state WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def forget(self, name: str) -> None:
        """A kept fact no longer needed."""
        self._db.execute("DELETE FROM csms_state WHERE name = ?", (name,))
