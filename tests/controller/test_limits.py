"""Energy limits: enforced limits -> signalled current -> PWM; NoEnergy pause; phases."""

import pytest

from controller.kernel.pwm import duty_cycle
from controller.kernel.states import State
from controller.ports import CpMode

from .conftest import limits


async def test_limit_lowers_pwm_five_seconds_after_the_last_update(rig):
    """Charger.cpp Charging: update_pwm_max_every_5seconds_ampere, down as well."""
    await rig.start_charging()
    await rig.manager.set_enforced_limits(limits(amps=10))
    assert rig.station.output.current_A == 32
    assert rig.manager.vars()["limits"].max_current == 10  # the limit as set, at once
    await rig.advance(5)
    assert rig.station.output.current_A == 10
    assert rig.station.output.duty_cycle == pytest.approx(duty_cycle(10))
    assert rig.manager.vars()["limits"].max_current == 10
    assert rig.manager.vars()["enforced_limits"].limits_root_side.ac_max_current_A.value == 10
    assert sum(rig.station.phase_currents()) == 30


async def test_increase_applied_after_five_seconds(rig):
    await rig.start_charging()
    await rig.manager.set_enforced_limits(limits(amps=10))
    await rig.advance(5)
    assert rig.station.output.current_A == 10
    await rig.manager.set_enforced_limits(limits(amps=20))
    assert rig.station.output.current_A == 10
    await rig.advance(5)
    assert rig.station.output.current_A == 20


async def test_total_power_limit_divides_by_voltage_and_phases(rig):
    await rig.start_charging()
    await rig.manager.set_enforced_limits(limits(watts=6900))
    assert rig.manager.vars()["limits"].max_current == pytest.approx(10.0)
    await rig.advance(5)
    assert rig.station.output.current_A == pytest.approx(10.0)


async def test_below_minimum_pauses_with_no_energy_and_resumes(rig):
    await rig.start_charging()
    rig.take_events()
    await rig.manager.set_enforced_limits(limits(amps=5))
    assert rig.take_events() == ["StoppingCharging", "ChargingPausedEVSE"]
    rig.updates.clear()
    assert rig.manager.state is State.ChargingPausedEVSE
    assert rig.station.output.cp.value == "X1"
    await rig.manager.set_enforced_limits(limits(amps=8))
    assert rig.take_events() == ["PrepareCharging", "ChargingStarted"]
    assert rig.station.output.current_A == 8


async def test_no_energy_reason_and_changing_reason_set(rig):
    await rig.start_charging()
    rig.updates.clear()
    await rig.manager.set_enforced_limits(limits(amps=0))
    (event,) = rig.event_payloads("ChargingPausedEVSE")
    assert event.to_json()["charging_paused_evse"] == {"reasons": ["NoEnergy"]}
    rig.updates.clear()
    assert await rig.manager.pause_charging() is True
    (event,) = rig.event_payloads("ChargingPausedEVSE")
    assert event.to_json()["charging_paused_evse"] == {"reasons": ["NoEnergy", "UserPause"]}


async def test_limit_expiry_pauses(rig):
    await rig.start_charging()
    await rig.manager.set_enforced_limits(limits(amps=16, valid_for=30))
    rig.take_events()
    await rig.advance(29)
    assert rig.take_events() == []
    await rig.advance(1)
    assert rig.take_events() == ["StoppingCharging", "ChargingPausedEVSE"]
    assert rig.manager.vars()["limits"].max_current == 0


async def test_no_energy_before_charging_waits_in_prepare_charging(rig):
    """Charger.cpp PrepareCharging: "For AC BC: it is ok to wait here" without power."""
    await rig.manager.set_enforced_limits(limits(amps=0))
    rig.take_events()
    rig.station.plug_in()
    rig.station.draw_power(16.0, 3)
    await rig.poll()
    await rig.authorize()
    await rig.advance(20, step=5)
    assert rig.take_events()[-2:] == ["TransactionStarted", "PrepareCharging"]
    assert rig.manager.state is State.PrepareCharging
    assert rig.station.output.cp is CpMode.X1
    await rig.manager.set_enforced_limits(limits(amps=16))
    await rig.poll()
    assert rig.take_events() == ["ChargingStarted"]


async def test_cable_ampacity_caps_current(rig):
    from controller.everest import Ampacity

    rig.station.ampacity = Ampacity.A_13
    await rig.start_charging()
    assert rig.station.output.current_A == 13


async def test_phase_switch_while_charging(rig):
    await rig.start_charging()
    rig.take_events()
    await rig.manager.set_enforced_limits(limits(amps=16, phases=1))
    assert rig.take_events() == ["SwitchingPhases"]
    assert not rig.station.relays_on()
    await rig.advance(10)
    assert rig.take_events() == ["PrepareCharging", "ChargingStarted"]
    assert rig.station.output.phases == 1
    assert rig.manager.vars()["limits"].nr_of_phases_available == 1
    assert rig.station.phase_currents() == (16.0, 0.0, 0.0)


async def test_phase_change_when_idle_is_immediate(rig):
    await rig.manager.set_enforced_limits(limits(phases=1))
    assert rig.manager.vars()["limits"].nr_of_phases_available == 1
    assert rig.station.output.phases == 1
