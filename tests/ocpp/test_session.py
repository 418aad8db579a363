"""Sessions over OCPP 1.6J and 2.0.1 through our kernel (every test runs in both versions):
the simulated wallbox over a real WebSocket on 127.0.0.1, our central system, our kernel."""

from __future__ import annotations

from controller.everest import (
    EnableDisableSource,
    EnableSource,
    EnableState,
    StopTransactionReason,
    StopTransactionRequest,
)
from controller.kernel.states import State
from tests.controller.conftest import ACCEPTED, TOKEN
from tests.session_events import FULL_SESSION

from .conftest import OcppRig, restarted

REMOTE_START = {"1.6": "RemoteStartTransaction", "2.0.1": "RequestStartTransaction"}
REMOTE_STOP = {"1.6": "RemoteStopTransaction", "2.0.1": "RequestStopTransaction"}


def actions(rig: OcppRig, name: str) -> list[dict]:
    return [payload for action, payload in rig.box.received if action == name]


async def start_charging(rig: OcppRig) -> None:
    rig.station.plug_in()
    await rig.turn(1)
    await rig.manager.authorize_response(TOKEN, ACCEPTED)
    await rig.turn(1)
    rig.station.draw_power(16, 3)
    await rig.turn(1)
    assert rig.manager.state is State.Charging, rig.events()


async def charge_stop_unplug(rig: OcppRig, seconds: float) -> int:
    """Charge ``seconds``, stop (our stop), unplug: the wallbox register at the stop."""
    await rig.turn(seconds)
    await rig.manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
    await rig.turn(1)
    stop_register = rig.box.sent_energy[-1]
    rig.station.unplug()
    await rig.turn(1)
    assert rig.events() == FULL_SESSION
    return stop_register


async def test_full_session_exact_energy(rig: OcppRig) -> None:
    """Plug in, authorize (the kernel's decision becomes a remote start with our token),
    charge at 16 A for half an hour, stop (remote stop), unplug: the session's energy is
    exactly the wallbox register at the stop minus the one at the start."""
    version = rig.box.version
    await start_charging(rig)
    assert actions(rig, REMOTE_START[version])
    assert rig.link.transaction_id is not None
    start_register = rig.box.sent_energy[-1]
    stop_register = await charge_stop_unplug(rig, 1800)
    assert len(actions(rig, REMOTE_STOP[version])) == 1
    record = rig.manager.history(1)[0]
    # 16 A x 3 x 230 V for 1801 s (the 1800 s and the turn it started in), whole Wh.
    assert record.stop_energy_Wh == stop_register == round(11040 * 1801 / 3600)
    assert record.start_energy_Wh <= start_register
    assert record.energy_Wh == record.stop_energy_Wh - record.start_energy_Wh
    assert abs(record.energy_Wh - (rig.station.energy_Wh - record.start_energy_Wh)) < 1
    assert rig.link.transaction_id is None


async def test_limit_sent_only_on_change(rig: OcppRig) -> None:
    """The TxDefaultProfile goes out only when the current changes (chargers keep it in
    flash): polls without a change send nothing; 10 A twice is one profile."""
    await start_charging(rig)
    assert rig.box.limits() == [0.0, 16.0]
    await rig.turn(60)
    await rig.turn(60)
    assert rig.box.limits() == [0.0, 16.0]
    await rig.manager.set_max_current(10.0)
    await rig.turn(1)
    await rig.manager.set_max_current(10.0)
    await rig.turn(1)
    assert rig.box.limits() == [0.0, 16.0, 10.0]
    assert rig.station.phase_currents() == (10.0, 10.0, 10.0)
    await rig.manager.pause_charging()
    await rig.turn(1)
    assert rig.box.limits()[-1] == 0.0
    assert rig.station.power_W() == 0.0
    await rig.manager.resume_charging()
    await rig.turn(1)
    assert rig.box.limits() == [0.0, 16.0, 10.0, 0.0, 10.0]
    assert rig.manager.state is State.Charging


