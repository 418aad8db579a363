"""The base of every entity: state from the controller's catalog, pushed on change.

Entities never poll: the connector's manager calls back on every published variable, and
an entity writes its state only when its own value or the device's availability changed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .controller.catalog import EntitySpec, entities
from .controller.commands import execute
from .controller.manager import EvseManager, Update

if TYPE_CHECKING:
    from . import EvseConfigEntry

_UNSET = object()
SetupEntry = Callable[
    ["HomeAssistant", "EvseConfigEntry", AddConfigEntryEntitiesCallback],
    Coroutine[Any, Any, None],
]


def platform_setup(
    platform: str, factory: Callable[[EvseConfigEntry, EntitySpec], Entity]
) -> SetupEntry:
    """A platform's ``async_setup_entry``: one entity per catalog spec of ``platform``
    that the connector supports (energy entities only with an energy manager)."""

    async def async_setup_entry(
        hass: HomeAssistant,
        entry: EvseConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        values = entry.runtime_data.manager.vars()
        async_add_entities(factory(entry, spec) for spec in entities(platform, values))

    return async_setup_entry


def device_info(entry: EvseConfigEntry) -> DeviceInfo:
    """One device per connector, named after the entry, identified by the charger."""
    info = entry.runtime_data.manager.charger_info
    return DeviceInfo(
        identifiers={(DOMAIN, entry.unique_id or entry.entry_id)},
        name=entry.title,
        manufacturer=info.vendor if info and info.vendor else None,
        model=info.model if info and info.model else None,
        serial_number=info.serial if info else None,
        sw_version=info.firmware if info else None,
    )


def unique_id(entry: EvseConfigEntry, key: str) -> str:
    """The unique id of the entry's entity for catalog ``key``."""
    return f"{entry.unique_id or entry.entry_id}_{key}"


class EvseEntity(Entity):
    """An entity described by one ``EntitySpec`` of the controller's catalog."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: EvseConfigEntry, spec: EntitySpec) -> None:
        self.spec = spec
        self.manager: EvseManager = entry.runtime_data.manager
        self._attr_unique_id = unique_id(entry, spec.key)
        self._attr_translation_key = spec.key
        self._attr_device_info = device_info(entry)
        self._attr_entity_registry_enabled_default = spec.enabled_default
        if spec.category is not None:
            self._attr_entity_category = EntityCategory(spec.category)
        self._shown: Any = _UNSET

    @property
    def available(self) -> bool:
        """Unavailable while the charger or meter does not answer."""
        return self.manager.available

    @property
    def current_value(self) -> Any:
        """The spec's value from the manager's current variables."""
        return self.spec.value(self.manager.vars())

    async def async_added_to_hass(self) -> None:
        """Follow the manager's updates from now on."""
        await super().async_added_to_hass()
        self._shown = (self.available, self.current_value)
        self.async_on_remove(self.manager.subscribe(self._on_update))

    @callback
    def _on_update(self, update: Update) -> None:
        current = (self.available, self.current_value)
        if current != self._shown:
            self._shown = current
            self.async_write_ha_state()

    async def run_command(self, value: Any) -> Any:
        """The spec's command with arguments built from ``value``; its result (JSON).

        Invalid arguments become a translated error."""
        command = self.spec.command
        if command is None or self.spec.command_args is None:
            raise HomeAssistantError(f"{self.spec.key} has no command")
        result = await execute(
            self.manager, command, self.spec.command_args(value, self.manager.vars())
        )
        if not result.ok:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_failed",
                translation_placeholders={"command": command, "error": result.error or ""},
            )
        return result.result

    def refused(self) -> HomeAssistantError:
        """The error for a command the charger refused in its current state."""
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_refused",
            translation_placeholders={"command": self.spec.command or self.spec.key},
        )
