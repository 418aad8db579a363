"""Nothing lost, nothing restarted by itself: session records over real Modbus TCP.

A finished session keeps its one history record (re-enabling or restarting the controller
with the EV still plugged in opens no second transaction), the recorded energy is the
meter's own difference, and a resumed session keeps its start.
"""

from __future__ import annotations

import contextlib

import pytest

from controller.config import connector_config, open_connector
from controller.everest import (
    EnableDisableSource,
    EnableSource,
    EnableState,
    StopTransactionReason,
    StopTransactionRequest,
)
from controller.kernel.states import State
from controller.modbus.transport import BusRegistry
from controller.store import SessionStore
from tests.controller.conftest import ACCEPTED, TOKEN
from tests.modbus.conftest import start_rig, stop_rig

STOP = StopTransactionRequest(reason=StopTransactionReason.Local)


def vote(state: EnableState) -> EnableDisableSource:
    return EnableDisableSource(
        enable_source=EnableSource.LocalAPI, enable_state=state, enable_priority=100
    )


def counter(rig) -> float:
    """The meter's counter as the controller reads it (the register's resolution)."""
    return rig.manager.vars()["powermeter"].energy_Wh_import.total


async def stop_and_settle(rig) -> None:
    assert await rig.manager.stop_transaction(STOP)
    await rig.advance(3, step=1)
    assert rig.manager.state is State.Finished
    assert rig.station.power_W() == 0


async def restart(rig, tmp_path, *, kill: bool) -> None:
    """A new controller process on the same store and simulator: after a clean stop
    (SIGTERM) or after dying without any clean-up (kill -9)."""
    old = rig.manager
    if kill:
        old._task.cancel()
        with contextlib.suppress(BaseException):
            await old._task
    else:
        await old.stop()
    await rig.registry.close_all()
    rig.store.close()
    rig.store = SessionStore(tmp_path / "sessions.db")
    rig.registry = BusRegistry()
    data = {**rig.simulator.devices(timeout_s=0.5), "free_charging": True}
    manager = open_connector(connector_config("garage", data), rig.registry, rig.store, rig.clock)
    manager.poll_interval = 3600.0
    rig.updates.clear()
    manager.subscribe(rig.updates.append)
    rig.manager = manager
    await manager.start()
    manager.release_updates()


async def test_re_enable_after_a_stop_keeps_the_session_record(rig):
    await rig.start_charging()
    await rig.advance(600)
    await stop_and_settle(rig)
    (record,) = rig.manager.history()
    assert record.energy_Wh > 1000
    assert not await rig.manager.enable_disable(0, vote(EnableState.Disable))
    await rig.advance(2, step=1)
    assert await rig.manager.enable_disable(0, vote(EnableState.Enable))
    rig.updates.clear()
    await rig.advance(30, step=1)
    assert rig.manager.state is State.Finished
    assert rig.station.power_W() == 0
    assert "TransactionStarted" not in rig.events()
    assert rig.manager.history() == [record]
    rig.station.unplug()
    await rig.advance(2, step=1)
    assert rig.events()[-1] == "SessionFinished"
    assert rig.manager.history() == [record]
    await rig.start_charging()  # a replug is a new session, with its own record
    await rig.advance(60)
    await stop_and_settle(rig)
    second, first = rig.manager.history()
    assert first == record
    assert second.session_id != record.session_id


async def test_session_energy_is_the_meter_difference_at_the_stop(rig):
    await rig.start_charging()
    start = rig.manager.kernel.transaction.start_energy_Wh
    await rig.advance(600)
    rig.clock.advance(0.5)  # the stop comes between two polls while drawing 11 kW
    await stop_and_settle(rig)
    (record,) = rig.manager.history()
    assert record.start_energy_Wh == start
    assert record.stop_energy_Wh == counter(rig)
    assert record.energy_Wh == counter(rig) - start
    assert record.stop_energy_Wh == pytest.approx(rig.station.energy_Wh, abs=1e-3)


async def test_transaction_start_value_is_read_at_the_start(tmp_path, socket_enabled):
    rig = await start_rig(tmp_path, "heidelberg_energy_control", free_charging=False)
    try:
        rig.station.plug_in()
        await rig.advance(1, step=1)
        assert rig.manager.state is State.WaitingForAuthentication
        # The counter moves between the last poll and the authorization (another load
        # behind the same meter): the start value is the counter at the start.
        rig.station.energy_Wh += 5.0
        await rig.manager.authorize_response(TOKEN, ACCEPTED)
        transaction = rig.manager.kernel.transaction
        assert transaction.start_energy_Wh == pytest.approx(5.0, abs=1e-3)
        assert transaction.start_energy_Wh == counter(rig)
    finally:
        await stop_rig(rig)


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "kill"])
async def test_a_stopped_session_stays_stopped_across_a_restart(rig, tmp_path, kill):
    await rig.start_charging()
    await rig.advance(600)
    await stop_and_settle(rig)
    (record,) = rig.manager.history()
    await restart(rig, tmp_path, kill=kill)
    await rig.advance(60, step=1)
    assert rig.manager.state is State.Finished
    assert rig.station.power_W() == 0
    assert rig.station.output.current_A == 0 or not rig.station.output.charging_allowed
    assert "TransactionStarted" not in rig.events()
    assert rig.manager.history() == [record]
    rig.station.unplug()
    await rig.advance(2, step=1)
    finished = [u.value for u in rig.updates if u.var == "session_event"][-1]
    assert finished.event.value == "SessionFinished"
    assert finished.uuid == record.session_id
    await restart(rig, tmp_path, kill=kill)  # nothing is left to keep stopped
    await rig.start_charging()


async def test_unplugged_while_no_controller_ran_ends_the_stopped_session(rig, tmp_path):
    await rig.start_charging()
    await rig.advance(60)
    await stop_and_settle(rig)
    (record,) = rig.manager.history()
    rig.station.unplug()  # while no controller runs
    await restart(rig, tmp_path, kill=True)
    assert rig.manager.state is State.Idle
    events = [u.value for u in rig.updates if u.var == "session_event"]
    assert [e.event.value for e in events if e.uuid] == ["SessionResumed", "SessionFinished"]
    assert {e.uuid for e in events if e.uuid} == {record.session_id}
    await rig.start_charging()


async def test_a_resumed_session_keeps_its_start_and_duration(rig, tmp_path):
    await rig.start_charging()
    started = rig.manager.vars()["session_info"].started_at
    await rig.advance(600)
    await restart(rig, tmp_path, kill=True)
    info = rig.manager.vars()["session_info"]
    assert info.started_at == started
    assert info.duration_s >= 600
    await rig.advance(60)
    assert rig.manager.vars()["session_info"].duration_s >= 660
