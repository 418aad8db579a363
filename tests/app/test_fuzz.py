"""A bounded, seeded fuzz of every input the controller reads (issue 12).

MQTT command payloads (real mosquitto), HTTP bodies and WebSocket messages (the real
aiohttp server on 127.0.0.1), configuration files and map files (the real loaders). Each
case must end in a result or a clear error, and the controller must still serve after it.
The generator is seeded, so a failure names a case that reproduces.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from controller.commands import COMMANDS
from controller.config import load_config
from controller.errors import ConfigError, MapError
from controller.http import HTTP_SCHEMA, HttpApi, HttpSettings
from controller.modbus.maps import BUNDLED_MAPS, load_map_file
from controller.mqtt import MqttBridge
from tests.mqtt.conftest import mosquitto, peer, rig, running, settings  # noqa: F401 - fixtures

SEED = 2026
CASES = 60  # per input kind: seconds, not minutes
MAX_ERROR = 2000  # a clear error is a sentence, not a dump
TOKEN = "fuzz-token"
BASE = "evse_manager/evse1"
NAMES = [*COMMANDS, "no_such_command"]
VALID_ARGS: dict[str, Any] = {
    "enable_disable": {
        "connector_id": 0,
        "cmd_source": {"enable_source": "LocalAPI", "enable_state": "Enable", "enable_priority": 5},
    },
    "reserve": {"reservation_id": 1},
    "force_unlock": {"connector_id": 1},
    "set_energy_settings": {"min_current_A": 6},
    "enforce_limits": {
        "value": {
            "uuid": "fuzz",
            "valid_for": 60,
            "limits_root_side": {"ac_max_current_A": {"value": 10, "source": "fuzz"}},
        }
    },
    "stop_transaction": {"request": {"reason": "Local"}},
}
HOSTILE_LITERALS = [
    "NaN", "Infinity", "-Infinity", "1e999", "9" * 401, "-" + "9" * 5000, "1" * 4400,
    "null", "true", '"x"', "[]", "{}", '"' + "\\u0000" * 10 + '"', '"\\ud800"',
]  # fmt: skip


def _deep(rng: random.Random) -> str:
    depth = rng.choice([33, 1000, 20_000])
    return "[" * depth + "]" * depth if rng.random() < 0.5 else '{"a":' * depth + "1" + "}" * depth


def _embed(rng: random.Random, args: Any, literal: str) -> str:
    """Valid arguments with one value replaced by a hostile literal (at any depth)."""
    text = json.dumps({"id": 1, "args": args})
    spots = [i for i, c in enumerate(text) if c in ",:["]
    at = rng.choice(spots) + 1
    end = text.find(",", at)
    end = len(text) - 2 if end < 0 else end
    return text[:at] + literal + text[end:]


def _corrupt(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(chars) + 1)
        action = rng.random()
        if action < 0.4 and chars:
            del chars[min(at, len(chars) - 1)]
        elif action < 0.8:
            chars.insert(at, rng.choice('{}[]",:\\\x00é\u2028 0e-'))
        else:
            chars[at:] = []
    return "".join(chars)


def payloads(seed: int) -> Iterator[tuple[str, str]]:
    """``(command, payload text)`` cases, the same ones for the same seed."""
    rng = random.Random(seed)
    for _ in range(CASES):
        name = rng.choice(NAMES)
        args = VALID_ARGS.get(name, {})
        kind = rng.random()
        if kind < 0.2:
            text = _deep(rng)
        elif kind < 0.55:
            text = _embed(rng, args, rng.choice(HOSTILE_LITERALS))
        elif kind < 0.85:
            text = _corrupt(rng, json.dumps({"id": 1, "args": args}))
        else:
            text = bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))).decode(
                "utf-8", errors="replace"
            )
        yield name, text


def assert_clear(reply: Any) -> None:
    """A result, or an error that is a short sentence."""
    assert isinstance(reply, dict), reply
    if reply.get("ok") is True:
        return
    error = reply.get("error")
    assert isinstance(error, str), reply
    assert error
    assert len(error) <= MAX_ERROR, error[:200]


async def test_fuzzed_mqtt_commands_all_get_clear_replies(mosquitto, rig):  # noqa: F811 - fixtures
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))) as bridge,
        peer(mosquitto.port, f"{BASE}/result/#") as other,
    ):
        for name, text in payloads(SEED):
            before = len(other.on(f"{BASE}/result/{name}"))
            await other.publish(f"{BASE}/cmd/{name}", text)
            replies = await other.wait_for(f"{BASE}/result/{name}", count=before + 1)
            assert_clear(replies[-1].json())
        await other.publish(f"{BASE}/cmd/get_evse", {"id": "alive"})
        alive = await other.wait_for(f"{BASE}/result/get_evse", lambda m: m.json()["id"] == "alive")
        assert alive[0].json()["ok"] is True
        assert bridge.connected


@pytest.fixture
async def api(socket_enabled, rig):  # noqa: F811 - the imported fixture
    api = HttpApi({"evse1": rig.manager}, HttpSettings(**HTTP_SCHEMA({"port": 0, "token": TOKEN})))
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


async def test_fuzzed_http_bodies_and_websocket_messages_get_clear_errors(api):
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    base = f"http://127.0.0.1:{api.port}"
    async with aiohttp.ClientSession(headers=headers) as session:
        for name, text in payloads(SEED + 1):
            url = f"{base}/api/connectors/evse1/commands/{name}"
            async with session.post(url, data=text.encode("utf-8", errors="replace")) as r:
                assert r.status in (200, 400, 404, 413, 504), (name, text[:100], r.status)
                assert_clear(await r.json())
        async with session.ws_connect(f"{base}/api/events") as ws:
            await ws.receive_json()  # the snapshot
            for name, text in payloads(SEED + 2):
                await ws.send_str(text)
                reply = await _next_reply(ws)
                assert reply["type"] in ("error", "result"), (name, text[:100], reply)
                assert_clear({"ok": reply.get("ok", False), **reply})
            await ws.send_json(
                {"type": "command", "id": 9, "connector": "evse1", "command": "get_evse"}
            )
            assert (await _next_reply(ws))["ok"] is True
        async with session.get(f"{base}/api/health") as r:
            assert r.status == 200


async def _next_reply(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next answer to a message sent (updates of the connector are skipped)."""
    while True:
        message = await asyncio.wait_for(ws.receive_json(), 10)
        if message["type"] != "update":
            return message


