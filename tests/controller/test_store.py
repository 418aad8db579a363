"""The session store keeps one history record per transaction, written once."""

from __future__ import annotations

from dataclasses import replace

from controller.everest import StartSessionReason, StopTransactionReason
from controller.kernel.session import SessionRecord, StoppedSession
from controller.store import SessionStore

RECORD = SessionRecord(
    session_id="s1",
    connector_id=1,
    id_tag="FREE",
    started_at="2026-01-01T00:00:00.000Z",
    finished_at="2026-01-01T01:00:00.000Z",
    start_energy_Wh=100.0,
    stop_energy_Wh=108.77,
    energy_Wh=8.77,
    duration_s=3600.0,
    start_reason=StartSessionReason.EVConnected,
    stop_reason=StopTransactionReason.Local,
)


def test_a_history_record_is_never_replaced(tmp_path, caplog):
    store = SessionStore(tmp_path / "s.db")
    try:
        store.close_transaction("garage", RECORD)
        later = replace(
            RECORD, finished_at="2026-01-01T01:00:05.000Z", stop_energy_Wh=108.77, energy_Wh=0.0
        )
        store.close_transaction("garage", later)
        assert store.history("garage") == [RECORD]
        assert "already in the history" in caplog.text
    finally:
        store.close()


def test_the_stopped_session_is_kept_with_its_record_until_the_session_ends(tmp_path):
    stopped = StoppedSession(
        session_id="s1",
        started_at=RECORD.started_at,
        session_reason=StartSessionReason.EVConnected,
    )
    store = SessionStore(tmp_path / "s.db")
    store.close_transaction("garage", RECORD, stopped)
    store.close()
    store = SessionStore(tmp_path / "s.db")  # a restart
    try:
        assert store.load_stopped("garage") == stopped
        assert store.load_stopped("carport") is None
        store.end_session("garage")
        assert store.load_stopped("garage") is None
        assert store.history("garage") == [RECORD]
    finally:
        store.close()
