"""Pause and resume as EVerest's Charger.cpp has them (issue 13, second part)."""

from controller.kernel.states import State

from .conftest import limits


async def test_pause_during_ev_pause_takes_effect_when_ev_resumes(rig):
    """Charger.cpp pause_charging sets flag_paused_by_evse; ChargingPausedEV does not look
    at it, so the EV resumes through PrepareCharging into Charging, which stops at once
    (StoppingCharging -> ChargingPausedEVSE{UserPause}); the relays never close."""
    await rig.start_charging()
    rig.station.pause()
    await rig.poll()
    assert rig.manager.state is State.ChargingPausedEV
    rig.take_events()
    assert await rig.manager.pause_charging() is True
    assert rig.take_events() == []
    assert rig.manager.state is State.ChargingPausedEV
    rig.station.resume()
    await rig.poll()
    await rig.poll()
    assert rig.take_events() == [
        "PrepareCharging",
        "ChargingStarted",
        "StoppingCharging",
        "ChargingPausedEVSE",
    ]
    assert rig.manager.state is State.ChargingPausedEVSE
    assert not rig.station.relays_on()


async def test_pause_in_prepare_charging_waits_for_the_ev(rig):
    """Charger.cpp PrepareCharging ignores flag_paused_by_evse; Charging stops."""
    rig.station.plug_in()
    await rig.poll()
    await rig.authorize()
    assert rig.manager.state is State.PrepareCharging
    rig.take_events()
    assert await rig.manager.pause_charging() is True
    assert rig.take_events() == []
    assert rig.manager.state is State.PrepareCharging
    rig.station.draw_power(16.0, 3)
    await rig.poll()
    await rig.poll()
    assert rig.take_events() == [
        "ChargingStarted",
        "StoppingCharging",
        "ChargingPausedEVSE",
    ]
    assert rig.manager.state is State.ChargingPausedEVSE


async def test_no_energy_during_ev_pause_goes_straight_to_paused_evse(rig):
    """Charger.cpp ChargingPausedEV: not power_available() -> ChargingPausedEVSE."""
    await rig.start_charging()
    rig.station.pause()
    await rig.poll()
    rig.updates.clear()
    await rig.manager.set_enforced_limits(limits(amps=0))
    assert rig.events() == ["ChargingPausedEVSE"]
    (event,) = rig.event_payloads("ChargingPausedEVSE")
    assert event.to_json()["charging_paused_evse"] == {"reasons": ["NoEnergy"]}
