"""The built-in energy manager inside Home Assistant: grid power from a sensor entity,
charge mode select and tuning numbers."""

from __future__ import annotations

import pytest
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_manager.const import DOMAIN
from custom_components.evse_manager.controller.catalog import entities
from custom_components.evse_manager.controller.kernel.states import State

from .conftest import GRID, entry_data, poll, solar_entry


def eid(hass, platform: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"solar_{key}")
    assert entity_id is not None, key
    return entity_id


@pytest.fixture
async def solar(hass, sim):
    entry = await solar_entry(hass, sim, grid_power_inverted=False)
    try:
        yield entry
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def step(hass, entry, sim):
    await entry.runtime_data.energy.step()
    await poll(hass, entry, sim, steps=4)


async def test_energy_entities_exist_only_with_a_grid_sensor(hass, solar):
    registry = er.async_get(hass)
    keys = {e.unique_id for e in er.async_entries_for_config_entry(registry, solar.entry_id)}
    assert keys == {f"solar_{s.key}" for s in entities()}
    assert hass.states.get(eid(hass, "select", "charge_mode")).state == "pv"


async def test_surplus_from_the_sensor_drives_the_charging_current(hass, solar, sim):
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, solar, sim, steps=4)
    # No start delay (the energy manager runs on the real clock here).
    await hass.services.async_call(
        DOMAIN,
        "set_energy_settings",
        {"config_entry_id": solar.entry_id, "enable_delay_s": 0},
        blocking=True,
    )
    hass.states.async_set(GRID, "-5.0", {"unit_of_measurement": "kW"})  # 5 kW export
    await hass.async_block_till_done()
    await step(hass, solar, sim)
    # 5000 W over 3 x 230 V: 7.2 A (down to heidelberg_energy_control's 0.1 A step, a fact
    # of its map that the energy manager follows)
    assert sim.simulator.charger.setpoint_A == 7.2
    assert solar.runtime_data.manager.state is State.Charging
    assert hass.states.get(eid(hass, "sensor", "energy_limited_by")).state == "surplus"
    assert float(hass.states.get(eid(hass, "sensor", "surplus_power")).state) == 5000
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": eid(hass, "select", "charge_mode"), "option": "fast"},
        blocking=True,
    )
    await step(hass, solar, sim)
    assert hass.states.get(eid(hass, "select", "charge_mode")).state == "fast"
    # The limit rises at once; the kernel raises the signalled current at most every 5 s.
    assert float(hass.states.get(eid(hass, "sensor", "enforced_limit")).state) == 16
    assert hass.states.get(eid(hass, "sensor", "energy_limited_by")).state == "fast"


async def test_tuning_numbers_change_the_energy_settings(hass, solar):
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": eid(hass, "number", "surplus_start_delay"), "value": 120},
        blocking=True,
    )
    await hass.async_block_till_done()
    settings = solar.runtime_data.manager.vars()["energy_settings"]
    assert settings["enable_delay_s"] == 120
    assert float(hass.states.get(eid(hass, "number", "surplus_start_delay")).state) == 120


async def test_unknown_grid_sensor_stops_pv_charging(hass, solar, sim):
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    hass.states.async_set(GRID, "unavailable")
    await hass.async_block_till_done()
    await step(hass, solar, sim)
    assert sim.station.power_W() == 0
    reason = hass.states.get(eid(hass, "sensor", "energy_reason")).state
    assert reason == "no grid reading"


async def test_a_steady_sensor_stays_fresh_a_silent_one_goes_stale(hass, solar, sim, freezer):
    await hass.services.async_call(
        DOMAIN,
        "set_energy_settings",
        {"config_entry_id": solar.entry_id, "enable_delay_s": 0, "disable_delay_s": 0},
        blocking=True,
    )
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    hass.states.async_set(GRID, "-5000", {"unit_of_measurement": "W"})
    await step(hass, solar, sim)
    assert sim.simulator.charger.setpoint_A == 7.2
    freezer.tick(120)
    hass.states.async_set(GRID, "-5000", {"unit_of_measurement": "W"})  # same value again
    await step(hass, solar, sim)
    assert hass.states.get(eid(hass, "sensor", "energy_limited_by")).state == "surplus"
    freezer.tick(61)  # the meter went quiet
    await step(hass, solar, sim)
    assert hass.states.get(eid(hass, "sensor", "energy_reason")).state == "no grid reading"
    assert sim.station.power_W() == 0


