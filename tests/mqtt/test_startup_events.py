"""Events of the controller's start-up reach MQTT like every other event.

A transaction left open by the previous run is finished at start-up (the EV was unplugged
meanwhile): SessionResumed, TransactionFinished(PowerLoss) and SessionFinished are emitted
before any adapter could have subscribed, unless the manager holds them until released.
Real parts: the project's simulator over Modbus TCP, the standalone Controller, mosquitto.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any

from controller.app import Controller
from controller.config import parse_config
from tests.app.test_controller import for_simulator, simulator, start_charging, started
from tests.mqtt.conftest import peer

TOPIC = "evse_manager/garage/session_event"


def config(tmp_path, sim, mqtt_port: int | None = None) -> Any:
    data: dict[str, Any] = {
        "store": str(tmp_path / "sessions.db"),
        "connectors": {"garage": for_simulator(sim)},
    }
    if mqtt_port is not None:
        data["mqtt"] = {
            "host": "127.0.0.1",
            "port": mqtt_port,
            "discovery": False,
            "reconnect_min_s": 0.05,
            "reconnect_max_s": 0.2,
        }
    return parse_config(data)


async def test_power_loss_finish_at_start_up_is_published(tmp_path, mosquitto):
    async with AsyncExitStack() as stack:
        sim = await started(stack, simulator())
        first = Controller(config(tmp_path, sim))
        await first.start()
        try:
            await start_charging(first.managers["garage"], sim.station)
            session = first.managers["garage"].kernel.transaction.session_id
        finally:
            await first.stop()  # the transaction stays open in the store
        sim.station.unplug()  # while no controller runs

        async with peer(mosquitto.port, TOPIC) as other:
            second = Controller(config(tmp_path, sim, mosquitto.port))
            stack.push_async_callback(second.stop)
            await second.start()
            found = await other.wait_for(
                TOPIC, lambda m: m.json()["event"] == "SessionFinished" and not m.retain
            )
            events = [json.loads(m.payload) for m in other.on(TOPIC) if not m.retain]
            mine = [e for e in events if e["uuid"] == session]
            assert [e["event"] for e in mine] == [
                "SessionResumed",
                "TransactionFinished",
                "SessionFinished",
            ]
            assert mine[1]["transaction_finished"]["reason"] == "PowerLoss"
            assert found
