"""The energy manager's home-battery SoC thresholds as MQTT controls, through a real broker:
set, refused out of order, and kept across a restart of the connector."""

from __future__ import annotations

from pathlib import Path

from controller.energy import Mode, SurplusController, SurplusSettings
from controller.energy.manager import ConnectorControl
from controller.mqtt import MqttBridge
from tests.controller.conftest import Rig, make_rig

from .conftest import peer, running, settings

BASE = "evse_manager/evse1"
THRESHOLDS = {
    "battery_priority_soc": ("priority_soc", "30"),
    "battery_buffer_soc": ("buffer_soc", "50"),
    "battery_buffer_start_soc": ("buffer_start_soc", "80"),
}


def managed(rig: Rig) -> ConnectorControl:
    """The connector under an energy manager (restores its saved settings)."""
    control = ConnectorControl(
        manager=rig.manager, surplus=SurplusController(SurplusSettings(), Mode.PV)
    )
    control.attach()
    return control


async def test_soc_thresholds_are_set_over_mqtt_and_survive_a_restart(mosquitto, tmp_path: Path):
    rig = await make_rig(tmp_path)
    try:
        managed(rig)
        async with (
            running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))),
            peer(mosquitto.port, f"{BASE}/set_result/#") as other,
        ):
            for key, (_, value) in THRESHOLDS.items():
                await other.publish(f"{BASE}/set/{key}", value)
                results = await other.wait_for(f"{BASE}/set_result/{key}")
                assert results[0].json()["ok"] is True, results[0].json()
            # priority above buffer breaks evcc's order: refused, the value stays
            await other.publish(f"{BASE}/set/battery_priority_soc", "70")
            refused = await other.wait_for(f"{BASE}/set_result/battery_priority_soc", count=2)
        assert refused[1].json()["ok"] is False
        assert "priority_soc is above buffer_soc" in refused[1].json()["error"]
    finally:
        await rig.manager.stop()
        rig.store.close()

    rig = await make_rig(tmp_path)  # the same store: a restart
    try:
        restored = managed(rig).surplus.settings
        assert (restored.priority_soc, restored.buffer_soc, restored.buffer_start_soc) == (
            30,
            50,
            80,
        )
        # subscribed before the bridge starts: what the first run left retained arrives
        # flagged as retained, what the restarted connector publishes does not
        async with (
            peer(mosquitto.port, f"{BASE}/state/#") as other,
            running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))),
        ):
            for key, (_, value) in THRESHOLDS.items():
                state = await other.wait_for(f"{BASE}/state/{key}", lambda m: not m.retain)
                assert float(state[-1].payload) == float(value)
    finally:
        await rig.manager.stop()
        rig.store.close()