async def test_charge_mode_survives_a_reload(hass, solar):
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": eid(hass, "select", "charge_mode"), "option": "minpv"},
        blocking=True,
    )
    assert await hass.config_entries.async_reload(solar.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(eid(hass, "select", "charge_mode")).state == "minpv"


async def test_chargers_on_one_grid_sensor_share_the_surplus(hass, solar, sim, socket_enabled):
    from custom_components.evse_manager.controller.clock import ManualClock
    from custom_components.evse_manager.controller.modbus.maps import load_map
    from custom_components.evse_manager.controller.simulation import SimulatedStation
    from custom_components.evse_manager.controller.simulator import ModbusSimulator
    from custom_components.evse_manager.grid import SITES

    other = ModbusSimulator(
        SimulatedStation(clock=ManualClock()),
        load_map("heidelberg_energy_control"),
        load_map("eastron_sdm630"),
    )
    await other.start()
    second = MockConfigEntry(
        domain=DOMAIN,
        title="Carport",
        unique_id="carport",
        data=entry_data(other),
        options={"poll_interval_s": 60.0, "grid_power_entity": GRID},
    )
    second.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(second.entry_id)
        await hass.async_block_till_done()
        site = solar.runtime_data.energy
        assert second.runtime_data.energy is site
        assert set(site.connectors) == {solar.entry_id, second.entry_id}
        for entry in (solar, second):
            await hass.services.async_call(
                DOMAIN,
                "set_energy_settings",
                {"config_entry_id": entry.entry_id, "enable_delay_s": 0},
                blocking=True,
            )
        for station in (sim.station, other.station):
            station.plug_in()
            station.draw_power(16.0, 3)
        await poll(hass, solar, sim, steps=4)
        for _ in range(4):
            await second.runtime_data.manager.poll_now()
        # The grid meter sees the house exporting 5 kW before the EVs' draw (the first
        # charger is already held at 0 A by the site's first step, with no surplus).
        ev_W = sim.station.power_W() + other.station.power_W()
        assert ev_W > 10000
        hass.states.async_set(GRID, str(ev_W - 5000), {"unit_of_measurement": "W"})
        limits = await site.step()
        # 5 kW is enough for one charger at 7.2 A, not for two at their 6 A minimum.
        assert sorted(limits.values()) == [0, 7.2]
        await hass.config_entries.async_unload(second.entry_id)
        await hass.async_block_till_done()
        assert set(site.connectors) == {solar.entry_id}
        assert hass.data[SITES][GRID] is site
    finally:
        await hass.config_entries.async_unload(second.entry_id)
        await other.stop()


async def test_action_field_keys_reach_the_controller_arguments(hass, solar):
    """set_energy_settings' fields are lower case (hassfest); the controller keeps min_current_A."""
    await hass.services.async_call(
        DOMAIN,
        "set_energy_settings",
        {"config_entry_id": solar.entry_id, "min_current_a": 8, "buffer_w": 300},
        blocking=True,
    )
    settings = solar.runtime_data.manager.vars()["energy_settings"]
    assert (settings["min_current_A"], settings["buffer_W"]) == (8, 300)


async def test_import_budget_is_a_tuning_number(hass, solar):
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": eid(hass, "number", "surplus_import_budget"), "value": 40},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert solar.runtime_data.manager.vars()["energy_settings"]["import_budget_Wh"] == 40
    assert float(hass.states.get(eid(hass, "number", "surplus_import_budget")).state) == 40


BATTERY_W, BATTERY_SOC = "sensor.home_battery_power", "sensor.home_battery_soc"


@pytest.mark.parametrize(("soc", "expected_W"), [("85", 6 * 3 * 230), ("40", 0), ("unknown", 0)])
async def test_battery_soc_sensor_lets_charging_start_on_the_battery(hass, sim, soc, expected_W):
    """Above buffer_start_soc charging starts on the home battery with no surplus (evcc
    bufferStartSoc); at 40 % or with the sensor unknown it waits for surplus."""
    hass.states.async_set(BATTERY_W, "0", {"unit_of_measurement": "W"})
    hass.states.async_set(BATTERY_SOC, soc, {"unit_of_measurement": "%"})
    entry = await solar_entry(
        hass, sim, battery_power_entity=BATTERY_W, battery_soc_entity=BATTERY_SOC
    )
    try:
        await hass.services.async_call(
            DOMAIN,
            "set_energy_settings",
            {"config_entry_id": entry.entry_id, "buffer_soc": 50, "buffer_start_soc": 80},
            blocking=True,
        )
        sim.station.plug_in()
        sim.station.draw_power(16.0, 3)
        await poll(hass, entry, sim, steps=4)
        await step(hass, entry, sim)
        assert sim.station.power_W() == pytest.approx(expected_W)
        if expected_W:
            reason = hass.states.get(eid(hass, "sensor", "energy_reason")).state
            assert "buffer start" in reason
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


SOC_NUMBERS = {
    "battery_priority_soc": "priority_soc",
    "battery_buffer_soc": "buffer_soc",
    "battery_buffer_start_soc": "buffer_start_soc",
}


async def set_number(hass, key: str, value: float) -> None:
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": eid(hass, "number", key), "value": value},
        blocking=True,
    )
    await hass.async_block_till_done()


