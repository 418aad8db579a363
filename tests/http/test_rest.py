"""REST endpoints against a real server: auth, connectors, commands, session history."""

from __future__ import annotations

import csv
import io

import aiohttp
import pytest

from controller.http import HTTP_SCHEMA, HttpApi, HttpSettings
from controller.kernel.states import State
from controller.manager import EvseManager
from controller.simulation import MemoryCharger, MemoryMeter, SimulatedStation

from .conftest import AUTH, TOKEN, start_api

LOCAL_API_DISABLE = {
    "connector_id": 0,
    "cmd_source": {
        "enable_source": "LocalAPI",
        "enable_state": "Disable",
        "enable_priority": 10,
    },
}


async def test_health_needs_no_token(server):
    assert await server.call("GET", "/api/health", auth=False) == (200, {"status": "ok"})


async def test_missing_or_wrong_token_is_401(server):
    status, body = await server.call("GET", "/api/connectors", auth=False)
    assert status == 401
    assert body == {"error": "missing or invalid token"}
    wrong = {"Authorization": "Bearer nope"}
    status, body = await server.call("GET", "/api/connectors", auth=False, headers=wrong)
    assert status == 401
    basic = {"Authorization": "Basic czNjcmV0LXRva2Vu"}
    status, _ = await server.call("GET", "/api/connectors/evse1", auth=False, headers=basic)
    assert status == 401
    # the query token is for WebSocket clients only
    status, _ = await server.call("GET", "/api/connectors?access_token=s3cret-token", auth=False)
    assert status == 401


async def test_list_connectors(server):
    status, body = await server.call("GET", "/api/connectors")
    assert status == 200
    assert len(body) == 1
    entry = body[0]
    assert entry["name"] == "evse1"
    assert entry["available"] is True
    assert entry["state"] == "Idle"
    charger = server.rig.manager.charger_info
    assert charger is not None
    assert entry["charger"] == {
        "vendor": charger.vendor,
        "model": charger.model,
        "serial": charger.serial,
        "firmware": charger.firmware,
    }


async def test_get_connector_with_vars(server):
    status, body = await server.call("GET", "/api/connectors/evse1")
    assert status == 200
    assert body["name"] == "evse1"
    assert body["state"] == "Idle"
    assert body["available"] is True
    assert body["vars"]["evse_id"] == "DE*EVM*E0001*1"
    assert body["vars"]["ready"] is True
    assert "session_event" not in body["vars"]  # an event stream, not a state


async def test_unknown_connector_and_route_are_json_404(server):
    assert await server.call("GET", "/api/connectors/nope") == (
        404,
        {"error": "unknown connector 'nope'"},
    )
    status, body = await server.call("POST", "/api/connectors/nope/commands/pause_charging")
    assert (status, body) == (404, {"error": "unknown connector 'nope'"})
    status, body = await server.call("GET", "/api/nothing-here")
    assert status == 404
    assert body == {"error": "Not Found"}


async def test_enable_disable_round_trip_changes_state(server):
    rig = server.rig
    await rig.start_charging()
    assert rig.manager.state is State.Charging
    status, body = await server.command("enable_disable", LOCAL_API_DISABLE)
    assert (status, body) == (200, {"ok": True, "result": False})
    assert rig.manager.state is State.Disabled
    assert not rig.station.relays_on()
    _, detail = await server.call("GET", "/api/connectors/evse1")
    assert detail["state"] == "Disabled"


async def test_pause_and_resume_charging(server):
    rig = server.rig
    await rig.start_charging()
    assert await server.command("pause_charging") == (200, {"ok": True, "result": True})
    assert rig.manager.state is State.ChargingPausedEVSE
    assert not rig.station.relays_on()
    assert await server.command("resume_charging", {}) == (200, {"ok": True, "result": True})
    await rig.poll()
    assert rig.manager.state is State.Charging


async def test_invalid_args_are_400_with_the_reason(server):
    args = {"connector_id": "zero", "cmd_source": LOCAL_API_DISABLE["cmd_source"]}
    status, body = await server.command("enable_disable", args)
    assert status == 400
    assert body["ok"] is False
    assert body["error"].startswith("enable_disable:")
    assert "connector_id" in body["error"]
    assert server.rig.manager.state is State.Idle

    status, body = await server.command("pause_charging", {"unexpected": 1})
    assert status == 400
    assert "unexpected" in body["error"]


async def test_invalid_json_and_non_object_body_are_400(server):
    status, body = await server.command("pause_charging", data=b"{not json")
    assert status == 400
    assert body["error"].startswith("malformed JSON")
    status, body = await server.command("pause_charging", [1, 2])
    assert (status, body) == (400, {"error": "request body must be a JSON object"})


async def test_empty_body_means_no_arguments(server):
    status, body = await server.call("POST", "/api/connectors/evse1/commands/pause_charging")
    # nothing to pause while idle, but the call itself went through
    assert status == 200
    assert body == {"ok": True, "result": False}


async def test_unknown_command_is_404(server):
    status, body = await server.command("self_destruct", {})
    assert (status, body) == (404, {"error": "unknown command 'self_destruct'"})


async def test_oversized_body_is_413(server):
    status, body = await server.command("pause_charging", data=b"x" * (65 * 1024))
    assert status == 413
    assert "65536" in body["error"]


async def test_wrong_method_is_json_405(server):
    status, body = await server.call("GET", "/api/connectors/evse1/commands/pause_charging")
    assert (status, body) == (405, {"error": "Method Not Allowed"})


