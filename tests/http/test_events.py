"""The /api/events WebSocket: auth, snapshot, update stream, commands, overflow, shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from controller.http.events import OVERFLOW_MESSAGE
from controller.kernel.states import State

from .conftest import TOKEN, start_api


async def receive(ws: aiohttp.ClientWebSocketResponse) -> Any:
    async with asyncio.timeout(5):
        return await ws.receive_json()


async def receive_until(ws: aiohttp.ClientWebSocketResponse, match: Any) -> list[Any]:
    """Every message up to and including the first one ``match`` accepts."""
    seen = []
    while True:
        message = await receive(ws)
        seen.append(message)
        if match(message):
            return seen


def is_session_event(name: str) -> Any:
    return lambda m: (
        m["type"] == "update" and m["var"] == "session_event" and m["value"]["event"] == name
    )


async def test_websocket_without_or_with_wrong_token_is_401(server):
    with pytest.raises(aiohttp.WSServerHandshakeError) as missing:
        await server.ws(auth=False)
    assert missing.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as wrong:
        await server.ws(auth=False, headers={"Authorization": "Bearer wrong"})
    assert wrong.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as wrong_query:
        await server.ws(auth=False, params={"access_token": "wrong"})
    assert wrong_query.value.status == 401


async def test_websocket_accepts_query_token(server):
    async with server.ws(auth=False, params={"access_token": TOKEN}) as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        assert snapshot["connector"] == "evse1"


async def test_snapshot_then_updates(server):
    rig = server.rig
    async with server.ws() as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        assert snapshot["connector"] == "evse1"
        assert snapshot["state"] == "Idle"
        assert snapshot["available"] is True
        assert snapshot["vars"]["evse_id"] == "DE*EVM*E0001*1"
        assert snapshot["vars"]["ready"] is True

        rig.station.plug_in()
        await rig.poll()
        seen = await receive_until(ws, is_session_event("AuthRequired"))
        assert all(m["type"] == "update" and m["connector"] == "evse1" for m in seen)
        events = [m["value"]["event"] for m in seen if m["var"] == "session_event"]
        assert events == ["SessionStarted", "AuthRequired"]
        started = next(m for m in seen if m["var"] == "session_event")
        assert started["value"]["session_started"]["reason"] == "EVConnected"


async def test_command_message_round_trip(server):
    rig = server.rig
    await rig.start_charging()
    async with server.ws() as ws:
        assert (await receive(ws))["type"] == "snapshot"
        await ws.send_json(
            {"type": "command", "id": 7, "connector": "evse1", "command": "pause_charging"}
        )
        seen = await receive_until(ws, lambda m: m["type"] == "result")
        assert seen[-1] == {"type": "result", "id": 7, "ok": True, "result": True}
        assert rig.manager.state is State.ChargingPausedEVSE
        # the updates the command caused come through the same socket, before the result
        assert any(is_session_event("ChargingPausedEVSE")(m) for m in seen[:-1])

        await ws.send_json(
            {
                "type": "command",
                "id": "r",
                "connector": "evse1",
                "command": "resume_charging",
                "args": {},
            }
        )
        seen = await receive_until(ws, lambda m: m["type"] == "result")
        assert seen[-1] == {"type": "result", "id": "r", "ok": True, "result": True}


async def test_command_message_errors_are_results(server):
    async with server.ws() as ws:
        await receive(ws)
        await ws.send_json(
            {"type": "command", "id": 1, "connector": "evse1", "command": "enable_disable"}
        )
        reply = await receive(ws)
        assert reply["type"] == "result"
        assert reply["id"] == 1
        assert reply["ok"] is False
        assert "connector_id" in reply["error"]

        await ws.send_json({"type": "command", "id": 2, "connector": "x", "command": "reserve"})
        assert await receive(ws) == {
            "type": "result",
            "id": 2,
            "ok": False,
            "error": "unknown connector 'x'",
        }
        await ws.send_json({"type": "command", "id": 3, "connector": "evse1", "command": "fly"})
        assert await receive(ws) == {
            "type": "result",
            "id": 3,
            "ok": False,
            "error": "unknown command 'fly'",
        }


async def test_malformed_messages_get_errors_and_socket_survives(server):
    async with server.ws() as ws:
        await receive(ws)
        await ws.send_str("{nope")
        reply = await receive(ws)
        assert reply["type"] == "error"
        assert reply["error"].startswith("malformed JSON")
        await ws.send_json([1, 2, 3])
        assert await receive(ws) == {"type": "error", "error": "message must be a JSON object"}
        await ws.send_json({"type": "subscribe"})
        assert await receive(ws) == {"type": "error", "error": "unknown message type 'subscribe'"}
        await ws.send_json({"type": "command", "id": 4, "connector": "evse1", "command": ["x"]})
        assert await receive(ws) == {
            "type": "result",
            "id": 4,
            "ok": False,
            "error": "command must be a string",
        }
        await ws.send_bytes(b"\x00")
        assert await receive(ws) == {"type": "error", "error": "binary messages are not supported"}
        # still alive and serving
        await ws.send_json(
            {"type": "command", "id": 5, "connector": "evse1", "command": "pause_charging"}
        )
        assert await receive(ws) == {"type": "result", "id": 5, "ok": True, "result": False}


async def test_unsubscribes_when_client_closes(server):
    manager = server.rig.manager
    before = len(manager._listeners)
    async with server.ws() as ws:
        await receive(ws)
        assert len(manager._listeners) == before + 1
    for _ in range(50):
        if len(manager._listeners) == before:
            break
        await asyncio.sleep(0.01)
    assert len(manager._listeners) == before


async def test_stop_closes_open_websockets(socket_enabled, rig):
    api = await start_api(rig)
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{api.port}/api/events?access_token={TOKEN}"
            async with session.ws_connect(url) as ws:
                assert (await receive(ws))["type"] == "snapshot"
                await api.stop()
                async with asyncio.timeout(5):
                    message = await ws.receive()
                assert message.type == aiohttp.WSMsgType.CLOSE
                assert message.data == aiohttp.WSCloseCode.GOING_AWAY
                assert message.extra == "server shutting down"
    finally:
        await api.stop()  # idempotent


async def test_slow_client_is_disconnected_on_overflow(socket_enabled, rig):
    api = await start_api(rig, event_queue=3)
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{api.port}/api/events?access_token={TOKEN}"
            async with session.ws_connect(url) as ws:
                assert (await receive(ws))["type"] == "snapshot"
                listeners = len(rig.manager._listeners)
                # more updates in one synchronous burst than the queue holds
                for n in range(10):
                    rig.manager.publish("test_counter", n)
                assert len(rig.manager._listeners) == listeners - 1
                async with asyncio.timeout(5):
                    message = await ws.receive()
                # the backlog is dropped: the client must reconnect for a fresh snapshot
                assert message.type == aiohttp.WSMsgType.CLOSE
                assert message.data == aiohttp.WSCloseCode.TRY_AGAIN_LATER
                assert message.extra == OVERFLOW_MESSAGE.decode()
                assert rig.manager.vars()["test_counter"] == 9
    finally:
        await api.stop()


async def test_unserializable_update_closes_socket_not_server(server):
    async with server.ws() as ws:
        await receive(ws)
        server.rig.manager.publish("broken", object())
        async with asyncio.timeout(5):
            message = await ws.receive()
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert message.data == aiohttp.WSCloseCode.INTERNAL_ERROR
    # the server keeps serving new clients
    status, body = await server.call("GET", "/api/health")
    assert (status, body) == (200, {"status": "ok"})
