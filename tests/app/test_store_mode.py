"""The session database is private to its owner (issue 12, item 16)."""

from __future__ import annotations

import stat

from controller.store import SessionStore


def test_session_database_and_its_wal_are_created_0600(tmp_path):
    path = tmp_path / "sessions.db"
    store = SessionStore(path)
    try:
        store.save_setting("garage", "charge_mode", "pv")  # a write: the WAL exists
        files = [p for p in tmp_path.iterdir() if p.name.startswith("sessions.db")]
        assert {p.name for p in files} >= {"sessions.db", "sessions.db-wal"}
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    finally:
        store.close()
