"""Errors raise Inoperative, inhibit charging while active, and clear."""

from controller.everest import Severity
from controller.kernel.machine import KernelConfig
from controller.kernel.states import State
from controller.ports import CpMode

from .conftest import limits, make_rig


def error_types(rig):
    return [e.type for e in rig.manager.vars()["errors"]]


async def test_plug_in_during_a_fatal_error_starts_and_finishes_the_session(rig):
    rig.station.inject_error("evse_board_support/MREC14PilotFault", Severity.Medium)
    await rig.poll()
    assert error_types(rig) == [
        "evse_manager/Inoperative",
        "evse_board_support/MREC14PilotFault",
    ]
    assert rig.station.output.cp is CpMode.F
    rig.take_events()
    rig.station.plug_in()
    await rig.poll()
    # Charger.cpp: Idle + CarPluggedIn -> WaitingForAuthentication (start_session:
    # SessionStarted{EVConnected}, AuthRequired), whose stop_charging_on_fatal_error ->
    # Finished; no transaction, so nothing more. The session waits there for the unplug.
    (started,) = rig.event_payloads("SessionStarted")
    assert started.session_started.reason.value == "EVConnected"
    assert rig.take_events() == ["SessionStarted", "AuthRequired"]
    assert rig.manager.state is State.Finished
    rig.station.clear_errors()
    await rig.poll()
    assert error_types(rig) == []
    assert rig.manager.state is State.Finished  # a replug starts charging
    assert rig.take_events() == []
    rig.station.unplug()
    await rig.poll()
    assert rig.take_events() == ["SessionFinished"]
    rig.station.plug_in()
    await rig.poll()
    assert rig.take_events() == ["SessionStarted", "AuthRequired"]
    assert rig.manager.state is State.WaitingForAuthentication


async def test_error_while_charging_pauses_and_resumes(rig):
    await rig.start_charging()
    rig.take_events()
    rig.station.inject_error("ac_rcd/DC", Severity.High)
    await rig.poll()
    assert rig.take_events() == ["StoppingCharging", "ChargingPausedEVSE"]
    assert not rig.station.relays_on()
    # Charger.cpp emergency_shutdown: PWM off (X1) and relays open at once; F only in Idle.
    assert rig.station.output.cp is CpMode.X1
    rig.station.clear_errors()
    await rig.poll()
    assert rig.take_events() == ["PrepareCharging", "ChargingStarted"]
    assert rig.station.relays_on()


async def test_error_pause_reason_is_error(rig):
    await rig.start_charging()
    rig.updates.clear()
    rig.station.inject_error("evse_board_support/DiodeFault")
    await rig.poll()
    (event,) = rig.event_payloads("ChargingPausedEVSE")
    assert event.to_json()["charging_paused_evse"] == {"reasons": ["Error"]}


async def test_warning_does_not_inhibit(rig):
    await rig.start_charging()
    rig.take_events()
    rig.station.inject_error("evse_board_support/VendorWarning", Severity.Low)
    await rig.poll()
    assert rig.take_events() == []
    assert rig.manager.state is State.Charging
    assert error_types(rig) == ["evse_board_support/VendorWarning"]


async def test_error_while_waiting_for_auth_finishes_session(rig):
    rig.station.plug_in()
    await rig.poll()
    rig.take_events()
    rig.station.inject_error("evse_board_support/MREC2GroundFailure")
    await rig.poll()
    assert rig.manager.state is State.Finished
    rig.station.clear_errors()
    rig.station.unplug()
    await rig.poll()
    assert rig.take_events() == ["SessionFinished"]


async def test_overcurrent_for_seven_seconds_raises_mrec4(rig):
    await rig.start_charging()
    await rig.manager.set_enforced_limits(limits(amps=10.0))
    await rig.advance(5)  # Charger.cpp: the PWM drops 5 s after its last update
    assert rig.station.output.current_A == 10.0
    rig.station.ev.fixed_current_A = 16.0  # draws 16 A although 10 A are signalled
    await rig.advance(6)
    assert "evse_manager/MREC4OverCurrentFailure" not in error_types(rig)
    await rig.advance(2)
    assert "evse_manager/MREC4OverCurrentFailure" in error_types(rig)
    assert not rig.station.relays_on()


async def test_meter_transaction_start_failure(rig):
    rig.meter.fail_transactions = True
    rig.station.plug_in()
    await rig.poll()
    rig.take_events()
    await rig.authorize()
    assert rig.take_events() == ["Authorized"]
    assert "evse_manager/PowermeterTransactionStartFailed" in error_types(rig)
    assert rig.manager.state is State.Finished
    rig.station.unplug()
    await rig.poll()
    assert rig.take_events() == ["SessionFinished"]
    assert error_types(rig) == []


async def test_link_loss_inhibits_charging_and_recovers(rig):
    await rig.start_charging()
    rig.take_events()
    rig.station.link_up = False
    await rig.poll()
    assert rig.manager.available is False
    assert "evse_board_support/CommunicationFault" in error_types(rig)
    assert rig.manager.state is State.StoppingCharging
    rig.station.link_up = True
    await rig.advance(1)
    assert rig.manager.available is True
    assert rig.manager.state is State.Charging
    assert rig.station.relays_on()
    # The relays could not be opened while the link was down; once they are, no EVSE
    # reason is left, so (as in EVerest) the stop completes as an EV pause and resumes.
    assert rig.take_events() == [
        "StoppingCharging",
        "ChargingPausedEV",
        "PrepareCharging",
        "ChargingStarted",
    ]


async def test_plug_in_during_a_fatal_error_with_free_charging(tmp_path):
    """evse_managerImpl.cpp: the FREESERVICE authorization follows SessionStarted (from its
    own thread, so after AuthRequired); the fatal error still finishes the session in
    WaitingForAuthentication, and no transaction starts."""
    rig = await make_rig(tmp_path, KernelConfig(free_charging=True))
    try:
        rig.station.inject_error("evse_board_support/MREC14PilotFault", Severity.Medium)
        await rig.poll()
        rig.take_events()
        rig.station.plug_in()
        await rig.poll()
        assert rig.take_events() == ["SessionStarted", "AuthRequired", "Authorized"]
        assert rig.manager.state is State.Finished
        rig.station.clear_errors()
        await rig.advance(5)
        assert rig.take_events() == []
        assert rig.manager.kernel.transaction is None
    finally:
        await rig.manager.stop()
        rig.store.close()
