"""Binary sensors: plugged in, charging, ready, problem, relays."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from controller.catalog import BINARY_SENSOR, EntitySpec, entities

from . import EvseConfigEntry
from .entity import EvseEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One binary sensor per catalog spec."""
    values = entry.runtime_data.manager.vars()
    async_add_entities(EvseBinarySensor(entry, spec) for spec in entities(BINARY_SENSOR, values))


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
