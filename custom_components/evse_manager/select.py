"""The charge-mode select (off / fast / pv / minpv) of the energy manager."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity

from . import EvseConfigEntry
from .controller.catalog import SELECT, EntitySpec
from .entity import EvseEntity, platform_setup

PARALLEL_UPDATES = 1


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


async_setup_entry = platform_setup(SELECT, EvseSelect)
