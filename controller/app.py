"""The standalone controller: every configured connector, plus the MQTT bridge and HTTP API.

A connector whose devices are unreachable at start does not stop the others: it is
retried in the background with capped backoff, and the adapters show it once it runs.
Stopping leaves every charger in its safe state (no charging) and closes every bus.

The energy manager reads the grid power from a Modbus grid meter or, with
``energy.grid_topic``, from an MQTT topic: the controller then owns a ``GridFeed`` that
parses those messages into a ``PushedGridSource`` and hands the bridge its input topics
(``energy.battery_topic`` and ``battery_soc_topic`` add the home battery's power and state
of charge to either kind of reading).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .clock import Clock, SystemClock
from .config import ConnectorConfig, ControllerConfig, EnergyConfig, open_connector
from .energy import (
    ConnectorControl,
    EnergyManager,
    GridSource,
    MeterGridSource,
    PushedGridSource,
    SurplusController,
)
from .errors import DeviceError
from .manager import EvseManager, Update
from .modbus.meter import ModbusMeter
from .modbus.transport import BusRegistry
from .session_log import SessionLog
from .store import SessionStore

if TYPE_CHECKING:
    from .mqtt.bridge import InputHandler
    from .ocpp.central import CentralSystem

_LOGGER = logging.getLogger(__name__)
RETRY_MIN_S = 2.0
RETRY_MAX_S = 60.0
START_CONCURRENCY = 64  # connectors connecting at once at start


class Adapter(Protocol):
    """Something that serves the managers to the outside (MQTT bridge, HTTP API)."""

    async def start(self) -> None:
        """Begin serving."""
        ...

    async def stop(self) -> None:
        """Stop serving and release everything."""
        ...


def _log_session_event(update: Update) -> None:
    """Session events in the log: what happened at each charger, for a standalone user."""
    if update.var == "session_event":
        _LOGGER.info("%s: %s", update.connector, update.value.event.value)


class Controller:
    """Connectors and adapters of one configuration, started and stopped together."""

    def __init__(self, config: ControllerConfig, clock: Clock | None = None) -> None:
        self.config = config
        # One clock for every part: a meter sample stamped with the connector's own clock
        # is not stamped again (with a SystemClock each, every poll formatted its time twice).
        self._clock: Clock = clock or SystemClock()
        self._registry = BusRegistry()
        self._store: SessionStore | None = None
        self.managers: dict[str, EvseManager] = {}
        self.adapters: list[Adapter] = []
        self._pending: list[asyncio.Task[None]] = []
        self.energy: EnergyManager | None = None
        # MQTT input topics (topic -> payload callback) the bridge must subscribe to.
        self.inputs: dict[str, InputHandler] = {}
        self.central: CentralSystem | None = None  # OCPP chargers connect here

    async def start(self) -> None:
        """Open the store, start every connector (or its retry loop), then the adapters;
        only then do the connectors' updates flow, so every adapter sees the start-up
        events (a resumed session, a power-loss finish) too."""
        self._store = SessionStore(self.config.store)
        count = len(self.config.connectors)
        for index, connector in enumerate(self.config.connectors):
            offset = connector.poll_interval_s * index / count  # spread across the period
            manager = await self._open(connector, self._store, offset)
            self.managers[connector.name] = manager
            manager.subscribe(_log_session_event)
            if connector.kernel.session_logging:
                manager.subscribe(SessionLog(self._clock).on_update)
        slots = asyncio.Semaphore(START_CONCURRENCY)
        async with asyncio.TaskGroup() as group:
            for manager in self.managers.values():
                group.create_task(self._start_connector(manager, slots))
        self.energy = self._energy_manager()
        if self.energy is not None:
            await self.energy.start()
        self.adapters = build_adapters(self.config, self.managers, self.inputs, self._clock)
        for adapter in self.adapters:
            await adapter.start()
        for manager in self.managers.values():
            if manager.running:
                manager.release_updates()

    async def _open(
        self, connector: ConnectorConfig, store: SessionStore, poll_offset: float
    ) -> EvseManager:
        """A Modbus connector, or an OCPP one (the central system listens from the first)."""
        if connector.ocpp is None:
            return open_connector(
                connector, self._registry, store, self._clock, poll_offset=poll_offset
            )
        from .ocpp.setup import central_system, open_ocpp_connector  # noqa: PLC0415

        if self.central is None:
            central = central_system(self.config.ocpp)
            await central.start()
            self.central = central
        return open_ocpp_connector(connector, self.central, store, self._clock)

    async def _start_connector(self, manager: EvseManager, slots: asyncio.Semaphore) -> None:
        """Start one connector (many at once: each waits on its own devices), or its retry
        loop when its devices do not answer."""
        async with slots:
            try:
                await manager.start()
            except DeviceError as err:
                _LOGGER.error("%s: devices unreachable (%s); retrying", manager.name, err)
                self._pending.append(asyncio.create_task(self._retry(manager)))

    def _energy_manager(self) -> EnergyManager | None:
        """The energy manager for the connectors that have an ``energy`` section."""
        energy = self.config.energy
        if energy is None:
            return None
        controls = {
            c.name: ConnectorControl(
                manager=self.managers[c.name],
                surplus=SurplusController(c.energy, c.energy_mode),
                grid_phases=c.grid_phases,
            )
            for c in self.config.connectors
            if c.energy is not None
        }
        source, inputs = grid_source(energy, self._registry, self._clock)
        self.inputs.update(inputs)
        return EnergyManager(controls, source, energy.site, self._clock)

    async def _retry(self, manager: EvseManager) -> None:
        delay = RETRY_MIN_S
        while True:
            await asyncio.sleep(delay)
            try:
                await manager.start()
            except DeviceError as err:
                _LOGGER.debug("%s: still unreachable: %s", manager.name, err)
                delay = min(delay * 2, RETRY_MAX_S)
            else:
                _LOGGER.info("%s: devices reachable, connector running", manager.name)
                manager.release_updates()  # the adapters are attached already
                return

    async def stop(self) -> None:
        """Stop adapters, connectors (safe output) and buses, in that order."""
        for task in self._pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for adapter in reversed(self.adapters):
            await adapter.stop()
        if self.energy is not None:
            await self.energy.stop()
        for manager in self.managers.values():
            await manager.stop()
        await self._registry.close_all()
        if self.central is not None:
            await self.central.stop()
        if self._store is not None:
            self._store.close()

    async def __aenter__(self) -> Controller:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def grid_source(
    energy: EnergyConfig, registry: BusRegistry, clock: Clock | None = None
) -> tuple[GridSource, dict[str, InputHandler]]:
    """The grid meter, or the readings pushed from ``grid_topic``, and the MQTT input
    topics (topic -> payload callback) the owner's bridge must subscribe to for them."""
    source: GridSource
    pushed: PushedGridSource | None = None
    if energy.grid_meter is not None:
        g = energy.grid_meter
        bus = registry.acquire(g.endpoint, request_gap_s=g.request_gap_s)
        meter = ModbusMeter(g.map, bus, g.unit, clock, invert_power=g.invert_power)
        source = MeterGridSource(meter)
    else:
        pushed = PushedGridSource(max_age_s=energy.grid_max_age_s, clock=clock)
        source = pushed
    if not energy.topics:
        return source, {}
    from .mqtt.grid import BatteryMergedSource, GridFeed  # noqa: PLC0415

    feed = GridFeed(pushed, max_age_s=energy.grid_max_age_s, clock=clock)
    inputs = feed.inputs(energy.grid_topic, energy.battery_topic, energy.battery_soc_topic)
    return (source if pushed is not None else BatteryMergedSource(source, feed)), inputs


