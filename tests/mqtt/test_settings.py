"""Settings validation and payload parsing (no broker needed)."""

from __future__ import annotations

import ssl

import pytest
import voluptuous as vol

from controller.catalog import entities
from controller.mqtt import MQTT_SCHEMA, MqttSettings, Topics
from controller.mqtt.discovery import state_payload
from controller.mqtt.payloads import parse_control, parse_request

SPECS = {e.key: e for e in entities()}


def test_defaults():
    s = MqttSettings(**MQTT_SCHEMA({"host": "broker.local"}))
    assert s.port == 1883
    assert s.base_topic == "evse_manager"
    assert s.discovery is True
    assert s.discovery_prefix == "homeassistant"
    assert s.queue_size == 1000
    assert (s.reconnect_min_s, s.reconnect_max_s) == (1.0, 60.0)
    assert s.username is None
    assert s.ssl_context() is None


def test_tls_builds_a_verifying_context():
    s = MqttSettings(**MQTT_SCHEMA({"host": "broker.local", "tls": True, "port": "8883"}))
    context = s.ssl_context()
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert s.port == 8883


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"host": "h", "port": 0},
        {"host": "h", "base_topic": "a/+/b"},
        {"host": "h", "base_topic": "#"},
        {"host": "h", "queue_size": 0},
        {"host": "h", "bogus": 1},
    ],
)
def test_invalid_settings_are_refused(bad):
    with pytest.raises(vol.Invalid):
        MQTT_SCHEMA(bad)


def test_topic_layout():
    t = Topics("site/evse", "ha")
    assert t.var("left", "powermeter") == "site/evse/left/powermeter"
    assert t.discovery("left") == "ha/device/site_evse_left/config"
    assert t.parse("site/evse/left/cmd/pause_charging").name == "pause_charging"
    assert t.parse("site/evse/left/set/enabled").kind == "set"
    assert t.parse("site/evse/left/result/pause_charging") is None
    assert t.parse("other/left/cmd/x") is None


def test_parse_request_forms():
    assert parse_request('{"id": 7, "args": {"a": 1}}') == (7, {"a": 1}, None)
    assert parse_request('{"a": 1}') == (None, {"a": 1}, None)
    assert parse_request("") == (None, {}, None)
    assert parse_request(None) == (None, {}, None)
    assert parse_request('{"id": "x"}') == ("x", {}, None)
    assert parse_request("[]") == (None, None, "payload must be a JSON object")
    assert parse_request("{")[2].startswith("malformed JSON")


def test_parse_control_values():
    assert parse_control(SPECS["enabled"], "ON") is True
    assert parse_control(SPECS["enabled"], "off") is False
    assert parse_control(SPECS["max_current"], "12.5") == 12.5
    assert parse_control(SPECS["pause"], "PRESS") is None
    for spec, payload in (("enabled", "maybe"), ("max_current", "nan"), ("pause", "NOW")):
        with pytest.raises(ValueError, match="expected"):
            parse_control(SPECS[spec], payload)


def test_state_payloads():
    assert state_payload(SPECS["power"], 11040.0) == "11040.0"
    assert state_payload(SPECS["power"], None) == "None"
    assert state_payload(SPECS["charging"], True) == "ON"
    assert state_payload(SPECS["enabled"], False) == "OFF"
    assert state_payload(SPECS["state"], "Charging") == "Charging"
