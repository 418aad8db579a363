"""The energy manager as its own process: one site fuse held across controller processes.

Everything real: Heidelberg + SDM630 simulators on 127.0.0.1 (real clock), controllers with
their MQTT bridges, a real mosquitto, and the energy process. The grid meter is this test:
it publishes the house connection's currents (household load plus what the simulated EVs
really draw) on ``site/grid``, as a grid meter feeding MQTT would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.app import Controller
from controller.config import parse_config
from controller.energy.process import EnergyProcess, parse_process_config
from controller.errors import ConfigError
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator
from tests.app.test_controller import simulator, started
from tests.mqtt.conftest import Peer, mosquitto, peer  # noqa: F401

GRID = "site/grid"
HOUSEHOLD_A = 4.0
FUSE_A = 20.0
WAIT_S = 30.0
ROOT = Path(__file__).resolve().parents[2]


def controller_config(base: str, name: str, sim: ModbusSimulator, port: int, db: Path) -> dict:
    """A controller process serving one connector ``name`` under MQTT base ``base``."""
    return {
        "store": str(db),
        "connectors": {
            name: {**sim.devices(timeout_s=0.5), "free_charging": True, "poll_interval_s": 0.2}
        },
        "mqtt": {
            "host": "127.0.0.1",
            "port": port,
            "base_topic": base,
            "discovery": False,
            "reconnect_min_s": 0.1,
            "reconnect_max_s": 0.5,
        },
    }


def energy_config(port: int, db: Path, **site: Any) -> dict:
    """The energy process for connector ``garage`` (process evse_a) and ``carport``
    (process evse_b), both in fast mode under one fuse."""
    return {
        "store": str(db),
        "mqtt": {"host": "127.0.0.1", "port": port, "reconnect_min_s": 0.1},
        "energy": {
            "grid_topic": GRID,
            "fuse_A": FUSE_A,
            "interval_s": 1,
            "limit_valid_s": 5,
            **site,
        },
        "connectors": {
            "garage": {"base_topic": "evse_a", "energy": {"mode": "fast"}},
            "carport": {"base_topic": "evse_b", "energy": {"mode": "fast"}},
        },
    }


def signalled(station: SimulatedStation) -> float:
    """The current the charger offers the EV right now (0 unless PWM)."""
    out = station.output
    return out.current_A if out.charging_allowed else 0.0


async def grid_meter(other: Peer, stations: Iterable[SimulatedStation]) -> None:
    """Publish the house connection every 0.25 s: household load plus the EVs' currents."""
    stations = tuple(stations)
    while True:
        currents = [HOUSEHOLD_A] * 3
        for station in stations:
            for i, amps in enumerate(station.phase_currents()):
                currents[i] += amps
        power = sum(currents) * 230.0
        await other.publish(GRID, {"power_W": power, "currents_A": currents})
        await asyncio.sleep(0.25)


async def until(predicate: Callable[[], bool], what: str, within: float = WAIT_S) -> None:
    """Poll ``predicate`` until it holds: device state lives in the simulators, which
    signal nothing (bounded by ``within`` seconds)."""
    try:
        async with asyncio.timeout(within):
            while not predicate():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


def plug_in(*stations: SimulatedStation) -> None:
    for station in stations:
        station.plug_in()
        station.draw_power(16.0, 3)


@contextlib.asynccontextmanager
async def background(coro: Any) -> AsyncIterator[None]:
    task = asyncio.create_task(coro)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---------------------------------------------------------------------- configuration


def test_config_names_the_bad_field(tmp_path):
    data = energy_config(1883, tmp_path / "e.db")
    data["connectors"]["garage"]["energy"]["mode"] = "turbo"
    with pytest.raises(ConfigError, match="mode"):
        parse_process_config(data)
    data = energy_config(1883, tmp_path / "e.db")
    del data["energy"]["grid_topic"]
    with pytest.raises(ConfigError, match="grid input is required"):
        parse_process_config(data)
    data = energy_config(1883, tmp_path / "e.db")
    data["connectors"]["garage"]["energy"].update(priority_soc=60, buffer_soc=50)
    with pytest.raises(ConfigError, match=r"connectors\.garage\.energy: priority_soc is above"):
        parse_process_config(data)


def test_config_defaults(tmp_path):
    config = parse_process_config(energy_config(1883, tmp_path / "e.db"))
    assert config.mqtt.base_topic == "evse_energy"
    assert [(r.name, r.base_topic, r.connector) for r in config.connectors] == [
        ("garage", "evse_a", "garage"),
        ("carport", "evse_b", "carport"),
    ]
    assert config.connectors[0].settings.module_uuid == "evse_manager"


# ---------------------------------------------------------------------- in one test process


