"""One config entry's running connector: the controller library embedded in HA's loop.

Everything about charging lives in ``controller``; this module only turns the entry's
data into a controller configuration, starts the manager (and, in simulator mode, the
project's Modbus simulator on 127.0.0.1; for an OCPP entry, its charge point on the shared
central system, see ``ocpp.py``) and stops them again. File work (maps, the
session database) runs in the executor, never in the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant

from .const import (
    BUILTIN_METER,
    CONF_AUTH,
    CONF_CHARGER,
    CONF_FREE_CHARGING,
    CONF_MAP,
    CONF_METER,
    CONF_MODE,
    DOMAIN,
    MODE_OCPP,
    MODE_OCPP_SIMULATOR,
    MODE_SIMULATOR,
)
from .controller.clock import SystemClock
from .controller.config import ConnectorConfig, connector_config, open_connector
from .controller.energy.manager import EnergyManager
from .controller.errors import ConfigError
from .controller.manager import EvseManager
from .controller.modbus.maps import DeviceMap, load_map
from .controller.modbus.transport import BusRegistry
from .controller.mqtt import MqttBridge
from .controller.ocpp.backend.client import CsmsClient
from .controller.simulation import SimulatedStation
from .controller.store import SessionStore
from .ocpp import (
    SIMULATOR_HOST,
    Listener,
    OcppParts,
    listen_address,
    open_ocpp,
    simulated_charger,
    start_simulated_wallbox,
)

if TYPE_CHECKING:
    from .controller.simulator import ModbusSimulator

# The options the controller's connector configuration takes (the rest are HA's own).
CONNECTOR_OPTIONS = (
    "poll_interval_s",
    "min_current_A",
    "max_current_A",
    "phases",
    "free_charging",
    "transaction_at_restart",
)


@dataclass
class EvseConnector:
    """What a config entry holds at runtime (``entry.runtime_data``)."""

    manager: EvseManager
    registry: BusRegistry
    store: SessionStore
    simulator: ModbusSimulator | None = None
    energy: EnergyManager | None = None  # the site's, shared with the other chargers on it
    bridge: MqttBridge | None = None
    csms: CsmsClient | None = None  # reporting to a charging backend (options)
    leave_site: Callable[[], Awaitable[None]] | None = None
    scenario: asyncio.Task[None] | None = None  # the simulated EV's running scenario
    ocpp: OcppParts | None = None  # an OCPP entry's registration (and simulated wallbox)

    stopped: bool = False

    async def stop(self) -> None:
        """Bridge stopped, out of the site, charger left safe, then everything released.

        Once only: Home Assistant's shutdown stops it, and a later unload finds it done."""
        if self.stopped:
            return
        self.stopped = True
        try:
            if self.bridge is not None:
                await self.bridge.stop()
            if self.csms is not None:
                await self.csms.stop()
            if self.leave_site is not None:
                await self.leave_site()
            await self.manager.stop()
        finally:
            await self.release()

    async def release(self, *, retrying: bool = False) -> None:
        """Buses, store and simulator closed (the manager is not running); ``retrying``:
        the setup is tried again, an OCPP wallbox is held for it meanwhile."""
        await self.registry.close_all()
        self.store.close()
        if self.simulator is not None:
            await self.simulator.stop()
        if self.ocpp is not None:
            await self.ocpp.close(retrying=retrying)

    @property
    def station(self) -> SimulatedStation | None:
        """The simulated EV and charger of a simulator entry (Modbus or OCPP)."""
        if self.simulator is not None:
            return self.simulator.station
        if self.ocpp is not None and self.ocpp.wallbox is not None:
            return self.ocpp.wallbox.station
        return None


def build_config(
    name: str,
    data: Mapping[str, Any],
    options: Mapping[str, Any],
    evse_id: str | None = None,
) -> ConnectorConfig:
    """The controller's connector configuration for entry data (raises ConfigError)."""
    raw: dict[str, Any] = {
        **({"evse_id": evse_id} if evse_id else {}),
        CONF_CHARGER: dict(data[CONF_CHARGER]),
        CONF_METER: data.get(CONF_METER, BUILTIN_METER),
        **{k: v for k, v in options.items() if v is not None and k in CONNECTOR_OPTIONS},
        # A home wallbox charges when plugged in unless told, and never when it has cards
        # (the options form refuses both; an OCPP entry's reconfigure may add cards).
        CONF_FREE_CHARGING: options.get(CONF_FREE_CHARGING) is not False
        and not data.get(CONF_AUTH),
        **({CONF_AUTH: data[CONF_AUTH]} if data.get(CONF_AUTH) else {}),
    }
    return connector_config(name, raw)


