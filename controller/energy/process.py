"""The energy manager as its own process, beside one or more controller processes.

A site that outgrows one controller process (or one host) shards its connectors across
several, all on one MQTT broker. The site's fuse and its solar surplus are still one budget,
so one energy manager must decide for all of them: this process runs the same
``EnergyManager`` as the in-process one, over ``RemoteConnector`` views fed by the
connectors' retained MQTT variables, and sends each its ``enforce_limits`` command (as
EVerest's EnergyManager module runs beside its EvseManagers). The in-process manager stays
the default for one box.

If this process dies, the limits it sent expire after ``limit_valid_s`` and every kernel
pauses charging (an explicit 0 A ``expired`` limit); if a controller process dies, its
chargers fall back to their failsafe current and what they draw is household load at the
grid meter. Configuration (YAML)::

    store: energy.db              # mode and tuning changes, kept across restarts
    mqtt: {host: 127.0.0.1, base_topic: evse_energy}
    energy: {grid_topic: site/grid, fuse_A: 32}
    connectors:
      garage: {base_topic: evse_manager, energy: {mode: pv}}
      carport: {base_topic: evse_manager_2, connector: carport, energy: {mode: fast}}

Commands: ``<base_topic>/<name>/cmd/set_charge_mode`` and ``.../cmd/set_energy_settings``
(the same arguments as the controller's commands), answered on ``.../result/<command>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import voluptuous as vol
from voluptuous.humanize import humanize_error

from ..clock import Clock
from ..commands import ENERGY_SETTINGS, CommandResult
from ..config import (
    ENERGY_CONNECTOR_SCHEMA,
    ENERGY_SCHEMA,
    EnergyConfig,
    _surplus_settings,
    energy_config,
)
from ..errors import ConfigError
from ..files import load_yaml, read_text
from ..modbus.transport import BusRegistry
from ..mqtt.connection import new_client, run_loops, stay_connected
from ..mqtt.payloads import excerpt, parse_request
from ..mqtt.settings import MQTT_SCHEMA, MqttSettings
from ..store import SessionStore
from .manager import ConnectorControl, EnergyManager
from .remote import RemoteConnector, RemoteSettings, RemoteTopics
from .surplus import Mode, SurplusController

_LOGGER = logging.getLogger(__name__)
DEFAULT_BASE = "evse_energy"
ONLINE, OFFLINE = "online", "offline"
STOP_TIMEOUT_S = 2.0

REMOTE_SCHEMA = vol.Schema(
    {
        vol.Optional("base_topic", default="evse_manager"): vol.All(str, vol.Length(min=1)),
        vol.Optional("connector"): vol.All(str, vol.Length(min=1)),
        vol.Optional("module_uuid", default="evse_manager"): vol.All(str, vol.Length(min=1)),
        vol.Optional("request_zero_power_in_idle", default=False): bool,
        vol.Optional("phases"): vol.In((1, 3)),
        vol.Optional("energy", default={}): ENERGY_CONNECTOR_SCHEMA,
    }
)
PROCESS_SCHEMA = vol.Schema(
    {
        vol.Optional("store", default="evse_energy.db"): str,
        vol.Required("mqtt"): dict,
        vol.Required("energy"): ENERGY_SCHEMA,
        vol.Required("connectors"): vol.All(
            {vol.Match(r"^[a-z0-9_]{1,32}$"): REMOTE_SCHEMA}, vol.Length(min=1)
        ),
    }
)
_MODE_ARGS = vol.Schema({vol.Required("mode"): vol.In([m.value for m in Mode])})


@dataclass(frozen=True, kw_only=True)
class RemoteConfig:
    """One connector of another controller process."""

    name: str
    base_topic: str
    connector: str
    settings: RemoteSettings
    control: Mapping[str, Any]  # the validated energy section of the connector
    phases: int | None


@dataclass(frozen=True, kw_only=True)
class ProcessConfig:
    """The energy process's whole file."""

    store: Path
    mqtt: MqttSettings
    energy: EnergyConfig
    connectors: tuple[RemoteConfig, ...]


