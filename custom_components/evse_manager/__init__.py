"""EVSE Manager: an EVerest-compatible charging controller embedded in Home Assistant.

The integration is a thin adapter: the ``controller`` library owns charging (states,
sessions, limits, Modbus); here an entry starts one connector, its entities mirror the
controller's published variables, and its services call the controller's commands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

import voluptuous as vol
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import slugify

from .connector import EvseConnector, entry_evse_id, open_evse, store_path
from .const import CONF_CSMS_URL, CONF_GRID_ENTITY, CONF_MQTT_HOST, CONNECTOR_NAME, DOMAIN
from .controller.catalog import entities
from .controller.errors import ConfigError, DeviceError, MapError, MeterCounterError
from .controller.manager import EvseManager, Update
from .csms import csms_client, entry_csms_settings
from .entity import unique_id
from .grid import join_site, leave_site
from .mqtt import mqtt_bridge, mqtt_settings
from .services import async_setup_services

_LOGGER = logging.getLogger(__name__)
PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

EvseConfigEntry = ConfigEntry[EvseConnector]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once for all entries (quality rule action-setup)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EvseConfigEntry) -> bool:
    """Start the connector; not ready (retried by HA) while its devices do not answer."""
    path = store_path(hass, entry.entry_id)
    try:
        connector = await open_evse(
            hass,
            CONNECTOR_NAME,
            entry.data,
            entry.options,
            path,
            label=entry.title,
            evse_id=entry_evse_id(entry.entry_id),
        )
    except (ConfigError, MapError) as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_config",
            translation_placeholders={"error": str(err)},
        ) from err
    try:
        await connector.manager.start()
    except DeviceError as err:
        await connector.release(retrying=True)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err
    entry.runtime_data = connector
    if entry.options.get(CONF_GRID_ENTITY):
        site = await join_site(hass, entry.entry_id, connector.manager, entry.options)
        connector.energy = site
        connector.leave_site = partial(leave_site, hass, entry.entry_id, site)
    if entry.options.get(CONF_MQTT_HOST):
        await _start_mqtt(entry, connector)
    if entry.options.get(CONF_CSMS_URL):
        await _start_csms(entry, connector, path)
    _remove_stale_entities(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(_watch_meter_counter(hass, entry, connector.manager))
    # Every entity (the session event one too) and the bridge are subscribed now: the
    # start-up updates (SessionResumed, a power-loss finish) reach them all.
    connector.manager.release_updates()
    entry.async_on_unload(entry.add_update_listener(_reload_on_options))
    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, partial(_on_stop, connector))
    )
    return True


def meter_issue_id(entry: EvseConfigEntry) -> str:
    """The repair issue of an entry whose meter counter cannot be used."""
    return f"meter_counter_{entry.entry_id}"


def _watch_meter_counter(
    hass: HomeAssistant, entry: EvseConfigEntry, manager: EvseManager
) -> Callable[[], None]:
    """A repair issue while the meter's counter cannot be used (it keeps going back;
    a single reset is counted on without one). Returns the clean-up for unload."""
    issue_id = meter_issue_id(entry)
    raised = False

    @callback
    def sync(update: Update | None = None) -> None:
        nonlocal raised
        error = manager.faults.get("meter")
        broken = isinstance(error, MeterCounterError)
        if broken and not raised:
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="meter_counter",
                translation_placeholders={"entry": entry.title, "error": str(error)},
            )
        elif raised and not broken:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
        raised = broken

    unsubscribe = manager.subscribe(sync)

    def stop() -> None:
        unsubscribe()
        ir.async_delete_issue(hass, DOMAIN, issue_id)

    return stop


def _remove_stale_entities(hass: HomeAssistant, entry: EvseConfigEntry) -> None:
    """Entities this connector no longer has (the energy manager's, once the grid sensor
    is removed from the options) leave the registry, instead of staying unavailable."""
    values = entry.runtime_data.manager.vars()
    wanted = {unique_id(entry, spec.key) for spec in entities(values=values)}
    registry = er.async_get(hass)
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        if registered.unique_id not in wanted:
            registry.async_remove(registered.entity_id)


async def _on_stop(connector: EvseConnector, event: Event) -> None:
    """Home Assistant stops without unloading entries: leave the charger safe (not
    charging, relays open) now, instead of charging on until its own watchdog."""
    await connector.stop()


async def _start_mqtt(entry: EvseConfigEntry, connector: EvseConnector) -> None:
    """The MQTT bridge; it connects in the background and retries, like the controller."""
    try:
        settings = mqtt_settings(entry.entry_id, slugify(entry.title), entry.options)
    except vol.Invalid as err:
        await connector.stop()
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_config",
            translation_placeholders={"error": str(err)},
        ) from err
    connector.bridge = mqtt_bridge(connector.manager, settings)
    await connector.bridge.start()


async def _start_csms(entry: EvseConfigEntry, connector: EvseConnector, path: Path) -> None:
    """Reporting to the charging backend; it connects in the background and retries."""
    try:
        settings = entry_csms_settings(entry.options)
    except (vol.Invalid, ValueError) as err:
        await connector.stop()
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_config",
            translation_placeholders={"error": f"charging backend: {err}"},
        ) from err
    connector.csms = csms_client(connector.manager, settings, path)
    await connector.csms.start()


async def async_unload_entry(hass: HomeAssistant, entry: EvseConfigEntry) -> bool:
    """Remove the entities, then stop the connector (charger left safe)."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.stop()
    return unloaded


async def _reload_on_options(hass: HomeAssistant, entry: EvseConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)
