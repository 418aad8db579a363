"""The enable switch: Home Assistant's vote in the prioritised enable_disable sources."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.exceptions import HomeAssistantError

from .const import DOMAIN
from .controller.catalog import SWITCH
from .entity import EvseEntity, platform_setup

PARALLEL_UPDATES = 1


class EvseSwitch(EvseEntity, SwitchEntity):
    """A catalog switch."""

    @property
    def is_on(self) -> bool | None:
        """The controller's current state."""
        value = self.current_value
        return None if value is None else bool(value)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Vote enable."""
        await self._vote(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Vote disable."""
        await self._vote(False)

    async def _vote(self, enable: bool) -> None:
        """enable_disable answers whether the EVSE is enabled after the vote: another
        source with a higher priority can outvote Home Assistant, which the user sees."""
        if await self.run_command(enable) is not enable:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="outvoted",
                translation_placeholders={"state": "enabled" if not enable else "disabled"},
            )


async_setup_entry = platform_setup(SWITCH, EvseSwitch)
