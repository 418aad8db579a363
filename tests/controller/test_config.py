"""The standalone configuration: valid files load, every mistake names its field."""

import os
from pathlib import Path

import pytest
import yaml

from controller.config import load_config, parse_config
from controller.errors import ConfigError
from controller.files import MAX_YAML_BYTES

VALID = """
store: /tmp/evse.db
connectors:
  garage:
    charger:
      map: heidelberg_energy_control
      connection: {kind: tcp, host: 192.0.2.10, port: 502, unit: 3}
    meter:
      map: eastron_sdm630
      connection: {serial_port: /dev/ttyUSB0, unit: 2}
    max_current_A: 16
    phases: 3
    failsafe_current_A: 6
"""


def _config(text, tmp_path):
    path = tmp_path / "evse.yaml"
    path.write_text(text)
    return load_config(path)


def test_valid_file_resolves_maps_and_transport_defaults(tmp_path):
    config = _config(VALID, tmp_path)
    (garage,) = config.connectors
    assert garage.name == "garage"
    assert garage.charger.map.id == "heidelberg_energy_control"
    assert garage.charger.endpoint.kind == "tcp"
    assert garage.charger.endpoint.host == "192.0.2.10"
    assert garage.charger.unit == 3
    # The meter connection takes the SDM630's RTU defaults (9600 8N1, unit from config).
    assert garage.meter.endpoint.kind == "rtu"
    assert garage.meter.endpoint.baudrate == 9600
    assert garage.meter.endpoint.serial_port == "/dev/ttyUSB0"
    assert garage.meter.unit == 2
    assert garage.charger_settings.failsafe_current_A == 6
    assert garage.kernel.max_current_A == 16


