"""Home Assistant discovery messages as seen on the broker."""

from __future__ import annotations

from controller.catalog import entities
from controller.mqtt import MqttBridge

from .conftest import peer, running, settings

BASE = "evse_manager/evse1"
DISCOVERY = "homeassistant/device/evse_manager_evse1/config"


async def test_discovery_is_published_and_resent_on_ha_birth(mosquitto, rig):
    async with running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))) as bridge:
        await bridge.flush()
        async with peer(mosquitto.port, DISCOVERY) as ha:
            first = await ha.wait_for(DISCOVERY)
            await ha.publish("homeassistant/status", "online")
            again = await ha.wait_for(DISCOVERY, count=2)

    config = first[0].json()
    assert first[0].retain
    assert again[1].json() == config
    assert config["dev"] == {
        "identifiers": ["evse_manager_evse1"],
        "name": "evse1",
        "manufacturer": "Simulated",
        "model": "In-memory charge controller",
        "sw_version": "1.0",
        "serial_number": "SIM-0001",
    }
    assert config["o"] == {"name": "evse_manager"}
    assert config["availability"] == [
        {"topic": "evse_manager/status"},
        {"topic": f"{BASE}/availability"},
    ]
    assert config["availability_mode"] == "all"
    cmps = config["cmps"]
    assert list(cmps) == [e.key for e in entities(values={})]
    assert cmps["power"] == {
        "p": "sensor",
        "unique_id": "evse_manager_evse1_power",
        "object_id": "evse_manager_evse1_power",
        "name": "Power",
        "device_class": "power",
        "state_topic": f"{BASE}/state/power",
        "unit_of_measurement": "W",
        "state_class": "measurement",
    }
    assert cmps["enabled"] == {
        "p": "switch",
        "unique_id": "evse_manager_evse1_enabled",
        "object_id": "evse_manager_evse1_enabled",
        "name": "Enabled",
        "entity_category": "config",
        "state_topic": f"{BASE}/state/enabled",
        "command_topic": f"{BASE}/set/enabled",
        "payload_on": "ON",
        "payload_off": "OFF",
    }
    assert cmps["energy"]["suggested_display_precision"] == 2  # as the HA integration shows it
    assert cmps["max_current"]["min"] == 0.0
    assert cmps["max_current"]["max"] == 32.0
    assert cmps["max_current"]["step"] == 1.0
    assert cmps["max_current"]["command_topic"] == f"{BASE}/set/max_current"
    assert cmps["pause"]["payload_press"] == "PRESS"
    assert "state_topic" not in cmps["pause"]
    assert cmps["session_event"]["p"] == "event"
    assert cmps["session_event"]["state_topic"] == f"{BASE}/state/session_event"
    assert "ChargingStarted" in cmps["session_event"]["event_types"]
    assert "Charging" in cmps["state"]["options"]
    assert cmps["voltage_l1"]["enabled_by_default"] is False
    assert cmps["voltage_l1"]["entity_category"] == "diagnostic"


async def test_event_entity_gets_event_type(mosquitto, rig):
    async with (
        running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))),
        peer(mosquitto.port, f"{BASE}/state/session_event") as ha,
    ):
        rig.station.plug_in()
        await rig.poll()
        events = await ha.wait_for(
            f"{BASE}/state/session_event", lambda m: m.json()["event_type"] == "SessionStarted"
        )
    assert events[0].json()["event"] == "SessionStarted"
    assert not events[0].retain


async def test_remove_connector_clears_discovery_and_retained_topics(mosquitto, rig):
    async with running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))) as bridge:
        await rig.start_charging()
        await bridge.flush()
        async with peer(mosquitto.port, DISCOVERY) as ha:
            await ha.wait_for(DISCOVERY, lambda m: m.payload != "")
            await bridge.remove_connector("evse1")
            cleared = await ha.wait_for(DISCOVERY, lambda m: m.payload == "")
        # A removed connector is no longer published.
        rig.station.unplug()
        await rig.poll()
        await bridge.flush()
        async with peer(mosquitto.port, "evse_manager/#", "homeassistant/#") as late:
            await late.publish("evse_manager/marker", "x")
            await late.wait_for("evse_manager/marker")

    assert cleared[-1].retain is False
    assert {m.topic for m in late.messages} == {
        "evse_manager/status",
        "evse_manager/connectors",
        "evse_manager/marker",
    }
    (served,) = [m for m in late.messages if m.topic == "evse_manager/connectors"]
    assert served.payload == "[]"


async def test_a_connector_gone_from_the_configuration_is_retired_at_start(mosquitto, rig):
    first = MqttBridge({"evse1": rig.manager, "carport": rig.manager}, settings(mosquitto.port))
    async with running(first) as bridge:
        await bridge.flush()
    carport = "homeassistant/device/evse_manager_carport/config"
    async with peer(mosquitto.port, carport, "evse_manager/carport/#") as ha:
        await ha.wait_for(carport, lambda m: m.payload != "")
        async with running(MqttBridge({"evse1": rig.manager}, settings(mosquitto.port))) as b:
            await ha.wait_for(carport, lambda m: m.payload == "")
            await b.flush()
    async with peer(mosquitto.port, "evse_manager/#", "homeassistant/#") as late:
        await late.publish("evse_manager/marker", "x")
        await late.wait_for("evse_manager/marker")
    left = {m.topic for m in late.messages if m.retain}
    assert not [t for t in left if "carport" in t], left
    assert "homeassistant/device/evse_manager_evse1/config" in left


async def test_discovery_can_be_disabled(mosquitto, rig):
    bridge = MqttBridge({"evse1": rig.manager}, settings(mosquitto.port, discovery=False))
    async with running(bridge):
        await bridge.flush()
        async with peer(mosquitto.port, "homeassistant/#", f"{BASE}/state/power") as ha:
            await ha.publish("homeassistant/marker", "x")
            await ha.wait_for("homeassistant/marker")
            power = await ha.wait_for(f"{BASE}/state/power")

    assert {m.topic for m in ha.messages} == {"homeassistant/marker", f"{BASE}/state/power"}
    assert power[0].payload == "0.0"


def test_energy_tuning_numbers_are_discovered_with_an_energy_manager():
    """The import budget is a number like the other energy tuning entities (catalog
    ENERGY_ENTITIES), so MQTT discovery offers it once energy_settings is published."""
    from controller.mqtt.discovery import config
    from controller.mqtt.topics import Topics

    topics = Topics(BASE.rsplit("/", 1)[0])
    assert "surplus_import_budget" not in config("evse1", None, {}, topics)["cmps"]
    values = {"energy_settings": {"mode": "pv", "import_budget_Wh": 150.0}}
    budget = config("evse1", None, values, topics)["cmps"]["surplus_import_budget"]
    assert budget["p"] == "number"
    assert budget["unit_of_measurement"] == "Wh"
    assert budget["command_topic"] == f"{BASE}/set/surplus_import_budget"
    assert (budget["min"], budget["max"], budget["step"]) == (0, 100_000, 10)
