"""Buttons: pause, resume, stop transaction, force unlock."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity

from .controller.catalog import BUTTON
from .entity import EvseEntity, platform_setup

PARALLEL_UPDATES = 1


class EvseButton(EvseEntity, ButtonEntity):
    """A catalog button."""

    async def async_press(self) -> None:
        """Run the command; a refusal (the interface's false) is an error to the user."""
        if await self.run_command(None) is False:
            raise self.refused()


async_setup_entry = platform_setup(BUTTON, EvseButton)
