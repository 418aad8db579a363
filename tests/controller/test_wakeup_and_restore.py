"""EV wake-up after 30 s without C; restart with an open transaction."""

import contextlib

from controller.everest import CpState
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


async def _restart(rig, tmp_path):
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
        KernelConfig(),
        clock=rig.clock,
        poll_interval=3600.0,
    )
    manager.subscribe(rig.updates.append)
    await manager.start()
    manager.release_updates()
    rig.manager = manager


async def test_killed_mid_transaction_resumes_with_exact_energy(rig, tmp_path):
    await rig.start_charging()
    start = rig.manager.kernel.transaction
    await rig.advance(1800, step=60)
    persisted = rig.store.load_open("evse1")
    assert persisted == start
    await _restart(rig, tmp_path)
    assert rig.events()[:2] == ["Enabled", "SessionResumed"]
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
    await rig.start_charging()
    await rig.advance(600, step=60)
    rig.station.unplug()  # happens while no controller runs
    rig.station.ev.plugged = False
    old_task = rig.manager._task
    old_task.cancel()
    await _restart(rig, tmp_path)
    assert rig.station.cp_state() is CpState.A
    assert rig.events() == [
        "Enabled",
        "SessionResumed",
        "TransactionFinished",
        "SessionFinished",
    ]
    (event,) = rig.event_payloads("TransactionFinished")
    assert event.to_json()["transaction_finished"]["reason"] == "PowerLoss"
    (record,) = rig.manager.history()
    assert record.energy_Wh == rig.station.energy_Wh
    assert rig.store.load_open("evse1") is None
