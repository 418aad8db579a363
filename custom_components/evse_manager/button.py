"""Buttons: pause, resume, stop transaction, force unlock."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from controller.catalog import BUTTON, entities

from . import EvseConfigEntry
from .entity import EvseEntity

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One button per catalog spec."""
    values = entry.runtime_data.manager.vars()
    async_add_entities(EvseButton(entry, spec) for spec in entities(BUTTON, values))


class EvseButton(EvseEntity, ButtonEntity):
    """A catalog button."""

    async def async_press(self) -> None:
        """Run the command; a refusal (the interface's false) is an error to the user."""
        if await self.run_command(None) is False:
            raise self.refused()
