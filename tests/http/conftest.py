"""A real HTTP API on 127.0.0.1 (free port) over a simulated connector, and a client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from controller.http import HTTP_SCHEMA, HttpApi, HttpSettings
from tests.controller.conftest import Rig, make_rig

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Server:
    """The running API, its connector rig and an HTTP client."""

    api: HttpApi
    rig: Rig
    session: aiohttp.ClientSession

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.api.port}{path}"

    async def call(
        self, method: str, path: str, *, auth: bool = True, **kwargs: Any
    ) -> tuple[int, Any]:
        """Status and decoded JSON body."""
        headers = dict(AUTH) if auth else {}
        if method == "POST":  # the API takes JSON POSTs only (empty bodies too)
            headers["Content-Type"] = "application/json"
        headers.update(kwargs.pop("headers", {}))
        async with self.session.request(method, self.url(path), headers=headers, **kwargs) as r:
            assert r.content_type == "application/json"
            return r.status, await r.json()

    async def command(self, name: str, args: Any = None, **kwargs: Any) -> tuple[int, Any]:
        """POST a command: ``args`` as JSON, or raw ``data=`` (as application/json)."""
        if "data" not in kwargs:
            kwargs["data"] = b"" if args is None else json.dumps(args).encode()
        return await self.call("POST", f"/api/connectors/evse1/commands/{name}", **kwargs)

    def ws(self, *, auth: bool = True, **kwargs: Any) -> Any:
        headers = dict(AUTH) if auth else {}
        headers.update(kwargs.pop("headers", {}))
        return self.session.ws_connect(self.url("/api/events"), headers=headers, **kwargs)


async def start_api(rig: Rig, **config: Any) -> HttpApi:
    settings = HttpSettings(**HTTP_SCHEMA({"port": 0, "token": TOKEN, **config}))
    api = HttpApi({rig.manager.name: rig.manager}, settings)
    await api.start()
    return api


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[Rig]:
    """A started connector alone, for tests that build their own API."""
    rig = await make_rig(tmp_path)
    try:
        yield rig
    finally:
        await rig.manager.stop()
        rig.store.close()


@pytest.fixture
async def server(socket_enabled, rig) -> AsyncIterator[Server]:
    """Started rig + API + client; everything is stopped afterwards, even on failure."""
    api = await start_api(rig)
    try:
        async with aiohttp.ClientSession() as session:
            yield Server(api, rig, session)
    finally:
        await api.stop()