def test_builtin_meter_is_the_charger(tmp_path):
    config = _config(
        """
connectors:
  drive:
    charger: {map: heidelberg_energy_control, connection: {serial_port: /dev/ttyS1}}
""",
        tmp_path,
    )
    (drive,) = config.connectors
    assert drive.meter is drive.charger
    assert drive.charger.endpoint.parity == "E"  # Heidelberg's 19200 8E1 default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("connectors: {}", "connectors"),
        ("- a list", "must be a mapping"),
        ("connectors: {Bad Name: {}}", "connector names"),
        (
            "connectors: {a: {charger: {map: no_such_map, connection: {host: h}}}}",
            "connectors.a.charger.map: unknown device map 'no_such_map'",
        ),
        (
            "connectors: {a: {charger: {map: heidelberg_energy_control}}}",
            "connectors.a.charger.connection.serial_port: required for rtu",
        ),
        (
            "connectors: {a: {charger: {map: heidelberg_energy_control, connection: {kind: tcp}}}}",
            "connectors.a.charger.connection.host: required for tcp",
        ),
        (
            "connectors: {a: {charger: {map: eastron_sdm630, connection: {host: h, kind: tcp}}}}",
            "eastron_sdm630 is a meter map",
        ),
        (
            "connectors: {a: {charger: {map: heidelberg_energy_control, "
            "connection: {host: h, kind: tcp}}, max_current_A: 500}}",
            "max_current_A",
        ),
        ("connectors: [", "not valid YAML"),
    ],
)
def test_mistakes_name_the_field(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        _config(text, tmp_path)
    assert message in str(err.value)
    assert "evse.yaml" in str(err.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_parse_config_rejects_non_mapping():
    with pytest.raises(ConfigError, match="mapping"):
        parse_config(None)


ENERGY = """
connectors:
  garage:
    charger: {map: heidelberg_energy_control, connection: {kind: tcp, host: 192.0.2.10}}
    phases: 3
    energy: {mode: minpv, max_current_A: 16, phase_switching: true, enable_delay_s: 30}
energy:
  grid_meter: {map: eastron_sdm630, connection: {serial_port: /dev/ttyUSB1}}
  fuse_A: 35
"""


def test_energy_section(tmp_path):
    config = _config(ENERGY, tmp_path)
    (garage,) = config.connectors
    assert garage.energy_mode.value == "minpv"
    assert garage.energy.phase_switching is True
    assert garage.energy.enable_delay_s == 30
    assert garage.energy.disable_delay_s == 180  # default
    assert config.energy.site.fuse_A == 35
    assert config.energy.grid_meter.map.id == "eastron_sdm630"


def test_energy_grid_meter_needs_power(tmp_path):
    text = ENERGY.replace("map: eastron_sdm630", "map: heidelberg_energy_control")
    # The Heidelberg has a power register, so it is a valid (if odd) grid meter;
    # an unknown mode is not valid.
    _config(text, tmp_path)
    with pytest.raises(ConfigError, match="mode"):
        _config(ENERGY.replace("mode: minpv", "mode: turbo"), tmp_path)


MQTT_GRID = """
connectors:
  garage:
    charger: {map: heidelberg_energy_control, connection: {kind: tcp, host: 192.0.2.10}}
    energy: {mode: pv}
mqtt: {host: 127.0.0.1}
energy:
  grid_topic: house/grid/power
  fuse_A: 35
"""


def test_energy_grid_from_an_mqtt_topic(tmp_path):
    config = _config(MQTT_GRID, tmp_path)
    energy = config.energy
    assert energy.grid_meter is None
    assert energy.grid_topic == "house/grid/power"
    assert energy.battery_topic is None
    assert energy.grid_max_age_s == 60  # default
    assert energy.topics == ("house/grid/power",)
    assert energy.site.fuse_A == 35


def test_energy_battery_topic_and_max_age(tmp_path):
    text = MQTT_GRID.replace(
        "fuse_A: 35", "battery_topic: house/battery/power\n  grid_max_age_s: 20"
    )
    energy = _config(text, tmp_path).energy
    assert energy.battery_topic == "house/battery/power"
    assert energy.grid_max_age_s == 20
    assert energy.topics == ("house/grid/power", "house/battery/power")


def test_energy_battery_soc_topic(tmp_path):
    text = MQTT_GRID.replace("fuse_A: 35", "battery_soc_topic: house/battery/soc")
    energy = _config(text, tmp_path).energy
    assert energy.battery_soc_topic == "house/battery/soc"
    assert energy.topics == ("house/grid/power", "house/battery/soc")


def test_energy_meter_config_keeps_working_without_topics(tmp_path):
    energy = _config(ENERGY, tmp_path).energy
    assert energy.grid_topic is None
    assert energy.battery_topic is None
    assert energy.topics == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            MQTT_GRID.replace(
                "  fuse_A: 35",
                "  grid_meter: {map: eastron_sdm630, connection: {serial_port: /dev/ttyUSB1}}",
            ),
            "energy: set either grid_meter or grid_topic, not both",
        ),
        (
            MQTT_GRID.replace("  grid_topic: house/grid/power\n", ""),
            "energy: a grid input is required: grid_meter",
        ),
        (
            MQTT_GRID.replace("mqtt: {host: 127.0.0.1}\n", ""),
            "energy.grid_topic: reading an MQTT topic needs the mqtt section",
        ),
        (
            ENERGY + "  battery_topic: house/battery/power\n",
            "energy.battery_topic: reading an MQTT topic needs the mqtt section",
        ),
        (
            ENERGY + "  battery_soc_topic: house/battery/soc\n",
            "energy.battery_soc_topic: reading an MQTT topic needs the mqtt section",
        ),
        (MQTT_GRID.replace("house/grid/power", "house/+/power"), "grid_topic"),
        (MQTT_GRID.replace("house/grid/power", "house/#"), "grid_topic"),
        (MQTT_GRID.replace("house/grid/power", "''"), "grid_topic"),
        (MQTT_GRID.replace("house/grid/power", "[a, b]"), "grid_topic"),
        (MQTT_GRID.replace("fuse_A: 35", "grid_max_age_s: 0"), "grid_max_age_s"),
    ],
)
def test_energy_grid_input_mistakes(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        _config(text, tmp_path)
    assert message in str(err.value)
    assert "evse.yaml" in str(err.value)


def test_lock_connector_in_state_b_defaults_true_like_everest(tmp_path):
    """EvseManager manifest.yaml: lock_connector_in_state_b, boolean, default true."""
    (garage,) = _config(VALID, tmp_path).connectors
    assert garage.kernel.lock_connector_in_state_b is True
    text = VALID + "    lock_connector_in_state_b: false\n"
    (garage,) = _config(text, tmp_path).connectors
    assert garage.kernel.lock_connector_in_state_b is False
    with pytest.raises(ConfigError, match="lock_connector_in_state_b"):
        _config(VALID + "    lock_connector_in_state_b: maybe\n", tmp_path)


# ------------------------------------------------ hostile and broken files (issue 12)

CONNECTOR = """
connectors:
  garage:
    charger: {map: heidelberg_energy_control, connection: {kind: tcp, host: 127.0.0.1}}
"""


def _with(tmp_path, extra: str, connector: str = CONNECTOR) -> str:
    return f"store: {tmp_path}/sessions.db\n{connector}{extra}"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("http: {}", "http: token is required"),
        ("http: {token: 5}", "http: expected str"),
        ("http: {token: t, port: 99999}", "http: value must be at most 65535"),
        ("http: {token: t, host: " + "h" * 300 + "}", "http: length of value must be at most"),
        ("http: {host: 0.0.0.0, allow_unauthenticated: true}", "http: allow_unauthenticated"),
        ("mqtt: {}", "mqtt: required key not provided"),
        ("mqtt: {host: h, port: .inf}", "mqtt: invalid value"),
        ("mqtt: {host: h, queue_size: 0}", "mqtt: value must be at least 1"),
        ("mqtt: {host: h, base_topic: 'a/+/b'}", "mqtt: invalid topic prefix"),
        ("mqtt: {host: h, tls: true, ca_file: /nonexistent/ca.pem}", "mqtt: TLS files"),
    ],
)
def test_check_validates_the_adapter_sections_as_start_does(tmp_path, extra, message):
    """These passed --check and then crashed the start with a traceback."""
    with pytest.raises(ConfigError) as err:
        _config(_with(tmp_path, extra), tmp_path)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("store", "message"),
    [("/nonexistent/folder/s.db", "does not exist"), (".", "is not a regular file")],
)
def test_check_validates_the_store_path(tmp_path, store, message):
    text = _with(tmp_path, "").replace(f"store: {tmp_path}/sessions.db", f"store: {store}")
    with pytest.raises(ConfigError, match=message):
        _config(text, tmp_path)


