"""Mode and tuning of the energy manager through the one command API (HA, MQTT, HTTP)."""

import pytest

from controller.catalog import entities
from controller.commands import execute
from controller.energy.manager import EnergyManager, GridReading, PushedGridSource
from controller.mqtt.payloads import parse_control

from .conftest import control, house

ENERGY_KEYS = {e.key for e in entities() if e.requires == "energy_settings"}


async def test_settings_are_published_when_the_energy_manager_attaches(rigs):
    (rig,) = await rigs()
    assert "energy_settings" not in rig.manager.vars()
    assert not ENERGY_KEYS & {e.key for e in entities(values=rig.manager.vars())}
    EnergyManager({"garage": control(rig)}, PushedGridSource(clock=rig.clock), clock=rig.clock)
    settings = rig.manager.vars()["energy_settings"]
    assert settings["mode"] == "pv"
    assert settings["enable_delay_s"] == 0
    assert settings["min_current_A"] == 6.0
    assert {e.key for e in entities(values=rig.manager.vars())} >= ENERGY_KEYS


async def test_set_charge_mode_switches_the_decision(rigs):
    (rig,) = await rigs()
    source = PushedGridSource(clock=rig.clock)
    em = EnergyManager({"garage": control(rig)}, source, clock=rig.clock)
    await rig.start_charging()
    source.push(GridReading(power_W=rig.station.power_W() + 500))  # importing: no surplus
    assert (await em.step())["garage"] == 0
    result = await execute(rig.manager, "set_charge_mode", {"mode": "fast"})
    assert result.ok, result.error
    assert rig.manager.vars()["energy_settings"]["mode"] == "fast"
    assert (await em.step())["garage"] == 16
    assert rig.manager.vars()["energy_manager"]["limited_by"] == "fast"


async def test_set_energy_settings_tunes_thresholds(rigs):
    (rig,) = await rigs()
    source = PushedGridSource(clock=rig.clock)
    em = EnergyManager({"garage": control(rig)}, source, clock=rig.clock)
    await rig.start_charging()
    source.push(house([rig], 4600))  # 20 A-ish at 1 phase, 6.7 A at 3
    assert (await em.step())["garage"] > 0
    result = await execute(rig.manager, "set_energy_settings", {"buffer_W": 4000})
    assert result.ok, result.error
    assert rig.manager.vars()["energy_settings"]["buffer_W"] == 4000
    source.push(house([rig], 4600))
    await em.step()
    assert rig.manager.vars()["energy_manager"]["surplus_W"] < 1000


async def test_bad_energy_commands_are_clear_errors(rigs):
    (rig,) = await rigs()
    result = await execute(rig.manager, "set_charge_mode", {"mode": "pv"})
    assert not result.ok
    assert "no energy manager" in result.error
    EnergyManager({"garage": control(rig)}, PushedGridSource(clock=rig.clock), clock=rig.clock)
    result = await execute(rig.manager, "set_charge_mode", {"mode": "turbo"})
    assert not result.ok
    assert "mode" in result.error
    result = await execute(rig.manager, "set_energy_settings", {"min_current_A": 20})
    assert not result.ok
    assert "min_current_A is above max_current_A" in result.error
    assert rig.manager.vars()["energy_settings"]["min_current_A"] == 6.0
    result = await execute(rig.manager, "set_energy_settings", {"voltage_V": 110})
    assert not result.ok


def test_mqtt_select_control_accepts_only_its_options():
    (spec,) = [e for e in entities() if e.key == "charge_mode"]
    assert parse_control(spec, "minpv") == "minpv"
    with pytest.raises(ValueError, match="expected one of off, fast, pv, minpv"):
        parse_control(spec, "turbo")


async def test_mode_and_tuning_survive_a_restart(tmp_path):
    from controller.energy import Mode, SurplusController, SurplusSettings
    from controller.energy.manager import ConnectorControl
    from tests.controller.conftest import make_rig

    def attach(rig):
        control = ConnectorControl(
            manager=rig.manager, surplus=SurplusController(SurplusSettings(), Mode.PV)
        )
        EnergyManager({"garage": control}, PushedGridSource(clock=rig.clock), clock=rig.clock)
        return control

    rig = await make_rig(tmp_path)
    try:
        attach(rig)
        assert (await execute(rig.manager, "set_charge_mode", {"mode": "minpv"})).ok
        assert (await execute(rig.manager, "set_energy_settings", {"buffer_W": 250})).ok
    finally:
        await rig.manager.stop()
        rig.store.close()
    rig = await make_rig(tmp_path)  # same database: a restarted controller
    try:
        control = attach(rig)
        assert control.surplus.mode is Mode.MINPV
        assert control.surplus.settings.buffer_W == 250
        assert rig.manager.vars()["energy_settings"]["mode"] == "minpv"
    finally:
        await rig.manager.stop()
        rig.store.close()


async def test_battery_soc_thresholds_are_tunable_in_evccs_order(rigs):
    """evcc core/site_api.go: priority <= buffer <= buffer start; a wrong order is refused
    and changes nothing."""
    (rig,) = await rigs()
    EnergyManager({"garage": control(rig)}, PushedGridSource(clock=rig.clock), clock=rig.clock)
    socs = {"priority_soc": 20, "buffer_soc": 50, "buffer_start_soc": 90}
    assert (await execute(rig.manager, "set_energy_settings", socs)).ok
    settings = rig.manager.vars()["energy_settings"]
    assert (settings["priority_soc"], settings["buffer_soc"]) == (20, 50)
    assert settings["buffer_start_soc"] == 90
    result = await execute(rig.manager, "set_energy_settings", {"priority_soc": 70})
    assert not result.ok
    assert "priority_soc is above buffer_soc" in result.error
    result = await execute(rig.manager, "set_energy_settings", {"buffer_soc": 101})
    assert not result.ok
    assert rig.manager.vars()["energy_settings"]["priority_soc"] == 20
