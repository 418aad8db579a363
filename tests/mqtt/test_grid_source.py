"""Grid power from an MQTT topic: payload parsing, the bridge's input topics through a real
broker, and the standalone controller's energy manager driven by published grid power."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from controller.app import Controller
from controller.clock import ManualClock
from controller.config import parse_config
from controller.energy import GridReading, PushedGridSource
from controller.errors import DeviceError
from controller.everest import EnforcedLimits
from controller.mqtt import MqttBridge
from controller.mqtt.grid import (
    BatteryMergedSource,
    GridFeed,
    parse_grid,
    parse_power,
    parse_soc,
)
from tests.app.test_controller import for_simulator, simulator, started, until

from .conftest import WAIT_S, peer, running, settings

GRID = "house/grid/power"
BATTERY = "house/battery/power"
SOC = "house/battery/soc"

# ---------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("-5000", GridReading(power_W=-5000.0)),
        (" 1234.5\n", GridReading(power_W=1234.5)),
        ("3e3", GridReading(power_W=3000.0)),
        ('"42"', GridReading(power_W=42.0)),
        ('{"power_W": 800}', GridReading(power_W=800.0)),
        (
            '{"power_W": -2500.5, "currents_A": [1, 2.5, -3]}',
            GridReading(power_W=-2500.5, currents_A=(1.0, 2.5, -3.0)),
        ),
        ('{"power_W": 10, "currents_A": null}', GridReading(power_W=10.0)),
    ],
)
def test_grid_payloads(payload, expected):
    assert parse_grid(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "  ",
        "abc",
        "12 W",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "1e999",
        "true",
        "null",
        "[1, 2, 3]",
        "{}",
        '{"power": 5}',
        '{"power_W": "x"}',
        '{"power_W": NaN}',
        '{"power_W": true}',
        '{"power_W": null}',
        '{"power_W": 5, "currents_A": [1, 2]}',
        '{"power_W": 5, "currents_A": [1, 2, 3, 4]}',
        '{"power_W": 5, "currents_A": [1, "a", 3]}',
        '{"power_W": 5, "currents_A": [1, Infinity, 3]}',
        '{"power_W": 5, "currents_A": 7}',
    ],
)
def test_malformed_grid_payloads_are_refused(payload):
    with pytest.raises(ValueError, match=r"payload|number|power_W|currents_A"):
        parse_grid(payload)


def test_battery_payloads():
    assert parse_power("1500") == 1500.0
    assert parse_power("-700.5") == -700.5
    for bad in ("", "full", "nan", '{"power_W": 5}', "[1]", "false"):
        with pytest.raises(ValueError, match=r"payload|number"):
            parse_power(bad)


async def test_feed_merges_the_latest_fresh_battery_value():
    clock = ManualClock()
    source = PushedGridSource(max_age_s=30, clock=clock)
    feed = GridFeed(source, max_age_s=30, clock=clock)
    with pytest.raises(DeviceError):
        await source.read()
    feed.on_grid("-1000")
    assert await source.read() == GridReading(power_W=-1000.0)
    feed.on_battery("2000")
    # Merged into the next grid reading, not into the one already pushed.
    assert (await source.read()).battery_W == 0.0
    feed.on_grid("-900")
    assert await source.read() == GridReading(power_W=-900.0, battery_W=2000.0)
    with pytest.raises(ValueError, match="expected a number"):
        feed.on_battery("garbage")
    assert feed.battery_W == 2000.0
    clock.advance(31)
    feed.on_grid("-800")  # the battery value is stale now: it counts as 0
    assert await source.read() == GridReading(power_W=-800.0, battery_W=0.0)


def test_battery_soc_payloads():
    assert (parse_soc("55.5"), parse_soc("0"), parse_soc('"100"')) == (55.5, 0.0, 100.0)
    for bad in ("", "full", "nan", "-1", "100.1", "1e999", '{"soc": 5}', "[1]", "true"):
        with pytest.raises(ValueError, match=r"payload|number|0-100"):
            parse_soc(bad)


async def test_feed_merges_a_fresh_battery_soc_and_forgets_a_stale_one():
    clock = ManualClock()
    source = PushedGridSource(max_age_s=30, clock=clock)
    feed = GridFeed(source, max_age_s=30, clock=clock)
    feed.on_battery_soc("80")
    feed.on_grid("-900")
    assert (await source.read()).battery_soc == 80.0
    with pytest.raises(ValueError, match="0-100"):
        feed.on_battery_soc("180")
    assert feed.battery_soc == 80.0  # a bad payload keeps the last good value
    clock.advance(31)
    feed.on_grid("-800")  # too old: unknown, so no battery-buffer rule applies
    assert (await source.read()).battery_soc is None


async def test_battery_merged_into_a_meter_source():
    class Meter:
        async def read(self) -> GridReading:
            return GridReading(power_W=100.0, currents_A=(1.0, 1.0, 1.0))

    feed = GridFeed(None, max_age_s=60)
    source = BatteryMergedSource(Meter(), feed)
    feed.on_battery("-300")
    feed.on_battery_soc("64")
    assert await source.read() == GridReading(
        power_W=100.0, currents_A=(1.0, 1.0, 1.0), battery_W=-300.0, battery_soc=64.0
    )
    assert set(feed.inputs(None, BATTERY)) == {BATTERY}
    assert set(feed.inputs(None, None, SOC)) == {SOC}


# ---------------------------------------------------------------------- real broker


async def _until_read(
    source: PushedGridSource, match: Callable[[GridReading], bool]
) -> GridReading:
    """The source's reading once it satisfies ``match``."""
    async with asyncio.timeout(WAIT_S):
        while True:
            try:
                reading = await source.read()
            except DeviceError:
                pass
            else:
                if match(reading):
                    return reading
            await asyncio.sleep(0.01)