async def test_battery_soc_thresholds_are_numbers_kept_across_a_restart(hass, sim):
    """The three SoC thresholds are number entities; what they are set to survives a reload
    of the entry (the controller's store) and still acts: above the buffer start SoC
    charging starts on the home battery with no surplus."""
    hass.states.async_set(BATTERY_W, "0", {"unit_of_measurement": "W"})
    hass.states.async_set(BATTERY_SOC, "85", {"unit_of_measurement": "%"})
    entry = await solar_entry(
        hass, sim, battery_power_entity=BATTERY_W, battery_soc_entity=BATTERY_SOC
    )
    try:
        for key, value in zip(SOC_NUMBERS, (30, 50, 80), strict=True):
            await set_number(hass, key, value)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        settings = entry.runtime_data.manager.vars()["energy_settings"]
        for (key, setting), value in zip(SOC_NUMBERS.items(), (30, 50, 80), strict=True):
            assert settings[setting] == value
            assert float(hass.states.get(eid(hass, "number", key)).state) == value
            assert (
                hass.states.get(eid(hass, "number", key)).attributes["unit_of_measurement"] == "%"
            )
        sim.station.plug_in()
        sim.station.draw_power(16.0, 3)
        await poll(hass, entry, sim, steps=4)
        await step(hass, entry, sim)
        assert sim.station.power_W() == pytest.approx(6 * 3 * 230)
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def test_a_soc_threshold_out_of_order_is_refused(hass, solar):
    """evcc's order (priority <= buffer <= buffer start): a buffer SoC below the priority
    SoC is an error shown to the user, and the setting stays as it was."""
    await set_number(hass, "battery_buffer_soc", 50)
    with pytest.raises(HomeAssistantError, match="priority_soc is above buffer_soc"):
        await set_number(hass, "battery_priority_soc", 70)
    settings = solar.runtime_data.manager.vars()["energy_settings"]
    assert (settings["priority_soc"], settings["buffer_soc"]) == (0, 50)
    assert float(hass.states.get(eid(hass, "number", "battery_priority_soc")).state) == 0
