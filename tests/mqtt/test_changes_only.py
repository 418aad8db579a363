"""No work without a change: what the bridge sends after an update, on a real broker.

The bridge re-renders only the derived topics that read the variable an update changed,
rebuilds the Home Assistant discovery only when its inputs change (charger identity,
limits, the entity list), and pipelines its publishes through a bounded window of
unconfirmed messages without giving up the order of session events.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import signal
import types

import pytest
import voluptuous as vol

from controller.catalog import ENERGY_SETTINGS
from controller.mqtt import MqttBridge
from controller.mqtt import discovery as ha
from controller.mqtt.bridge import DRAIN_BATCH
from controller.mqtt.telemetry import DEFAULT_DEADBANDS

from .conftest import peer, running, settings

BASE = "evse_manager/evse1"
DISCOVERY = "homeassistant/device/evse_manager_evse1/config"


MARKER = f"{BASE}/test_marker"


async def _mark(bridge, other) -> int:
    """Where the bridge's messages so far end in what ``other`` received: after a flush
    the broker has processed them all, so a marker published now is delivered after them."""
    await bridge.flush()
    count = len(other.on(MARKER))
    await other.publish(MARKER, "mark", qos=1)
    await other.wait_for(MARKER, count=count + 1)
    return len(other.messages)


def _topics(messages, since: int, until: int | None = None) -> list[str]:
    return [m.topic for m in messages[since:until] if m.topic != MARKER]


async def test_an_update_sends_only_what_it_changed(mosquitto, rig):
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))) as bridge,
        peer(mosquitto.port, f"{BASE}/#", DISCOVERY) as other,
    ):
        before = await _mark(bridge, other)
        assert await rig.manager.set_max_current(10.0) == 10.0
        after = await _mark(bridge, other)

        # The user's ceiling changes the limit too: those two variables and the two
        # entities reading them; no other entity, no discovery, each topic once.
        sent = _topics(other.messages[:after], before)
        assert sorted(sent) == [
            f"{BASE}/limits",
            f"{BASE}/max_current",
            f"{BASE}/state/current_limit",
            f"{BASE}/state/max_current",
        ]

        await rig.poll()  # nothing changed at the charger: nothing to send
        assert _topics(other.messages, await _mark(bridge, other) - 1) == []
        assert _topics(other.messages, after) == []


async def test_discovery_is_rebuilt_only_when_its_inputs_change(mosquitto, rig):
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))) as bridge,
        peer(mosquitto.port, DISCOVERY, f"{BASE}/state/#") as ha_side,
    ):
        await bridge.flush()
        await ha_side.wait_for(DISCOVERY)
        await rig.start_charging()  # state, power, energy, relays... all change
        await bridge.flush()
        await ha_side.wait_for(f"{BASE}/state/charging", lambda m: m.payload == "ON")
        assert len(ha_side.on(DISCOVERY)) == 1
        assert "charge_mode" not in ha_side.on(DISCOVERY)[0].json()["cmps"]

        # An energy manager attaches: its entities join the device.
        rig.manager.publish(ENERGY_SETTINGS, {"mode": "pv", "min_current_A": 6.0})
        await bridge.flush()
        second = await ha_side.wait_for(DISCOVERY, count=2)
        assert "charge_mode" in second[1].json()["cmps"]
        await ha_side.wait_for(f"{BASE}/state/charge_mode", lambda m: m.payload == "pv")
        rig.manager.publish(ENERGY_SETTINGS, {"mode": "fast", "min_current_A": 6.0})
        await bridge.flush()
        await ha_side.wait_for(f"{BASE}/state/charge_mode", lambda m: m.payload == "fast")
        await bridge.flush()
        assert len(ha_side.on(DISCOVERY)) == 2  # a new mode is a state, not a new device


async def test_incremental_states_equal_a_full_render(mosquitto, rig):
    """Whatever sequence of updates came, the retained state of every entity is what a
    render from scratch of the connector's variables gives (telemetry without deadbands,
    so every change of it goes out too)."""
    exact = {"deadband": dict.fromkeys(DEFAULT_DEADBANDS, 0.0)}
    bridge = MqttBridge({"evse1": rig.manager}, settings(mosquitto.port, telemetry=exact))
    async with running(bridge):
        await rig.start_charging()
        assert await rig.manager.pause_charging()
        await rig.poll()
        assert await rig.manager.resume_charging()
        await rig.poll()
        rig.station.draw_power(10.0, 1)
        await rig.advance(5)
        rig.manager.publish(ENERGY_SETTINGS, {"mode": "minpv"})
        rig.station.unplug()
        await rig.poll()
        await bridge.flush()
        expected = ha.states("evse1", rig.manager.vars(), bridge.topics)
        async with peer(mosquitto.port, f"{BASE}/state/+") as late:
            for topic in expected:
                await late.wait_for(topic)
            got = {m.topic: m.payload for m in late.messages if m.retain}
    assert got == expected


async def test_a_stalled_broker_holds_at_most_the_window_and_loses_no_order(mosquitto, rig):
    """The broker stops answering (SIGSTOP): at most ``max_inflight`` publishes wait for
    its confirmation, the rest stay queued; once it answers, every session event arrives
    once and in order."""
    bridge = MqttBridge({"evse1": rig.manager}, settings(mosquitto.port, max_inflight=3))
    async with (
        running(bridge),
        peer(mosquitto.port, f"{BASE}/session_event") as watcher,
    ):
        await bridge.flush()
        rig.take_events()
        os.kill(mosquitto._proc.pid, signal.SIGSTOP)
        try:
            await rig.start_charging()
            for _ in range(4):
                assert await rig.manager.pause_charging()
                await rig.poll()
                assert await rig.manager.resume_charging()
                await rig.poll()
            produced = rig.take_events()
            assert len(produced) > 3
            for _ in range(20):  # let the drain run as far as the window allows
                await rig.poll()
            assert 1 <= bridge.unconfirmed <= 3
        finally:
            os.kill(mosquitto._proc.pid, signal.SIGCONT)
        await bridge.flush()
        assert bridge.unconfirmed == 0
        await watcher.wait_for(f"{BASE}/session_event", lambda m: m.json()["event"] == produced[-1])
        await bridge.flush()
    names = [m.json()["event"] for m in watcher.on(f"{BASE}/session_event") if not m.retain]
    assert names == produced


async def test_a_long_drain_lets_the_loop_run_between_batches(mosquitto, rig):
    """The connect snapshot is dozens of messages: with a window wide enough for all of
    them, the drain still hands at most ``DRAIN_BATCH`` to the client per turn of the
    event loop, so a command or a poll that became ready waits for a batch, not for the
    whole outbox."""
    bridge = MqttBridge({"evse1": rig.manager}, settings(mosquitto.port, max_inflight=1000))
    seen: list[int] = []

    async def every_turn() -> None:
        while True:
            seen.append(bridge.handed)
            await asyncio.sleep(0)

    ticker = asyncio.create_task(every_turn())
    try:
        async with running(bridge):
            await bridge.flush()
    finally:
        ticker.cancel()
    assert bridge.handed > 3 * DRAIN_BATCH
    steps = [b - a for a, b in itertools.pairwise([0, *seen])]
    assert max(steps) <= DRAIN_BATCH
    assert steps.count(DRAIN_BATCH) >= 3  # the snapshot went out in full batches


async def test_a_hostile_retained_connector_list_is_ignored(mosquitto, rig, caplog):
    """The retained list of served connectors goes through the bounded parser: nesting
    that would exhaust the recursion limit is refused with a warning, nothing retired."""
    async with peer(mosquitto.port) as other:
        await other.publish("evse_manager/connectors", "[" * 100_000, qos=1, retain=True)
    caplog.set_level(logging.WARNING)
    async with running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))) as bridge:
        await bridge.flush()
        await bridge.flush()
        assert bridge.connected
    assert any("ignoring the retained connector list" in r.getMessage() for r in caplog.records)


async def test_telemetry_whose_timestamp_alone_changed_is_not_sent(mosquitto, rig):
    bridge = MqttBridge({"evse1": rig.manager}, settings(mosquitto.port), clock=rig.clock)
    async with running(bridge), peer(mosquitto.port, f"{BASE}/#") as other:
        before = await _mark(bridge, other)
        await rig.advance(120)  # idle: every poll has a new meter timestamp, nothing else
        after = await _mark(bridge, other)
    assert _topics(other.messages, before, after) == []


async def test_telemetry_goes_out_past_its_deadband_or_its_maximum_interval(mosquitto, rig):
    telemetry = {"max_interval_s": 30, "deadband": {"W": 100, "Wh": 1000, "A": 1, "s": 3600}}
    bridge = MqttBridge(
        {"evse1": rig.manager},
        settings(mosquitto.port, telemetry=telemetry),
        clock=rig.clock,
    )
    meter = f"{BASE}/powermeter"
    async with running(bridge), peer(mosquitto.port, f"{BASE}/#") as other:
        await rig.start_charging()  # 11040 W
        start = await _mark(bridge, other)
        await rig.advance(10)  # the energy creeps (30 Wh), the power holds
        crept = await _mark(bridge, other)
        assert meter not in _topics(other.messages, start, crept)

        rig.station.draw_power(10.0, 3)  # 6900 W: 4140 W past the deadband, at once
        await rig.poll()
        moved = await _mark(bridge, other)
        (sample,) = [m for m in other.messages[crept:moved] if m.topic == meter]
        assert sample.json()["power_W"]["total"] == 6900.0
        assert f"{BASE}/state/power" in _topics(other.messages, crept, moved)

        await rig.advance(31)  # within the deadband: once, when 30 s have passed
        late = await _mark(bridge, other)
        (crept_sample,) = [m for m in other.messages[moved:late] if m.topic == meter]
    energy = crept_sample.json()["energy_Wh_import"]["total"]
    assert energy > sample.json()["energy_Wh_import"]["total"]  # what crept went out


def test_telemetry_settings_have_dashboard_defaults_and_are_validated():
    default = settings(1883).telemetry
    assert default.max_interval_s == 60.0
    assert default.deadband["W"] == 10.0
    assert default.deadband["Wh"] == 10.0
    tuned = settings(1883, telemetry={"deadband": {"W": 50}}).telemetry
    assert tuned.deadband["W"] == 50.0
    assert tuned.deadband["A"] == 0.1  # the others keep their defaults
    for bad in ({"deadband": {"furlongs": 1}}, {"deadband": {"W": -1}}, {"max_interval_s": "x"}):
        with pytest.raises(vol.Invalid):
            settings(1883, telemetry=bad)


def _state_renderers() -> int:
    """Entity state renderers alive in the process (what a full GC has to walk)."""
    return sum(
        1
        for o in gc.get_objects()
        if isinstance(o, types.FunctionType) and o.__qualname__ == "_state.<locals>.render"
    )


async def test_connectors_share_their_entities_state_renderers(mosquitto, rig):
    """A thousand connectors would otherwise hold 37,000 renderer closures outside the
    frozen start-up heap: every full collection walked them, the longest loop stall."""
    one = MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))
    async with running(one):
        await one.flush()
        with_one = _state_renderers()
    two = MqttBridge({"evse1": rig.manager, "evse2": rig.manager}, settings(mosquitto.port))
    async with running(two):
        await two.flush()
        assert _state_renderers() == with_one > 10