async def _until_warnings(caplog: pytest.LogCaptureFixture, count: int) -> list[str]:
    async with asyncio.timeout(WAIT_S):
        while True:
            found = [
                r.getMessage()
                for r in caplog.records
                if r.levelno == logging.WARNING and "ignoring payload" in r.getMessage()
            ]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)


async def test_published_grid_power_reaches_the_source(mosquitto, caplog):
    source = PushedGridSource(max_age_s=60)
    feed = GridFeed(source, max_age_s=60)
    inputs = feed.inputs(GRID, BATTERY, SOC)
    bridge = MqttBridge({}, settings(mosquitto.port, discovery=False), inputs=inputs)
    assert set(bridge.inputs) == {GRID, BATTERY, SOC}
    async with running(bridge), peer(mosquitto.port) as other:
        await other.publish(GRID, "-5000", qos=1)
        reading = await _until_read(source, lambda r: r.power_W == -5000.0)
        assert reading == GridReading(power_W=-5000.0)

        await other.publish(GRID, {"power_W": 1200, "currents_A": [4.5, 0.5, 1]}, qos=1)
        reading = await _until_read(source, lambda r: r.power_W == 1200.0)
        assert reading.currents_A == (4.5, 0.5, 1.0)

        await other.publish(BATTERY, "1800", qos=1)
        await other.publish(SOC, "72", qos=1)
        await other.publish(GRID, "-300", qos=1)
        reading = await _until_read(source, lambda r: r.power_W == -300.0)
        assert reading == GridReading(power_W=-300.0, battery_W=1800.0, battery_soc=72.0)

        caplog.set_level(logging.WARNING, logger="controller.mqtt.bridge")
        bad = [
            "not a number",
            "NaN",
            '{"power_W": "lots"}',
            '{"power_W": 5, "currents_A": [1, 2]}',
            "x" * 500,
        ]
        for payload in bad:
            await other.publish(GRID, payload, qos=1)
        await other.publish(BATTERY, "Infinity", qos=1)
        await other.publish(SOC, "120", qos=1)
        warnings = await _until_warnings(caplog, len(bad) + 2)
        expected = GridReading(power_W=-300.0, battery_W=1800.0, battery_soc=72.0)
        assert await source.read() == expected
        assert bridge.connected  # nothing crashed the bridge
        assert all(GRID in w or BATTERY in w or SOC in w for w in warnings)
        assert any("'not a number'" in w for w in warnings)
        assert all(len(w) < 300 for w in warnings)  # only an excerpt of a long payload
        assert feed.battery_W == 1800.0

        await other.publish(GRID, "250", qos=1)  # still listening after the garbage
        reading = await _until_read(source, lambda r: r.power_W == 250.0)
        assert reading.battery_W == 1800.0


