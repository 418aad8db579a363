"""What a charge point that is not quite right gets from our central system: a refused
handshake (unknown id, wrong password, no OCPP subprotocol) or, once connected, a CALLERROR
for every malformed or unexpected message - and the session goes on."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from controller.ocpp.central import CentralSystem, charge_point_id

from .conftest import make_central


@pytest.fixture
async def central(socket_enabled: None) -> AsyncIterator[CentralSystem]:
    server = make_central()
    server.register("CP1", 1, "s3cret")
    server.register("OPEN", 1)
    server.register("LAX", 1, lenient=True)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def refused(url: str, protocol: str = "ocpp1.6", headers: dict | None = None) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with connect(
            url, subprotocols=[Subprotocol(protocol)], additional_headers=headers or {}
        ):
            pass
    return info.value.response.status_code


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/NOPE", basic("NOPE", "s3cret"), 404),  # not a configured charge point
        ("/CP1", None, 401),  # no password
        ("/CP1", basic("CP1", "wrong"), 401),
        ("/CP1", basic("OTHER", "s3cret"), 401),  # the user must be the charge point id
        ("/CP1", {"Authorization": "Basic !!notbase64"}, 401),
    ],
)
async def test_handshake_refused(
    central: CentralSystem, path: str, headers: dict | None, status: int
) -> None:
    assert await refused(f"ws://127.0.0.1:{central.port}{path}", headers=headers) == status


async def test_no_ocpp_subprotocol_refused(central: CentralSystem) -> None:
    assert await refused(f"ws://127.0.0.1:{central.port}/OPEN", protocol="chat") == 400


async def test_right_password_and_path_prefix_admitted(central: CentralSystem) -> None:
    """``ws://host:port/anything/CP1`` is CP1 too (wallboxes append the id to a URL)."""
    url = f"ws://127.0.0.1:{central.port}/ocpp/CP1"
    async with connect(
        url, subprotocols=[Subprotocol("ocpp1.6")], additional_headers=basic("CP1", "s3cret")
    ) as ws:
        assert ws.subprotocol == "ocpp1.6"
    assert charge_point_id("/ocpp/CP%201/") == "CP 1"


async def exchange(ws: ClientConnection, frame: str) -> list:
    await ws.send(frame)
    return json.loads(await ws.recv())


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_malformed_messages_get_callerror(central: CentralSystem, protocol: str) -> None:
    """Garbage, wrong frames, unknown actions, payloads failing the schema and handler
    crashes each get a CALLERROR; a valid Heartbeat afterwards is still answered."""
    formation = "FormationViolation" if protocol == "ocpp1.6" else "FormatViolation"
    url = f"ws://127.0.0.1:{central.port}/OPEN"
    async with connect(url, subprotocols=[Subprotocol(protocol)]) as ws:
        assert await exchange(ws, "not json") == [4, "-1", formation, "not an OCPP-J message", {}]
        assert (await exchange(ws, '{"a": 1}'))[:3] == [4, "-1", formation]
        assert (await exchange(ws, '[2, "m1"]'))[:3] == [4, "m1", formation]
        assert (await exchange(ws, '[9, "m2", "Heartbeat", {}]'))[:3] == [4, "m2", formation]
        unknown = await exchange(ws, '[2, "m3", "NoSuchAction", {}]')
        assert unknown[:3] == [4, "m3", "NotSupported"]
        bad = await exchange(ws, '[2, "m4", "StatusNotification", {"connectorId": "x"}]')
        assert bad[0] == 4
        assert bad[1] == "m4"
        not_mapping = await exchange(ws, '[2, "m5", "Heartbeat", [1, 2]]')
        assert not_mapping[0] == 4
        assert not_mapping[1] == "m5"
        # Unknown connector / EVSE ids are answered and ignored.
        if protocol == "ocpp1.6":
            status = '{"connectorId": 7, "errorCode": "NoError", "status": "Available"}'
        else:
            status = (
                '{"timestamp": "2026-01-01T00:00:00Z", "connectorStatus": "Available",'
                ' "evseId": 7, "connectorId": 1}'
            )
        assert await exchange(ws, f'[2, "m6", "StatusNotification", {status}]') == [3, "m6", {}]
        beat = await exchange(ws, '[2, "m7", "Heartbeat", {}]')
        assert beat[:2] == [3, "m7"]
        assert "currentTime" in beat[2]


async def test_schema_validation_skipped_for_a_lenient_charger(central: CentralSystem) -> None:
    """A StatusNotification with a field 1.6 does not have: a CALLERROR from a strict
    charge point, accepted from one configured with ``skip_schema_validation``."""
    frame = (
        '[2, "s1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError",'
        ' "status": "Available", "vendorExtra": 1}]'
    )
    for cp_id, answer in (("OPEN", 4), ("LAX", 3)):
        url = f"ws://127.0.0.1:{central.port}/{cp_id}"
        async with connect(url, subprotocols=[Subprotocol("ocpp1.6")]) as ws:
            assert (await exchange(ws, frame))[0] == answer
