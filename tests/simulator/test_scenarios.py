"""EV scenarios in the car-simulator language, played against the controller over Modbus."""

import pytest

from controller.kernel.states import State
from controller.simulator import Scenario, ScenarioError, Step, parse
from tests.modbus.conftest import start_rig, stop_rig


def test_parse_splits_commands_and_arguments_case_insensitively():
    steps = parse("SLEEP 1;iec_wait_pwr_ready\ndraw_power_regulated 16,3; pause;unplug")
    assert steps == [
        Step("sleep", (1.0,)),
        Step("iec_wait_pwr_ready"),
        Step("draw_power_regulated", (16.0, 3.0)),
        Step("pause"),
        Step("unplug"),
    ]
    assert str(steps[2]) == "draw_power_regulated 16,3"


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("plugin;fly 3", "command 2 'fly 3': unknown command"),
        ("sleep", "expects 1..1 arguments"),
        ("draw_power_regulated sixteen,3", "arguments must be numbers"),
    ],
)
def test_parse_errors_name_the_command(script, message):
    with pytest.raises(ScenarioError, match=message):
        parse(script)


async def test_draw_power_on_two_phases_is_refused(rig_free):
    scenario = Scenario("draw_power_regulated 16,2", rig_free)
    with pytest.raises(ScenarioError, match="phases must be 1 or 3"):
        await scenario.run(_no_wait)


async def _no_wait(_seconds):
    return None


@pytest.fixture
def rig_free():
    from controller.clock import ManualClock
    from controller.simulation import SimulatedStation

    return SimulatedStation(clock=ManualClock())


async def play(rig, script):
    async def wait(seconds):
        await rig.advance(seconds, step=1 if seconds < 60 else 10)

    await Scenario(script, rig.station).run(wait)


async def test_scenario_plays_a_one_phase_session_with_ev_pause(tmp_path, socket_enabled):
    rig = await start_rig(tmp_path, "phoenix_ev_eth")
    try:
        await play(rig, "plugin;iec_wait_pwr_ready;draw_power_regulated 10,1;sleep 600")
        assert rig.manager.state is State.Charging
        assert rig.station.phase_currents() == (10.0, 0.0, 0.0)
        await play(rig, "pause;sleep 5")
        assert rig.manager.state is State.ChargingPausedEV
        await play(rig, "resume;sleep 10")
        assert rig.manager.state is State.Charging
        await play(rig, "unplug;sleep 2")
        assert rig.events()[-1] == "SessionFinished"
        (record,) = rig.manager.history()
        assert record.energy_Wh == pytest.approx(rig.station.energy_Wh, abs=1.0)
        assert record.energy_Wh == pytest.approx(10 * 230 * (600 + 15) / 3600, rel=0.03)
    finally:
        await stop_rig(rig)


async def test_diode_fault_and_rcd_trip_inhibit_charging_until_cleared(tmp_path, socket_enabled):
    rig = await start_rig(tmp_path, "heidelberg_energy_control")
    try:
        await play(rig, "plugin;iec_wait_pwr_ready;draw_power_regulated 16,3;sleep 60")
        assert rig.manager.state is State.Charging
        await play(rig, "diode_fail;sleep 2")
        errors = [e.type for e in rig.manager.vars()["errors"]]
        assert errors, "the diode fault is reported"
        assert not rig.manager.kernel.output().charging_allowed
        assert rig.station.power_W() == 0
        await play(rig, "clear_errors;sleep 10")
        assert rig.manager.vars()["errors"] == []
        await play(rig, "rcd_current 3;sleep 2")
        assert rig.manager.vars()["errors"] == []
        await play(rig, "rcd_current 7;sleep 2")
        assert rig.manager.vars()["errors"]
        assert rig.station.power_W() == 0
    finally:
        await stop_rig(rig)


async def test_wait_for_power_gives_up_when_the_evse_never_offers_it(tmp_path, socket_enabled):
    rig = await start_rig(tmp_path, "heidelberg_energy_control", free_charging=False)
    try:
        with pytest.raises(ScenarioError, match="no PWM after 600 s"):
            await play(rig, "plugin;iec_wait_pwr_ready")
        assert rig.manager.state is not State.Charging
    finally:
        await stop_rig(rig)
