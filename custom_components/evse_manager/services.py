"""One service per controller command, targeting a config entry (one connector).

Argument validation is the controller's own (``controller.commands``), shared with MQTT
and HTTP; a bad argument comes back as a translated ServiceValidationError naming the
field, and the command's result is the service response. ``simulate_ev`` plays an EV
scenario on a simulator entry, so a user without hardware can watch a whole session.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .const import ATTR_CONFIG_ENTRY_ID, DOMAIN
from .controller.commands import COMMANDS, execute
from .controller.errors import NoEnergyManager
from .controller.simulator import Scenario, ScenarioError

if TYPE_CHECKING:
    from . import EvseConfigEntry

_LOGGER = logging.getLogger(__name__)

SERVICE_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string}, extra=vol.ALLOW_EXTRA)
SIMULATE_EV = "simulate_ev"
SIMULATE_SCHEMA = vol.Schema(
    {vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string, vol.Required("scenario"): cv.string}
)


def field_key(argument: str) -> str:
    """The action field for a command argument: ``min_current_A`` -> ``min_current_a``.

    Home Assistant's field keys are translation keys (``[a-z0-9-_]``, hassfest); the
    controller's arguments (shared with MQTT and HTTP) keep their unit suffix. This is the one
    mapping: scripts/gen_ha_files.py writes services.yaml and strings.json with it.
    """
    return argument.lower()


def _arguments(name: str) -> dict[str, str]:
    """Field key -> the command's argument name, for every argument of command ``name``."""
    return {field_key(str(key)): str(key) for key in COMMANDS[name].schema.schema}


def async_setup_services(hass: HomeAssistant) -> None:
    """Register every command as ``evse_manager.<command>``."""
    for name, command in COMMANDS.items():
        hass.services.async_register(
            DOMAIN,
            name,
            partial(_handle, name),
            schema=SERVICE_SCHEMA,
            supports_response=SupportsResponse.OPTIONAL
            if command.returns
            else SupportsResponse.NONE,
        )
    hass.services.async_register(DOMAIN, SIMULATE_EV, _simulate_ev, schema=SIMULATE_SCHEMA)


def _entry(call: ServiceCall) -> EvseConfigEntry:
    entry_id = call.data[ATTR_CONFIG_ENTRY_ID]
    entry = call.hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"entry": entry.title},
        )
    return entry


async def _handle(name: str, call: ServiceCall) -> ServiceResponse:
    entry = _entry(call)
    names = _arguments(name)
    args: dict[str, Any] = {
        names.get(k, k): v for k, v in call.data.items() if k != ATTR_CONFIG_ENTRY_ID
    }
    result = await execute(entry.runtime_data.manager, name, args)
    if result.code == NoEnergyManager.code:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=NoEnergyManager.code,
            translation_placeholders={"entry": entry.title},
        )
    if not result.ok:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_arguments",
            translation_placeholders={"error": result.error or ""},
        )
    if not call.return_response:
        return None
    return {"result": result.result}


async def _simulate_ev(call: ServiceCall) -> None:
    """Start an EV scenario (car-simulator language) on a simulator entry's station."""
    entry = _entry(call)
    station = entry.runtime_data.station
    if station is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_simulator",
            translation_placeholders={"entry": entry.title},
        )
    try:
        scenario = Scenario(call.data["scenario"], station)
    except ScenarioError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_scenario",
            translation_placeholders={"error": str(err)},
        ) from err
    # One EV at a time: a new scenario replaces the running one, whose steps would
    # otherwise interleave with the new ones on the same simulated EV.
    running = entry.runtime_data.scenario
    if running is not None and not running.done():
        running.cancel()
        _LOGGER.info("%s: EV scenario replaced by a new one", entry.title)
    entry.runtime_data.scenario = entry.async_create_background_task(
        call.hass, _play(scenario), name=f"{DOMAIN} scenario {entry.title}"
    )


async def _play(scenario: Scenario) -> None:
    try:
        await scenario.run(asyncio.sleep)
    except ScenarioError as err:
        _LOGGER.warning("EV scenario stopped: %s", err)
