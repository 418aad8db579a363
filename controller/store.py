"""Durable session storage: the open transaction and the history of finished ones.

stdlib sqlite3 in WAL mode with ``synchronous=FULL``: every write is one SQL transaction,
committed before the caller continues, so a crash leaves either the old or the new row and
never half of one. Writes are a few per session, so they run inline on the event loop.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from .kernel.session import SessionRecord, StoppedSession, TransactionRecord

_LOGGER = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS open_transaction (
    connector_key TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS session_history (
    session_id TEXT PRIMARY KEY,
    connector_key TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_time ON session_history (connector_key, finished_at);
CREATE TABLE IF NOT EXISTS stopped_session (
    connector_key TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    connector_key TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (connector_key, name)
);
"""


class SessionStore:
    """Open transactions and session history of the connectors of one controller."""

    def __init__(self, path: Path | str, history_limit: int = 1000) -> None:
        self.path = str(path)
        self.history_limit = history_limit
        # Opened in a worker thread (Home Assistant keeps file work out of its event loop),
        # then used by the one event loop that owns the connector: never concurrently.
        _create_private(self.path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def save_open(self, key: str, record: TransactionRecord) -> None:
        """Persist the open transaction of connector ``key`` (replacing any older one)."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO open_transaction VALUES (?, ?)",
                (key, json.dumps(record.to_json())),
            )

    def save_setting(self, key: str, name: str, value: Any) -> None:
        """Keep a user choice of connector ``key`` (such as the charge mode) across restarts."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO settings VALUES (?, ?, ?)", (key, name, json.dumps(value))
            )

    def load_setting(self, key: str, name: str) -> Any:
        """A saved choice, or None."""
        row = self._db.execute(
            "SELECT value FROM settings WHERE connector_key = ? AND name = ?", (key, name)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def load_open(self, key: str) -> TransactionRecord | None:
        """The transaction connector ``key`` had open when the process stopped."""
        row = self._db.execute(
            "SELECT record FROM open_transaction WHERE connector_key = ?", (key,)
        ).fetchone()
        return TransactionRecord.from_json(json.loads(row[0])) if row else None

    def close_transaction(
        self, key: str, record: SessionRecord, stopped: StoppedSession | None = None
    ) -> None:
        """Atomically drop the open transaction and add it to the history (and keep
        ``stopped``, the session that waits for its unplug).

        A record is written once: one already kept under the same id is never replaced.
        """
        with self._transaction():
            self._db.execute("DELETE FROM open_transaction WHERE connector_key = ?", (key,))
            if stopped is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO stopped_session VALUES (?, ?)",
                    (key, json.dumps(stopped.to_json())),
                )
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO session_history VALUES (?, ?, ?, ?)",
                (record.session_id, key, record.finished_at, json.dumps(record.to_json())),
            ).rowcount
            if not inserted:
                _LOGGER.error(
                    "%s: session %s is already in the history; the first record is kept",
                    key,
                    record.session_id,
                )
            self._db.execute(
                "DELETE FROM session_history WHERE connector_key = ? AND session_id NOT IN "
                "(SELECT session_id FROM session_history WHERE connector_key = ? "
                "ORDER BY finished_at DESC LIMIT ?)",
                (key, key, self.history_limit),
            )

    def load_stopped(self, key: str) -> StoppedSession | None:
        """The finished session connector ``key`` had when the process stopped, if the EV
        was still plugged in (it stays stopped until unplugged)."""
        row = self._db.execute(
            "SELECT record FROM stopped_session WHERE connector_key = ?", (key,)
        ).fetchone()
        return StoppedSession.from_json(json.loads(row[0])) if row else None

    def end_session(self, key: str) -> None:
        """The session of connector ``key`` ended (unplugged): nothing to keep stopped."""
        with self._transaction():
            self._db.execute("DELETE FROM stopped_session WHERE connector_key = ?", (key,))

    def history(self, key: str, limit: int = 50) -> list[SessionRecord]:
        """The most recent finished sessions of connector ``key``, newest first."""
        rows = self._db.execute(
            "SELECT record FROM session_history WHERE connector_key = ? "
            "ORDER BY finished_at DESC LIMIT ?",
            (key, limit),
        ).fetchall()
        return [SessionRecord.from_json(json.loads(row[0])) for row in rows]

    def _transaction(self) -> _Tx:
        return _Tx(self._db)


def _create_private(path: str) -> None:
    """Create a new database file readable by its owner only (0600): session history and
    token ids are nobody else's business. SQLite gives its -wal/-shm files the same mode."""
    if path == ":memory:" or path.startswith("file:"):
        return
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
