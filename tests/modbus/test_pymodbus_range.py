"""The client path on the pymodbus versions Home Assistant's own Modbus integration pins: the
oldest the manifest admits (3.8.3, HA 2025.4, still ``slave=``) and 3.13.1 (HA's later pin;
``device_id=`` since 3.10). A controller process whose venv has that pymodbus charges against
the simulator served here (pymodbus 3.16.1) over TCP on 127.0.0.1.

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
from controller.modbus.maps import load_map
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CORE_PINS = ("3.8.3", "3.13.1")  # manifest.json admits pymodbus>=3.8.3
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
