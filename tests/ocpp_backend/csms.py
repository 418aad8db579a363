"""A test CSMS: the ``ocpp`` package's central-system side on 127.0.0.1.

It records every call our charge point makes (action, payload in snake case) in arrival
order, answers like a friendly backend (boot accepted, transaction numbers counting
from 1, tokens accepted unless listed in ``refuse``; Authorize held while ``answering``
is clear), checks HTTP Basic auth, and can call the charge point (``call``) or send raw
frames (``send_raw``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from ocpp.exceptions import InternalError
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call_result as r16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call_result as r201
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

WAIT_S = 15.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class _Recording:
    csms: TestCsms

    async def _record(self, action: str, payload: dict[str, Any]) -> None:
        await self.csms.record(action, payload)
        if action in self.csms.fail:  # answered with a CALLERROR
            raise InternalError(description=f"{action} not today")


class Central16(_Recording, Cp16):
    @on("BootNotification")
    async def boot(self, **kw: Any) -> Any:
        await self._record("BootNotification", kw)
        return r16.BootNotification(
            current_time=_now(), interval=self.csms.heartbeat_s, status="Accepted"
        )

    @on("Heartbeat")
    async def heartbeat(self, **kw: Any) -> Any:
        await self._record("Heartbeat", kw)
        return r16.Heartbeat(current_time=_now())

    @on("StatusNotification")
    async def status(self, **kw: Any) -> Any:
        await self._record("StatusNotification", kw)
        return r16.StatusNotification()

    @on("Authorize")
    async def authorize(self, **kw: Any) -> Any:
        await self._record("Authorize", kw)
        await self.csms.answering.wait()
        return r16.Authorize(id_tag_info={"status": self.csms.verdict(kw["id_tag"])})

    @on("StartTransaction")
    async def on_start(self, **kw: Any) -> Any:
        await self._record("StartTransaction", kw)
        self.csms.last_tx += 1
        return r16.StartTransaction(
            transaction_id=self.csms.last_tx,
            id_tag_info={"status": self.csms.verdict(kw["id_tag"])},
        )

    @on("StopTransaction")
    async def on_stop(self, **kw: Any) -> Any:
        await self._record("StopTransaction", kw)
        return r16.StopTransaction()

    @on("MeterValues")
    async def meter(self, **kw: Any) -> Any:
        await self._record("MeterValues", kw)
        return r16.MeterValues()


class Central201(_Recording, Cp201):
    @on("BootNotification")
    async def boot(self, **kw: Any) -> Any:
        await self._record("BootNotification", kw)
        return r201.BootNotification(
            current_time=_now(), interval=self.csms.heartbeat_s, status="Accepted"
        )

    @on("Heartbeat")
    async def heartbeat(self, **kw: Any) -> Any:
        await self._record("Heartbeat", kw)
        return r201.Heartbeat(current_time=_now())

    @on("StatusNotification")
    async def status(self, **kw: Any) -> Any:
        await self._record("StatusNotification", kw)
        return r201.StatusNotification()

    @on("Authorize")
    async def authorize(self, **kw: Any) -> Any:
        await self._record("Authorize", kw)
        await self.csms.answering.wait()
        verdict = self.csms.verdict(kw["id_token"]["id_token"])
        return r201.Authorize(id_token_info={"status": verdict})

    @on("TransactionEvent")
    async def transaction(self, **kw: Any) -> Any:
        await self._record("TransactionEvent", kw)
        token = kw.get("id_token")
        if token is None or kw["event_type"] == "Ended":
            return r201.TransactionEvent()
        verdict = self.csms.verdict(token["id_token"])
        return r201.TransactionEvent(id_token_info={"status": verdict})

    @on("MeterValues")
    async def meter(self, **kw: Any) -> Any:
        await self._record("MeterValues", kw)
        return r201.MeterValues()

    @on("ReservationStatusUpdate")
    async def reservation_status(self, **kw: Any) -> Any:
        await self._record("ReservationStatusUpdate", kw)
        return r201.ReservationStatusUpdate()


class TestCsms:
    """The backend; ``start()`` listens on ``port`` (0: any free one, kept for restarts)."""

    __test__ = False

    def __init__(
        self,
        version: str,
        cp_id: str = "CP1",
        password: str | None = None,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.version = version
        self.tls = tls
        self.cp_id = cp_id
        self.password = password
        self.port = port
        self.heartbeat_s = 300
        self.refuse: set[str] = set()
        self.answering = asyncio.Event()  # cleared: an Authorize waits for it
        self.answering.set()
        self.fail: set[str] = set()  # actions answered with a CALLERROR
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.refused_logins = 0
        self.last_tx = 0
        self.point: Any = None
        self._server: Server | None = None
        self._changed = asyncio.Condition()

    @property
    def url(self) -> str:
        scheme = "wss" if self.tls is not None else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/ocpp"

    def verdict(self, token: str) -> str:
        return "Invalid" if token in self.refuse else "Accepted"

    async def record(self, action: str, payload: dict[str, Any]) -> None:
        self.messages.append((action, payload))
        await self.changed()

    async def changed(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def of(self, action: str) -> list[dict[str, Any]]:
        return [p for a, p in self.messages if a == action]

    def statuses(self) -> list[str]:
        key = "status" if self.version == "1.6" else "connector_status"
        return [p[key] for p in self.of("StatusNotification")]

    async def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), WAIT_S)
            except TimeoutError:
                raise AssertionError(f"CSMS: timed out waiting for {what}") from None

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            subprotocols=["ocpp1.6" if self.version == "1.6" else "ocpp2.0.1"],  # type: ignore[list-item]
            process_request=self._admit,
            ssl=self.tls,
        )
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])

    async def stop(self) -> None:
        self.answering.set()  # a held Authorize ends with its connection
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            self.point = None

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        if not request.path.endswith(f"/{self.cp_id}"):
            return connection.respond(HTTPStatus.NOT_FOUND, "unknown\n")
        if self.password is None:
            return None
        login = base64.b64encode(f"{self.cp_id}:{self.password}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {login}":
            self.refused_logins += 1
            asyncio.get_running_loop().create_task(self.changed())
            return connection.respond(HTTPStatus.UNAUTHORIZED, "no\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        kind = Central16 if self.version == "1.6" else Central201
        point = kind(self.cp_id, connection, 10)
        point.csms = self
        self.point = point
        await self.changed()
        try:
            await point.start()
        except Exception:  # the socket closed, whichever way
            pass
        finally:
            if self.point is point:
                self.point = None
            await self.changed()

    async def call(self, payload: Any) -> Any:
        """A call to the connected charge point; a CALLERROR raises."""
        assert self.point is not None, "no charge point connected"
        return await self.point.call(payload, suppress=False)

    async def send_raw(self, frame: str) -> None:
        """A raw frame (malformed tests)."""
        assert self.point is not None
        await self.point._connection.send(frame)

    async def raw_reply(self, frame: str) -> list[Any]:
        """Send a raw CALL and return the frame the charge point answers with."""
        assert self.point is not None
        unique_id = json.loads(frame)[1] if frame.startswith("[") else "-1"
        answers: asyncio.Queue[Any] = asyncio.Queue()
        original = self.point.route_message

        async def tap(raw: str) -> None:
            msg = json.loads(raw)
            if msg[0] in (3, 4):
                await answers.put(msg)
            else:
                await original(raw)

        self.point.route_message = tap
        try:
            await self.send_raw(frame)
            while True:
                msg = await asyncio.wait_for(answers.get(), WAIT_S)
                if msg[1] == unique_id or unique_id == "-1":
                    return msg
        finally:
            self.point.route_message = original