def simulator_maps(data: Mapping[str, Any]) -> tuple[DeviceMap, DeviceMap | None]:
    """The maps a simulator-mode entry serves (raises MapError)."""
    meter = data.get(CONF_METER, BUILTIN_METER)
    charger_map = load_map(data[CONF_CHARGER][CONF_MAP])
    return charger_map, None if meter == BUILTIN_METER else load_map(meter[CONF_MAP])


def simulator_server() -> type[ModbusSimulator]:
    """The simulator's server class, imported on first use (in the executor: importing is
    file work). It runs on pymodbus 3.11 and newer (Home Assistant 2026.2 constrains 3.11.2
    for every integration): on an older one (another integration's pin, core Modbus' 3.8.3
    in 2025.4) the entry fails with a message, not the integration."""
    try:
        from .controller.simulator.server import ModbusSimulator  # noqa: PLC0415
    except ImportError as err:
        raise ConfigError(str(err)) from err
    return ModbusSimulator


async def start_simulator(
    server: type[ModbusSimulator], charger_map: DeviceMap, meter_map: DeviceMap | None
) -> tuple[ModbusSimulator, dict[str, Any]]:
    """A running simulator and the entry data that points the controller at it."""
    simulator = server(SimulatedStation(clock=SystemClock()), charger_map, meter_map)
    await simulator.start()
    return simulator, simulator.devices()


def entry_evse_id(entry_id: str) -> str:
    """The EVSE ID of an entry, in the eMI3 form ``DE*EVM*E<id>*1``: derived from the
    entry id, so it is unique per entry and survives restarts and renames."""
    return f"DE*EVM*E{entry_id[-8:].upper()}*1"


def store_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Where an entry keeps its open transaction and session history."""
    return Path(hass.config.path(DOMAIN, f"{entry_id}.db"))


def _open_store(path: Path) -> SessionStore:
    path.parent.mkdir(parents=True, exist_ok=True)
    return SessionStore(path)


async def open_evse(
    hass: HomeAssistant,
    name: str,
    data: Mapping[str, Any],
    options: Mapping[str, Any],
    path: Path,
    *,
    label: str | None = None,
    evse_id: str | None = None,
) -> EvseConnector:
    """Build (not start) an entry's connector; raises ConfigError/MapError for bad data.

    ``label`` names it in the log (the entry's title), ``evse_id`` is its EVSE ID."""
    if data.get(CONF_MODE) in (MODE_OCPP, MODE_OCPP_SIMULATOR):
        connector = await _open_ocpp_evse(hass, name, data, options, path, evse_id=evse_id)
        connector.manager.label = label or name
        return connector
    simulator = None
    if data.get(CONF_MODE) == MODE_SIMULATOR:
        maps = await hass.async_add_executor_job(simulator_maps, data)
        server = await hass.async_add_executor_job(simulator_server)
        simulator, data = await start_simulator(server, *maps)
    try:
        config = await hass.async_add_executor_job(build_config, name, data, options, evse_id)
        store = await hass.async_add_executor_job(_open_store, path)
    except Exception:
        if simulator is not None:
            await simulator.stop()
        raise
    registry = BusRegistry()
    manager = open_connector(config, registry, store)
    manager.label = label or name
    return EvseConnector(manager, registry, store, simulator)


def simulator_charge_point_id(path: Path) -> str:
    """The charge point id of a simulator entry's wallbox (from its entry id)."""
    return f"SIM-{path.stem[-8:].upper()}"


async def _open_ocpp_evse(
    hass: HomeAssistant,
    name: str,
    data: Mapping[str, Any],
    options: Mapping[str, Any],
    path: Path,
    *,
    evse_id: str | None,
) -> EvseConnector:
    """An OCPP entry's connector on the shared central system (and, in simulator mode,
    its simulated wallbox connected to a central system on 127.0.0.1)."""
    simulated = data.get(CONF_MODE) == MODE_OCPP_SIMULATOR
    cp_id = simulator_charge_point_id(path)
    config_data = {**data, **simulated_charger(cp_id)} if simulated else data
    config = await hass.async_add_executor_job(build_config, name, config_data, options, evse_id)
    address = Listener(SIMULATOR_HOST, 0) if simulated else listen_address(data)
    store = await hass.async_add_executor_job(_open_store, path)
    try:
        manager, parts = await open_ocpp(hass, config, store, address)
    except Exception:
        store.close()
        raise
    connector = EvseConnector(manager, BusRegistry(), store, ocpp=parts)
    if simulated:
        try:
            await start_simulated_wallbox(parts, cp_id, data)
        except Exception:
            await connector.release()
            raise
    return connector
