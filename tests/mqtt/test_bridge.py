"""Variables out, commands and controls in, through a real broker."""

from __future__ import annotations

import asyncio

from controller.mqtt import MqttBridge

from .conftest import WAIT_S, peer, running, settings

BASE = "evse_manager/evse1"


async def test_variables_are_published_retained_as_everest_json(mosquitto, rig):
    async with running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))) as bridge:
        await rig.start_charging()
        await bridge.flush()
        # A late subscriber still gets everything: the values are retained.
        async with peer(mosquitto.port, f"{BASE}/#", "evse_manager/status") as other:
            powermeter = await other.wait_for(
                f"{BASE}/powermeter", lambda m: m.json()["power_W"]["total"] == 11040.0
            )
            event = await other.wait_for(
                f"{BASE}/session_event", lambda m: m.json()["event"] == "ChargingStarted"
            )
            ready = await other.wait_for(f"{BASE}/ready")
            status = await other.wait_for("evse_manager/status")
            power = await other.wait_for(f"{BASE}/state/power", lambda m: m.payload == "11040.0")
            charging = await other.wait_for(f"{BASE}/state/charging", lambda m: m.payload == "ON")
            available = await other.wait_for(f"{BASE}/availability")

    assert powermeter[-1].retain
    assert powermeter[-1].json()["energy_Wh_import"] == {"total": 0.0}
    assert powermeter[-1].json()["meter_id"] == "SIM-METER-1"
    assert event[-1].retain
    assert {"uuid", "timestamp", "event"} <= set(event[-1].json())
    assert ready[-1].json() is True
    assert status[-1].payload == "online"
    assert power[-1].retain
    assert charging[-1].retain
    assert available[-1].payload == "online"


async def test_status_goes_offline_on_stop(mosquitto, rig):
    async with running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))):
        pass
    async with peer(mosquitto.port, "evse_manager/status") as other:
        status = await other.wait_for("evse_manager/status")
    assert status[-1].payload == "offline"
    assert status[-1].retain


async def test_command_round_trip_with_correlation_id(mosquitto, rig):
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))),
        peer(mosquitto.port, f"{BASE}/result/#") as other,
    ):
        await rig.start_charging()
        await other.publish(f"{BASE}/cmd/pause_charging", {"id": "req-7", "args": {}})
        reply = await other.wait_for(f"{BASE}/result/pause_charging")
        await rig.poll()

    assert reply[0].json() == {"id": "req-7", "ok": True, "result": True}
    assert not reply[0].retain
    assert rig.manager.vars()["state"].value == "ChargingPausedEVSE"
    assert "ChargingPausedEVSE" in rig.events()


async def test_command_accepts_bare_args_and_empty_payload(mosquitto, rig):
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))),
        peer(mosquitto.port, f"{BASE}/result/#") as other,
    ):
        await other.publish(f"{BASE}/cmd/force_unlock", {"connector_id": 1})
        unlock = await other.wait_for(f"{BASE}/result/force_unlock")
        await other.publish(f"{BASE}/cmd/get_evse", "")
        evse = await other.wait_for(f"{BASE}/result/get_evse")

    assert unlock[0].json()["ok"] is True
    assert unlock[0].json()["id"] is None
    assert evse[0].json()["ok"] is True
    assert evse[0].json()["result"]["id"] == 1


async def test_bad_commands_get_error_results(mosquitto, rig):
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))) as bridge,
        peer(mosquitto.port, "evse_manager/+/result/#") as other,
    ):
        await other.publish(f"{BASE}/cmd/pause_charging", "{not json")
        malformed = await other.wait_for(f"{BASE}/result/pause_charging")
        await other.publish(f"{BASE}/cmd/pause_charging", "[1, 2]")
        not_object = await other.wait_for(f"{BASE}/result/pause_charging", count=2)
        await other.publish(f"{BASE}/cmd/reserve", {"id": 3, "args": {"reservation_id": "x"}})
        invalid = await other.wait_for(f"{BASE}/result/reserve")
        await other.publish(f"{BASE}/cmd/self_destruct", {"id": 4})
        unknown = await other.wait_for(f"{BASE}/result/self_destruct")
        await other.publish("evse_manager/evse9/cmd/pause_charging", {"id": 5})
        nowhere = await other.wait_for("evse_manager/evse9/result/pause_charging")
        # The bridge is still serving after all of that.
        await other.publish(f"{BASE}/cmd/get_evse", {"id": 6})
        fine = await other.wait_for(f"{BASE}/result/get_evse")
        assert bridge.connected

    assert malformed[0].json()["ok"] is False
    assert "malformed JSON" in malformed[0].json()["error"]
    assert not_object[1].json() == {
        "id": None,
        "ok": False,
        "error": "payload must be a JSON object",
    }
    assert invalid[0].json()["id"] == 3
    assert invalid[0].json()["ok"] is False
    assert "reservation_id" in invalid[0].json()["error"]
    assert unknown[0].json() == {"id": 4, "ok": False, "error": "unknown command 'self_destruct'"}
    assert nowhere[0].json() == {"id": 5, "ok": False, "error": "unknown connector 'evse9'"}
    assert fine[0].json()["ok"] is True


