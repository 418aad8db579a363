"""TLS to the broker: the CA from the settings is used and the server is verified."""

from __future__ import annotations

import asyncio
import logging
import ssl

from controller.mqtt import MqttBridge

from .conftest import WAIT_S, peer, running, settings


async def test_tls_with_the_configured_ca(tls_mosquitto, rig):
    broker = tls_mosquitto
    bridge = MqttBridge(
        {"evse1": rig.manager}, settings(broker.port, tls=True, ca_file=str(broker.tls.ca))
    )
    context = ssl.create_default_context(cafile=str(broker.tls.ca))
    async with (
        running(bridge),
        peer(broker.port, "evse_manager/evse1/state", tls_context=context) as other,
    ):
        state = await other.wait_for("evse_manager/evse1/state")
    assert state[-1].json() == "Idle"


async def test_tls_refuses_an_unknown_server_certificate(tls_mosquitto, rig, caplog):
    bridge = MqttBridge({"evse1": rig.manager}, settings(tls_mosquitto.port, tls=True))
    async with running(bridge, connect=False):
        async with asyncio.timeout(WAIT_S):
            while not any(r.levelno == logging.ERROR for r in caplog.records):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        assert not bridge.connected
    error = next(r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert "certificate verify failed" in error
