"""Solar surplus inside Home Assistant: the controller's energy manager, fed with the grid
power (and optionally the home battery's power) from Home Assistant sensor entities.

The sensors push into the controller's ``PushedGridSource``; a sensor that stops updating
turns stale there and the energy manager falls back safely (pv mode stops charging).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers.event import async_track_state_change_event

from controller.energy import Mode, SurplusController, SurplusSettings
from controller.energy.manager import (
    ConnectorControl,
    EnergyManager,
    GridReading,
    PushedGridSource,
    SiteSettings,
)
from controller.manager import EvseManager

from .const import (
    CONF_BATTERY_ENTITY,
    CONF_GRID_ENTITY,
    CONF_GRID_INVERTED,
    CONF_MAX_CURRENT,
    CONF_MIN_CURRENT,
    CONF_PHASES,
    DEFAULT_ENERGY_INTERVAL_S,
)

_LOGGER = logging.getLogger(__name__)
TO_WATT = {UnitOfPower.WATT: 1.0, UnitOfPower.KILO_WATT: 1e3, UnitOfPower.MEGA_WATT: 1e6}


def watts(state: State | None) -> float | None:
    """A power sensor's state in W, or None when unknown, unavailable or not a power."""
    if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        return None
    factor = TO_WATT.get(state.attributes.get("unit_of_measurement", UnitOfPower.WATT))
    try:
        value = float(state.state)
    except ValueError:
        return None
    if factor is None or not math.isfinite(value):
        return None
    return value * factor


class SensorGrid:
    """Pushes a grid reading whenever the grid (or battery) sensor changes."""

    def __init__(self, hass: HomeAssistant, options: Mapping[str, Any]) -> None:
        self.hass = hass
        self.grid_entity: str = options[CONF_GRID_ENTITY]
        self.battery_entity: str | None = options.get(CONF_BATTERY_ENTITY)
        self.sign = -1.0 if options.get(CONF_GRID_INVERTED) else 1.0
        self.source = PushedGridSource()

    @callback
    def start(self) -> Callable[[], None]:
        """Follow the sensors; returns the function that stops following."""
        entities = [e for e in (self.grid_entity, self.battery_entity) if e]
        self.push()
        return async_track_state_change_event(self.hass, entities, self._changed)

    @callback
    def _changed(self, event: Event[EventStateChangedData]) -> None:
        self.push()

    @callback
    def push(self) -> None:
        """The current reading, if the grid sensor has a number."""
        grid = watts(self.hass.states.get(self.grid_entity))
        if grid is None:
            return
        battery = watts(self.hass.states.get(self.battery_entity)) if self.battery_entity else None
        self.source.push(GridReading(power_W=self.sign * grid, battery_W=battery or 0.0))


def energy_manager(
    manager: EvseManager, options: Mapping[str, Any], source: PushedGridSource
) -> EnergyManager:
    """One connector's energy manager in pv mode, limits from the entry's options."""
    info = manager.charger_info
    phases = options.get(CONF_PHASES) or (info.capabilities.max_phase_count_import if info else 3)
    settings = SurplusSettings(
        min_current_A=options.get(CONF_MIN_CURRENT) or 6.0,
        max_current_A=options.get(CONF_MAX_CURRENT)
        or (info.capabilities.max_current_A_import if info else 16.0),
        phases=phases,
    )
    control = ConnectorControl(manager=manager, surplus=SurplusController(settings, Mode.PV))
    site = SiteSettings(interval_s=DEFAULT_ENERGY_INTERVAL_S)
    return EnergyManager({manager.name: control}, source, site)