async def test_switch_control_disables_the_connector(mosquitto, rig):
    assert rig.manager.vars()["enabled"] is True
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))),
        peer(mosquitto.port, f"{BASE}/set_result/#", f"{BASE}/state/enabled") as other,
    ):
        await other.wait_for(f"{BASE}/state/enabled", lambda m: m.payload == "ON")
        await other.publish(f"{BASE}/set/enabled", "OFF")
        result = await other.wait_for(f"{BASE}/set_result/enabled")
        state = await other.wait_for(f"{BASE}/state/enabled", lambda m: m.payload == "OFF")

    # enable_disable answers whether the connector is enabled afterwards.
    assert result[0].json() == {"value": "OFF", "ok": True, "result": False}
    assert state[-1].payload == "OFF"
    assert rig.manager.vars()["enabled"] is False


async def test_number_and_button_controls(mosquitto, rig):
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))),
        peer(mosquitto.port, f"{BASE}/set_result/#") as other,
    ):
        await rig.start_charging()
        await other.publish(f"{BASE}/set/max_current", "10")
        limit = await other.wait_for(f"{BASE}/set_result/max_current")
        await other.publish(f"{BASE}/set/max_current", "lots")
        bad = await other.wait_for(f"{BASE}/set_result/max_current", count=2)
        await other.publish(f"{BASE}/set/stop", "PRESS")
        stop = await other.wait_for(f"{BASE}/set_result/stop")
        await other.publish(f"{BASE}/set/power", "5")
        not_control = await other.wait_for(f"{BASE}/set_result/power")
        await rig.poll()

    assert limit[0].json()["ok"] is True
    assert rig.manager.vars()["max_current"] == 10.0  # the user's ceiling
    assert rig.manager.vars()["limits"].max_current == 10.0
    assert bad[1].json() == {
        "value": "lots",
        "ok": False,
        "error": "max_current: expected a number, got 'lots'",
    }
    assert stop[0].json()["ok"] is True
    assert "TransactionFinished" in rig.events()
    assert not_control[0].json()["error"] == "no control named 'power'"


async def test_bridge_starts_without_broker_and_connects_later(mosquitto, rig):
    mosquitto.stop()
    bridge = MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))
    async with running(bridge, connect=False):
        await asyncio.sleep(0.2)
        assert not bridge.connected
        mosquitto.start()
        async with asyncio.timeout(WAIT_S):
            await bridge.wait_connected()
        async with peer(mosquitto.port, f"{BASE}/state") as other:
            state = await other.wait_for(f"{BASE}/state")
    assert state[-1].json() == "Idle"


async def test_retained_controls_are_ignored(mosquitto, rig, caplog):
    """A retained control would otherwise run again on every reconnect."""
    async with peer(mosquitto.port) as other:
        await other.publish(f"{BASE}/set/enabled", "OFF", qos=1, retain=True)
    try:
        async with (
            running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))),
            peer(mosquitto.port, f"{BASE}/result/#", f"{BASE}/set_result/#") as other,
        ):
            await other.publish(f"{BASE}/cmd/get_evse", {"id": 1}, qos=1)
            await other.wait_for(f"{BASE}/result/get_evse")
    finally:
        async with peer(mosquitto.port) as other:
            await other.publish(f"{BASE}/set/enabled", "", qos=1, retain=True)

    assert rig.manager.vars()["enabled"] is True
    assert other.on(f"{BASE}/set_result/enabled") == []
    assert any("ignoring retained message" in r.getMessage() for r in caplog.records)


async def test_connector_that_starts_later_is_published_then(mosquitto, tmp_path):
    from controller.clock import ManualClock
    from controller.manager import EvseManager
    from controller.simulation import MemoryCharger, MemoryMeter, SimulatedStation
    from controller.store import SessionStore

    clock = ManualClock()
    station = SimulatedStation(clock=clock)
    store = SessionStore(tmp_path / "late.db")
    manager = EvseManager(
        MemoryCharger(station), MemoryMeter(station), store, clock=clock, poll_interval=3600.0
    )
    try:
        async with (
            running(MqttBridge({"evse1": manager}, settings(mosquitto.port))),
            peer(mosquitto.port, f"{BASE}/state", f"{BASE}/result/#") as other,
        ):
            await other.publish(f"{BASE}/cmd/pause_charging", {"id": 1})
            refused = await other.wait_for(f"{BASE}/result/pause_charging")
            assert other.on(f"{BASE}/state") == []
            await manager.start()
            manager.release_updates()  # the owner's step once its adapters are attached
            state = await other.wait_for(f"{BASE}/state")
    finally:
        await manager.stop()
        store.close()

    assert refused[0].json()["ok"] is False
    assert refused[0].json()["id"] == 1
    assert refused[0].json()["error"] == (
        "pause_charging: RuntimeError: EvseManager evse1 is not running"
    )
    assert state[0].json() == "Idle"