def build_adapters(
    config: ControllerConfig,
    managers: dict[str, EvseManager],
    inputs: Mapping[str, InputHandler] | None = None,
    clock: Clock | None = None,
) -> list[Adapter]:
    """The MQTT bridge and the HTTP API, where the configuration asks for them.

    ``inputs`` are MQTT topics to read (topic -> payload callback), e.g. the grid power;
    ``clock`` times the MQTT telemetry's maximum interval.
    """
    adapters: list[Adapter] = []
    if config.mqtt is not None:
        from .mqtt import MQTT_SCHEMA, MqttBridge, MqttSettings  # noqa: PLC0415

        settings = _settings(MqttSettings, MQTT_SCHEMA, config.mqtt)
        adapters.append(MqttBridge(managers, settings, inputs=inputs, clock=clock))
    elif inputs:
        raise ValueError("MQTT input topics need the mqtt section")
    if config.http is not None:
        from .http import HTTP_SCHEMA, HttpApi, HttpSettings  # noqa: PLC0415

        adapters.append(HttpApi(managers, _settings(HttpSettings, HTTP_SCHEMA, config.http)))
    if config.csms is not None:
        from .ocpp.backend.client import CsmsClient  # noqa: PLC0415 - ocpp only if used

        adapters.append(CsmsClient(managers, config.csms, config.store, clock))
    return adapters


def _settings(kind: Any, schema: Any, data: Any) -> Any:
    return kind(**schema(dict(data)))
