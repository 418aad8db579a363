"""The charge-mode select (off / fast / pv / minpv) of the energy manager."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from controller.catalog import SELECT, EntitySpec, entities

from . import EvseConfigEntry
from .entity import EvseEntity

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One select per catalog spec the connector supports."""
    values = entry.runtime_data.manager.vars()
    async_add_entities(EvseSelect(entry, spec) for spec in entities(SELECT, values))


class EvseSelect(EvseEntity, SelectEntity):
    """A catalog select."""

    def __init__(self, entry: EvseConfigEntry, spec: EntitySpec) -> None:
        super().__init__(entry, spec)
        self._attr_options = list(spec.options or ())

    @property
    def current_option(self) -> str | None:
        """The option in force."""
        value = self.current_value
        return None if value is None else str(value)

    async def async_select_option(self, option: str) -> None:
        """Switch to ``option``."""
        await self.run_command(option)
