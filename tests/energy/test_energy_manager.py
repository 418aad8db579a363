"""The energy manager over real kernels (in-memory hardware): surplus in, limits out."""

import asyncio
import copy

import pytest

from controller.clock import ManualClock
from controller.energy import Mode, SiteReading, SurplusController, SurplusSettings
from controller.energy.manager import (
    ConnectorControl,
    EnergyManager,
    GridReading,
    MeterGridSource,
    PushedGridSource,
    SiteSettings,
)
from controller.kernel.states import State
from controller.simulation import MemoryMeter, SimulatedStation

from .conftest import control, house


async def test_pv_surplus_sets_the_kernel_limit_and_explains(rigs):
    (rig,) = await rigs()
    source = PushedGridSource(clock=rig.clock)
    em = EnergyManager({"garage": control(rig)}, source, SiteSettings(), clock=rig.clock)
    await rig.start_charging()
    source.push(house([rig], 6900))
    limits = await em.step()
    assert limits == {"garage": 10}
    await rig.advance(5)  # Charger.cpp: the PWM changes at most every 5 s while charging
    assert rig.station.output.current_A == 10
    assert rig.manager.state is State.Charging
    explanation = rig.manager.vars()["energy_manager"]
    assert explanation["mode"] == "pv"
    assert explanation["limit_A"] == 10
    assert explanation["limited_by"] == "surplus"
    assert [u.var for u in rig.updates].count("energy_manager") == 1


async def test_no_surplus_pauses_with_waiting_reason(rigs):
    (rig,) = await rigs()
    source = PushedGridSource(clock=rig.clock)
    em = EnergyManager({"garage": control(rig)}, source, clock=rig.clock)
    await rig.start_charging()
    source.push(GridReading(power_W=500 + rig.station.power_W()))
    await em.step()
    await rig.poll()
    assert rig.manager.state is State.ChargingPausedEVSE
    assert rig.manager.vars()["energy_manager"]["limited_by"] == "waiting"


async def test_stale_grid_reading_stops_pv_but_keeps_minpv_minimum(rigs):
    a, b = await rigs(2)
    source = PushedGridSource(max_age_s=30, clock=a.clock)
    ctl_b = control(b)
    ctl_b.surplus.set_mode(Mode.MINPV)
    em = EnergyManager({"a": control(a), "b": ctl_b}, source, clock=a.clock)
    source.push(GridReading(power_W=-10000))
    a.clock.advance(31)
    assert await em.step() == {"a": 0, "b": 6}
    assert a.manager.vars()["energy_manager"]["reason"] == "no grid reading"


async def test_fuse_is_shared_between_connectors(rigs):
    a, b = await rigs(2)
    source = PushedGridSource(clock=a.clock)
    controls = {name: control(r) for name, r in (("a", a), ("b", b))}
    for c in controls.values():
        c.surplus.set_mode(Mode.FAST)
    em = EnergyManager(controls, source, SiteSettings(fuse_A=25), clock=a.clock)
    source.push(GridReading(power_W=1000, currents_A=(5.0, 5.0, 5.0)))
    assert await em.step() == {"a": 10, "b": 10}
    assert a.manager.vars()["energy_manager"]["limited_by"] == "fuse"


async def test_unknown_household_load_promises_only_minimum(rigs):
    (rig,) = await rigs()
    source = PushedGridSource(clock=rig.clock)
    ctl = control(rig)
    ctl.surplus.set_mode(Mode.FAST)
    em = EnergyManager({"g": ctl}, source, SiteSettings(fuse_A=35), clock=rig.clock)
    source.push(GridReading(power_W=0))
    assert await em.step() == {"g": 6}


async def test_limits_are_resent_only_on_change_or_before_they_expire(rigs):
    (rig,) = await rigs()
    source = PushedGridSource(clock=rig.clock)
    em = EnergyManager({"g": control(rig)}, source, SiteSettings(limit_valid_s=60), clock=rig.clock)
    await rig.start_charging()
    sent = []
    original = rig.manager.set_enforced_limits

    async def spy(limits):
        sent.append(limits)
        await original(limits)

    rig.manager.set_enforced_limits = spy
    for _ in range(3):
        source.push(house([rig], 6900))
        await em.step()
        rig.clock.advance(5)
    assert len(sent) == 1
    assert sent[0].valid_for == 60
    rig.clock.advance(10)
    source.push(house([rig], 6900))
    await em.step()
    assert len(sent) == 2


