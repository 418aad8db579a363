"""OCPP wallboxes inside Home Assistant: one central system per listening address, shared
by every OCPP entry, and the OCPP simulator mode.

A real OCPP entry registers its charge point / connector on the central system of its
port (started by the first entry, stopped ``grace_s`` after the last one left); unloading
the entry unregisters it, so two entries for the two connectors of one wallbox share its
session, and a reload (back within the grace) finds the wallbox still connected.
Simulator entries share a central system on 127.0.0.1 (a port the OS picks) that only
their simulated wallboxes reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import Event, HomeAssistant

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
GRACE_S = 10.0  # a central system without entries keeps listening this long (a reload)

Cleanup = Callable[[], Awaitable[None]]


@dataclass
class _Centrals:
    """The running central systems by (host, port) and how many entries use each."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    running: dict[tuple[str, int], CentralSystem] = field(default_factory=dict)
    users: dict[tuple[str, int], int] = field(default_factory=dict)
    stopping: dict[tuple[str, int], asyncio.Task[None]] = field(default_factory=dict)
    grace_s: float = GRACE_S


def centrals(hass: HomeAssistant) -> _Centrals:
    centrals = hass.data.get(CENTRALS)
    if centrals is None:
        centrals = hass.data[CENTRALS] = _Centrals()

        async def stop_all(_: Event) -> None:
            await stop_centrals(hass)

        # After the entries' own stop handlers (which leave their central systems).
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_FINAL_WRITE, stop_all)
    assert isinstance(centrals, _Centrals)
    return centrals


async def stop_centrals(hass: HomeAssistant) -> None:
    """Every central system stopped now (Home Assistant shuts down)."""
    c = centrals(hass)
    async with c.lock:
        for task in c.stopping.values():
            task.cancel()
        c.stopping.clear()
        for central in c.running.values():
            await central.stop()
        c.running.clear()
        c.users.clear()


async def join_central(hass: HomeAssistant, host: str, port: int) -> CentralSystem:
    """The central system listening on ``host:port``, started for the first entry
    (raises OSError when the port cannot be bound)."""
    c = centrals(hass)
    key = (host, port)
    async with c.lock:
        pending = c.stopping.pop(key, None)
        if pending is not None:  # back within the grace: its wallboxes are still there
            pending.cancel()
        central = c.running.get(key)
        if central is None:
            central = CentralSystem(CentralSettings(host=host, port=port, forget_after_s=c.grace_s))
            await central.start()
            c.running[key] = central
        c.users[key] = c.users.get(key, 0) + 1
        return central


async def leave_central(hass: HomeAssistant, central: CentralSystem) -> None:
    """One entry less on ``central``; the last one stops it after the grace (at once
    while Home Assistant stops)."""
    c = centrals(hass)
    async with c.lock:
        key = next((k for k, v in c.running.items() if v is central), None)
        if key is None:
            return
        c.users[key] -= 1
        if c.users[key] > 0:
            return
        if hass.is_stopping or c.grace_s <= 0:
            await _stop(c, key)
            return
        c.stopping[key] = hass.async_create_background_task(
            _stop_later(c, key), f"OCPP central system {key[0]}:{key[1]} grace"
        )


async def _stop_later(c: _Centrals, key: tuple[str, int]) -> None:
    await asyncio.sleep(c.grace_s)
    async with c.lock:
        if c.stopping.get(key) is asyncio.current_task():
            del c.stopping[key]
            await _stop(c, key)


async def _stop(c: _Centrals, key: tuple[str, int]) -> None:
    central = c.running.pop(key)
    c.users.pop(key, None)
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