def parse_process_config(data: Any, source: str = "<config>") -> ProcessConfig:
    """Validate a parsed YAML document; ``ConfigError`` naming the field otherwise."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the configuration must be a mapping")
    try:
        c = PROCESS_SCHEMA(data)
        mqtt = MqttSettings(**MQTT_SCHEMA({"base_topic": DEFAULT_BASE, **c["mqtt"]}))
    except vol.Invalid as err:
        raise ConfigError(f"{source}: {humanize_error(data, err)}") from err
    try:
        energy = energy_config(c["energy"])
        for name, r in c["connectors"].items():
            try:
                _surplus_settings(r["energy"], r.get("phases"))  # e.g. the SoC order
            except ConfigError as err:
                raise ConfigError(f"connectors.{name}.{err}") from err
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from err
    remotes = tuple(
        RemoteConfig(
            name=name,
            base_topic=r["base_topic"],
            connector=r.get("connector", name),
            settings=RemoteSettings(
                module_uuid=r["module_uuid"],
                request_zero_power_in_idle=r["request_zero_power_in_idle"],
            ),
            control=r["energy"],
            phases=r.get("phases"),
        )
        for name, r in c["connectors"].items()
    )
    return ProcessConfig(store=Path(c["store"]), mqtt=mqtt, energy=energy, connectors=remotes)


def load_process_config(path: Path) -> ProcessConfig:
    """Read and validate the energy process's YAML file."""
    try:
        data = load_yaml(read_text(path), str(path))
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return parse_process_config(data, str(path))


@dataclass(frozen=True)
class _Message:
    topic: str
    payload: str
    qos: int
    retain: bool


class Outbox:
    """What waits for the broker: the latest message per topic (a newer limit or
    explanation replaces the one not yet sent); retained ones are sent again after a
    reconnect, since the broker may have lost them."""

    def __init__(self) -> None:
        self._pending: dict[str, _Message] = {}
        self._retained: dict[str, _Message] = {}
        self.ready = asyncio.Event()

    def put(self, topic: str, payload: str, qos: int, retain: bool) -> None:
        message = _Message(topic, payload, qos, retain)
        self._pending[topic] = message
        if retain:
            self._retained[topic] = message
        self.ready.set()

    def resend_retained(self) -> None:
        self._pending.update(self._retained)
        self.ready.set()

    def take(self) -> list[_Message]:
        messages = list(self._pending.values())
        self._pending.clear()
        self.ready.clear()
        return messages

    def put_back(self, messages: list[_Message]) -> None:
        """Messages a lost connection did not deliver, unless newer ones replaced them."""
        for message in messages:
            self._pending.setdefault(message.topic, message)
        if self._pending:
            self.ready.set()