VALID_CONFIG = """
store: {store}
connectors:
  garage:
    charger:
      map: heidelberg_energy_control
      connection: {{kind: tcp, host: 127.0.0.1, port: 1502, unit: 1}}
    meter: {{map: eastron_sdm630, connection: {{kind: tcp, host: 127.0.0.1, unit: 2}}}}
    max_current_A: 16
    energy: {{mode: pv, min_current_A: 6}}
energy: {{grid_topic: house/grid, fuse_A: 35}}
mqtt: {{host: 127.0.0.1, port: 1883, base_topic: evse, queue_size: 10}}
http: {{port: 8080, token: t}}
"""
YAML_HOSTILE = [
    ".nan", ".inf", "-.inf", "9" * 401, "~", "[]", "{}", "'" + "x" * 3000 + "'", "*nope",
    "&a [*a]", "!!python/object:os.system", "/dev/zero", "'\x00'", "[" * 100, "2026-01-01",
]  # fmt: skip


def _mutate_yaml(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        line = lines[i]
        if ":" in line and rng.random() < 0.6:
            key, _, _ = line.partition(":")
            lines[i] = f"{key}: {rng.choice(YAML_HOSTILE)}"
        elif rng.random() < 0.5:
            del lines[i]
        else:
            lines[i] = _corrupt(rng, line)
    return "\n".join(lines) + "\n"


def _error_of(load: Callable[[Path], object], path: Path) -> str | None:
    """The loader's clear error for ``path``, or None if it loaded (anything else fails)."""
    try:
        load(path)
    except (ConfigError, MapError) as err:
        return str(err)
    return None


def test_fuzzed_config_files_load_or_name_the_mistake(tmp_path):
    rng = random.Random(SEED + 3)
    valid = VALID_CONFIG.format(store=tmp_path / "sessions.db")
    path = tmp_path / "evse.yaml"
    outcomes = {"valid": 0, "error": 0}
    for _ in range(CASES):
        text = _mutate_yaml(rng, valid)
        if rng.random() < 0.1:
            path.write_bytes(text.encode() + bytes([rng.randrange(128, 256)]))
        else:
            path.write_text(text)
        error = _error_of(load_config, path)
        if error is not None:
            assert str(path) in error
            assert len(error) <= MAX_ERROR, error[:200]
        outcomes["valid" if error is None else "error"] += 1
    assert outcomes["error"] > 0  # the mutations did reach the validation
    print(f"config fuzz: {outcomes}")


@pytest.mark.parametrize("map_name", ["heidelberg_energy_control", "eastron_sdm630"])
def test_fuzzed_map_files_load_or_name_the_mistake(tmp_path, map_name):
    rng = random.Random(SEED + 4)
    valid = (BUNDLED_MAPS / f"{map_name}.yaml").read_text()
    path = tmp_path / "map.yaml"
    for _ in range(CASES // 2):
        path.write_text(_mutate_yaml(rng, valid))
        error = _error_of(load_map_file, path)
        if error is not None:
            assert str(path) in error
            assert len(error) <= MAX_ERROR, error[:200]


def test_seeded_generator_is_reproducible():
    assert list(payloads(SEED)) == list(payloads(SEED))
