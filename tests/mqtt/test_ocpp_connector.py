"""An OCPP wallbox's connector on MQTT like a Modbus one: the bridge reads the same
controller events (our central system and the simulated OCPP wallbox on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.mqtt import MqttBridge
from tests.controller.conftest import ACCEPTED, TOKEN
from tests.ocpp.conftest import open_rig

from .conftest import peer, running, settings

BASE = "evse_manager/evse1"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_ocpp_session_on_mqtt(mosquitto, tmp_path: Path, version: str) -> None:
    async with open_rig(tmp_path, version) as rig:
        bridge = MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))
        async with running(bridge), peer(mosquitto.port, f"{BASE}/#") as other:
            rig.station.plug_in()
            await rig.turn(1)
            await rig.manager.authorize_response(TOKEN, ACCEPTED)
            await rig.turn(1)
            rig.station.draw_power(16, 3)
            await rig.turn(60)
            await bridge.flush()
            event = await other.wait_for(
                f"{BASE}/session_event", lambda m: m.json()["event"] == "ChargingStarted"
            )
            powermeter = await other.wait_for(
                f"{BASE}/powermeter", lambda m: m.json()["power_W"]["total"] == 11040.0
            )
            caps = await other.wait_for(f"{BASE}/hw_capabilities")
    assert event[-1].json()["event"] == "ChargingStarted"
    assert powermeter[-1].json()["energy_Wh_import"]["total"] > 0
    assert caps[-1].json()["max_current_A_import"] == 16.0
