"""Binary sensors: plugged in, charging, ready, problem, relays."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity

from . import EvseConfigEntry
from .controller.catalog import BINARY_SENSOR, EntitySpec
from .entity import EvseEntity, platform_setup

PARALLEL_UPDATES = 0


class EvseBinarySensor(EvseEntity, BinarySensorEntity):
    """A catalog binary sensor."""

    def __init__(self, entry: EvseConfigEntry, spec: EntitySpec) -> None:
        super().__init__(entry, spec)
        if spec.device_class is not None:
            self._attr_device_class = BinarySensorDeviceClass(spec.device_class)

    @property
    def is_on(self) -> bool | None:
        """On, off, or unknown before the first reading."""
        value = self.current_value
        return None if value is None else bool(value)


async_setup_entry = platform_setup(BINARY_SENSOR, EvseBinarySensor)