async def test_fuse_shared_across_two_controllers_and_mode_commands(
    tmp_path,
    mosquitto,  # noqa: F811
):
    async with AsyncExitStack() as stack:
        sim_a = await started(stack, simulator())
        sim_b = await started(stack, simulator())
        for base, name, sim in (("evse_a", "garage", sim_a), ("evse_b", "carport", sim_b)):
            data = controller_config(base, name, sim, mosquitto.port, tmp_path / f"{base}.db")
            controller = Controller(parse_config(data))
            await controller.start()
            stack.push_async_callback(controller.stop)
        process = EnergyProcess(
            parse_process_config(energy_config(mosquitto.port, tmp_path / "e.db"))
        )
        await process.start()
        stack.push_async_callback(process.stop)
        other = await stack.enter_async_context(peer(mosquitto.port, "evse_energy/#"))
        await stack.enter_async_context(
            background(grid_meter(other, (sim_a.station, sim_b.station)))
        )
        plug_in(sim_a.station, sim_b.station)
        # 20 A fuse, 4 A household: 16 A for both EVs, 8 A each.
        await until(
            lambda: signalled(sim_a.station) == 8.0 and signalled(sim_b.station) == 8.0,
            "both chargers at 8 A",
        )
        decision = (await other.wait_for("evse_energy/garage/energy_manager"))[-1].json()
        assert decision["fuse_A"] == FUSE_A

        # A malformed command is answered, not fatal; a good one takes effect.
        await other.publish("evse_energy/carport/cmd/set_charge_mode", "{not json")
        bad = await other.wait_for("evse_energy/carport/result/set_charge_mode")
        assert bad[-1].json()["ok"] is False
        await other.publish(
            "evse_energy/carport/cmd/set_charge_mode", {"id": 7, "args": {"mode": "off"}}
        )
        good = await other.wait_for(
            "evse_energy/carport/result/set_charge_mode", lambda m: m.json()["ok"]
        )
        assert good[-1].json()["id"] == 7
        await until(
            lambda: signalled(sim_b.station) == 0.0 and signalled(sim_a.station) == 16.0,
            "carport off, garage given the whole 16 A",
        )
        settings = await other.wait_for(
            "evse_energy/carport/energy_settings", lambda m: m.json()["mode"] == "off"
        )
        assert settings

        # The energy manager goes away: its limits expire and charging stops.
        await process.stop()
        await until(
            lambda: signalled(sim_a.station) == 0.0,
            "garage at 0 A once the last limit expired",
            within=15,
        )


# ---------------------------------------------------------------------- separate processes


def _spawn(module: str, config: dict, path: Path) -> subprocess.Popen[bytes]:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", module, "--config", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _end(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s; waited for off the event loop, which must keep
    serving the simulators while a controller leaves its charger safe."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait, 10)


async def test_two_controller_processes_and_an_energy_process(tmp_path, mosquitto):  # noqa: F811
    """The fuse holds across processes; a controller process that dies leaves its charger
    at its failsafe current and the other gets the room; an energy process that dies lets
    every limit expire, so charging stops."""
    async with AsyncExitStack() as stack:
        sim_a = await started(stack, simulator())
        sim_b = await started(stack, simulator())
        procs = {}
        for base, name, sim in (("evse_a", "garage", sim_a), ("evse_b", "carport", sim_b)):
            data = controller_config(base, name, sim, mosquitto.port, tmp_path / f"{base}.db")
            procs[base] = _spawn("controller", data, tmp_path / f"{base}.yaml")
            stack.push_async_callback(_end, procs[base])
        energy = _spawn(
            "controller.energy",
            energy_config(mosquitto.port, tmp_path / "e.db"),
            tmp_path / "energy.yaml",
        )
        stack.push_async_callback(_end, energy)
        other = await stack.enter_async_context(peer(mosquitto.port))
        await stack.enter_async_context(
            background(grid_meter(other, (sim_a.station, sim_b.station)))
        )
        plug_in(sim_a.station, sim_b.station)
        await until(
            lambda: signalled(sim_a.station) == 8.0 and signalled(sim_b.station) == 8.0,
            "both chargers at 8 A under the shared fuse",
            within=60,
        )

        procs["evse_b"].kill()  # no clean stop: the broker's last will says offline
        await asyncio.to_thread(procs["evse_b"].wait, 10)
        await until(
            lambda: signalled(sim_b.station) == 0.0,
            "carport's charger at its failsafe current (0 A) once the watchdog fired",
        )
        await until(lambda: signalled(sim_a.station) == 16.0, "garage given the room")

        energy.kill()
        await asyncio.to_thread(energy.wait, 10)
        await until(
            lambda: signalled(sim_a.station) == 0.0,
            "garage at 0 A once the dead energy manager's limit expired",
        )


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "controller.energy", "--check", "--config", str(path)]
    return subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_cli_check_validates_and_names_the_error(tmp_path):
    good = tmp_path / "energy.yaml"
    good.write_text(yaml.safe_dump(energy_config(1883, tmp_path / "e.db"), sort_keys=False))
    ok = _check(good)
    assert ok.returncode == 0, ok.stderr
    assert "valid (garage, carport)" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {**energy_config(1883, tmp_path / "e.db"), "connectors": {}}, sort_keys=False
        )
    )
    refused = _check(bad)
    assert refused.returncode == 2
    assert "configuration error" in refused.stderr
    assert "connectors" in refused.stderr, refused.stderr
