"""``python -m controller --ocpp 1.6|2.0.1``: the demo session over OCPP (the events in
order, the energy of 45 minutes at 16 A on three phases)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.ocpp.demo import run_ocpp_demo
from tests.session_events import SESSION_START


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_ocpp_demo_session(tmp_path: Path, version: str, socket_enabled: None) -> None:
    lines: list[str] = []
    await run_ocpp_demo(version, tmp_path / "demo.db", out=lines.append)
    events = [line.split()[1] for line in lines[1:-1]]
    assert events[: len(SESSION_START)] == SESSION_START
    assert "ChargingPausedEVSE" in events
    assert events[-2:] == ["TransactionFinished", "SessionFinished"]
    # 16 A x 3 x 230 V for 30 + 15 min (the EVSE pause draws nothing).
    assert lines[-1].startswith("session ")
    assert "8.28 kWh" in lines[-1]
    assert "stopped: Local" in lines[-1]
