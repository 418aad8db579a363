"""OCPP over TLS (security profile 2: wss:// and Basic auth): the central system from an
``ocpp`` section with certfile / keyfile, a wallbox trusting the test CA."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import pytest

from controller.clock import ManualClock
from controller.ocpp.setup import central_system
from controller.ocpp.simulated import SimulatedWallbox
from controller.simulation import SimulatedStation
from controller.simulator.server import free_port
from tests.mqtt.conftest import Certificates

if shutil.which("openssl") is None:
    pytest.skip("openssl is not installed", allow_module_level=True)


async def test_wss_with_password(tmp_path: Path, socket_enabled: None) -> None:
    certs = Certificates.make(tmp_path)
    port = free_port()
    central = central_system(
        {
            "host": "127.0.0.1",
            "port": port,
            "certfile": str(certs.server_cert),
            "keyfile": str(certs.server_key),
        }
    )
    link = central.register("WB-TLS", 1, "long-enough")
    await central.start()
    client_ssl = ssl.create_default_context(cafile=str(certs.ca))
    box = SimulatedWallbox(
        SimulatedStation(clock=ManualClock()),
        f"wss://127.0.0.1:{port}/WB-TLS",
        password="long-enough",
        ssl_context=client_ssl,
    )
    try:
        await box.connect()
        await central.settle()
        assert link.online
        assert link.booted
        assert link.identity.serial == "SIM-WB-TLS"
    finally:
        await box.disconnect()
        await central.stop()
