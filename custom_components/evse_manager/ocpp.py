"""OCPP wallboxes inside Home Assistant: one central system per listening address, shared
by every OCPP entry, and the OCPP simulator mode.

A real OCPP entry registers its charge point / connector on the central system of its
port (started by the first entry, stopped ``grace_s`` after the last one left); unloading
the entry unregisters it, so two entries for the two connectors of one wallbox share its
session, and a reload (back within the grace) finds the wallbox still connected. A setup
that waits for its wallbox in vain (Home Assistant retries it) holds the charge point id
and the listener for ``retry_hold_s``: a wallbox connecting between two tries is
accepted and kept, and the next try finds it there. A port listens over TLS (wss://)
when its entries name a certificate file, all the same one.
Simulator entries share a central system on 127.0.0.1 (a port the OS picks) that only
their simulated wallboxes reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import Event, HomeAssistant

from .const import (
    CONF_CHARGER,
    CONF_OCPP_CERTFILE,
    CONF_OCPP_HOST,
    CONF_OCPP_KEYFILE,
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
from .controller.ocpp.link import ConnectorLink
from .controller.ocpp.settings import ssl_context
from .controller.ocpp.setup import ocpp_manager, register_link
from .controller.ocpp.simulated import SimulatedWallbox
from .controller.simulation import SimulatedStation
from .controller.store import SessionStore

_LOGGER = logging.getLogger(__name__)
CENTRALS = f"{DOMAIN}_ocpp"  # hass.data: the shared central systems
SIMULATOR_HOST = "127.0.0.1"
SIMULATOR_STEP_S = 1.0  # how often the simulated wallbox reports (real time)
GRACE_S = 10.0  # a central system without entries keeps listening this long (a reload)
# A setup retried by Home Assistant (at most 80 s apart) holds its charge point this long.
RETRY_HOLD_S = 300.0


@dataclass(frozen=True)
class Listener:
    """Where a central system listens, and its TLS files (None: plain ws://)."""

    host: str
    port: int
    certfile: str | None = None
    keyfile: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        """One central system per address."""
        return self.host, self.port


@dataclass
class _Centrals:
    """The running central systems by (host, port) and how many entries use each."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    running: dict[tuple[str, int], CentralSystem] = field(default_factory=dict)
    listeners: dict[tuple[str, int], Listener] = field(default_factory=dict)
    users: dict[tuple[str, int], int] = field(default_factory=dict)
    stopping: dict[tuple[str, int], asyncio.Task[None]] = field(default_factory=dict)
    held_until: dict[tuple[str, int], float] = field(default_factory=dict)  # loop time
    grace_s: float = GRACE_S
    retry_hold_s: float = RETRY_HOLD_S


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
        c.listeners.clear()
        c.held_until.clear()


async def join_central(hass: HomeAssistant, listener: Listener) -> CentralSystem:
    """The central system of ``listener``, started for the first entry (raises OSError
    when the port cannot be bound or the TLS files not read, ValueError when the port
    is in use with other TLS files)."""
    c = centrals(hass)
    key = listener.key
    async with c.lock:
        central = c.running.get(key)
        if central is not None and c.listeners[key] != listener:
            raise ValueError(f"port {listener.port} is in use with other TLS settings")
        pending = c.stopping.pop(key, None)
        if pending is not None:  # back within the grace: its wallboxes are still there
            pending.cancel()
        if central is None:
            central = await _start_central(hass, listener, c.grace_s)
            c.running[key], c.listeners[key] = central, listener
        c.users[key] = c.users.get(key, 0) + 1
        return central


async def _start_central(hass: HomeAssistant, listener: Listener, grace_s: float) -> CentralSystem:
    files = {"certfile": listener.certfile, "keyfile": listener.keyfile}
    context = await hass.async_add_executor_job(ssl_context, files)  # reads the files
    central = CentralSystem(
        CentralSettings(
            host=listener.host, port=listener.port, ssl_context=context, forget_after_s=grace_s
        )
    )
    await central.start()
    return central


async def leave_central(
    hass: HomeAssistant, central: CentralSystem, grace_s: float | None = None
) -> None:
    """One entry less on ``central``; the last one stops it after ``grace_s`` (default
    the grace), or later while an entry that left before holds it for its setup retry
    (at once while Home Assistant stops)."""
    c = centrals(hass)
    async with c.lock:
        key = next((k for k, v in c.running.items() if v is central), None)
        if key is None:
            return
        now = asyncio.get_running_loop().time()
        if grace_s is not None:  # a hold: it outlasts the other entries' leaving
            c.held_until[key] = max(c.held_until.get(key, now), now + grace_s)
        c.users[key] -= 1
        if c.users[key] > 0:
            return
        grace_s = max(c.grace_s if grace_s is None else grace_s, c.held_until.get(key, now) - now)
        if hass.is_stopping or grace_s <= 0:
            await _stop(c, key)
            return
        c.stopping[key] = hass.async_create_background_task(
            _stop_later(c, key, grace_s), f"OCPP central system {key[0]}:{key[1]} grace"
        )


async def _stop_later(c: _Centrals, key: tuple[str, int], grace_s: float) -> None:
    await asyncio.sleep(grace_s)
    async with c.lock:
        if c.stopping.get(key) is asyncio.current_task():
            del c.stopping[key]
            await _stop(c, key)


async def _stop(c: _Centrals, key: tuple[str, int]) -> None:
    central = c.running.pop(key)
    c.users.pop(key, None)
    c.listeners.pop(key, None)
    c.held_until.pop(key, None)
    await central.stop()


def listen_address(data: Mapping[str, Any]) -> Listener:
    """Where a real OCPP entry's central system listens, and over which TLS files."""
    return Listener(
        str(data.get(CONF_OCPP_HOST, DEFAULT_OCPP_HOST)),
        int(data.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT)),
        data.get(CONF_OCPP_CERTFILE) or None,
        data.get(CONF_OCPP_KEYFILE) or None,
    )