async def test_mode_change_by_name(rigs):
    (rig,) = await rigs()
    source = PushedGridSource(clock=rig.clock)
    em = EnergyManager({"g": control(rig, max_current_A=16)}, source, clock=rig.clock)
    source.push(GridReading(power_W=2000))
    em.set_mode("g", "fast")
    assert await em.step() == {"g": 16}
    em.set_mode("g", Mode.OFF)
    assert await em.step() == {"g": 0}


async def test_meter_grid_source_reads_a_power_meter():
    clock = ManualClock()
    station = SimulatedStation(clock=clock)
    reading = await MeterGridSource(MemoryMeter(station)).read()
    assert reading.power_W == 0
    assert reading.currents_A == (0.0, 0.0, 0.0)


async def test_background_loop_runs_and_stops(rigs):
    (rig,) = await rigs()
    source = PushedGridSource()
    source.push(GridReading(power_W=0))
    em = EnergyManager({"g": control(rig)}, source, SiteSettings(interval_s=0.01))
    await em.start()
    for _ in range(200):
        if "energy_manager" in rig.manager.vars():
            break
        await asyncio.sleep(0.01)
    await em.stop()
    assert "energy_manager" in rig.manager.vars()


async def test_two_pv_connectors_share_the_surplus_without_overshooting(rigs):
    first, second = await rigs(2)
    source = PushedGridSource(clock=first.clock)
    em = EnergyManager(
        {"first": control(first), "second": control(second)}, source, clock=first.clock
    )
    await first.start_charging()
    await second.start_charging()
    allocations = []
    for _ in range(6):
        # 10 A x 3 phases of surplus before the EVs; the house reads what they draw now.
        source.push(house([first, second], 6900))
        limits = await em.step()
        await first.poll()
        await second.poll()
        allocations.append((limits["first"], limits["second"]))
    # Each connector sees the grid as it will be once those before it draw their new
    # limit, so the pair never claims the surplus twice and settles at once: one EV takes
    # the 10 A, the other waits (no relay cycling from cycle to cycle).
    assert sorted(allocations[0]) == [0, 10]
    assert all(a == allocations[0] for a in allocations)
    for rig in (first, second):  # Charger.cpp: the PWM changes at most every 5 s
        await rig.advance(5)
    total_W = sum(r.station.power_W() for r in (first, second))
    assert total_W == pytest.approx(6900, rel=0.01)


async def test_a_connector_still_starting_is_skipped(rigs, tmp_path):
    (rig,) = await rigs()
    from controller.manager import EvseManager
    from controller.simulation import MemoryCharger, MemoryMeter, SimulatedStation
    from controller.store import SessionStore

    station = SimulatedStation(clock=rig.clock)
    store = SessionStore(tmp_path / "late.db")
    late = EvseManager(MemoryCharger(station), MemoryMeter(station), store, clock=rig.clock)
    try:
        source = PushedGridSource(clock=rig.clock)
        em = EnergyManager(
            {
                "garage": control(rig),
                "late": ConnectorControl(
                    manager=late, surplus=SurplusController(SurplusSettings(), Mode.PV)
                ),
            },
            source,
            clock=rig.clock,
        )
        await rig.start_charging()
        source.push(house([rig], 6900))
        limits = await asyncio.wait_for(em.step(), timeout=5)
        assert limits["garage"] == 10
        assert "energy_manager" not in late._extra
    finally:
        store.close()


async def test_request_zero_power_in_idle_leaves_the_fuse_to_the_others(tmp_path):
    """EvseManager request_zero_power_in_idle (energyImpl.cpp): an EVSE without a car asks
    for 0 A, so the connector with the car gets the whole spare fuse current."""
    from controller.kernel.machine import KernelConfig
    from tests.controller.conftest import make_rig

    made = []
    for i, zero in enumerate((True, False)):
        path = tmp_path / f"z{i}"
        path.mkdir()
        made.append(await make_rig(path, KernelConfig(request_zero_power_in_idle=zero)))
    idle, busy = made
    try:
        busy.station.plug_in()
        await busy.poll()
        controls = {"idle": control(idle), "busy": control(busy)}
        for c in controls.values():
            c.surplus.set_mode(Mode.FAST)
        source = PushedGridSource(clock=idle.clock)
        em = EnergyManager(controls, source, SiteSettings(fuse_A=20), clock=idle.clock)
        source.push(GridReading(power_W=1000, currents_A=(5.0, 5.0, 5.0)))
        assert await em.step() == {"idle": 0, "busy": 15}
    finally:
        for rig in made:
            await rig.manager.stop()
            rig.store.close()


