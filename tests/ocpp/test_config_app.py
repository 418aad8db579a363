"""An OCPP connector in the standalone configuration: validation (and ``--check``), and the
Controller running one session with the simulated wallbox connecting to it (real time)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.__main__ import main
from controller.app import Controller
from controller.clock import SystemClock
from controller.config import parse_config
from controller.errors import ConfigError
from controller.kernel.states import State
from controller.ocpp.simulated import SimulatedWallbox
from controller.simulation import SimulatedStation
from controller.simulator.server import free_port

WAIT_STEPS = 200  # x 0.05 s


def document(tmp_path: Path, port: int = 8887, **charger: Any) -> dict[str, Any]:
    return {
        "store": str(tmp_path / "s.db"),
        "ocpp": {"host": "127.0.0.1", "port": port, "meter_interval_s": 5},
        "connectors": {
            "garage": {
                "charger": {"kind": "ocpp", "charge_point_id": "WB-1", **charger},
                "max_current_A": 16,
                "free_charging": True,
                "poll_interval_s": 0.1,
            }
        },
    }


def test_ocpp_connector_parsed(tmp_path: Path) -> None:
    config = parse_config(document(tmp_path, password="long-enough", connector_id=2))
    c = config.connectors[0]
    assert c.charger is None
    assert c.meter is None
    assert c.ocpp is not None
    assert (c.ocpp.charge_point_id, c.ocpp.connector_id, c.ocpp.password) == (
        "WB-1",
        2,
        "long-enough",
    )
    assert config.ocpp == {"host": "127.0.0.1", "port": 8887, "meter_interval_s": 5}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"charger": {"kind": "ocpp"}}, "charge_point_id"),
        ({"charger": {"kind": "ocpp", "charge_point_id": "a/b"}}, "charge_point_id"),
        ({"charger": {"kind": "ocpp", "charge_point_id": "X", "password": "short"}}, "password"),
        ({"meter": {"map": "eastron_sdm630"}}, "meters itself"),
    ],
)
def test_bad_ocpp_connector_named(tmp_path: Path, change: dict, message: str) -> None:
    doc = document(tmp_path)
    doc["connectors"]["garage"].update(change)
    with pytest.raises(ConfigError, match=message):
        parse_config(doc)


def test_same_charge_point_connector_twice_refused(tmp_path: Path) -> None:
    doc = document(tmp_path)
    doc["connectors"]["second"] = dict(doc["connectors"]["garage"])
    with pytest.raises(ConfigError, match="WB-1 connector 1 twice"):
        parse_config(doc)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"port": 0}, "port"),
        ({"keyfile": "/nonexistent.key"}, "keyfile needs certfile"),
        ({"certfile": "/nonexistent.pem"}, "TLS files"),
    ],
)
def test_bad_ocpp_section_named(tmp_path: Path, section: dict, message: str) -> None:
    doc = document(tmp_path)
    doc["ocpp"] = section
    with pytest.raises(ConfigError, match=message):
        parse_config(doc)


def test_check_accepts_an_ocpp_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evse.yaml"
    path.write_text(yaml.safe_dump(document(tmp_path)))
    assert main(["--config", str(path), "--check"]) == 0
    assert "valid (garage)" in capsys.readouterr().out


async def test_controller_runs_an_ocpp_session(tmp_path: Path, socket_enabled: None) -> None:
    """The wallbox connects to the controller's central system at
    ``ws://127.0.0.1:<port>/WB-1``, the connector comes up and charges (free charging)."""
    port = free_port()
    config = parse_config(document(tmp_path, port=port, password="long-enough"))
    station = SimulatedStation(clock=SystemClock())
    box = SimulatedWallbox(
        station, f"ws://127.0.0.1:{port}/WB-1", version="2.0.1", password="long-enough"
    )
    controller = Controller(config)

    async def connect_when_listening() -> None:
        for _ in range(WAIT_STEPS):
            if controller.central is not None:
                break
            await asyncio.sleep(0.01)
        await box.connect()

    # The wallbox connects while the controller starts (its connector waits for it).
    await asyncio.gather(controller.start(), connect_when_listening())
    try:
        manager = controller.managers["garage"]
        for _ in range(WAIT_STEPS):
            if manager.running:
                break
            await box.step()
            await asyncio.sleep(0.05)
        assert manager.running
        station.plug_in()
        station.draw_power(16, 3)
        for _ in range(WAIT_STEPS):
            await box.step()
            if manager.state is State.Charging and station.power_W() > 0:
                break
            await asyncio.sleep(0.05)
        assert manager.state is State.Charging
        assert station.phase_currents() == (16.0, 16.0, 16.0)
    finally:
        await controller.stop()
        await box.disconnect()
