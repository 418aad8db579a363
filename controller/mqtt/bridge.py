"""The bridge: connector variables out to MQTT, commands, controls and input topics in.

Updates are taken from the managers synchronously and kept in an outbox, so nothing is
missed while the broker is away: session events in a bounded FIFO (every one matters, in
order), everything else coalesced per topic (only the latest value matters). One task per
connection drains the outbox; another dispatches incoming messages.

No work without a change: an update re-renders only the derived topics (entity states,
discovery) that read the variable it changed (``_View`` records what each renderer
reads), and a topic is queued only when its payload differs from the one last queued.
The outbox is drained through a bounded window of unconfirmed publishes
(``max_inflight``): the client hands them to the socket in order, so session events keep
their order, and a message leaves the outbox only once the broker has confirmed it.

Input topics (``inputs``: topic -> callback) are arbitrary topics of other devices, e.g.
the grid power for the energy manager. They are subscribed on every (re)connect and each
payload is handed, as text, to its callback; a callback that raises ``ValueError`` has
rejected a malformed payload, which is logged and ignored. The bridge keeps no state for
them: what the values mean is the callback owner's business.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sys
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from ..catalog import (
    ENERGY_DECISION,
    ENERGY_SETTINGS,
    EntitySpec,
    entities,
)
from ..clock import Clock, SystemClock
from ..commands import CommandResult, execute, parse_json
from ..manager import EvseManager, Update
from ..ports import ChargerInfo
from ..variables import EXTENSION_VARS, INTERFACE_VARS
from . import discovery
from .connection import new_client, run_loops, stay_connected
from .payloads import excerpt, parse_control, parse_request, payload_text
from .settings import MqttSettings
from .telemetry import TELEMETRY_VARS, TelemetryFilter
from .topics import CMD, Route, Topics

_LOGGER = logging.getLogger(__name__)

ONLINE = "online"
OFFLINE = "offline"
STOP_TIMEOUT_S = 5.0
SESSION_EVENT = "session_event"
InputHandler = Callable[[str], None]  # an input topic's payload text -> its owner
CONTROLS: dict[str, EntitySpec] = {e.key: e for e in entities() if e.command is not None}
CONNECTORS_MAX_BYTES = 1 << 20  # the retained connector list: ~30,000 names of 32 characters
REPLY_MARGIN = 100  # command replies in flight beside the window before aiomqtt warns
# Publishes handed to the client per turn of the event loop: a full window at once held
# the loop for ~20 ms at 300 connectors, and a command or a poll waited behind it.
DRAIN_BATCH = 10
ANY_VAR = "*"  # a renderer that iterated over every variable
Renderer = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class _Message:
    topic: str
    payload: str
    qos: int = 0
    retain: bool = False
    event: bool = False  # part of a session event: kept in order, never coalesced


class _Reads(Mapping[str, Any]):
    """A connector's variables that note which ones a renderer looks at (missing ones
    too). Renderers are pure, so their output can only change when one of those does."""

    __slots__ = ("_values", "read")

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        self.read.add(ANY_VAR)
        return iter(self._values)

    def __len__(self) -> int:
        self.read.add(ANY_VAR)
        return len(self._values)


@dataclass
class _View:
    """What the bridge rendered for one connector, and which variables each part read."""

    values: dict[str, Any]
    info: ChargerInfo | None
    renderers: dict[str, tuple[Renderer, int]] = field(default_factory=dict)  # topic -> qos
    readers: dict[str, set[str]] = field(default_factory=dict)  # var -> topics reading it
    layout_reads: set[str] = field(default_factory=set)  # what the entity list depends on


class MqttBridge:
    """Serves ``managers`` (connector name -> manager) on one MQTT broker.

    ``inputs`` maps topics to read (exact topics, no wildcards) to callbacks taking the
    payload text; they run in the receive loop, so they must be quick and not block.
    ``clock`` times the telemetry's maximum interval (``settings.telemetry``).
    """

    def __init__(
        self,
        managers: Mapping[str, EvseManager],
        settings: MqttSettings,
        inputs: Mapping[str, InputHandler] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._managers: dict[str, EvseManager] = dict(managers)
        self._settings = settings
        self._clock = clock or SystemClock()
        self._telemetry = TelemetryFilter(settings.telemetry)
        self._queued = 0
        self._inputs: dict[str, InputHandler] = dict(inputs or {})
        self._topics = Topics(settings.base_topic, settings.discovery_prefix)
        self._tls = settings.ssl_context()
        # Outbox: session events in order (each a tuple sent together), the rest coalesced.
        self._events: deque[tuple[_Message, ...]] = deque()
        self._current: list[_Message] = []  # the event being sent, what is left of it
        # Oldest first and O(1) to take from the front: a plain dict's next(iter(...)) walks
        # the slots its earlier pops left, quadratic over a 1,000-connector snapshot.
        self._latest: OrderedDict[str, _Message] = OrderedDict()
        self._dropped = 0
        # Handed to the client, not yet confirmed (send order); back to the outbox if the
        # connection drops first.
        self._unconfirmed: dict[int, _Message] = {}
        self._sequence = 0
        self._publishing: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(settings.max_inflight)
        self._failure: aiomqtt.MqttError | None = None
        # Last payload queued per retained topic (variables, states, availability,
        # discovery): only changes are sent; cleared on connect so a fresh broker gets all.
        self._sent: dict[str, str] = {}
        self._views: dict[str, _View] = {}
        self._retained: dict[str, set[str]] = {}
        self._wakeup = asyncio.Event()
        self._connected = asyncio.Event()
        self._drain_lock = asyncio.Lock()
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: dict[str, Callable[[], None]] = {}

    @property
    def topics(self) -> Topics:
        """The topic layout this bridge uses."""
        return self._topics

    @property
    def inputs(self) -> tuple[str, ...]:
        """The input topics this bridge subscribes to."""
        return tuple(self._inputs)

    @property
    def connected(self) -> bool:
        """True while connected to the broker."""
        return self._connected.is_set()

    @property
    def unconfirmed(self) -> int:
        """Publishes handed to the broker and not yet confirmed (at most ``max_inflight``)."""
        return len(self._unconfirmed)

    async def wait_connected(self) -> None:
        """Wait until the bridge is connected (and has queued its snapshot)."""
        await self._connected.wait()

    async def flush(self) -> None:
        """Send everything queued so far (when connected); MqttError if the link drops.

        Ends with a QoS 1 publish of the status: its acknowledgement means the broker has
        processed every message before it, so a subscriber arriving now sees them retained.
        """
        client = self._client
        if client is not None and self.connected:
            async with self._drain_lock:
                await self._drain(client)
                await self._settle()
                await client.publish(self._topics.status, ONLINE, qos=1, retain=True)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Watch every manager and start connecting (in the background, with retries)."""
        for name, manager in self._managers.items():
            self._watch(name, manager)
        self._task = asyncio.create_task(self._run(), name="mqtt bridge")

    async def stop(self) -> None:
        """Flush what is pending, say offline, disconnect and leave no task behind."""
        for unsubscribe in self._unsubscribe.values():
            unsubscribe()
        self._unsubscribe.clear()
        client = self._client
        if client is not None and self.connected:
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    async with self._drain_lock:
                        await self._drain(client)
                        await self._settle()
                    await client.publish(self._topics.status, OFFLINE, qos=1, retain=True)
            except (aiomqtt.MqttError, TimeoutError) as err:
                _LOGGER.debug("MQTT: could not say offline: %s", err)
        tasks = [t for t in (self._task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        self._tasks.clear()

    def add_connector(self, name: str, manager: EvseManager) -> None:
        """Serve one more connector (published once it has a snapshot)."""
        self._managers[name] = manager
        self._watch(name, manager)
        self._wake()

    async def remove_connector(self, name: str) -> None:
        """Stop serving ``name``: HA removes its device, its retained topics are cleared."""
        unsubscribe = self._unsubscribe.pop(name, None)
        if unsubscribe is not None:
            unsubscribe()
        self._managers.pop(name, None)
        self._views.pop(name, None)
        self._telemetry.forget(self._topics.var(name, ""))
        topics = self._retained.pop(name, set())
        if self._settings.discovery:
            topics.add(self._topics.discovery(name))
        for topic in sorted(topics):
            self._sent.pop(topic, None)
            self._latest[topic] = _Message(topic, "", qos=1, retain=True)
        self._publish_connectors()
        self._wake()

    def _retire(self, previous: str | None) -> None:
        """Connectors a previous run served and this one does not (removed from the
        configuration): clear their discovery (HA removes the device) and retained topics."""
        try:
            names = parse_json(previous or "[]", max_bytes=CONNECTORS_MAX_BYTES)
        except ValueError as err:
            _LOGGER.warning("MQTT: ignoring the retained connector list: %s", err)
            names = []
        if not isinstance(names, list):
            return
        for name in names:
            if isinstance(name, str) and name not in self._managers:
                _LOGGER.info("MQTT: retiring connector %s (no longer configured)", name)
                self._retained[name] = self._all_topics(name)
                self._remove_now(name)

    def _all_topics(self, name: str) -> set[str]:
        """Every retained topic a connector may have left behind."""
        names = (*INTERFACE_VARS, *EXTENSION_VARS, ENERGY_SETTINGS, ENERGY_DECISION)
        topics = {self._topics.var(name, var) for var in names}
        topics |= {self._topics.state(name, spec.key) for spec in entities()}
        topics.add(self._topics.availability(name))
        return topics

    def _remove_now(self, name: str) -> None:
        task = asyncio.create_task(self.remove_connector(name), name=f"mqtt retire {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _publish_connectors(self) -> None:
        topic = self._topics.connectors
        self._latest[topic] = _Message(topic, json.dumps(sorted(self._managers)), 1, True)

    # ------------------------------------------------------------------ outbox

    def _watch(self, name: str, manager: EvseManager) -> None:
        self._unsubscribe[name] = manager.subscribe(lambda u: self._on_update(name, u))
        self._render_all(name)

    @property
    def queued(self) -> int:
        """Messages put in the outbox so far (a newer value of a topic may replace one)."""
        return self._queued

    @property
    def handed(self) -> int:
        """Messages handed to the client so far (again after a reconnect put them back)."""
        return self._sequence

    def _on_update(self, connector: str, update: Update) -> None:
        """Manager listener (synchronous): only queues, never blocks the manager.

        Telemetry that did not move enough (``telemetry``) is left out, its entities too."""
        value = update.to_json()
        topic = self._topics.var(connector, update.var)
        now = self._clock.monotonic()
        if update.var in TELEMETRY_VARS and not self._telemetry.due(topic, value, now):
            return
        payload = json.dumps(value, default=str)
        if update.var == SESSION_EVENT:
            self._queue_event(connector, update, payload)
        else:
            self._put_changed(connector, topic, payload)
        self._rerender(connector, update)
        self._wake()

    def _queue_event(self, connector: str, update: Update, payload: str) -> None:
        """Session events must all arrive, in order; a full queue drops the oldest, loudly.
        The bound is ``queue_size`` per connector: a start of many connectors (each with
        its start-up events) before the broker answers loses none."""
        topic = self._topics.var(connector, SESSION_EVENT)
        var = _Message(topic, payload, qos=1, retain=True, event=True)
        self._retained.setdefault(connector, set()).add(var.topic)
        event = json.dumps(discovery.event_payload(update.value), default=str)
        state = self._topics.state(connector, SESSION_EVENT)
        entity = _Message(state, event, qos=1, event=True)
        if len(self._events) >= self._settings.queue_size * max(1, len(self._managers)):
            self._events.popleft()
            self._dropped += 1
            if self._dropped == 1:
                _LOGGER.warning(
                    "MQTT: session event queue full (%d); dropping the oldest events",
                    self._settings.queue_size,
                )
        self._events.append((var, entity))
        self._queued += 2

    def _put(self, connector: str, message: _Message) -> None:
        if message.retain:
            self._retained.setdefault(connector, set()).add(message.topic)
        self._latest[message.topic] = message
        self._queued += 1

    def _put_changed(self, connector: str, topic: str, payload: str, qos: int = 0) -> None:
        if self._sent.get(topic) != payload:
            self._sent[topic] = payload
            self._put(connector, _Message(topic, payload, qos=qos, retain=True))

    # ------------------------------------------------------------------ rendering

    def _render_all(self, connector: str) -> None:
        """Render every derived topic (entity states, availability, discovery) afresh and
        queue those that changed; records what each one reads for ``_rerender``."""
        manager = self._managers.get(connector)
        values = _vars(manager)
        if manager is None or values is None:
            return
        view = _View(values, manager.charger_info)
        self._views[connector] = view
        layout = _Reads(values)
        for spec in entities(values=layout):
            if spec.platform in discovery.STATEFUL:
                view.renderers[self._topics.state(connector, spec.key)] = _state_entry(spec)
        view.layout_reads = layout.read
        if self._settings.discovery:
            topic = self._topics.discovery(connector)
            view.renderers[topic] = (self._discovery_renderer(connector, view.info), 1)
        for topic in view.renderers:
            self._render(connector, view, topic)
        self._put_availability(connector, manager)

    def _rerender(self, connector: str, update: Update) -> None:
        """Render again only what reads ``update.var`` (everything if the entity list or
        the charger's identity may have changed)."""
        view = self._views.get(connector)
        manager = self._managers.get(connector)
        if view is None or manager is None or manager.charger_info is not view.info:
            self._render_all(connector)
            return
        if update.var in view.layout_reads or ANY_VAR in view.layout_reads:
            view.values[update.var] = update.value
            self._render_all(connector)
            return
        view.values[update.var] = update.value
        topics = view.readers.get(update.var, set()) | view.readers.get(ANY_VAR, set())
        for topic in topics:
            self._render(connector, view, topic)
        self._put_availability(connector, manager)

    def _render(self, connector: str, view: _View, topic: str) -> None:
        renderer, qos = view.renderers[topic]
        reads = _Reads(view.values)
        payload = renderer(reads)
        for var in reads.read:
            view.readers.setdefault(var, set()).add(topic)
        self._put_changed(connector, topic, payload, qos=qos)

    def _discovery_renderer(self, connector: str, info: ChargerInfo | None) -> Renderer:
        def render(values: Mapping[str, Any]) -> str:
            return json.dumps(discovery.config(connector, info, values, self._topics))

        return render

    def _put_availability(self, connector: str, manager: EvseManager) -> None:
        available = ONLINE if manager.available else OFFLINE
        self._put_changed(connector, self._topics.availability(connector), available)

    def _snapshot(self) -> None:
        """Queue everything: the broker may have lost its retained messages."""
        self._sent.clear()
        self._publish_connectors()
        events_pending = bool(self._events or self._current)
        now = self._clock.monotonic()
        for name, manager in self._managers.items():
            values = _vars(manager) or {}
            for var, value in values.items():
                if var == SESSION_EVENT and events_pending:
                    continue  # the queued events end with the latest one
                data = Update(name, var, value).to_json()
                topic = self._topics.var(name, var)
                if var in TELEMETRY_VARS:
                    self._telemetry.published(topic, data, now)
                self._put_changed(name, topic, json.dumps(data, default=str))
            self._render_all(name)
        self._wake()

    def _republish_discovery(self) -> None:
        """HA came (back) online: it needs the discovery messages again."""
        for name in self._managers:
            self._sent.pop(self._topics.discovery(name), None)
            self._render_all(name)
        self._wake()

    def _wake(self) -> None:
        self._wakeup.set()

    async def _drain(self, client: aiomqtt.Client) -> None:
        """Hand the outbox to the client, at most ``max_inflight`` unconfirmed at a time:
        session events first, in order, then the latest value of every other topic; after
        every ``DRAIN_BATCH`` it lets the loop run what else is ready."""
        started = 0
        while self._current or self._events or self._latest:
            if started and started % DRAIN_BATCH == 0:
                await asyncio.sleep(0)
            await self._slots.acquire()
            message = self._take()
            if message is None or self._failure is not None:
                self._slots.release()
                if message is not None:
                    self._put_back(message)
                break
            self._start(client, message)
            started += 1
        self._raise_failure()

    def _take(self) -> _Message | None:
        """The next message to send (the freshest, as the slot is free now)."""
        if not self._current and self._events:
            self._current = list(self._events.popleft())
        if self._current:
            return self._current.pop(0)
        self._report_dropped()
        if self._latest:
            return self._latest.popitem(last=False)[1]
        return None

    def _put_back(self, message: _Message) -> None:
        if message.event:
            self._current.insert(0, message)
        else:
            self._latest.setdefault(message.topic, message)

    def _report_dropped(self) -> None:
        if self._dropped:
            _LOGGER.warning(
                "MQTT: %d session events were dropped while the broker was unreachable",
                self._dropped,
            )
            self._dropped = 0

    def _start(self, client: aiomqtt.Client, message: _Message) -> None:
        """Hand ``message`` to the client (it keeps the order); a slot is held until the
        broker confirms it. Tasks start in creation order, so the publishes do too; where
        Python can (3.12+), the task starts at once, so the client has the message before
        the drain goes on (no loop iteration per message, none for a closing socket)."""
        self._sequence += 1
        key = self._sequence
        self._unconfirmed[key] = message
        coro = self._send(client, key, message)
        if sys.version_info >= (3, 12):
            loop = asyncio.get_running_loop()
            task = asyncio.Task(coro, loop=loop, name="mqtt publish", eager_start=True)
        else:
            task = asyncio.create_task(coro, name="mqtt publish")
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _send(self, client: aiomqtt.Client, key: int, message: _Message) -> None:
        try:
            await client.publish(
                message.topic, message.payload, qos=message.qos, retain=message.retain
            )
        except aiomqtt.MqttError as err:
            self._failure = self._failure or err  # the drain raises it: reconnect
            self._wake()
        else:
            del self._unconfirmed[key]
        finally:
            self._slots.release()

    async def _settle(self) -> None:
        """Wait until every publish handed to the client is confirmed (or failed)."""
        while self._publishing:
            await asyncio.wait(set(self._publishing))
        self._raise_failure()

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    async def _abandon(self) -> None:
        """The connection is gone: stop the publishes under way and put what the broker
        has not confirmed back in the outbox (events first, in their order)."""
        for task in self._publishing:
            task.cancel()
        await asyncio.gather(*self._publishing, return_exceptions=True)
        unconfirmed = list(self._unconfirmed.values())
        self._unconfirmed.clear()
        self._current[:0] = [m for m in unconfirmed if m.event]
        for message in reversed(unconfirmed):  # the newest unconfirmed value of a topic
            if not message.event:
                self._latest.setdefault(message.topic, message)
        self._failure = None
        self._slots = asyncio.Semaphore(self._settings.max_inflight)

    # ------------------------------------------------------------------ connection

    def _new_client(self) -> aiomqtt.Client:
        will = aiomqtt.Will(self._topics.status, OFFLINE, qos=1, retain=True)
        client = new_client(self._settings, will, self._tls)
        # A full window (and command replies beside it) is no cause to warn.
        client.pending_calls_threshold = self._settings.max_inflight + REPLY_MARGIN
        return client

    async def _run(self) -> None:
        """Connect, serve, and on any loss reconnect with capped exponential backoff."""
        await stay_connected(self._settings, self._new_client, self._serve, self._disconnected)

    def _disconnected(self) -> None:
        self._client = None
        self._connected.clear()

    async def _serve(self, client: aiomqtt.Client) -> None:
        """One connection: subscribe, announce, snapshot, then publish and dispatch."""
        self._client = client
        await client.subscribe(self._topics.command_filter, qos=1)
        await client.subscribe(self._topics.set_filter, qos=1)
        if self._settings.discovery:
            await client.subscribe(self._topics.ha_status, qos=1)
        for topic in self._inputs:
            await client.subscribe(topic, qos=1)
        await client.subscribe(self._topics.connectors, qos=1)
        await client.publish(self._topics.status, ONLINE, qos=1, retain=True)
        self._snapshot()
        self._connected.set()
        try:
            await run_loops(self._publish_loop(client), self._receive_loop(client))
        finally:
            self._connected.clear()
            await self._abandon()

    async def _publish_loop(self, client: aiomqtt.Client) -> None:
        while True:
            async with self._drain_lock:
                await self._drain(client)
            await self._wakeup.wait()
            self._wakeup.clear()

    async def _receive_loop(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            try:
                topic, body = message.topic.value, payload_text(message.payload)
                self._on_message(client, topic, body, retain=message.retain)
            except Exception:
                _LOGGER.exception("MQTT: failed to handle a message on %s", message.topic)

    # ------------------------------------------------------------------ incoming

    def _on_message(
        self, client: aiomqtt.Client, topic: str, payload: str | None, retain: bool = False
    ) -> None:
        on_input = self._inputs.get(topic)
        if on_input is not None:
            self._on_input(topic, on_input, payload)
            return
        if topic == self._topics.ha_status:
            if payload == ONLINE and self._settings.discovery:
                self._republish_discovery()
            return
        if topic == self._topics.connectors:
            if retain:  # what the previous run served
                self._retire(payload)
            return
        route = self._topics.parse(topic)
        if route is None:
            return
        if retain:
            # A retained command would run again on every reconnect: refuse it.
            _LOGGER.warning("MQTT: ignoring retained message on %s", topic)
            return
        handler = self._command if route.kind == CMD else self._control
        task = asyncio.create_task(handler(client, route, payload), name=f"mqtt {topic}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _on_input(topic: str, handler: InputHandler, payload: str | None) -> None:
        """An input topic's message to its callback; a malformed one is logged and dropped.

        Retained messages are accepted: a sensor's retained last value is its current one
        (the callback owner decides how old a value may be).
        """
        try:
            handler(payload or "")
        except ValueError as err:
            _LOGGER.warning("MQTT: ignoring payload %r on %s: %s", excerpt(payload), topic, err)

    async def _command(self, client: aiomqtt.Client, route: Route, payload: str | None) -> None:
        """``cmd/<name>``: run an interface command, answer on ``result/<name>``."""
        request_id, args, error = parse_request(payload)
        manager = self._managers.get(route.connector)
        if error is not None:
            result = CommandResult(False, error=error)
        elif manager is None:
            result = CommandResult(False, error=f"unknown connector {route.connector!r}")
        else:
            result = await _execute(manager, route.name, args)
        reply = {"id": request_id, **result.to_json()}
        await self._reply(client, self._topics.result(route.connector, route.name), reply)

    async def _control(self, client: aiomqtt.Client, route: Route, payload: str | None) -> None:
        """``set/<entity>``: what HA's switch/number/button send; outcome on ``set_result``."""
        result = await self._run_control(route, payload)
        if not result.ok:
            _LOGGER.warning("MQTT: %s/%s failed: %s", route.connector, route.name, result.error)
        reply = {"value": payload, **result.to_json()}
        await self._reply(client, self._topics.set_result(route.connector, route.name), reply)

    async def _run_control(self, route: Route, payload: str | None) -> CommandResult:
        manager = self._managers.get(route.connector)
        spec = CONTROLS.get(route.name)
        if manager is None:
            return CommandResult(False, error=f"unknown connector {route.connector!r}")
        if spec is None or spec.command is None or spec.command_args is None:
            return CommandResult(False, error=f"no control named {route.name!r}")
        try:
            value = parse_control(spec, payload)
        except ValueError as err:
            return CommandResult(False, error=f"{route.name}: {err}")
        values = _vars(manager) or {}
        return await _execute(manager, spec.command, spec.command_args(value, values))

    @staticmethod
    async def _reply(client: aiomqtt.Client, topic: str, data: Mapping[str, Any]) -> None:
        try:
            await client.publish(topic, json.dumps(data, default=str), qos=1)
        except aiomqtt.MqttError as err:
            _LOGGER.debug("MQTT: reply on %s lost: %s", topic, err)


# ---------------------------------------------------------------------- helpers


@functools.cache
def _state_entry(spec: EntitySpec) -> tuple[Renderer, int]:
    """An entity's state renderer and QoS, one for every connector with that entity: a
    closure per connector and entity (37,000 at 1000 connectors, with their cells and
    tuples) outlived start-up's frozen heap and made every full GC walk them."""
    return (_state(spec), 0)


def _state(spec: EntitySpec) -> Renderer:
    """The renderer of one entity's state topic."""

    def render(values: Mapping[str, Any]) -> str:
        return discovery.state_payload(spec, spec.value(values))

    return render


def _vars(manager: EvseManager | None) -> dict[str, Any] | None:
    """The manager's variables, or None before it has started."""
    if manager is None:
        return None
    try:
        return manager.vars()
    except RuntimeError:
        return None


async def _execute(manager: EvseManager, name: str, args: Any) -> CommandResult:
    """``commands.execute``, but a device failure becomes an error result, not a crash."""
    try:
        return await execute(manager, name, args)
    except Exception as err:
        # Typically a connector that is not running (yet); the caller gets the reason.
        _LOGGER.warning("MQTT: command %s on %s failed: %s", name, manager.name, err)
        _LOGGER.debug("MQTT: command %s failure", name, exc_info=True)
        return CommandResult(False, error=f"{name}: {type(err).__name__}: {err}")