async def finished_session(server) -> None:
    """One charged and finished session, stopped through the API."""
    rig = server.rig
    await rig.start_charging()
    await rig.advance(600, step=60)
    stop = {"request": {"reason": "Local"}}
    assert await server.command("stop_transaction", stop) == (200, {"ok": True, "result": True})
    rig.station.unplug()
    await rig.poll()
    assert rig.manager.state is State.Idle


async def test_session_history_json(server):
    assert await server.call("GET", "/api/connectors/evse1/sessions") == (
        200,
        {"connector": "evse1", "sessions": []},
    )
    await finished_session(server)
    status, body = await server.call("GET", "/api/connectors/evse1/sessions?limit=5")
    assert status == 200
    assert body["connector"] == "evse1"
    [record] = body["sessions"]
    assert record["id_tag"] == "DEADBEEF"
    assert record["stop_reason"] == "Local"
    assert record["energy_Wh"] > 0
    assert record["energy_Wh"] == record["stop_energy_Wh"] - record["start_energy_Wh"]
    assert record["duration_s"] >= 600


async def test_session_history_csv(server):
    await finished_session(server)
    url = server.url("/api/connectors/evse1/sessions?format=csv&limit=1")
    async with server.session.get(url, headers=AUTH) as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        disposition = response.headers["Content-Disposition"]
        assert disposition == 'attachment; filename="evse1-sessions.csv"'
        text = await response.text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].startswith("session_id,connector_id,id_tag,started_at")
    assert len(rows) == 1
    assert rows[0]["id_tag"] == "DEADBEEF"
    assert rows[0]["stop_reason"] == "Local"
    assert float(rows[0]["energy_Wh"]) > 0


async def test_bad_limit_or_format_is_400(server):
    base = "/api/connectors/evse1/sessions"
    for limit in ("abc", "0", "1001", "-3", "2.5"):
        status, body = await server.call("GET", f"{base}?limit={limit}")
        assert status == 400, limit
        assert body["error"].startswith("limit must be an integer from 1 to 1000")
    status, body = await server.call("GET", f"{base}?format=xml")
    assert (status, body) == (400, {"error": "format must be json or csv, not 'xml'"})
    assert (await server.call("GET", f"{base}?limit=1000"))[0] == 200


async def test_session_history_unknown_connector_is_404(server):
    status, _ = await server.call("GET", "/api/connectors/nope/sessions")
    assert status == 404


async def test_unauthenticated_mode_on_loopback(socket_enabled, rig):
    settings = HttpSettings(**HTTP_SCHEMA({"port": 0, "allow_unauthenticated": True}))
    api = HttpApi({"evse1": rig.manager}, settings)
    await api.start()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{api.port}/api/connectors/evse1"
            async with session.get(url) as response:
                assert response.status == 200
                assert (await response.json())["state"] == "Idle"
    finally:
        await api.stop()


async def test_connector_whose_devices_are_not_up_yet(socket_enabled, rig, tmp_path):
    """A connector still waiting for its hardware is listed, but refuses commands cleanly."""
    station = SimulatedStation(clock=rig.clock)
    waiting = EvseManager(
        MemoryCharger(station), MemoryMeter(station), rig.store, name="evse2", clock=rig.clock
    )
    api = HttpApi({"evse1": rig.manager, "evse2": waiting}, HttpSettings(token=TOKEN, port=0))
    await api.start()
    try:
        async with aiohttp.ClientSession(headers=AUTH) as session:
            base = f"http://127.0.0.1:{api.port}/api/connectors"
            async with session.get(base) as response:
                listed = await response.json()
            assert [c["name"] for c in listed] == ["evse1", "evse2"]
            assert listed[1] == {
                "name": "evse2",
                "available": False,
                "state": None,
                "charger": None,
            }
            async with session.get(f"{base}/evse2") as response:
                assert await response.json() == {
                    "name": "evse2",
                    "available": False,
                    "state": None,
                    "vars": {},
                }
            async with session.post(f"{base}/evse2/commands/pause_charging", json={}) as response:
                assert response.status == 400
                assert await response.json() == {
                    "ok": False,
                    "error": "connector 'evse2' is not running",
                }
            async with session.ws_connect(f"http://127.0.0.1:{api.port}/api/events") as ws:
                first, second = await ws.receive_json(), await ws.receive_json()
            assert (first["connector"], first["state"]) == ("evse1", "Idle")
            assert (second["connector"], second["state"], second["vars"]) == ("evse2", None, {})
    finally:
        await api.stop()


async def test_bearer_scheme_is_case_insensitive(server):
    headers = {"Authorization": f"bearer {TOKEN}"}
    status, body = await server.call("GET", "/api/connectors", auth=False, headers=headers)
    assert status == 200
    assert body[0]["name"] == "evse1"


async def test_token_still_required_when_unauthenticated_is_also_allowed(socket_enabled, rig):
    api = await start_api(rig, allow_unauthenticated=True)
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{api.port}/api/connectors"
            async with session.get(url) as response:
                assert response.status == 401
            async with session.get(url, headers=AUTH) as response:
                assert response.status == 200
    finally:
        await api.stop()


async def test_port_in_use_fails_start_and_stop_frees_it(socket_enabled, rig):
    first = await start_api(rig)
    try:
        second = HttpApi({"evse1": rig.manager}, HttpSettings(token=TOKEN, port=first.port))
        with pytest.raises(OSError, match="address already in use"):
            await second.start()
        await second.stop()  # never started: a no-op
    finally:
        await first.stop()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{first.port}/api/health")
