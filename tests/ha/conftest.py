"""Home Assistant tests: a real HA core (pytest-homeassistant-custom-component) whose
integration talks real Modbus TCP on 127.0.0.1 to the project's simulator.

The simulated EV and meter run on a ManualClock the test moves, and the manager polls when
the test says so (``poll``), so entity changes are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_manager.const import DOMAIN
from custom_components.evse_manager.controller.clock import ManualClock
from custom_components.evse_manager.controller.modbus.maps import load_map
from custom_components.evse_manager.controller.simulation import SimulatedStation
from custom_components.evse_manager.controller.simulator import ModbusSimulator

CHARGER = "heidelberg_energy_control"
METER = "eastron_sdm630"


@dataclass
class Sim:
    """The simulator and its clock."""

    simulator: ModbusSimulator
    clock: ManualClock

    @property
    def station(self) -> SimulatedStation:
        return self.simulator.station


def entry_data(sim: ModbusSimulator) -> dict:
    """Entry data as the config flow writes it, pointing at the simulator."""
    return {"mode": "modbus", **sim.devices(timeout_s=0.5)}


@pytest.fixture
async def sim(socket_enabled):
    """Heidelberg + SDM630 served on 127.0.0.1, stopped by the test."""
    clock = ManualClock()
    simulator = ModbusSimulator(SimulatedStation(clock=clock), load_map(CHARGER), load_map(METER))
    await simulator.start()
    try:
        yield Sim(simulator, clock)
    finally:
        await simulator.stop()


@pytest.fixture
def entry(sim) -> MockConfigEntry:
    """A config entry for the simulator (polling left to the test)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Garage",
        unique_id="garage-wallbox",
        data=entry_data(sim.simulator),
        options={"poll_interval_s": 60.0},
    )


@pytest.fixture
async def loaded(hass, entry):
    """The entry set up; unloaded (charger safe, buses closed) at the end."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    try:
        yield entry
    finally:
        if entry.state.recoverable:
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()


async def poll(hass, entry, sim: Sim, seconds: float = 1.0, steps: int = 1) -> None:
    """Let simulated time pass and the controller read the devices."""
    for _ in range(steps):
        sim.clock.advance(seconds)
        await entry.runtime_data.manager.poll_now()
    await hass.async_block_till_done()


GRID = "sensor.house_grid_power"


async def call(hass, entry, service, response=False, **args):
    """One of the integration's actions on ``entry``, as an automation calls it."""
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **args},
        blocking=True,
        return_response=response,
    )


async def set_up(hass, entry: MockConfigEntry) -> MockConfigEntry:
    """Add ``entry`` to Home Assistant and set it up."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def solar_entry(hass, sim: Sim, grid_W: str = "0", **options) -> MockConfigEntry:
    """An entry whose energy manager reads the grid power from the HA sensor ``GRID``."""
    hass.states.async_set(GRID, grid_W, {"unit_of_measurement": "W", "device_class": "power"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Solar",
        unique_id="solar",
        data=entry_data(sim.simulator),
        options={"poll_interval_s": 60.0, "grid_power_entity": GRID, **options},
    )
    return await set_up(hass, entry)
