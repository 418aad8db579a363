"""A command while the charger is frozen answers within the command timeout (issue 12).

The simulator holds its answers (``inject_silence``) for longer than the rig's request
timeout, so the connector's poll hangs on the device; a command queued behind it used to
wait until the poll gave up (7.9 s with the default timeouts) and then ran anyway.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from controller import commands
from controller.http import HTTP_SCHEMA, HttpApi, HttpSettings
from controller.kernel.states import State
from tests.modbus.conftest import start_rig, stop_rig

from .conftest import AUTH, TOKEN


@pytest.fixture
async def frozen(tmp_path, socket_enabled, monkeypatch):
    """A Heidelberg + SDM630 over Modbus TCP, charging, behind a real HTTP API."""
    monkeypatch.setattr(commands, "COMMAND_TIMEOUT_S", 0.2)  # the rig's requests: 0.5 s
    rig = await start_rig(tmp_path, "heidelberg_energy_control")
    api = HttpApi({"garage": rig.manager}, HttpSettings(**HTTP_SCHEMA({"port": 0, "token": TOKEN})))
    try:
        await rig.start_charging()
        await api.start()
        yield rig, api
    finally:
        rig.simulator.charger.clear_faults()
        await api.stop()
        await stop_rig(rig)


async def test_command_on_a_frozen_device_times_out_with_a_clear_error(frozen):
    rig, api = frozen
    rig.simulator.charger.inject_silence(30.0)
    poll = asyncio.create_task(rig.manager.poll_now())  # hangs on the silent charger
    url = f"http://127.0.0.1:{api.port}/api/connectors/garage/commands/pause_charging"
    async with (
        aiohttp.ClientSession(headers=AUTH) as session,
        session.post(url, json={}) as response,
    ):
        status, body = response.status, await response.json()
    assert status == 504
    assert body["ok"] is False
    assert body["error"].startswith("pause_charging: no answer within 0.2 s")
    assert "not responding" in body["error"]
    # The caller was told it failed, so the command must not run later behind its back.
    rig.simulator.charger.clear_faults()
    await poll
    await rig.advance(2, step=1)
    assert rig.manager.state is State.Charging
