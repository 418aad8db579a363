"""The AC basic session of EVerest's reference, event by event."""

from controller.everest import StopTransactionReason, StopTransactionRequest
from controller.kernel.states import State


async def test_startup_publishes_enabled_and_static_vars(rig):
    assert rig.events() == ["Enabled"]
    values = rig.manager.vars()
    assert values["evse_id"] == "DE*EVM*E0001*1"
    assert values["ready"] is True
    assert values["waiting_for_external_ready"] is False
    # evse_managerImpl.cpp: "Unknown" outside a session.
    assert values["selected_protocol"] == "Unknown"
    assert rig.manager.state is State.Idle
    assert rig.station.output.cp.value == "X1"


async def test_plug_authorize_charge_pause_resume_stop_unplug(rig):
    rig.take_events()
    rig.station.plug_in()
    await rig.poll()
    started = rig.event_payloads("SessionStarted")[0].to_json()
    assert started["session_started"]["reason"] == "EVConnected"
    assert "energy_Wh_import" in started["session_started"]["meter_value"]
    assert rig.take_events() == ["SessionStarted", "AuthRequired"]

    await rig.authorize()
    assert rig.take_events() == ["Authorized", "TransactionStarted", "PrepareCharging"]
    assert rig.station.output.cp.value == "PWM"
    assert rig.station.output.current_A == 32.0

    rig.station.draw_power(16.0, 3)
    await rig.poll()
    assert rig.take_events() == ["ChargingStarted"]
    assert rig.station.relays_on()

    await rig.advance(3600, step=60)
    assert rig.manager.vars()["powermeter"].energy_Wh_import.total > 11000

    rig.station.pause()  # EV pauses: C -> B
    await rig.poll()
    assert rig.take_events() == ["StoppingCharging", "ChargingPausedEV"]
    rig.station.resume()
    await rig.poll()
    assert rig.take_events() == ["PrepareCharging", "ChargingStarted"]

    assert await rig.manager.pause_charging() is True
    paused = rig.event_payloads("ChargingPausedEVSE")[0].to_json()
    assert paused["charging_paused_evse"] == {"reasons": ["UserPause"]}
    assert rig.take_events() == ["StoppingCharging", "ChargingPausedEVSE"]
    assert await rig.manager.resume_charging() is True
    assert rig.take_events() == ["PrepareCharging", "ChargingStarted"]

    request = StopTransactionRequest(reason=StopTransactionReason.Remote)
    assert await rig.manager.stop_transaction(request) is True
    names = rig.events()
    assert names == ["StoppingCharging", "ChargingFinished", "TransactionFinished"]
    finished = rig.event_payloads("TransactionFinished")[0].to_json()
    assert finished["transaction_finished"]["reason"] == "Remote"
    rig.take_events()
    assert rig.manager.state is State.Finished
    assert not rig.station.relays_on()

    rig.station.unplug()
    await rig.poll()
    assert rig.take_events() == ["SessionFinished"]
    assert rig.manager.state is State.Idle
