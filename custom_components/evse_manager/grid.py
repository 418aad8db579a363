"""Solar surplus inside Home Assistant: the controller's energy manager, fed with the grid
power (and optionally the home battery's power and state of charge) from Home Assistant
sensor entities.

A sensor that is unknown or stops reporting is no reading, and the energy manager falls
back safely (pv mode stops charging, min+pv keeps its minimum).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util

from .const import (
    CONF_BATTERY_ENTITY,
    CONF_BATTERY_SOC_ENTITY,
    CONF_GRID_ENTITY,
    CONF_GRID_INVERTED,
    CONF_MAX_CURRENT,
    CONF_MIN_CURRENT,
    CONF_PHASES,
    DEFAULT_ENERGY_INTERVAL_S,
    DOMAIN,
)
from .controller.energy import Mode, SurplusController, SurplusSettings
from .controller.energy.manager import (
    ConnectorControl,
    EnergyManager,
    GridReading,
    SiteSettings,
)
from .controller.errors import DeviceError
from .controller.manager import EvseManager

_LOGGER = logging.getLogger(__name__)
SITES = f"{DOMAIN}_sites"  # hass.data: grid sensor entity id -> its site's energy manager
MAX_AGE_S = 60.0  # a grid sensor silent for longer is not trusted
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


def percent(state: State | None) -> float | None:
    """A state of charge sensor's state in %, or None when unknown or not 0-100."""
    if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0 <= value <= 100 else None


class SensorGrid:
    """The grid reading straight from Home Assistant's state machine, at each energy step.

    ``last_reported`` moves even when a sensor reports the same value again, so a steady
    export is fresh while a sensor that stopped reporting turns stale and is refused.
    """

    def __init__(self, hass: HomeAssistant, options: Mapping[str, Any]) -> None:
        self.hass = hass
        self.grid_entity: str = options[CONF_GRID_ENTITY]
        self.battery_entity: str | None = options.get(CONF_BATTERY_ENTITY)
        self.soc_entity: str | None = options.get(CONF_BATTERY_SOC_ENTITY)
        self.sign = -1.0 if options.get(CONF_GRID_INVERTED) else 1.0
        self.max_age_s = MAX_AGE_S

    async def read(self) -> GridReading:
        """The grid power now (+ import), or DeviceError when unknown or stale."""
        grid = self._watts(self.grid_entity)
        if grid is None:
            raise DeviceError(f"{self.grid_entity} has no current power reading")
        battery = self._watts(self.battery_entity) if self.battery_entity else None
        soc = percent(self._fresh(self.soc_entity)) if self.soc_entity else None
        return GridReading(power_W=self.sign * grid, battery_W=battery or 0.0, battery_soc=soc)

    def _watts(self, entity_id: str) -> float | None:
        return watts(self._fresh(entity_id))

    def _fresh(self, entity_id: str) -> State | None:
        """The entity's state if it reported within ``max_age_s``."""
        state = self.hass.states.get(entity_id)
        if state is None:
            return None
        age = (dt_util.utcnow() - state.last_reported).total_seconds()
        return state if age <= self.max_age_s else None


def connector_control(manager: EvseManager, options: Mapping[str, Any]) -> ConnectorControl:
    """A charger under the energy manager in pv mode, limits from its entry's options."""
    info = manager.charger_info
    phases = options.get(CONF_PHASES) or (info.capabilities.max_phase_count_import if info else 3)
    settings = SurplusSettings(
        min_current_A=options.get(CONF_MIN_CURRENT) or 6.0,
        max_current_A=options.get(CONF_MAX_CURRENT)
        or (info.capabilities.max_current_A_import if info else 16.0),
        phases=phases,
        current_step_A=info.current_step_A if info else 1.0,
    )
    return ConnectorControl(manager=manager, surplus=SurplusController(settings, Mode.PV))


async def join_site(
    hass: HomeAssistant, entry_id: str, manager: EvseManager, options: Mapping[str, Any]
) -> EnergyManager:
    """The energy manager of the site behind ``options``' grid sensor, with this charger in.

    Chargers whose entries name the same grid sensor share one energy manager, so they
    split the surplus (in setup order) instead of each claiming all of it.
    """
    sites: dict[str, EnergyManager] = hass.data.setdefault(SITES, {})
    key = options[CONF_GRID_ENTITY]
    control = connector_control(manager, options)
    site = sites.get(key)
    if site is None:
        settings = SiteSettings(interval_s=DEFAULT_ENERGY_INTERVAL_S)
        site = EnergyManager({entry_id: control}, SensorGrid(hass, options), settings)
        sites[key] = site
        await site.start()
    else:
        site.add(entry_id, control)
    return site


async def leave_site(hass: HomeAssistant, entry_id: str, site: EnergyManager) -> None:
    """Take a charger out of its site; the last one out stops the energy manager."""
    site.remove(entry_id)
    if site.connectors:
        return
    await site.stop()
    sites: dict[str, EnergyManager] = hass.data.get(SITES, {})
    for key, value in list(sites.items()):
        if value is site:
            del sites[key]
