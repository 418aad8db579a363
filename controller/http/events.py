"""``GET /api/events``: a snapshot per connector, then every update, plus JSON commands.

Each client has its own bounded queue filled synchronously by the manager's listener, so
a slow or stalled client never blocks the kernel and never grows memory without bound: on
overflow it is disconnected (close code 1013, "try again later") and can reconnect to get a
fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from ..commands import parse_json
from ..manager import EvseManager, Update
from .common import JsonObject, run_command, state_of, vars_of

_LOGGER = logging.getLogger(__name__)
OVERFLOW_MESSAGE = b"event queue overflow: client too slow, reconnect for a new snapshot"
SHUTDOWN_MESSAGE = b"server shutting down"


class EventClient:
    """One WebSocket connection: pushes queued messages, answers command messages."""

    def __init__(
        self, ws: web.WebSocketResponse, managers: Mapping[str, EvseManager], queue_size: int
    ) -> None:
        self._ws = ws
        self._managers = managers
        self._queue: asyncio.Queue[JsonObject] = asyncio.Queue(maxsize=queue_size)
        self._unsubscribe: list[Callable[[], None]] = []
        self._overflowed = False

    async def run(self) -> None:
        """Serve the connection until the client or the server closes it."""
        snapshots = self._subscribe()
        sender = asyncio.create_task(self._send_loop(snapshots))
        try:
            await self._receive_loop()
        finally:
            self._unsubscribe_all()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    def _subscribe(self) -> list[JsonObject]:
        """Take the snapshots and subscribe in one synchronous step, so no update falls
        between a snapshot and the stream."""
        snapshots = []
        for name, manager in self._managers.items():
            snapshots.append(
                {
                    "type": "snapshot",
                    "connector": name,
                    "state": state_of(manager),
                    "available": manager.available,
                    "vars": vars_of(manager),
                }
            )
            self._unsubscribe.append(manager.subscribe(self._on_update))
        return snapshots

    def _unsubscribe_all(self) -> None:
        while self._unsubscribe:
            self._unsubscribe.pop()()

    def _on_update(self, update: Update) -> None:
        self._enqueue(
            {
                "type": "update",
                "connector": update.connector,
                "var": update.var,
                "value": update.to_json(),
            }
        )

    def _enqueue(self, message: JsonObject) -> None:
        if self._overflowed:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            _LOGGER.warning(
                "WebSocket client fell %d messages behind; closing", self._queue.maxsize
            )
            self._overflowed = True
            self._unsubscribe_all()

    async def _send_loop(self, snapshots: list[JsonObject]) -> None:
        """Push messages; a failure closes the socket so the client notices and reconnects
        instead of silently receiving nothing."""
        try:
            await self._push(snapshots)
        except ConnectionError:
            pass  # the client went away; the receive loop ends on its own
        except Exception:
            _LOGGER.exception("WebSocket send failed; closing")
            await self._ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")

    async def _push(self, snapshots: list[JsonObject]) -> None:
        for snapshot in snapshots:
            await self._ws.send_json(snapshot)
        while True:
            message = await self._queue.get()
            if self._overflowed:
                await self._ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=OVERFLOW_MESSAGE)
                return
            await self._ws.send_json(message)

    async def _receive_loop(self) -> None:
        async for msg in self._ws:
            if msg.type == WSMsgType.TEXT:
                await self._on_text(msg.data)
            elif msg.type == WSMsgType.BINARY:
                self._enqueue({"type": "error", "error": "binary messages are not supported"})

    async def _on_text(self, data: str) -> None:
        try:
            message = parse_json(data)
        except ValueError as err:
            self._enqueue({"type": "error", "error": str(err)})
            return
        try:
            self._enqueue(await self._handle(message))
        except Exception as err:  # a bad message or failing command must not kill the socket
            _LOGGER.exception("WebSocket message failed: %r", message)
            self._enqueue({"type": "error", "error": f"internal error: {err}"})

    async def _handle(self, message: Any) -> JsonObject:
        if not isinstance(message, dict):
            return {"type": "error", "error": "message must be a JSON object"}
        if message.get("type") != "command":
            return {"type": "error", "error": f"unknown message type {message.get('type')!r}"}
        reply: JsonObject = {"type": "result", "id": message.get("id")}
        connector, command = message.get("connector"), message.get("command")
        if not isinstance(command, str):
            return {**reply, "ok": False, "error": "command must be a string"}
        manager = self._managers.get(connector) if isinstance(connector, str) else None
        if manager is None:
            return {**reply, "ok": False, "error": f"unknown connector {connector!r}"}
        result = await run_command(manager, command, message.get("args", {}))
        return {**reply, **result.to_json()}


class EventHub:
    """Tracks open WebSockets so ``stop()`` can close them before the runner shuts down."""

    def __init__(self, managers: Mapping[str, EvseManager], queue_size: int) -> None:
        self._managers = managers
        self._queue_size = queue_size
        self._sockets: set[web.WebSocketResponse] = set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The ``/api/events`` route."""
        ws = web.WebSocketResponse(heartbeat=30.0)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await EventClient(ws, self._managers, self._queue_size).run()
        finally:
            self._sockets.discard(ws)
        return ws

    async def close_all(self) -> None:
        """Close every open WebSocket with "going away"."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=SHUTDOWN_MESSAGE)
