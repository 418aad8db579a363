"""The solar-surplus blueprint, instantiated as a real automation in Home Assistant,
driving the charger through the integration's actions."""

from __future__ import annotations

import shutil
from pathlib import Path

from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from custom_components.evse_manager.const import DOMAIN
from custom_components.evse_manager.controller.kernel.states import State

from .conftest import poll

BLUEPRINT = Path(__file__).resolve().parents[2] / "blueprints" / "automation" / "evse_manager"
GRID = "sensor.house_grid_power"


async def test_blueprint_starts_and_pauses_charging_with_the_surplus(hass, loaded, sim, tmp_path):
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(BLUEPRINT, tmp_path / "blueprints" / "automation" / "evse_manager")
    power = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, "garage-wallbox_power")
    hass.states.async_set(GRID, "0", {"unit_of_measurement": "W", "device_class": "power"})
    manager = loaded.runtime_data.manager
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=6)
    assert await manager.pause_charging()
    await poll(hass, loaded, sim, steps=3)
    assert manager.state is State.ChargingPausedEVSE
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": "evse_manager/solar_surplus.yaml",
                    "input": {
                        "connector": loaded.entry_id,
                        "grid_power": GRID,
                        "charge_power": power,
                        "start_delay": 0,
                        "stop_delay": 0,
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    hass.states.async_set(GRID, "-5000", {"unit_of_measurement": "W"})
    await hass.async_block_till_done()
    await poll(hass, loaded, sim, steps=6)
    assert manager.state is State.Charging
    assert sim.simulator.charger.setpoint_A == 7  # 5000 W / (3 x 230 V), floored
    hass.states.async_set(GRID, "3000", {"unit_of_measurement": "W"})
    await hass.async_block_till_done()
    await poll(hass, loaded, sim, steps=3)
    assert manager.state is State.ChargingPausedEVSE
    assert sim.station.power_W() == 0
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": "all"}, blocking=True
    )  # detaches its 30 s follow timer