@pytest.mark.parametrize(
    "field",
    ["max_current_A: " + "9" * 401, "max_current_A: .nan", "poll_interval_s: .inf"],
)
def test_huge_and_non_finite_numbers_are_config_errors(tmp_path, field):
    with pytest.raises(ConfigError, match=r"max_current_A|poll_interval_s"):
        _config(CONNECTOR + f"    {field}\n", tmp_path)


def test_non_finite_energy_thresholds_are_refused(tmp_path):
    text = CONNECTOR + "    energy: {enable_threshold_W: .inf}\n"
    with pytest.raises(ConfigError, match="finite"):
        parse_config(yaml.safe_load(text))


def test_config_that_is_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "evse.yaml"
    path.write_bytes(CONNECTOR.encode() + b"# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte \d+\)"):
        load_config(path)


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "directory", "huge"])
def test_config_that_is_not_a_small_regular_file_is_refused_at_once(tmp_path, kind):
    path = tmp_path / "evse.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would block until a writer comes
    elif kind == "dev_zero":
        path = Path("/dev/zero")
    elif kind == "directory":
        path = tmp_path
    else:
        path.write_text(CONNECTOR + "#" * MAX_YAML_BYTES)
    with pytest.raises(ConfigError, match=r"not a regular file|larger than"):
        load_config(path)


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "connectors: " + "[" * 5000 + "]" * 5000,
    ],
    ids=["alias_bomb", "deep_nesting"],
)
def test_yaml_bombs_are_config_errors(tmp_path, text):
    with pytest.raises(ConfigError):
        _config(text, tmp_path)


def _map_config(tmp_path, map_ref: str) -> str:
    return CONNECTOR.replace("heidelberg_energy_control", map_ref)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("x" * 5000, "unknown device map 'xxxx"),
        ("/" + "x" * 5000 + ".yaml", "path too long"),
        ("/tmp/" + "x" * 300 + ".yaml", "cannot read: File name too long"),
        ("/dev/zero", "not a regular file"),
        ("/nonexistent.yaml", "cannot read: No such file or directory"),
    ],
)
def test_bad_map_references_are_clear_errors(tmp_path, ref, message):
    with pytest.raises(ConfigError) as err:
        parse_config(yaml.safe_load(_map_config(tmp_path, ref)))
    assert message in str(err.value)
    assert len(str(err.value)) < 2000


def test_map_that_is_a_fifo_or_not_utf8_is_refused(tmp_path):
    fifo = tmp_path / "charger.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        parse_config(yaml.safe_load(_map_config(tmp_path, str(fifo))))
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"kind: charger\nmanufacturer: M\xfcller\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_config(yaml.safe_load(_map_config(tmp_path, str(latin))))


SECRETS = {
    "mapping": "password: hunter2-secret\napi_key: sk-live-topsecret\n",
    "env_file": "API_TOKEN=sk-live-topsecret\nDB_PASSWORD=hunter2-secret\n",
    "bad_yaml": "token: sk-live-topsecret: hunter2-secret\n\t- x\n",
    "shadow": "root:$6$hunter2-secret$sk-live-topsecret:19000:0:99999:7:::\n",
}


@pytest.mark.parametrize("content", list(SECRETS.values()), ids=list(SECRETS))
def test_a_map_path_at_a_file_of_secrets_never_quotes_it(tmp_path, content):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(content)
    with pytest.raises(ConfigError) as err:
        parse_config(yaml.safe_load(_map_config(tmp_path, str(secrets))))
    message = str(err.value)
    assert str(secrets) in message
    assert "hunter2" not in message
    assert "topsecret" not in message
