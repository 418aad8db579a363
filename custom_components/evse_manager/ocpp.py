"""OCPP wallboxes inside Home Assistant: one central system per listening address, shared
by every OCPP entry, and the OCPP simulator mode.

A real OCPP entry registers its charge point / connector on the central system of its
port (started by the first entry, stopped with the last); unloading the entry
unregisters it, so a reload registers it again and two entries for the two connectors
of one wallbox share its session. Simulator entries share a central system on
127.0.0.1 (a port the OS picks) that only their simulated wallboxes reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.core import HomeAssistant

from .const import (
    CONF_CHARGER,
    CONF_OCPP_HOST,
    CONF_OCPP_PORT,
    CONF_OCPP_VERSION,
    DEFAULT_OCPP_HOST,
    DEFAULT_OCPP_PORT,
    DOMAIN,
)
from .controller.clock import SystemClock
from .controller.config import ConnectorConfig
from .controller.errors import ConfigError
from .controller.manager import EvseManager
from .controller.ocpp.central import CentralSettings, CentralSystem
from .controller.ocpp.setup import ocpp_manager, register_link
from .controller.ocpp.simulated import SimulatedWallbox
from .controller.simulation import SimulatedStation
from .controller.store import SessionStore

_LOGGER = logging.getLogger(__name__)
CENTRALS = f"{DOMAIN}_ocpp"  # hass.data: the shared central systems
SIMULATOR_HOST = "127.0.0.1"
SIMULATOR_STEP_S = 1.0  # how often the simulated wallbox reports (real time)

Cleanup = Callable[[], Awaitable[None]]


@dataclass
class _Centrals:
    """The running central systems by (host, port) and how many entries use each."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    running: dict[tuple[str, int], CentralSystem] = field(default_factory=dict)
    users: dict[tuple[str, int], int] = field(default_factory=dict)


def _centrals(hass: HomeAssistant) -> _Centrals:
    centrals: _Centrals = hass.data.setdefault(CENTRALS, _Centrals())
    return centrals


async def join_central(hass: HomeAssistant, host: str, port: int) -> CentralSystem:
    """The central system listening on ``host:port``, started for the first entry
    (raises OSError when the port cannot be bound)."""
    c = _centrals(hass)
    key = (host, port)
    async with c.lock:
        central = c.running.get(key)
        if central is None:
            central = CentralSystem(CentralSettings(host=host, port=port))
            await central.start()
            c.running[key] = central
        c.users[key] = c.users.get(key, 0) + 1
        return central


async def leave_central(hass: HomeAssistant, central: CentralSystem) -> None:
    """One entry less on ``central``; the last one stops it."""
    c = _centrals(hass)
    async with c.lock:
        key = next((k for k, v in c.running.items() if v is central), None)
        if key is None:
            return
        c.users[key] -= 1
        if c.users[key] > 0:
            return
        del c.running[key], c.users[key]
        await central.stop()


def listen_address(data: Mapping[str, Any]) -> tuple[str, int]:
    """Where a real OCPP entry's central system listens."""
    return str(data.get(CONF_OCPP_HOST, DEFAULT_OCPP_HOST)), int(
        data.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT)
    )


def simulated_charger(charge_point_id: str) -> dict[str, Any]:
    """The entry data of a simulator entry's connector (its wallbox's charge point)."""
    return {CONF_CHARGER: {"kind": "ocpp", "charge_point_id": charge_point_id}}


@dataclass
class OcppParts:
    """What an OCPP entry runs besides its manager, released in ``close()``."""

    central: CentralSystem
    hass: HomeAssistant
    wallbox: SimulatedWallbox | None = None
    stepper: asyncio.Task[None] | None = None
    _cleanups: list[Cleanup] = field(default_factory=list)

    async def close(self) -> None:
        """Simulated wallbox stopped, connector unregistered, central system left."""
        if self.stepper is not None:
            self.stepper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.stepper
        if self.wallbox is not None:
            await self.wallbox.disconnect()
        for cleanup in reversed(self._cleanups):
            await cleanup()
        await leave_central(self.hass, self.central)


async def open_ocpp(
    hass: HomeAssistant,
    config: ConnectorConfig,
    store: SessionStore,
    address: tuple[str, int],
) -> tuple[EvseManager, OcppParts]:
    """The manager of an OCPP entry's connector (not started) on the shared central
    system of ``address``; raises ConfigError for a connector registered twice."""
    try:
        central = await join_central(hass, *address)
    except OSError as err:
        raise ConfigError(f"OCPP: cannot listen on {address[0]}:{address[1]}: {err}") from err
    parts = OcppParts(central, hass)
    try:
        link = register_link(config, central)
    except ValueError as err:
        await leave_central(hass, central)
        raise ConfigError(str(err)) from err
    parts._cleanups.append(lambda: central.unregister(link))
    return ocpp_manager(config, link, store), parts


async def start_simulated_wallbox(
    parts: OcppParts, charge_point_id: str, data: Mapping[str, Any]
) -> None:
    """The simulated wallbox connected and booted, reporting every second."""
    station = SimulatedStation(clock=SystemClock())
    url = f"ws://{SIMULATOR_HOST}:{parts.central.port}/{charge_point_id}"
    box = SimulatedWallbox(station, url, version=str(data.get(CONF_OCPP_VERSION, "1.6")))
    parts.wallbox = box
    await box.connect()
    await parts.central.settle()
    parts.stepper = asyncio.create_task(_report(box), name=f"OCPP simulator {charge_point_id}")


async def _report(box: SimulatedWallbox) -> None:
    """The simulated wallbox's own loop: the EV moves, the wallbox reports."""
    while True:
        await asyncio.sleep(SIMULATOR_STEP_S)
        try:
            await box.step()
        except Exception as err:  # the link is down: the next step retries
            _LOGGER.debug("%s: step failed: %r", box.cp_id, err)