async def test_input_topics_are_subscribed_again_after_a_reconnect(mosquitto):
    source = PushedGridSource(max_age_s=60)
    inputs = GridFeed(source).inputs(GRID, None)
    bridge = MqttBridge({}, settings(mosquitto.port, discovery=False), inputs=inputs)
    async with running(bridge):
        mosquitto.stop()
        for _ in range(int(WAIT_S / 0.02)):  # no event to wait on for a lost link
            if not bridge.connected:
                break
            await asyncio.sleep(0.02)
        assert not bridge.connected
        mosquitto.start()  # a fresh broker: no sessions, no subscriptions
        async with asyncio.timeout(WAIT_S):
            await bridge.wait_connected()
        async with peer(mosquitto.port) as other:
            await other.publish(GRID, "-4321", qos=1)
            reading = await _until_read(source, lambda r: r.power_W == -4321.0)
    assert reading.power_W == -4321.0


# ---------------------------------------------------------------------- end to end


def _limit_A(manager: Any) -> float | None:
    try:
        limits = manager.vars().get("enforced_limits")
    except RuntimeError:
        return None
    if not isinstance(limits, EnforcedLimits) or limits.limits_root_side is None:
        return None
    current = limits.limits_root_side.ac_max_current_A
    return None if current is None else current.value


def _explained(manager: Any) -> dict[str, Any]:
    """The energy manager's explanation (published after the limit is enforced)."""
    body = manager.vars().get("energy_manager")
    return body if isinstance(body, dict) else {}


async def test_controller_charges_from_the_surplus_published_on_mqtt(tmp_path, mosquitto):
    async with AsyncExitStack() as stack:
        sim = await started(stack, simulator())
        section = for_simulator(sim)
        section["energy"] = {
            "mode": "pv",
            "min_current_A": 6,
            "max_current_A": 16,
            "enable_delay_s": 0,
            "disable_delay_s": 0.5,
        }
        config = parse_config(
            {
                "store": str(tmp_path / "sessions.db"),
                "connectors": {"garage": section},
                "mqtt": {
                    "host": "127.0.0.1",
                    "port": mosquitto.port,
                    "discovery": False,
                    "reconnect_min_s": 0.05,
                    "reconnect_max_s": 0.2,
                },
                "energy": {"grid_topic": GRID, "interval_s": 1, "grid_max_age_s": 30},
            }
        )
        assert config.energy is not None
        assert config.energy.grid_meter is None
        controller = Controller(config)
        stack.push_async_callback(controller.stop)
        await controller.start()
        (bridge,) = controller.adapters
        assert isinstance(bridge, MqttBridge)
        assert bridge.inputs == (GRID,)
        async with asyncio.timeout(WAIT_S):
            await bridge.wait_connected()
        manager = controller.managers["garage"]

        async with peer(mosquitto.port) as other:
            await other.publish(GRID, "-5000", qos=1)
            # 5000 W surplus on 3 phases: 7 A (>= the 6 A minimum), no start delay.
            await until(
                manager,
                lambda: (
                    _explained(manager).get("grid_W") == -5000
                    and _explained(manager)["limit_A"] > 0
                ),
                "a current limit from the published surplus",
            )
            limit = _limit_A(manager)
            assert limit is not None
            assert limit == _explained(manager)["limit_A"]
            assert 6 <= limit <= 16
            assert math.isclose(limit, 7.0, abs_tol=1.0)
            assert _explained(manager)["limited_by"] == "surplus"

            await other.publish(GRID, {"power_W": 3000}, qos=1)
            await until(
                manager,
                lambda: (
                    _explained(manager).get("grid_W") == 3000
                    and _explained(manager)["limit_A"] == 0
                ),
                "the stop after the disable delay",
            )
            assert _limit_A(manager) == 0
            assert _explained(manager)["reason"] == "surplus too low: stopped"