async def test_disconnect_and_reconnect_mid_transaction(rig: OcppRig) -> None:
    """The wallbox drops off while charging: communication fault and unavailable; it
    reconnects (no reboot) and the same transaction goes on, the energy charged while it
    was away counted exactly from its register."""
    await start_charging(rig)
    transaction = rig.link.transaction_id
    session = rig.manager.history(1) or None
    assert session is None  # still open
    await rig.box.disconnect()
    await rig.turn(600, rounds=1)
    errors = rig.manager.vars()["errors"]
    assert any(e.type == "evse_board_support/CommunicationFault" for e in errors), errors
    assert not rig.manager.available
    await rig.box.connect(boot=False)
    await rig.turn(1)
    assert rig.manager.available
    assert rig.manager.vars()["errors"] == []
    assert rig.link.transaction_id == transaction
    assert rig.manager.state is State.Charging, rig.events()
    await rig.manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
    await rig.turn(1)
    record = rig.manager.history(1)[0]
    assert record.stop_energy_Wh == rig.box.sent_energy[-1]
    assert record.energy_Wh == record.stop_energy_Wh - record.start_energy_Wh
    assert record.energy_Wh > 11040 * 600 / 3600  # the offline energy is in it
    assert rig.events().count("TransactionStarted") == 1


async def test_stop_while_offline_reaches_the_charger_after_reconnect(rig: OcppRig) -> None:
    """A stop asked while the wallbox is away is sent once it is back."""
    await start_charging(rig)
    await rig.box.disconnect()
    await rig.turn(1, rounds=1)
    await rig.manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
    await rig.turn(1, rounds=1)
    assert not actions(rig, REMOTE_STOP[rig.box.version])
    await rig.box.connect(boot=False)
    await rig.turn(1)
    assert len(actions(rig, REMOTE_STOP[rig.box.version])) == 1
    assert rig.box.state.transaction_id is None


async def test_disable_is_change_availability(rig: OcppRig) -> None:
    """enable_disable(disable) -> ChangeAvailability Inoperative, once; enable -> Operative."""
    vote = EnableDisableSource(
        enable_source=EnableSource.LocalAPI, enable_state=EnableState.Disable, enable_priority=5
    )
    await rig.manager.enable_disable(0, vote)
    await rig.turn(1)
    await rig.turn(1)
    key = "type" if rig.box.version == "1.6" else "operational_status"
    kinds = [p[key] for p in actions(rig, "ChangeAvailability")]
    assert kinds == ["Operative", "Inoperative"]
    assert rig.box.status() == "Unavailable"
    enable = EnableDisableSource(
        enable_source=EnableSource.LocalAPI, enable_state=EnableState.Enable, enable_priority=5
    )
    await rig.manager.enable_disable(0, enable)
    await rig.turn(1)
    kinds = [p[key] for p in actions(rig, "ChangeAvailability")]
    assert kinds == ["Operative", "Inoperative", "Operative"]


async def test_force_unlock_is_unlock_connector(rig: OcppRig) -> None:
    """force_unlock with a car plugged in -> UnlockConnector."""
    rig.station.plug_in()
    await rig.turn(1)
    assert await rig.manager.force_unlock(1) is True
    await rig.turn(1)
    assert len(actions(rig, "UnlockConnector")) == 1


async def test_charger_fault_is_our_error(rig: OcppRig) -> None:
    """A Faulted connector (1.6 errorCode GroundFailure) raises the EVerest error; it
    clears with the fault."""
    rig.station.inject_error("evse_board_support/MREC2GroundFailure")
    await rig.turn(1)
    types = {e.type for e in rig.manager.vars()["errors"]}
    expected = (
        "evse_board_support/MREC2GroundFailure"
        if rig.box.version == "1.6"
        else "evse_board_support/VendorError"  # 2.0.1 StatusNotification has no error code
    )
    assert expected in types
    rig.station.clear_errors()
    await rig.turn(1)
    assert rig.manager.vars()["errors"] == []


async def test_boot_identity_in_get_evse(rig: OcppRig) -> None:
    """BootNotification's vendor, model, serial and firmware are the charger's identity."""
    info = rig.manager.charger_info
    assert info is not None
    assert (info.vendor, info.model, info.serial, info.firmware) == (
        "Simulated",
        "OCPP wallbox",
        "SIM-CP1",
        "1.0",
    )
    assert info.capabilities.max_current_A_import == 16.0


