"""Broker outages: session events survive in order; wrong credentials never crash."""

from __future__ import annotations

import asyncio
import logging

import aiomqtt
import pytest

from controller.mqtt import MqttBridge
from tests.controller.conftest import make_rig

from .conftest import PASSWORD, USER, WAIT_S, peer, running, settings

BASE = "evse_manager/evse1"
WATCHER = {"identifier": "watcher", "clean_session": False}


async def _until(condition, what: str) -> None:
    """Poll ``condition`` (bounded): some states have no event to wait on."""
    for _ in range(int(WAIT_S / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for: {what}")


async def test_session_events_survive_a_broker_restart_in_order(persistent_mosquitto, rig):
    broker = persistent_mosquitto
    bridge = MqttBridge({"evse1": rig.manager}, settings(broker.port))
    async with running(bridge):
        await rig.start_charging()
        # A persistent QoS 1 subscriber: the broker keeps what it misses while away.
        async with peer(broker.port, f"{BASE}/session_event", **WATCHER) as watcher:
            await watcher.wait_for(
                f"{BASE}/session_event", lambda m: m.json()["event"] == "ChargingStarted"
            )
            await asyncio.sleep(0.2)  # let the client acknowledge what it got
        before = [m.json()["event"] for m in watcher.on(f"{BASE}/session_event")]
        rig.take_events()

        broker.stop()
        await _until(lambda: not bridge.connected, "bridge notices the outage")
        assert await rig.manager.pause_charging()
        await rig.poll()
        assert await rig.manager.resume_charging()
        await rig.poll()
        await rig.authorize()  # nothing to authorize: no event, just noise
        rig.station.unplug()
        await rig.poll()
        produced = rig.take_events()
        assert len(produced) >= 5
        assert not bridge.connected

        broker.start()
        async with asyncio.timeout(WAIT_S):
            await bridge.wait_connected()
        async with peer(broker.port, **WATCHER) as watcher:
            await watcher.wait_for(
                f"{BASE}/session_event", lambda m: m.json()["event"] == produced[-1]
            )
            await asyncio.sleep(0.1)  # nothing more (no duplicates) arrives

    names = [m.json()["event"] for m in watcher.on(f"{BASE}/session_event")]
    # QoS 1 is at-least-once: events the watcher got but had not yet acknowledged before it
    # disconnected may come again first. Everything produced during the outage must follow,
    # complete and in order.
    redelivered = len(names) - len(produced)
    assert 0 <= redelivered <= len(before)
    assert names[:redelivered] == before[len(before) - redelivered :]
    assert names[redelivered:] == produced
    assert produced[-1] == "SessionFinished"


async def test_full_queue_drops_oldest_events_with_a_warning(persistent_mosquitto, rig, caplog):
    broker = persistent_mosquitto
    bridge = MqttBridge({"evse1": rig.manager}, settings(broker.port, queue_size=2))
    async with running(bridge):
        await rig.start_charging()
        async with peer(broker.port, f"{BASE}/session_event", **WATCHER) as watcher:
            await watcher.wait_for(
                f"{BASE}/session_event", lambda m: m.json()["event"] == "ChargingStarted"
            )
            await asyncio.sleep(0.2)  # let the client acknowledge what it got
        before = [m.json()["event"] for m in watcher.on(f"{BASE}/session_event")]
        rig.take_events()
        broker.stop()
        await _until(lambda: not bridge.connected, "bridge notices the outage")
        assert await rig.manager.pause_charging()
        await rig.poll()
        assert await rig.manager.resume_charging()
        await rig.poll()
        produced = rig.take_events()
        broker.start()
        async with asyncio.timeout(WAIT_S):
            await bridge.wait_connected()
        async with peer(broker.port, **WATCHER) as watcher:
            await bridge.flush()
            await watcher.wait_for(
                f"{BASE}/session_event", lambda m: m.json()["event"] == produced[-1]
            )
            await asyncio.sleep(0.1)

    assert produced == [
        "StoppingCharging",
        "ChargingPausedEVSE",
        "PrepareCharging",
        "ChargingStarted",
    ]
    names = [m.json()["event"] for m in watcher.on(f"{BASE}/session_event")]
    redelivered = len(names) - 2  # at-least-once: unacknowledged events may come again
    assert 0 <= redelivered <= len(before)
    assert names[:redelivered] == before[len(before) - redelivered :]
    assert names[redelivered:] == produced[-2:]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("session event queue full (2)" in w for w in warnings)
    assert any("2 session events were dropped" in w for w in warnings)


async def test_password_authentication_succeeds(auth_mosquitto, rig):
    bridge = MqttBridge(
        {"evse1": rig.manager},
        settings(auth_mosquitto.port, username=USER, password=PASSWORD),
    )
    async with (
        running(bridge),
        peer(auth_mosquitto.port, "evse_manager/status", username=USER, password=PASSWORD) as other,
    ):
        status = await other.wait_for("evse_manager/status")
    assert status[-1].payload == "online"


async def test_wrong_password_keeps_retrying_without_crashing(auth_mosquitto, rig, caplog):
    caplog.set_level(logging.DEBUG, logger="controller.mqtt")
    bridge = MqttBridge(
        {"evse1": rig.manager},
        settings(auth_mosquitto.port, username=USER, password="wrong"),
    )
    async with running(bridge, connect=False):
        await _until(
            lambda: any("connect attempt 3 failed" in r.getMessage() for r in caplog.records),
            "three attempts",
        )
        assert not bridge.connected
        # The kernel keeps working and the bridge still queues for a later connection.
        rig.station.plug_in()
        await rig.poll()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "cannot connect to 127.0.0.1" in errors[0]
    assert "authori" in errors[0].lower() or "password" in errors[0].lower()
    with pytest.raises(aiomqtt.MqttError):
        async with peer(auth_mosquitto.port, username=USER, password="wrong"):
            pass


async def test_the_event_queue_is_bounded_per_connector(persistent_mosquitto, rig, tmp_path):
    """``queue_size`` is per connector: many connectors starting (each with its start-up
    events) while the broker is away lose none of them."""
    broker = persistent_mosquitto
    other_dir = tmp_path / "second"
    other_dir.mkdir()
    second = await make_rig(other_dir)
    try:
        managers = {"evse1": rig.manager, "evse2": second.manager}
        bridge = MqttBridge(managers, settings(broker.port, queue_size=8))
        async with running(bridge):
            async with peer(broker.port, "evse_manager/+/session_event", **WATCHER):
                pass  # a persistent subscription: the broker keeps what comes later
            rig.take_events()
            second.take_events()
            broker.stop()
            await _until(lambda: not bridge.connected, "bridge notices the outage")
            produced = {}
            for name, one in (("evse1", rig), ("evse2", second)):
                await one.start_charging()
                produced[name] = one.take_events()
            counts = [len(events) for events in produced.values()]
            assert max(counts) <= 8 < sum(counts)  # more than one connector's queue_size
            broker.start()
            async with asyncio.timeout(WAIT_S):
                await bridge.wait_connected()
            async with peer(broker.port, **WATCHER) as watcher:
                await bridge.flush()
                for name, events in produced.items():
                    topic = f"evse_manager/{name}/session_event"
                    await watcher.wait_for(topic, lambda m, e=events: m.json()["event"] == e[-1])
        for name, events in produced.items():
            topic = f"evse_manager/{name}/session_event"
            assert [m.json()["event"] for m in watcher.on(topic)] == events
    finally:
        await second.manager.stop()
        second.store.close()
