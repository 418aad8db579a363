"""``python -m controller`` as a user runs it: --check and start on one config (issue 12)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CONNECTOR = """
connectors:
  garage:
    charger:
      map: heidelberg_energy_control
      connection: {kind: tcp, host: 127.0.0.1, port: 1, timeout_s: 0.2}
"""


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=Path(__file__).parents[2],
    )


def run_code(code: str) -> subprocess.CompletedProcess[str]:
    """``python -c code`` from the project root; it must exit 0."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )


def test_check_refuses_an_http_section_without_a_token(tmp_path):
    """It said "valid", then the start crashed with a traceback."""
    config = tmp_path / "evse.yaml"
    config.write_text(f"store: {tmp_path}/s.db\n{CONNECTOR}http: {{port: 8080}}\n")
    result = run("--config", str(config), "--check")
    assert result.returncode == 2
    assert "http: token is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_start_failure_after_a_good_check_is_one_line_not_a_traceback(tmp_path, socket_enabled):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "evse.yaml"
        config.write_text(f"store: {tmp_path}/s.db\n{CONNECTOR}http: {{port: {port}, token: t}}\n")
        assert run("--config", str(config), "--check").returncode == 0
        result = run("--config", str(config))
    assert result.returncode == 1
    assert "cannot start: OSError" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_check_refuses_special_files_at_once(tmp_path, target):
    if target == "fifo":
        fifo = tmp_path / "evse.yaml"

        os.mkfifo(fifo)
        target = str(fifo)
    result = run("--config", target, "--check", timeout=30)
    assert result.returncode == 2
    assert "not a regular file" in result.stderr


def test_the_controller_does_not_import_the_demo():
    """``python -m controller --config`` needs neither the simulator (pymodbus' server,
    the simulated EV) nor aiohttp (HTTP is imported only when configured)."""
    code = (
        "import sys, controller.__main__; "
        "print(sorted(m for m in ('controller.demo', 'controller.simulator', "
        "'controller.simulation', 'pymodbus.server', 'aiohttp') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_a_modbus_configuration_with_mqtt_and_http_does_not_import_ocpp(tmp_path):
    """The OCPP package and websockets are 12.9 MiB of RSS (README "Scale"): a started
    controller with a Modbus connector (retrying its charger), MQTT (retrying its broker)
    and HTTP loads neither."""
    config = tmp_path / "evse.yaml"
    config.write_text(
        f"store: {tmp_path}/s.db\n{CONNECTOR}"
        "mqtt: {host: 127.0.0.1, port: 1}\nhttp: {port: 0, token: t}\n"
    )
    code = (
        "import asyncio, sys\n"
        "from controller.app import Controller\n"
        "from controller.config import load_config\n"
        "async def main():\n"
        f"    controller = Controller(load_config({str(config)!r}))\n"
        "    await controller.start()\n"
        "    try:\n"
        "        print(sorted(type(a).__name__ for a in controller.adapters))\n"
        "        print(sorted(m for m in ('ocpp', 'websockets', 'controller.ocpp.central', "
        "'controller.ocpp.setup', 'controller.ocpp.backend.client') if m in sys.modules))\n"
        "    finally:\n"
        "        await controller.stop()\n"
        "asyncio.run(main())\n"
    )
    out = run_code(code)
    assert out.stdout.splitlines() == ["['HttpApi', 'MqttBridge']", "[]"]


def test_a_started_service_has_its_start_up_heap_frozen():
    """After start the cyclic GC no longer walks what start-up built (a full collection
    held the loop 170-220 ms at 300 connectors, README "Scale"); the service runs on."""
    code = (
        "import asyncio, gc, os, signal\n"
        "from controller.service import run_until_signalled\n"
        "class Service:\n"
        "    async def start(self):\n"
        "        self.before = gc.get_freeze_count()\n"
        "        asyncio.get_running_loop().call_later(0.2, os.kill, os.getpid(), signal.SIGTERM)\n"
        "    async def stop(self):\n"
        "        print(self.before, gc.get_freeze_count() > 1000)\n"
        "raise SystemExit(asyncio.run(run_until_signalled(Service())))\n"
    )
    out = run_code(code)
    assert out.stdout.split() == ["0", "True"]