def simulated_charger(charge_point_id: str) -> dict[str, Any]:
    """The entry data of a simulator entry's connector (its wallbox's charge point)."""
    return {CONF_CHARGER: {"kind": "ocpp", "charge_point_id": charge_point_id}}


@dataclass
class OcppParts:
    """What an OCPP entry runs besides its manager, released in ``close()``."""

    central: CentralSystem
    hass: HomeAssistant
    link: ConnectorLink | None = None
    wallbox: SimulatedWallbox | None = None
    stepper: asyncio.Task[None] | None = None

    async def close(self, *, retrying: bool = False) -> None:
        """Simulated wallbox stopped, connector unregistered, central system left;
        ``retrying`` (the setup did not find its wallbox) holds both for the next try."""
        if self.stepper is not None:
            self.stepper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.stepper
        if self.wallbox is not None:
            await self.wallbox.disconnect()
        hold_s = centrals(self.hass).retry_hold_s if retrying else None
        if self.link is not None:
            await self.central.unregister(self.link, hold_s)
        await leave_central(self.hass, self.central, hold_s)


async def open_ocpp(
    hass: HomeAssistant,
    config: ConnectorConfig,
    store: SessionStore,
    listener: Listener,
) -> tuple[EvseManager, OcppParts]:
    """The manager of an OCPP entry's connector (not started) on the shared central
    system of ``listener``; raises ConfigError for a connector registered twice, a port
    that cannot be bound or TLS files that cannot be used."""
    where = f"OCPP: cannot listen on {listener.host}:{listener.port}"
    try:
        central = await join_central(hass, listener)
    except (OSError, ValueError) as err:
        raise ConfigError(f"{where}: {err}") from err
    parts = OcppParts(central, hass)
    try:
        parts.link = register_link(config, central)
    except ValueError as err:
        await leave_central(hass, central)
        raise ConfigError(str(err)) from err
    return ocpp_manager(config, parts.link, store), parts


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