class EnergyProcess:
    """The energy manager over MQTT: ``RemoteConnector`` views in, ``enforce_limits`` out."""

    def __init__(self, config: ProcessConfig, clock: Clock | None = None) -> None:
        self.config = config
        self._clock = clock
        self._outbox = Outbox()
        self._registry = BusRegistry()
        self._store: SessionStore | None = None
        self.remotes: dict[str, RemoteConnector] = {}
        self.manager: EnergyManager | None = None
        self._inputs: dict[str, Callable[[str], None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        s = config.mqtt
        self._status = f"{s.base_topic}/status"
        self._commands = f"{s.base_topic}/+/cmd/+"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def start(self) -> None:
        """Open the store, build the views and the manager, connect in the background."""
        from ..app import grid_source  # noqa: PLC0415  (app imports the energy package)

        self._store = SessionStore(self.config.store)
        controls: dict[str, ConnectorControl] = {}
        for r in self.config.connectors:
            topics = RemoteTopics(
                base=r.base_topic,
                connector=r.connector,
                energy_base=self.config.mqtt.base_topic,
                name=r.name,
            )
            remote = RemoteConnector(topics, self._outbox.put, self._store, r.settings)
            self.remotes[r.name] = remote
            controls[r.name] = ConnectorControl(
                manager=remote,
                surplus=SurplusController(
                    _surplus_settings(r.control, r.phases), Mode(r.control["mode"])
                ),
                grid_phases=tuple(r.control["grid_phases"]),
            )
        source, self._inputs = grid_source(self.config.energy, self._registry, self._clock)
        self.manager = EnergyManager(controls, source, self.config.energy.site, self._clock)
        self._task = asyncio.create_task(self._run(), name="energy process mqtt")
        await self.manager.start()

    async def stop(self) -> None:
        """Stop deciding (the limits sent expire by themselves), say offline, disconnect."""
        if self.manager is not None:
            await self.manager.stop()
        if self._task is not None:
            client = self._client
            if client is not None and self.connected:
                with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                    async with asyncio.timeout(STOP_TIMEOUT_S):
                        await client.publish(self._status, OFFLINE, qos=1, retain=True)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._registry.close_all()
        if self._store is not None:
            self._store.close()

    # ------------------------------------------------------------------ connection

    async def _run(self) -> None:
        will = aiomqtt.Will(self._status, OFFLINE, qos=1, retain=True)
        await stay_connected(
            self.config.mqtt,
            lambda: new_client(self.config.mqtt, will),
            self._serve,
            self._disconnected,
        )

    def _disconnected(self) -> None:
        self._client = None
        self._connected.clear()

    def _subscriptions(self) -> list[str]:
        topics = [t for remote in self.remotes.values() for t in remote.topics.subscriptions]
        return [*dict.fromkeys([*topics, *self._inputs, self._commands])]

    async def _serve(self, client: aiomqtt.Client) -> None:
        for topic in self._subscriptions():
            await client.subscribe(topic, qos=1)
        await client.publish(self._status, ONLINE, qos=1, retain=True)
        self._outbox.resend_retained()
        self._client = client
        self._connected.set()
        try:
            await run_loops(self._publish_loop(client), self._receive_loop(client))
        finally:
            self._connected.clear()

    async def _publish_loop(self, client: aiomqtt.Client) -> None:
        while True:
            await self._outbox.ready.wait()
            messages = self._outbox.take()
            for i, m in enumerate(messages):
                try:
                    await client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain)
                except BaseException:
                    self._outbox.put_back(messages[i:])
                    raise

    async def _receive_loop(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            text = (
                payload.decode("utf-8", "replace")
                if isinstance(payload, bytes)
                else str(payload or "")
            )
            await self._on_message(str(message.topic), text, bool(message.retain))

    async def _on_message(self, topic: str, payload: str, retain: bool) -> None:
        try:
            handler = self._inputs.get(topic)
            if handler is not None:
                handler(payload)
                return
            for remote in self.remotes.values():
                if remote.on_message(topic, payload):
                    return
        except ValueError as err:
            _LOGGER.warning("MQTT: ignoring payload %r on %s: %s", excerpt(payload), topic, err)
            return
        if not retain:
            self._command(topic, payload)

    # ------------------------------------------------------------------ commands

    def _command(self, topic: str, payload: str) -> None:
        """``<base>/<name>/cmd/<command>``: change a connector's mode or tuning."""
        parts = topic.split("/")
        base = self.config.mqtt.base_topic
        if not topic.startswith(f"{base}/") or len(parts) != base.count("/") + 4:
            return
        name, command = parts[-3], parts[-1]
        request_id, args, error = parse_request(payload)
        result = (
            CommandResult(False, error=error)
            if error is not None
            else self._run_command(name, command, args)
        )
        reply = json.dumps({"id": request_id, **result.to_json()})
        self._outbox.put(f"{base}/{name}/result/{command}", reply, 1, False)

    def _run_command(self, name: str, command: str, args: Any) -> CommandResult:
        control = self.manager.connectors.get(name) if self.manager is not None else None
        if control is None:
            return CommandResult(False, error=f"unknown connector {name!r}")
        schemas = {"set_charge_mode": _MODE_ARGS, "set_energy_settings": ENERGY_SETTINGS}
        schema = schemas.get(command)
        if schema is None:
            return CommandResult(False, error=f"unknown command {command!r}")
        if not isinstance(args, dict):
            return CommandResult(False, error=f"{command}: arguments must be a JSON object")
        try:
            validated = schema(args)
            if command == "set_charge_mode":
                control.set_mode(validated["mode"])
            else:
                control.update_settings(validated)
        except vol.Invalid as err:
            return CommandResult(False, error=f"{command}: {humanize_error(args, err)}")
        except ValueError as err:
            return CommandResult(False, error=f"{command}: {err}")
        return CommandResult(True)
