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


def test_auth_id_tags_global_and_per_connector(tmp_path: Path) -> None:
    """The top-level ``auth`` list holds at every connector, a connector's own adds to it
    (each card once); the OCPP reservation expiry is read."""
    doc = document(tmp_path, reservation_expiry_s=600)
    doc["auth"] = {"id_tags": ["CAFE0001", " BEEF0002 "]}
    doc["connectors"]["garage"]["auth"] = {"id_tags": ["BEEF0002", "D00D0003"]}
    doc["connectors"]["carport"] = document(tmp_path, charge_point_id="WB-2")["connectors"][
        "garage"
    ]
    config = parse_config(doc)
    garage, carport = config.connectors
    assert garage.id_tags == ("CAFE0001", "BEEF0002", "D00D0003")
    assert carport.id_tags == ("CAFE0001", "BEEF0002")
    assert garage.ocpp is not None
    assert garage.ocpp.reservation_expiry_s == 600


@pytest.mark.parametrize(
    "auth", [{"id_tags": [""]}, {"id_tags": ["x" * 37]}, {"id_tags": "CAFE"}, {"cards": []}]
)
def test_bad_auth_section_named(tmp_path: Path, auth: dict) -> None:
    doc = document(tmp_path)
    doc["auth"] = auth
    with pytest.raises(ConfigError, match="auth"):
        parse_config(doc)


def test_check_accepts_an_ocpp_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evse.yaml"
    path.write_text(yaml.safe_dump(document(tmp_path)))
    assert main(["--config", str(path), "--check"]) == 0
    assert "valid (garage)" in capsys.readouterr().out


@pytest.mark.parametrize("card", [None, "CAFE0001"])
async def test_controller_runs_an_ocpp_session(
    tmp_path: Path, socket_enabled: None, card: str | None
) -> None:
    """The wallbox connects to the controller's central system at
    ``ws://127.0.0.1:<port>/WB-1``, the connector comes up and charges: free charging, or
    on a card from the ``auth`` list read at the wallbox."""
    port = free_port()
    doc = document(tmp_path, port=port, password="long-enough")
    if card is not None:
        doc["auth"] = {"id_tags": [card]}
        doc["connectors"]["garage"]["free_charging"] = False
    config = parse_config(doc)
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
        if card is not None:
            assert await box.present_card(card) is True
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
