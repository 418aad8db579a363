"""The standalone Controller from a config dict, against simulators on 127.0.0.1.

Real time throughout: the simulators' stations and the controller both run on the system
clock, connectors poll every 0.1 s, and waits are event-driven with a timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest

from controller import app as app_module
from controller import manager as manager_module
from controller.app import Controller
from controller.clock import SystemClock
from controller.config import parse_config
from controller.http import HttpApi
from controller.kernel.states import State
from controller.manager import EvseManager
from controller.modbus.maps import load_map
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator
from controller.simulator.server import free_port

CHARGER = "heidelberg_energy_control"
METER = "eastron_sdm630"
TOKEN = "app-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WAIT_S = 10.0


def simulator(port: int = 0, meter_port: int = 0) -> ModbusSimulator:
    """A Heidelberg + SDM630 over a station on the real clock (not started)."""
    station = SimulatedStation(clock=SystemClock())
    return ModbusSimulator(
        station, load_map(CHARGER), load_map(METER), port=port, meter_port=meter_port
    )


def _connection(port: int, unit: int | None = None) -> dict[str, Any]:
    conn: dict[str, Any] = {
        "kind": "tcp",
        "host": "127.0.0.1",
        "port": port,
        "timeout_s": 0.5,
        "request_gap_ms": 0,
    }
    if unit is not None:
        conn["unit"] = unit
    return conn


def connector(charger_port: int, meter_port: int, meter_unit: int = 1) -> dict[str, Any]:
    """One connector's config section, free charging, polling every 0.1 s."""
    return {
        "charger": {"map": CHARGER, "connection": _connection(charger_port)},
        "meter": {"map": METER, "connection": _connection(meter_port, meter_unit)},
        "free_charging": True,
        "poll_interval_s": 0.1,
    }


def for_simulator(sim: ModbusSimulator) -> dict[str, Any]:
    """The connector section that reaches ``sim``."""
    assert sim.meter_port is not None
    assert sim.meter_unit is not None
    return connector(sim.port, sim.meter_port, sim.meter_unit)


def state_of(manager: EvseManager) -> State | None:
    """The state, or None while the connector waits for its devices."""
    try:
        return manager.state
    except RuntimeError:
        return None


def session_events(events: list[Any]) -> list[str]:
    return [u.value.event.value for u in events if u.var == "session_event"]


async def until(manager: EvseManager, predicate: Callable[[], bool], what: str) -> None:
    """Wait for ``predicate`` to hold, re-checking on every update of ``manager``."""
    changed = asyncio.Event()
    unsubscribe = manager.subscribe(lambda _update: changed.set())
    try:
        async with asyncio.timeout(WAIT_S):
            while not predicate():
                changed.clear()
                await changed.wait()
    except TimeoutError:
        pytest.fail(f"{manager.name}: timed out waiting for {what} (state {state_of(manager)})")
    finally:
        unsubscribe()


async def start_charging(manager: EvseManager, station: SimulatedStation) -> None:
    """Plug in an EV that wants 16 A on 3 phases and wait until it charges."""
    station.plug_in()
    station.draw_power(16.0, 3)
    await until(
        manager,
        lambda: state_of(manager) is State.Charging and station.power_W() > 0,
        "charging",
    )


async def started(stack: AsyncExitStack, sim: ModbusSimulator) -> ModbusSimulator:
    await sim.start()
    stack.push_async_callback(sim.stop)
    return sim


async def test_two_connectors_run_independently(tmp_path, socket_enabled):
    async with AsyncExitStack() as stack:
        left = await started(stack, simulator())
        right = await started(stack, simulator())
        config = parse_config(
            {
                "store": str(tmp_path / "sessions.db"),
                "connectors": {"left": for_simulator(left), "right": for_simulator(right)},
            }
        )
        controller = Controller(config)
        try:
            await controller.start()
            assert set(controller.managers) == {"left", "right"}
            m_left, m_right = controller.managers["left"], controller.managers["right"]
            assert state_of(m_left) is State.Idle
            assert state_of(m_right) is State.Idle
            right_updates: list[Any] = []
            m_right.subscribe(right_updates.append)

            await start_charging(m_left, left.station)
            assert left.charger.setpoint_A == pytest.approx(16.0)
            await asyncio.sleep(0.5)  # several poll rounds of the right connector

            assert state_of(m_left) is State.Charging
            assert state_of(m_right) is State.Idle
            assert m_right.available
            assert session_events(right_updates) == []
            assert right.station.power_W() == 0
            assert right.station.energy_Wh == 0
            assert right.charger.setpoint_A == 0
            assert m_left.vars()["powermeter"].power_W.total > 0
            assert m_right.vars()["powermeter"].power_W.total == 0
        finally:
            await controller.stop()