async def test_boot_configures_sampling_and_offline_safety_once(rig: OcppRig) -> None:
    """At boot we set the meter sampling and switch off charging without us; a reboot with
    everything already right writes nothing (the settings are retentive)."""
    await rig.box.settle()
    if rig.box.version == "1.6":
        config = rig.box.state.config
        assert config["MeterValuesSampledData"] == (
            "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage"
        )
        assert config["MeterValueSampleInterval"] == "15"
        assert config["LocalAuthorizeOffline"] == "false"
        assert config["AuthorizeRemoteTxRequests"] == "false"
        writes = "ChangeConfiguration"
    else:
        variables = rig.box._cp.variables
        assert variables[("SampledDataCtrlr", "TxUpdatedInterval")] == "15"
        assert variables[("AuthCtrlr", "LocalAuthorizeOffline")] == "false"
        assert variables[("TxCtrlr", "TxStartPoint")] == "Authorized"
        writes = "SetVariables"
    before = len(actions(rig, writes))
    assert before > 0
    await rig.box._cp.boot()
    await rig.turn(1)
    await rig.box.settle()
    assert len(actions(rig, writes)) == before
    assert rig.link.booted


async def test_reboot_between_polls_gets_the_output_again(rig: OcppRig) -> None:
    """A wallbox that reboots (BootNotification) forgets the profile: it is sent again,
    though our output did not change."""
    await start_charging(rig)
    sent = len(rig.box.limits())
    await rig.box._cp.boot()
    await rig.turn(1)
    assert len(rig.box.limits()) == sent + 1
    assert rig.box.limits()[-1] == 16.0
    await rig.turn(1)
    assert len(rig.box.limits()) == sent + 1


async def test_controller_stop_keeps_the_transaction(rig: OcppRig) -> None:
    """Stopping the controller mid-session leaves the wallbox safe (0 A, Inoperative) but
    does not unlock: OCPP 1.6 UnlockConnector would end the transaction a restart resumes."""
    await start_charging(rig)
    await rig.manager.stop()
    await rig.box.settle()
    assert rig.box.limits()[-1] == 0.0
    assert not actions(rig, "UnlockConnector")
    assert rig.box.state.transaction_id is not None
    assert rig.station.power_W() == 0.0


async def test_controller_restart_resumes_the_transaction(rig: OcppRig) -> None:
    """Controller restarted mid-session: a new central system, the wallbox reconnects
    without rebooting, our kernel restores its open transaction from the store and the
    OCPP transaction is found again in the meter values; the energy stays exact."""
    await start_charging(rig)
    await rig.turn(600)
    transaction = rig.box.state.transaction_id
    async with restarted(rig) as again:
        manager, link = again.manager, again.link
        await rig.box.connect(boot=False)
        await again.central.settle()
        await manager.start()
        manager.release_updates()
        # A second, not ten minutes: an EV that does not draw within the kernel's wake-up
        # time gets the wake-up sequence (EVerest's), which is not what this test is about.
        await again.turn(1)
        assert link.transaction_id == transaction
        assert manager.state is State.Charging, again.events()
        await again.turn(600)
        assert manager.state is State.Charging
        await manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
        await again.turn(1)
        record = manager.history(1)[0]
        assert record.stop_energy_Wh == rig.box.sent_energy[-1]
        assert record.energy_Wh == record.stop_energy_Wh - record.start_energy_Wh
        assert abs(record.energy_Wh - rig.station.energy_Wh) < 1  # all of it, from 0
        assert len(actions(rig, REMOTE_START[rig.box.version])) == 1


async def test_stop_after_restart_waits_for_the_transaction_id(rig: OcppRig) -> None:
    """Controller restarted mid-session; the wallbox is back but its meter values do not
    name the transaction (clock-aligned ones): our stop cannot be sent yet, 0 A holds it;
    the first message naming the transaction gets the one RemoteStop for it."""
    await start_charging(rig)
    await rig.turn(600)
    transaction = rig.box.state.transaction_id
    rig.box.state.name_transaction = False
    async with restarted(rig) as again:
        await rig.box.connect(boot=False)
        await again.central.settle()
        await again.manager.start()
        await again.turn(1)
        assert again.link.transaction_id is None
        await again.manager.stop_transaction(
            StopTransactionRequest(reason=StopTransactionReason.Local)
        )
        await again.turn(60)
        assert not actions(rig, REMOTE_STOP[rig.box.version])
        assert rig.box.state.transaction_id == transaction
        assert rig.box.limits()[-1] == 0.0
        assert rig.station.power_W() == 0.0
        rig.box.state.name_transaction = True
        await again.turn(1)
        await again.turn(1)
        stops = actions(rig, REMOTE_STOP[rig.box.version])
        assert [str(p["transaction_id"]) for p in stops] == [transaction]
        assert rig.box.state.transaction_id is None
        assert again.link.transaction_id is None
