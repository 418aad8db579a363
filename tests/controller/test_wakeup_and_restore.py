"""EV wake-up after 30 s without C; restart with an open transaction."""

import contextlib

import pytest

from controller.everest import CpState, StopTransactionReason, StopTransactionRequest
from controller.kernel.machine import KernelConfig
from controller.kernel.states import State
from controller.manager import EvseManager
from controller.simulation import MemoryCharger
from controller.store import SessionStore


async def test_wakeup_then_paused_ev(rig):
    rig.station.plug_in()
    await rig.poll()
    await rig.authorize()
    rig.take_events()
    await rig.advance(29)
    assert rig.station.output.cp.value == "PWM"
    await rig.advance(1)
    assert rig.station.output.cp.value == "F"  # T_step_EF
    await rig.advance(4)
    assert rig.station.output.cp.value == "X1"
    await rig.advance(1)
    assert rig.station.output.cp.value == "PWM"
    assert rig.take_events() == []
    await rig.advance(10)
    assert rig.take_events() == ["ChargingPausedEV"]
    rig.station.draw_power(16, 3)
    await rig.poll()
    assert rig.take_events() == ["PrepareCharging", "ChargingStarted"]


async def _restart(rig, tmp_path, config=None):
    """Drop the manager without a clean stop (as a crash would) and start a new one."""
    old = rig.manager
    old._task.cancel()  # the process dies: no stop(), no safe output, no session end
    with contextlib.suppress(BaseException):
        await old._task
    rig.store.close()
    rig.store = SessionStore(tmp_path / "sessions.db")
    rig.updates.clear()
    manager = EvseManager(
        MemoryCharger(rig.station),
        rig.meter,
        rig.store,
        config or KernelConfig(),
        clock=rig.clock,
        poll_interval=3600.0,
    )
    manager.subscribe(rig.updates.append)
    await manager.start()
    manager.release_updates()
    rig.manager = manager


def _events(rig):
    return [u.value for u in rig.updates if u.var == "session_event"]


async def test_killed_mid_transaction_resumes_with_exact_energy(rig, tmp_path):
    """transaction_at_restart: resume (default). EvseManager.cpp init emits SessionResumed
    before ready_to_start_charging's Enabled; the session goes on as if the restart had
    not happened (Charger.cpp WaitingForAuthentication: "the transaction may already be
    active"): PrepareCharging, ChargingStarted, all under the stored session's uuid."""
    await rig.start_charging()
    start = rig.manager.kernel.transaction
    await rig.advance(1800, step=60)
    persisted = rig.store.load_open("evse1")
    assert persisted == start
    await _restart(rig, tmp_path)
    events = _events(rig)
    assert [(e.event.value, e.uuid) for e in events] == [
        ("SessionResumed", start.session_id),
        ("Enabled", start.session_id),
        ("PrepareCharging", start.session_id),
        ("ChargingStarted", start.session_id),
    ]
    assert events[0].to_json().keys() == {"uuid", "timestamp", "event"}
    names = [u.var for u in rig.updates if u.var in ("session_event", "ready")]
    assert names[:3] == ["session_event", "session_event", "ready"]  # ready after Enabled
    assert rig.manager.kernel.transaction == start
    assert rig.manager.state is State.Charging
    await rig.advance(1800, step=60)
    rig.station.unplug()
    await rig.poll()
    (record,) = rig.manager.history()
    assert record.session_id == start.session_id
    assert record.start_energy_Wh == start.start_energy_Wh
    assert record.energy_Wh == rig.station.energy_Wh - start.start_energy_Wh
    assert record.energy_Wh > 10000
    assert record.duration_s == 3600


async def test_killed_and_unplugged_meanwhile_finishes_with_power_loss(rig, tmp_path):
    """resume, but the EV left while no controller ran: the resumed session ends at once,
    before Enabled (SessionResumed, TransactionFinished(PowerLoss), SessionFinished)."""
    await rig.start_charging()
    session = rig.manager.kernel.transaction.session_id
    await rig.advance(600, step=60)
    rig.station.unplug()  # happens while no controller runs
    rig.station.ev.plugged = False
    await _restart(rig, tmp_path)
    assert rig.station.cp_state() is CpState.A
    assert [(e.event.value, e.uuid) for e in _events(rig)] == [
        ("SessionResumed", session),
        ("TransactionFinished", session),
        ("SessionFinished", session),
        ("Enabled", ""),
    ]
    (event,) = rig.event_payloads("TransactionFinished")
    finished = event.to_json()["transaction_finished"]
    assert finished["reason"] == "PowerLoss"
    assert "id_tag" not in finished
    (record,) = rig.manager.history()
    assert record.energy_Wh == rig.station.energy_Wh
    assert record.stop_reason.value == "PowerLoss"
    assert rig.store.load_open("evse1") is None


