"""Hostile and broken input against the real HTTP server on 127.0.0.1 (issue 12).

Each test sends what an attacker or a broken client would and checks the clear error and
that the server still serves afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import math

import aiohttp
import pytest

from controller.commands import MAX_JSON_DEPTH, execute
from controller.http import HTTP_SCHEMA, HttpApi, HttpSettings
from controller.kernel.states import State

from .conftest import TOKEN

DEEP = "[" * 20_000 + "]" * 20_000
LIMIT_NAN = (
    '{"value": {"uuid": "x", "valid_for": 60, '
    '"limits_root_side": {"ac_max_current_A": {"value": NaN, "source": "pv"}}}}'
)


def limit_args(amps: float) -> dict[str, object]:
    return {
        "value": {
            "uuid": "x",
            "valid_for": 60,
            "limits_root_side": {"ac_max_current_A": {"value": amps, "source": "pv"}},
        }
    }


async def test_deeply_nested_json_body_is_a_clear_400(server):
    status, body = await server.command("pause_charging", data=DEEP.encode())
    assert status == 400
    assert body == {"error": f"JSON nested deeper than {MAX_JSON_DEPTH} levels"}
    assert await server.call("GET", "/api/health") == (200, {"status": "ok"})


async def test_deeply_nested_websocket_message_gets_an_error_and_the_socket_lives(server):
    async with server.ws() as ws:
        await ws.receive_json()  # snapshot
        await ws.send_str(DEEP)
        reply = await asyncio.wait_for(ws.receive_json(), 10)
        assert reply == {
            "type": "error",
            "error": f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
        }
        await ws.send_json(
            {"type": "command", "id": 1, "connector": "evse1", "command": "get_evse"}
        )
        reply = await asyncio.wait_for(ws.receive_json(), 10)
        assert (reply["type"], reply["id"], reply["ok"]) == ("result", 1, True)


async def test_huge_integer_in_energy_settings_is_a_validation_error(server):
    status, body = await server.command(
        "set_energy_settings", data=b'{"min_current_A": ' + b"9" * 401 + b"}"
    )
    assert status == 400
    assert body["ok"] is False
    assert body["error"].startswith("set_energy_settings: number out of range")
    assert "min_current_A" in body["error"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_non_finite_limit_in_a_body_is_refused(server, literal):
    status, body = await server.command("enforce_limits", data=LIMIT_NAN.replace("NaN", literal))
    assert status == 400
    assert "finite" in body["error"] or "out of range" in body["error"]
    assert server.rig.manager.vars().get("enforced_limits") is None


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
async def test_non_finite_limit_from_python_callers_is_refused(rig, value):
    """Home Assistant's services hand Python floats straight to the command API."""
    result = await execute(rig.manager, "enforce_limits", limit_args(value))
    assert not result.ok
    assert "finite" in (result.error or "")
    assert rig.manager.vars().get("enforced_limits") is None


# ---------------------------------------------------------------- a local attacker


@pytest.fixture
async def open_server(socket_enabled, rig):
    """The API without a token on loopback, as ``allow_unauthenticated`` runs it."""
    settings = HttpSettings(**HTTP_SCHEMA({"port": 0, "allow_unauthenticated": True}))
    api = HttpApi({rig.manager.name: rig.manager}, settings)
    await api.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield api, session
    finally:
        await api.stop()


async def test_cross_site_simple_post_is_refused(open_server, rig):
    api, session = open_server
    await rig.start_charging()
    url = f"http://127.0.0.1:{api.port}/api/connectors/evse1/commands/pause_charging"
    foreign = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    async with session.post(url, data="{}", headers=foreign) as response:
        assert response.status == 403
        assert "cross-origin" in (await response.json())["error"]
    # Even without an Origin header, text/plain is not JSON: 415.
    async with session.post(url, data="{}", headers={"Content-Type": "text/plain"}) as response:
        assert response.status == 415
        assert (await response.json())["error"] == "POST needs Content-Type: application/json"
    assert rig.manager.state is State.Charging
    same_origin = {"Origin": f"http://127.0.0.1:{api.port}"}
    async with session.post(url, json={}, headers=same_origin) as response:
        assert response.status == 200
    assert rig.manager.state is State.ChargingPausedEVSE


async def test_websocket_from_a_foreign_origin_is_refused(open_server):
    api, session = open_server
    url = f"http://127.0.0.1:{api.port}/api/events"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with session.ws_connect(url, origin="http://evil.example"):
            pass
    assert refused.value.status == 403
    async with session.ws_connect(url, origin=f"http://127.0.0.1:{api.port}") as ws:
        assert (await ws.receive_json())["type"] == "snapshot"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "192.168.1.5"])
async def test_foreign_host_header_is_refused_without_a_token(open_server, host):
    """DNS rebinding: a foreign name resolving to 127.0.0.1 still carries its own Host."""
    api, session = open_server
    url = f"http://127.0.0.1:{api.port}/api/connectors"
    async with session.get(url, headers={"Host": host}) as response:
        assert response.status == 403
        assert "Host" in (await response.json())["error"]
    for name in ("localhost", "127.0.0.1", "[::1]"):
        async with session.get(url, headers={"Host": f"{name}:{api.port}"}) as response:
            assert response.status == 200


async def test_access_token_never_reaches_the_access_log(server, caplog):
    caplog.set_level(logging.DEBUG)
    # Its own level too: an in-process `python -m controller` run earlier in the session
    # (tests/app) leaves the access logger at WARNING, as it is without -v.
    caplog.set_level(logging.DEBUG, logger="controller.http.api.access")
    async with server.ws(auth=False, params={"access_token": TOKEN}) as ws:
        assert (await ws.receive_json())["type"] == "snapshot"
    await server.call("GET", f"/api/connectors?access_token={TOKEN}&x=1", auth=False)
    access = [r.getMessage() for r in caplog.records if r.name.endswith(".access")]
    assert any("/api/events?access_token=REDACTED" in line for line in access), access
    assert any("access_token=REDACTED&x=1" in line for line in access), access
    assert TOKEN not in caplog.text


GARBAGE = [
    b"\x00\x01\x02 garbage\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"GET /\xff HTTP/9.9\r\n\r\n",
    b"POST /api/connectors HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
]


async def test_malformed_raw_requests_log_one_short_line_at_most(server, caplog):
    caplog.set_level(logging.DEBUG)  # as with -v: the access log is on too
    for garbage in GARBAGE:
        caplog.clear()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.api.port)
        writer.write(garbage)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), 10)
        writer.close()
        await writer.wait_closed()
        assert answer.startswith(b"HTTP/1.")
        assert b" 400 " in answer.split(b"\r\n")[0]
        lines = [r for r in caplog.records if r.name.startswith(("aiohttp", "controller"))]
        assert len(lines) <= 1, [r.getMessage() for r in lines]
        assert all(r.exc_info is None and "\n" not in r.getMessage() for r in lines)
    assert await server.call("GET", "/api/health") == (200, {"status": "ok"})