async def test_unreachable_connector_retries_without_stopping_others(
    tmp_path, socket_enabled, monkeypatch
):
    monkeypatch.setattr(app_module, "RETRY_MIN_S", 0.05)
    monkeypatch.setattr(app_module, "RETRY_MAX_S", 0.2)
    late_charger_port, late_meter_port = free_port(), free_port()
    async with AsyncExitStack() as stack:
        early = await started(stack, simulator())
        config = parse_config(
            {
                "store": str(tmp_path / "sessions.db"),
                "connectors": {
                    "early": for_simulator(early),
                    "late": connector(late_charger_port, late_meter_port),
                },
            }
        )
        controller = Controller(config)
        try:
            await controller.start()
            m_early, m_late = controller.managers["early"], controller.managers["late"]
            assert state_of(m_early) is State.Idle
            assert state_of(m_late) is None  # nothing listens: retrying in the background
            assert not m_late.available

            await start_charging(m_early, early.station)
            await asyncio.sleep(0.3)  # several failed retries of the late connector
            assert state_of(m_late) is None

            late = await started(stack, simulator(late_charger_port, late_meter_port))
            assert late.port == late_charger_port
            await until(m_late, lambda: state_of(m_late) is State.Idle, "the late connector")
            assert m_late.available
            assert state_of(m_early) is State.Charging  # undisturbed by the late start

            await start_charging(m_late, late.station)
            assert late.charger.setpoint_A == pytest.approx(16.0)
        finally:
            await controller.stop()


async def test_http_section_serves_the_connectors(tmp_path, socket_enabled):
    async with AsyncExitStack() as stack:
        one = await started(stack, simulator())
        two = await started(stack, simulator())
        config = parse_config(
            {
                "store": str(tmp_path / "sessions.db"),
                "connectors": {"one": for_simulator(one), "two": for_simulator(two)},
                "http": {"host": "127.0.0.1", "port": 0, "token": TOKEN},
            }
        )
        controller = Controller(config)
        try:
            await controller.start()
            (api,) = [a for a in controller.adapters if isinstance(a, HttpApi)]
            assert api.port > 0
            await start_charging(controller.managers["one"], one.station)
            url = f"http://127.0.0.1:{api.port}/api/connectors"
            async with aiohttp.ClientSession() as session:
                async with session.get(url, headers=AUTH) as response:
                    assert response.status == 200
                    body = await response.json()
                async with session.get(url) as response:
                    assert response.status == 401
            by_name = {c["name"]: c for c in body}
            assert list(by_name) == ["one", "two"]
            assert by_name["one"]["state"] == "Charging"
            assert by_name["two"]["state"] == "Idle"
            assert all(c["available"] for c in body)
            assert by_name["one"]["charger"]["vendor"] == "Heidelberg"
            assert by_name["one"]["charger"]["model"] == "Wallbox Energy Control"
        finally:
            await controller.stop()


async def test_stop_leaves_the_charger_safe_and_closes_everything(tmp_path, socket_enabled):
    async with AsyncExitStack() as stack:
        sim = await started(stack, simulator())
        config = parse_config(
            {
                "store": str(tmp_path / "sessions.db"),
                "connectors": {"garage": for_simulator(sim)},
                "http": {"host": "127.0.0.1", "port": 0, "token": TOKEN},
            }
        )
        controller = Controller(config)
        stopped = False
        try:
            await controller.start()
            (api,) = controller.adapters
            assert isinstance(api, HttpApi)
            port = api.port
            await start_charging(controller.managers["garage"], sim.station)
            assert sim.station.relays_on()

            await controller.stop()
            stopped = True

            assert sim.station.power_W() == 0
            assert not sim.station.relays_on()
            assert not sim.station.output.allow_power
            assert sim.charger.setpoint_A == 0 or not sim.charger.enabled
            requests = sim.charger.requests, sim.meter.requests  # type: ignore[union-attr]
            await asyncio.sleep(0.4)  # four poll intervals: nothing polls any more
            assert (sim.charger.requests, sim.meter.requests) == requests  # type: ignore[union-attr]
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.ClientConnectionError):
                    await session.get(f"http://127.0.0.1:{port}/api/health")
            with pytest.raises(RuntimeError):
                await controller.managers["garage"].poll_now()
        finally:
            if not stopped:
                await controller.stop()


async def test_a_meter_sample_is_stamped_once(tmp_path, socket_enabled, monkeypatch):
    """Without a clock given, the controller's parts still share one: the Modbus meter
    stamps its sample and the connector takes that stamp as it is (formatting the time
    again on every poll was 1 % of the CPU at 300 connectors)."""
    restamped: list[str] = []
    original = manager_module.rfc3339

    def stamp(moment: Any) -> str:
        restamped.append(original(moment))
        return restamped[-1]

    monkeypatch.setattr(manager_module, "rfc3339", stamp)
    async with AsyncExitStack() as stack:
        sim = await started(stack, simulator())
        config = parse_config(
            {"store": str(tmp_path / "sessions.db"), "connectors": {"one": for_simulator(sim)}}
        )
        controller = Controller(config)
        try:
            await controller.start()
            manager = controller.managers["one"]
            await start_charging(manager, sim.station)
            stamps = {manager.vars()["powermeter"].timestamp}
            await until(
                manager,
                lambda: stamps.add(manager.vars()["powermeter"].timestamp) or len(stamps) > 3,
                "new meter samples",
            )
        finally:
            await controller.stop()
    assert restamped == []
    assert all(stamp.endswith("Z") for stamp in stamps)
