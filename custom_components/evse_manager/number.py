"""The maximum-current number: a manual limit through the energy-manager input."""

from __future__ import annotations

from homeassistant.components.number import NumberDeviceClass, NumberEntity, NumberMode

from . import EvseConfigEntry
from .controller.catalog import CONFIG, NUMBER, EntitySpec
from .entity import EvseEntity, platform_setup

PARALLEL_UPDATES = 1
DEFAULT_MAX = 32.0


class EvseNumber(EvseEntity, NumberEntity):
    """A catalog number."""

    def __init__(self, entry: EvseConfigEntry, spec: EntitySpec) -> None:
        super().__init__(entry, spec)
        if spec.device_class is not None:
            self._attr_device_class = NumberDeviceClass(spec.device_class)
        self._attr_native_unit_of_measurement = spec.unit
        self._attr_native_step = spec.step or 1.0
        if spec.category == CONFIG:  # thresholds and delays: typed, not slid
            self._attr_mode = NumberMode.BOX

    @property
    def native_value(self) -> float | None:
        """The limit in force."""
        value = self.current_value
        return None if value is None else float(value)

    @property
    def native_min_value(self) -> float:
        """From the catalog (the charger's capabilities)."""
        low = self.spec.min_value(self.manager.vars()) if self.spec.min_value else None
        return 0.0 if low is None else float(low)

    @property
    def native_max_value(self) -> float:
        """From the catalog (the charger's capabilities)."""
        high = self.spec.max_value(self.manager.vars()) if self.spec.max_value else None
        return DEFAULT_MAX if high is None else float(high)

    async def async_set_native_value(self, value: float) -> None:
        """Send the new limit."""
        await self.run_command(value)


async_setup_entry = platform_setup(NUMBER, EvseNumber)
