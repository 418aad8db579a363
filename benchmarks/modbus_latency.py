"""End-to-end latency of one connector over real Modbus TCP on 127.0.0.1, in real time.

The project's simulator serves a Heidelberg Energy Control (charger) and an Eastron SDM630
(meter) on two loopback ports; the controller drives them through ``open_connector`` with
the real ``SystemClock`` and the manager's own background poll loop (``--poll`` seconds).
A simulated EV is plugged in and charging before measuring starts. Two figures:

  (a) command -> register written: from calling ``manager.set_enforced_limits()`` with a
      new current (alternating 10 A / 12 A) until the simulator's Modbus server processes
      the ``max_current`` write carrying that setpoint. The time is taken inside the
      server's write hook (``SimulatedCharger.on_write``), so it excludes the response's
      trip back to the controller and any read-back verification.
  (b) CP change -> session event: from the simulated EV changing its CP state (it pauses:
      C -> B, or resumes: B -> C) until the matching session event (``ChargingPausedEV`` /
      ``ChargingStarted``) reaches a subscriber of the manager. The controller only sees a
      CP change when it next polls, so (b) is dominated by the poll interval: expect
      roughly uniform values between the bus round trip and ``--poll`` (p50 about half the
      interval). Each change is made at a random moment relative to the poll loop.

Before every sample the script waits a random 0..poll seconds so samples do not lock onto
the poll loop's phase. With the defaults (200 samples each, poll 0.25 s) a run takes
about a minute.

    python benchmarks/modbus_latency.py [--samples N] [--poll SECONDS]

``--poll`` is the connector's ``poll_interval_s`` (0.1 to 60 s as the config allows);
one run per invocation, so compare intervals by running it again (e.g. ``--poll 0.1``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from controller.clock import SystemClock
from controller.config import connector_config, open_connector
from controller.everest import EnforcedLimits, LimitsRes, NumberWithSource
from controller.kernel.states import State
from controller.manager import EvseManager, Update
from controller.modbus.maps import load_map
from controller.modbus.transport import BusRegistry
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator
from controller.store import SessionStore

CHARGER = "heidelberg_energy_control"
METER = "eastron_sdm630"
CURRENTS = (10.0, 12.0)
TIMEOUT_S = 10.0  # per sample; far beyond any sane latency


def limits(amps: float) -> EnforcedLimits:
    """An energy-manager limit of ``amps`` until replaced."""
    return EnforcedLimits(
        uuid="evse_manager",
        valid_for=60,
        limits_root_side=LimitsRes(ac_max_current_A=NumberWithSource(value=amps, source="bench")),
    )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5 - 1e-9)))
    return ordered[rank - 1]


class Probe:
    """Timestamps of setpoint writes (taken in the server) and of session events."""

    def __init__(self, simulator: ModbusSimulator) -> None:
        self._writes: list[tuple[float, float]] = []  # (perf_counter, setpoint_A)
        self._events: list[tuple[float, str]] = []  # (perf_counter, event name)
        self._changed = asyncio.Event()
        charger = simulator.charger
        original = charger.on_write

        def on_write(reg: Any, words: list[int], value: Any) -> None:
            original(reg, words, value)
            if reg.name == "max_current":
                self._writes.append((time.perf_counter(), charger.setpoint_A))
                self._changed.set()

        charger.on_write = on_write  # type: ignore[method-assign]

    def on_update(self, update: Update) -> None:
        """Manager listener: record session events as they are delivered."""
        if update.var == "session_event":
            self._events.append((time.perf_counter(), update.value.event.value))
            self._changed.set()

    async def wait_write(self, since: float, amps: float) -> float:
        """The first write of ``amps`` at or after ``since``."""
        return await self._wait(lambda: self._first(self._writes, since, amps))

    async def wait_event(self, since: float, name: str) -> float:
        """The first session event ``name`` at or after ``since``."""
        return await self._wait(lambda: self._first(self._events, since, name))

    @staticmethod
    def _first(log: list[tuple[float, Any]], since: float, match: Any) -> float | None:
        for stamp, value in log:
            if stamp >= since and value == match:
                return stamp
        return None

    async def _wait(self, find: Any) -> float:
        async with asyncio.timeout(TIMEOUT_S):
            while (stamp := find()) is None:
                self._changed.clear()
                await self._changed.wait()
        return stamp


async def measure(samples: int, poll: float, store_path: Path) -> dict[str, list[float]]:  # noqa: PLR0915
    clock = SystemClock()
    station = SimulatedStation(clock=clock)
    simulator = ModbusSimulator(station, load_map(CHARGER), load_map(METER), port=0)
    await simulator.start()
    registry = BusRegistry()
    store = SessionStore(store_path)
    manager: EvseManager | None = None
    try:
        config = connector_config(
            "bench",
            {
                **simulator.devices(timeout_s=1.0),
                "free_charging": True,
                "poll_interval_s": poll,
            },
        )
        config = replace(config, kernel=replace(config.kernel, pwm_update_s=0.0))
        probe = Probe(simulator)
        manager = open_connector(config, registry, store, clock)
        manager.subscribe(probe.on_update)
        await manager.start()
        manager.release_updates()

        start = time.perf_counter()
        station.plug_in()
        station.draw_power(32.0, 3)
        await probe.wait_event(start, "ChargingStarted")
        if manager.state is not State.Charging:
            raise RuntimeError(f"the EV is not charging: {manager.state}")

        results: dict[str, list[float]] = {"command": [], "cp": []}
        rng = random.Random(1)
        for i in range(samples):
            amps = CURRENTS[i % len(CURRENTS)]
            await asyncio.sleep(rng.uniform(0, poll))
            start = time.perf_counter()
            await manager.set_enforced_limits(limits(amps))
            written = await probe.wait_write(start, amps)
            results["command"].append((written - start) * 1000)

        for i in range(samples):
            await asyncio.sleep(rng.uniform(0, poll))
            start = time.perf_counter()
            if i % 2 == 0:
                station.pause()
                expected = "ChargingPausedEV"
            else:
                station.resume()
                expected = "ChargingStarted"
            seen = await probe.wait_event(start, expected)
            results["cp"].append((seen - start) * 1000)
        station.resume()  # leave the EV as found (charging) whatever the sample count
        # Let the task go idle first: the last event is delivered while it still polls, and
        # cancelling it mid-request leaves a stale response on the bus for the safe write.
        await manager.poll_now()
        return results
    finally:
        try:
            if manager is not None:
                await manager.stop()
        finally:
            await registry.close_all()
            store.close()
            await simulator.stop()


def report(results: dict[str, list[float]], poll: float) -> None:
    labels = {
        "command": "(a) set_enforced_limits -> max_current written",
        "cp": "(b) CP change -> session_event delivered",
    }
    n = len(results["command"])
    print(f"Modbus TCP loopback, {CHARGER} + {METER}, poll interval {poll:g} s, {n} samples each")
    print()
    header = f"{'measurement':<48} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}"
    print(header)
    print("-" * len(header))
    for key, label in labels.items():
        values = results[key]
        cells = [percentile(values, q) for q in (50, 95, 99)] + [max(values)]
        print(f"{label:<48} " + " ".join(f"{v:8.1f}" for v in cells))
    print()
    print("all figures in milliseconds; (b) is dominated by the poll interval")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="samples per measurement")
    parser.add_argument(
        "--poll", type=float, default=0.25, help="connector poll_interval_s (0.1-60)"
    )
    args = parser.parse_args()
    if args.samples < 1:
        parser.error("--samples must be at least 1")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(measure(args.samples, args.poll, Path(tmp) / "sessions.db"))
    report(results, args.poll)
    return 0


if __name__ == "__main__":
    sys.exit(main())
