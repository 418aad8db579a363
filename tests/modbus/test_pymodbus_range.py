"""The pymodbus versions Home Assistant's own Modbus integration pins: the oldest the manifest
admits (3.8.3, HA 2025.4, still ``slave=``), 3.11.2 (HA 2026.2 constrains every integration
to it: ``homeassistant/package_constraints.txt``) and 3.13.1 (core Modbus' later pin;
``device_id=`` since 3.10). A controller process whose venv has that pymodbus charges against
the simulator served here (pymodbus 3.16.1) over TCP on 127.0.0.1; and the simulator run
from that venv (``python -m controller.simulator``, as the Home Assistant Simulator entry
runs it on the pymodbus it finds) serves a session to a controller here, or, before 3.11,
refuses to start with a message.

The venv is made per test session with ``uv`` (from its cache a second or so): the test venv
itself must keep 3.16.1, whose server API the simulator needs.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from controller.clock import SystemClock
from controller.config import connector_config, open_connector
from controller.kernel.states import State
from controller.modbus.maps import load_map
from controller.modbus.transport import BusRegistry
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator
from controller.store import SessionStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CORE_PINS = ("3.8.3", "3.11.2", "3.13.1")  # manifest.json admits pymodbus>=3.8.3
SIMULATOR_FROM = (3, 11)  # controller/simulator/server.py: MIN_PYMODBUS
SCENARIO = "plugin;iec_wait_pwr_ready;draw_power_regulated 16,3"
WAIT_S = 30.0
CLIENT = Path(__file__).with_name("range_client.py")


@pytest.fixture(scope="session", params=CORE_PINS)
def client_python(request, tmp_path_factory) -> tuple[Path, str]:
    """A venv with the controller's client requirements and that pymodbus."""
    venv = tmp_path_factory.mktemp(f"pymodbus_{request.param}") / "venv"
    # scripts/bootstrap's uv (the Python 3.11 venv has none), else the test venv's.
    where = os.pathsep.join((str(ROOT / ".uvtool" / "bin"), str(Path(sys.executable).parent)))
    uv = shutil.which("uv", path=f"{where}{os.pathsep}{os.environ.get('PATH', '')}")
    assert uv, "uv is missing: run scripts/bootstrap"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_"))}
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    packages = [f"pymodbus=={request.param}", "PyYAML", "voluptuous", "pyserial"]
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), *packages], check=True, env=env
    )
    return python, request.param


async def _run_client(python: Path, data: dict, station: SimulatedStation) -> dict:
    """The client's report, and the charger's output while the client still runs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        *(str(python), str(CLIENT), json.dumps(data)),
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    line = await child.stdout.readline()
    seen = {**json.loads(line or b"{}"), "output": station.output}
    child.stdin.write(b"stop\n")
    _, err = await child.communicate()
    assert child.returncode == 0, err.decode()[-3000:]
    return seen


async def test_controller_on_core_pymodbus_charges_against_the_simulator(
    client_python, socket_enabled
):
    python, version = client_python
    station = SimulatedStation(clock=SystemClock())
    simulator = ModbusSimulator(
        station, load_map("heidelberg_energy_control"), load_map("eastron_sdm630"), port=0
    )
    await simulator.start()
    try:
        station.plug_in()
        station.draw_power(16.0, 3)
        data = {**simulator.devices(timeout_s=1.0), "free_charging": True}
        seen = await _run_client(python, data, station)
    finally:
        await simulator.stop()
    print(seen)
    assert seen["pymodbus"] == version
    assert seen["charging"], seen
    assert seen["kept_A"] == 10.0
    assert seen["full_W"] > 10000, seen  # 3 x 16 A, read from the meter over Modbus
    assert seen["lowered"], seen
    assert seen["power_W"] > 1000, seen
    # What the charger received over Modbus from that client: the lower current while
    # it ran, the safe state (no power) from its stop.
    assert seen["output"].current_A == 10.0
    assert seen["output"].allow_power
    assert not station.output.allow_power


async def _ports(child: asyncio.subprocess.Process) -> dict[str, int]:
    """The simulator's "charger <map>: <port>" and "meter <map>: <port>" lines."""
    assert child.stdout is not None
    ports: dict[str, int] = {}
    async with asyncio.timeout(WAIT_S):
        while len(ports) < 2:
            kind, _, port = (await child.stdout.readline()).decode().partition(": ")
            assert port, f"the simulator said {kind!r}"
            ports[kind.split()[0]] = int(port)
    return ports


def _connector_data(ports: dict[str, int]) -> dict:
    connection = {"kind": "tcp", "host": "127.0.0.1", "request_gap_ms": 0, "timeout_s": 1.0}
    return {
        "charger": {
            "map": "heidelberg_energy_control",
            "connection": {**connection, "port": ports["charger"]},
        },
        "meter": {
            "map": "eastron_sdm630",
            "connection": {**connection, "port": ports["meter"], "unit": 1},
        },
        "free_charging": True,
    }


async def _charges(data: dict, tmp_path: Path) -> tuple[float, float]:
    """A controller here (pymodbus 3.16.1): the power while charging, then at 10 A."""
    registry, store = BusRegistry(), SessionStore(tmp_path / "sessions.db")
    manager = open_connector(connector_config("garage", data), registry, store, SystemClock())
    manager.poll_interval = 0.2

    def power() -> float:
        sample = manager.vars().get("powermeter")
        return sample.power_W.total if sample is not None and sample.power_W else 0.0

    async def until(done) -> None:
        for _ in range(int(WAIT_S / 0.1)):
            if done():
                return
            await asyncio.sleep(0.1)
        pytest.fail("the controller did not get there")

    try:
        await manager.start()
        await until(lambda: manager.state is State.Charging and power() > 10000)
        full = power()
        await manager.set_max_current(10.0)
        await until(lambda: 0 < power() < full - 1000)  # the PWM follows 5 s later
        return full, power()
    finally:
        await manager.stop()
        await registry.close_all()
        store.close()


async def test_simulator_on_core_pymodbus_serves_a_session(client_python, tmp_path, socket_enabled):
    python, version = client_python
    child = await asyncio.create_subprocess_exec(
        *(str(python), "-m", "controller.simulator", "--port", "0", "--meter-port", "0"),
        *("--scenario", SCENARIO),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        if tuple(int(p) for p in version.split(".")[:2]) < SIMULATOR_FROM:
            _, err = await asyncio.wait_for(child.communicate(), WAIT_S)
            assert child.returncode != 0
            assert f"needs pymodbus 3.11 or newer (installed: {version})" in err.decode()
            return
        full, lowered = await _charges(_connector_data(await _ports(child)), tmp_path)
    finally:
        if child.returncode is None:
            child.terminate()
            await child.wait()
    print(version, full, lowered)
    assert full > 10000  # 3 x 16 A, served by the simulator on that pymodbus
    assert 0 < lowered < 8000  # 3 x 10 A
