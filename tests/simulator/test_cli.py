"""The command lines: ``python -m controller.simulator`` and ``python -m controller``."""

import asyncio
import subprocess
import sys

import pytest

from controller.__main__ import main as controller_main
from controller.demo import run_demo
from controller.modbus.device import MappedDevice
from controller.modbus.maps import load_map
from controller.modbus.transport import Endpoint, ModbusBus
from controller.simulator.__main__ import main as simulator_main
from tests.session_events import SESSION_START


def test_list_names_every_map_with_its_kind(capsys):
    assert simulator_main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "charger  heidelberg_energy_control" in out
    assert "meter    eastron_sdm630" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--charger", "nope"], "unknown device map 'nope'"),
        (["--scenario", "plugin;fly"], "unknown command"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_error(capsys, args, message):
    assert simulator_main(args) == 2
    assert message in capsys.readouterr().err


async def test_simulator_process_serves_the_map_and_plays_the_scenario(socket_enabled):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "controller.simulator",
        "--port",
        "0",
        "--meter",
        "none",
        "--scenario",
        "plugin",
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    bus = None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        assert line.startswith(b"charger heidelberg_energy_control: ")
        port = int(line.split(b":")[1])
        bus = ModbusBus(Endpoint(host="127.0.0.1", port=port, timeout_s=1.0))
        device = MappedDevice(load_map("heidelberg_energy_control"), bus, 1)
        for _ in range(50):
            values = await device.read(["cp_state"])
            if values["cp_state"] != "A1":
                break
            await asyncio.sleep(0.1)
        assert str(values["cp_state"]).startswith("B")
    finally:
        if bus is not None:
            await bus.close()
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10)


async def test_demo_plays_a_session_over_modbus(socket_enabled, tmp_path):
    lines: list[str] = []
    await run_demo(tmp_path / "demo.db", out=lines.append)
    assert lines[0].startswith("simulator: heidelberg_energy_control on 127.0.0.1:")
    events = [line.split()[1] for line in lines[1:-1]]
    assert events == [
        *SESSION_START,
        "StoppingCharging",
        "ChargingPausedEV",
        "PrepareCharging",
        "ChargingStarted",
        "StoppingCharging",
        "ChargingPausedEVSE",
        "PrepareCharging",
        "ChargingStarted",
        "StoppingCharging",
        "ChargingFinished",
        "TransactionFinished",
        "SessionFinished",
    ]
    # 16 A x 3 x 230 V for 30 + 10 + 15 minutes (plus the few seconds to settle)
    assert "stopped: Local" in lines[-1]
    kwh = float(lines[-1].split(": ")[1].split()[0])
    assert kwh == pytest.approx(11.04 * 55 / 60, rel=0.01)


def test_check_validates_a_config(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(
        "store: sessions.db\n"
        "connectors:\n"
        "  garage:\n"
        "    charger: {map: heidelberg_energy_control, connection: {kind: tcp, host: 10.0.0.5}}\n"
        "    meter: {map: eastron_sdm630, connection: {kind: tcp, host: 10.0.0.6}}\n"
    )
    assert controller_main(["--config", str(good), "--check"]) == 0
    assert "valid (garage)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("connectors:\n  garage:\n    charger: {map: nope}\n")
    assert controller_main(["--config", str(bad), "--check"]) == 2
    assert "configuration error" in capsys.readouterr().err