async def test_a_car_below_its_limit_is_counted_at_its_measured_current_plus_two(rigs):
    """The manager hands the charger meter's phase current to the surplus decision: a car
    that caps itself at 8 A under a 10 A limit counts as drawing 10 A (8 + 2, at most the
    limit; evcc's effectiveCurrent), so the surplus it leaves is offered, not lost."""
    (rig,) = await rigs()
    source = PushedGridSource(clock=rig.clock)
    ctl = control(rig, up_confirm_s=0, new_high_confirm_s=0, hysteresis_A=0)
    em = EnergyManager({"garage": ctl}, source, clock=rig.clock)
    await rig.start_charging()
    rig.station.draw_power(8.0, 3)
    await rig.poll()
    source.push(house([rig], 6900))
    assert await em.step() == {"garage": 10}
    await rig.advance(5)
    await rig.poll()
    assert rig.station.power_W() == pytest.approx(8 * 3 * 230)
    source.push(house([rig], 6900))  # 2 A per phase exported
    assert await em.step() == {"garage": 12}
    assert rig.manager.vars()["energy_manager"]["surplus_W"] == pytest.approx(12 * 3 * 230)


async def test_import_budget_is_tunable_and_survives_as_a_setting(rigs):
    (rig,) = await rigs()
    ctl = control(rig)
    EnergyManager({"garage": ctl}, PushedGridSource(clock=rig.clock), clock=rig.clock)
    ctl.update_settings({"import_budget_Wh": 40})
    assert ctl.surplus.settings.import_budget_Wh == 40
    assert rig.manager.vars()["energy_settings"]["import_budget_Wh"] == 40


async def test_a_buffered_home_battery_keeps_the_minimum_through_a_dip(rigs):
    """The grid reading's battery state reaches the decision: above buffer_soc a dip is
    ridden at the minimum on the battery (evcc batteryBuffered), at 40 % it stops."""
    (rig,) = await rigs()
    source = PushedGridSource(clock=rig.clock)
    em = EnergyManager(
        {"garage": control(rig, buffer_soc=50, import_budget_Wh=5)}, source, clock=rig.clock
    )
    await rig.start_charging()
    source.push(house([rig], 6 * 3 * 230))
    assert await em.step() == {"garage": 6}
    for soc, expected in ((80.0, 6), (40.0, 0)):
        for _ in range(30):  # 300 s: past the disable delay
            await rig.advance(10)
            await rig.poll()
            draw = rig.station.power_W()
            # Clouds: the battery covers the car, the grid stays at 0.
            source.push(GridReading(power_W=0.0, battery_W=-draw - 1000, battery_soc=soc))
            limits = await em.step()
        assert limits == {"garage": expected}


def _teach_under(surplus: SurplusController, under_A: float) -> None:
    """Drive the controller through a charge held at 6 A (3p) by a car drawing ``under_A``
    less, then a stop: it has learnt how little that car draws at the minimum."""
    for t in range(0, 200, 10):
        cur = surplus.current_A
        drawn = cur - under_A if cur else 0.0
        power = drawn * 3 * 230
        export = 6.2 * 3 * 230 if t < 60 else 0.0
        surplus.step(t, SiteReading(grid_W=power - export, charge_W=power, charge_A=drawn))
    assert surplus.current_A == 0


async def test_an_unplugged_connector_forgets_how_little_its_car_drew(rigs):
    """The learnt start threshold (5.5 A for a car drawing 0.5 A under 6 A) leaves with the
    car: with nothing plugged in the manager's next decision waits for the full minimum."""
    (rig,) = await rigs()
    ctl = control(rig, disable_delay_s=60)
    _teach_under(ctl.surplus, 0.5)
    thin = SiteReading(grid_W=-3800, charge_W=0, charge_A=0)
    assert copy.deepcopy(ctl.surplus).step(200, thin).reason == "pv surplus: start"
    assert rig.manager.state is State.Idle  # nothing plugged in at this rig
    source = PushedGridSource(clock=rig.clock)
    em = EnergyManager({"garage": ctl}, source, clock=rig.clock)
    source.push(GridReading(power_W=-3800))
    await em.step()
    assert rig.manager.vars()["energy_manager"]["reason"] == "waiting for 4140 W surplus"
