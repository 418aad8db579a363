"""The session event entity: every SessionEvent of the connector, with its payload."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import callback

from . import EvseConfigEntry
from .controller.catalog import EVENT, EntitySpec
from .controller.manager import Update
from .entity import EvseEntity, platform_setup

PARALLEL_UPDATES = 0


class EvseEvent(EvseEntity, EventEntity):
    """Fires on each session event (not only on change, unlike the other entities)."""

    def __init__(self, entry: EvseConfigEntry, spec: EntitySpec) -> None:
        super().__init__(entry, spec)
        self._attr_event_types = list(spec.options or ())

    @callback
    def _on_update(self, update: Update) -> None:
        if update.var != self.spec.key:
            super()._on_update(update)
            return
        payload = update.to_json()
        self._trigger_event(payload["event"], payload)
        self.async_write_ha_state()


async_setup_entry = platform_setup(EVENT, EvseEvent)