FINISH = KernelConfig(transaction_at_restart="finish")


@pytest.mark.parametrize("plugged", [True, False], ids=["plugged", "unplugged"])
async def test_finish_at_restart_is_everests_cleanup(rig, tmp_path, plugged):
    """transaction_at_restart: finish. EvseManager.cpp init: SessionResumed{uuid: the stored
    session} (no payload); Charger.cpp cleanup_transactions_on_startup: the meter's
    transaction is stopped and TransactionFinished{reason: PowerLoss, no id_tag} is emitted
    while the charger has no session (get_session_id() is empty: uuid ""), and no
    SessionFinished; then ready_to_start_charging: Enabled, ready. An EV still plugged in
    starts a new session (Idle, CarPluggedIn: SessionStarted{EVConnected}, AuthRequired)."""
    await rig.start_charging()
    start = rig.manager.kernel.transaction
    await rig.advance(600, step=60)
    if not plugged:
        rig.station.unplug()
    rig.meter.transactions.clear()
    await _restart(rig, tmp_path, FINISH)
    events = _events(rig)
    expected = [("SessionResumed", start.session_id), ("TransactionFinished", ""), ("Enabled", "")]
    assert [(e.event.value, e.uuid) for e in events[:3]] == expected
    assert events[0].to_json().keys() == {"uuid", "timestamp", "event"}
    finished = events[1].to_json()["transaction_finished"]
    assert finished["reason"] == "PowerLoss"
    assert "id_tag" not in finished
    assert finished["meter_value"]["energy_Wh_import"]["total"] == rig.station.energy_Wh
    assert rig.meter.transactions[0] == ("stop", start.session_id)
    assert rig.store.load_open("evse1") is None
    (record,) = rig.manager.history()
    assert record.session_id == start.session_id
    assert record.stop_reason.value == "PowerLoss"
    assert record.energy_Wh == rig.station.energy_Wh - start.start_energy_Wh
    rest = [(e.event.value, e.session_started) for e in events[3:]]
    if plugged:
        assert [name for name, _ in rest] == ["SessionStarted", "AuthRequired"]
        assert rest[0][1].reason.value == "EVConnected"
        assert events[3].uuid not in ("", start.session_id)
        assert rig.manager.state is State.WaitingForAuthentication
        assert "SessionFinished" not in [e.event.value for e in events]
    else:
        assert rest == []
        assert rig.manager.state is State.Idle


async def test_finish_at_restart_keeps_no_stopped_session(rig, tmp_path):
    """finish: EVerest persists only the open transaction (PersistentStore store_session /
    clear_session), so a session stopped before the restart is not resumed: no
    SessionResumed, and the EV still plugged in starts a new session."""
    await rig.start_charging()
    await rig.manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
    await rig.advance(10)
    assert rig.manager.state is State.Finished
    await _restart(rig, tmp_path, FINISH)
    assert [e.event.value for e in _events(rig)] == ["Enabled", "SessionStarted", "AuthRequired"]
    assert rig.store.load_stopped("evse1") is None
    await _restart(rig, tmp_path)
    assert "SessionResumed" not in [e.event.value for e in _events(rig)]


@pytest.mark.parametrize("plugged", [True, False], ids=["plugged", "unplugged"])
async def test_resume_at_restart_keeps_a_stopped_session(rig, tmp_path, plugged):
    """resume: a session stopped before the restart is resumed in Finished (SessionResumed,
    Enabled), or, when the EV left meanwhile, ended before Enabled."""
    await rig.start_charging()
    session = rig.manager.kernel.transaction.session_id
    await rig.manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
    await rig.advance(10)
    if not plugged:
        rig.station.unplug()
    await _restart(rig, tmp_path)
    got = [(e.event.value, e.uuid) for e in _events(rig)]
    if plugged:
        assert got == [("SessionResumed", session), ("Enabled", session)]
        assert rig.manager.state is State.Finished
    else:
        assert got == [("SessionResumed", session), ("SessionFinished", session), ("Enabled", "")]
        assert rig.manager.state is State.Idle
