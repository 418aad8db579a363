"""The aiohttp application: routes, token check, JSON errors, start and stop."""

from __future__ import annotations

import csv
import dataclasses
import hmac
import io
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from ..commands import COMMANDS, parse_json
from ..everest.model import dump
from ..kernel.session import SessionRecord
from ..manager import EvseManager
from .common import ApiError, detail, run_command, summary
from .events import EventHub
from .guard import AccessLogger, browser_middleware, server_logger
from .settings import HttpSettings

_LOGGER = logging.getLogger(__name__)
_ACCESS_LOG = logging.getLogger(f"{__name__}.access")
MAX_BODY = 64 * 1024
MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
HEALTH_PATH = "/api/health"
EVENTS_PATH = "/api/events"
SESSION_FIELDS = [f.name for f in dataclasses.fields(SessionRecord)]


class HttpApi:
    """Serves the local HTTP API for ``managers`` until ``stop()``."""

    def __init__(self, managers: Mapping[str, EvseManager], settings: HttpSettings) -> None:
        self._managers = managers
        self._settings = settings
        self._events = EventHub(managers, settings.event_queue)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when the settings asked for port 0)."""
        if self._port is None:
            raise RuntimeError("HttpApi not started")
        return self._port

    async def start(self) -> None:
        """Bind and serve; raises OSError if the address is taken."""
        # Access lines on their own logger, so a quiet log can leave out polling dashboards.
        runner = web.AppRunner(
            self._app(),
            shutdown_timeout=5.0,
            access_log=_ACCESS_LOG,
            access_log_class=AccessLogger,
            logger=server_logger(f"{__name__}.server"),
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._settings.host, self._settings.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        _LOGGER.info("HTTP API listening on %s:%d", self._settings.host, self._port)

    async def stop(self) -> None:
        """Close WebSockets first (they would otherwise hold the shutdown), then the server."""
        if self._runner is None:
            return
        await self._events.close_all()
        await self._runner.cleanup()
        self._runner = None

    def _app(self) -> web.Application:
        loopback_only = self._settings.token is None
        app = web.Application(
            client_max_size=MAX_BODY,
            middlewares=[_json_errors, browser_middleware(loopback_only), self._auth_middleware()],
        )
        app.router.add_get(HEALTH_PATH, _health)
        app.router.add_get(EVENTS_PATH, self._events.handle)
        app.router.add_get("/api/connectors", self._list)
        app.router.add_get("/api/connectors/{name}", self._get)
        app.router.add_get("/api/connectors/{name}/sessions", self._sessions)
        app.router.add_post("/api/connectors/{name}/commands/{command}", self._command)
        return app

    # ------------------------------------------------------------------ auth

    def _auth_middleware(self) -> Any:
        @web.middleware
        async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path != HEALTH_PATH and not self._authorized(request):
                raise ApiError(401, "missing or invalid token")
            return await handler(request)

        return auth

    def _authorized(self, request: web.Request) -> bool:
        expected = self._settings.token
        if expected is None:
            return self._settings.allow_unauthenticated
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        given = credentials.strip() if scheme.lower() == "bearer" else None
        if given is None and request.path == EVENTS_PATH:
            given = request.query.get("access_token")
        if given is None:
            return False
        return hmac.compare_digest(given.encode(), expected.encode())

    # ------------------------------------------------------------------ routes

    def _manager(self, request: web.Request) -> EvseManager:
        name = request.match_info["name"]
        manager = self._managers.get(name)
        if manager is None:
            raise ApiError(404, f"unknown connector {name!r}")
        return manager

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response([summary(m) for m in self._managers.values()])

    async def _get(self, request: web.Request) -> web.Response:
        return web.json_response(detail(self._manager(request)))

    async def _command(self, request: web.Request) -> web.Response:
        manager = self._manager(request)
        name = request.match_info["command"]
        if name not in COMMANDS:
            raise ApiError(404, f"unknown command {name!r}")
        args = await _json_object(request)
        result = await run_command(manager, name, args)
        status = 200 if result.ok else 504 if result.timed_out else 400
        return web.json_response(result.to_json(), status=status)

    async def _sessions(self, request: web.Request) -> web.Response:
        manager = self._manager(request)
        limit = _limit(request.query.get("limit"))
        fmt = request.query.get("format", "json")
        if fmt not in ("json", "csv"):
            raise ApiError(400, f"format must be json or csv, not {fmt!r}")
        records = [dump(record) for record in manager.history(limit)]
        if fmt == "csv":
            return _csv_response(manager.name, records)
        return web.json_response({"connector": manager.name, "sessions": records})


async def _health(request: web.Request) -> web.Response:
    """Unauthenticated liveness probe: says the process serves requests, nothing more."""
    return web.json_response({"status": "ok"})


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give aiohttp's own errors (no route, wrong method, body too large) a JSON body too."""
    try:
        return await handler(request)
    except ApiError as err:
        return web.json_response({"error": err.message}, status=err.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        text = exc.text or ""
        message = exc.reason if not text or text.startswith(f"{exc.status}:") else text
        return web.json_response({"error": message}, status=exc.status)


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body means no arguments."""
    body = await request.read()
    if not body.strip():
        return {}
    try:
        data = parse_json(body)
    except ValueError as err:
        raise ApiError(400, str(err)) from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer from 1 to {MAX_LIMIT}, not {raw!r}")
    return limit


def _csv_response(connector: str, records: list[dict[str, Any]]) -> web.Response:
    """Sessions as a spreadsheet-friendly download, newest first like the JSON form."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SESSION_FIELDS, restval="", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{connector}-sessions.csv"'},
    )
