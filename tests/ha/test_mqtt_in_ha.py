"""The controller's MQTT bridge run from inside Home Assistant (an entry option), against a
real mosquitto on 127.0.0.1: the same topics and commands as the standalone controller."""

from __future__ import annotations

import json

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_manager.const import DOMAIN
from custom_components.evse_manager.controller.kernel.states import State
from tests.mqtt.conftest import mosquitto, peer  # noqa: F401 - the broker fixture

from .conftest import entry_data, poll

BASE = "evse_manager/garage"


async def test_entry_publishes_and_takes_commands_over_mqtt(hass, sim, mosquitto):  # noqa: F811
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Garage",
        unique_id="garage-mqtt",
        data=entry_data(sim.simulator),
        options={
            "poll_interval_s": 60.0,
            "mqtt_host": "127.0.0.1",
            "mqtt_port": mosquitto.port,
            "mqtt_base_topic": BASE,
            "mqtt_discovery": False,
        },
    )
    entry.add_to_hass(hass)
    async with peer(mosquitto.port, f"{BASE}/#", "homeassistant/#") as other:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        try:
            await entry.runtime_data.bridge.wait_connected()
            sim.station.plug_in()
            sim.station.draw_power(16.0, 3)
            await poll(hass, entry, sim, steps=8)
            assert entry.runtime_data.manager.state is State.Charging
            events = await other.wait_for(
                f"{BASE}/evse/session_event",
                lambda m: json.loads(m.payload)["event"] == "ChargingStarted",
            )
            assert json.loads(events[0].payload)["uuid"]
            await other.publish(f"{BASE}/evse/cmd/pause_charging", {"id": "ha-1"})
            (reply,) = await other.wait_for(f"{BASE}/evse/result/pause_charging")
            assert json.loads(reply.payload) == {"id": "ha-1", "ok": True, "result": True}
            await poll(hass, entry, sim, steps=3)
            assert entry.runtime_data.manager.state is State.ChargingPausedEVSE
            # Discovery is off: this Home Assistant has the entities already.
            assert not [m for m in other.messages if m.topic.startswith("homeassistant/")]
        finally:
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
        offline = await other.wait_for(f"{BASE}/status", lambda m: m.payload == "offline")
        assert offline
