"""Sensors: power, energy, currents, voltages, limits, session figures, states."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.util import dt as dt_util

from . import EvseConfigEntry
from .controller.catalog import SENSOR, EntitySpec, state_key
from .entity import EvseEntity, platform_setup

PARALLEL_UPDATES = 0  # pushed by the controller, nothing to throttle


class EvseSensor(EvseEntity, SensorEntity):
    """A catalog sensor."""

    def __init__(self, entry: EvseConfigEntry, spec: EntitySpec) -> None:
        super().__init__(entry, spec)
        if spec.device_class is not None:
            self._attr_device_class = SensorDeviceClass(spec.device_class)
        if spec.state_class is not None:
            self._attr_state_class = SensorStateClass(spec.state_class)
        self._attr_native_unit_of_measurement = spec.unit
        self._attr_suggested_unit_of_measurement = spec.suggested_unit
        self._attr_suggested_display_precision = spec.precision
        if spec.options is not None:
            self._attr_options = [state_key(o) for o in spec.options]

    @property
    def native_value(self) -> Any:
        """The catalog value; enum sensors show its translation key."""
        value = self.current_value
        if self.spec.options is not None and value is not None:
            return state_key(str(value))
        if self.spec.device_class == SensorDeviceClass.TIMESTAMP and isinstance(value, str):
            return dt_util.parse_datetime(value)
        return value


async_setup_entry = platform_setup(SENSOR, EvseSensor)
