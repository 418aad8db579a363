"""Configuration of the standalone controller (and of the Home Assistant entry), validated.

One YAML file describes the connectors (charger map + connection, meter map + connection,
limits), optionally the energy manager (the grid power from a Modbus meter or an MQTT
topic), the MQTT bridge and the HTTP API. ``load_config`` validates it with
voluptuous and resolves every map, so any mistake is reported once, at start, as a
``ConfigError`` naming the field. ``open_connector`` turns one connector's config into a
running-ready ``EvseManager`` over Modbus, sharing buses through a ``BusRegistry``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol
from voluptuous.humanize import humanize_error

from .auth import AUTH_SCHEMA, TokenValidator
from .clock import Clock, SystemClock
from .energy import Mode, SiteSettings, SurplusSettings
from .errors import ConfigError, DeviceError, MapError
from .everest.model import coerced_float
from .files import load_yaml, read_text
from .kernel.machine import KernelConfig
from .manager import EvseManager
from .modbus.charger import ChargerSettings, ModbusCharger
from .modbus.maps import DeviceMap, load_map
from .modbus.meter import ModbusMeter
from .modbus.transport import BusRegistry, Endpoint
from .ocpp.backend.settings import CsmsSettings, csms_settings
from .ocpp.settings import (
    OCPP_CHARGER_SCHEMA,
    OcppChargerConfig,
    charger_config,
    is_ocpp_charger,
)
from .ports import ChargerInfo
from .store import SessionStore

BUILTIN_METER = "charger"  # meter: charger -> use the charger's own energy counter
NAME = re.compile(r"^[a-z0-9_]{1,32}$")

CONNECTION_SCHEMA = vol.Schema(
    {
        vol.Optional("kind"): vol.In(("tcp", "rtu_over_tcp", "rtu", "ascii")),
        vol.Optional("host"): vol.All(str, vol.Length(min=1, max=253)),
        vol.Optional("port"): vol.All(int, vol.Range(min=1, max=65535)),
        vol.Optional("serial_port"): vol.All(str, vol.Length(min=1, max=4096)),
        vol.Optional("baudrate"): vol.All(int, vol.Range(min=300, max=1_000_000)),
        vol.Optional("parity"): vol.In(("N", "E", "O")),
        vol.Optional("stopbits"): vol.In((1, 2)),
        vol.Optional("unit"): vol.All(int, vol.Range(min=0, max=255)),
        vol.Optional("timeout_s"): vol.All(coerced_float, vol.Range(min=0.05, max=30)),
        vol.Optional("request_gap_ms"): vol.All(int, vol.Range(min=0, max=5000)),
        vol.Optional("invert_power"): bool,  # a meter counting export as + (overrides the map)
    }
)
DEVICE_SCHEMA = vol.Schema(
    {vol.Required("map"): str, vol.Optional("connection", default={}): CONNECTION_SCHEMA}
)


def _ranged(low: float, high: float) -> vol.All:
    """A number coerced to float within [low, high]."""
    return vol.All(coerced_float, vol.Range(min=low, max=high))


ENERGY_CONNECTOR_SCHEMA = vol.Schema(
    {
        vol.Optional("mode", default="pv"): vol.In(("off", "fast", "pv", "minpv")),
        vol.Optional("min_current_A", default=6.0): _ranged(0, 32),
        vol.Optional("max_current_A", default=16.0): _ranged(6, 80),
        vol.Optional("phase_switching", default=False): bool,
        vol.Optional("enable_threshold_W", default=0.0): coerced_float,
        vol.Optional("disable_threshold_W", default=0.0): coerced_float,
        vol.Optional("enable_delay_s", default=60.0): _ranged(0, 3600),
        vol.Optional("disable_delay_s", default=180.0): _ranged(0, 3600),
        vol.Optional("import_budget_Wh", default=150.0): _ranged(0, 100_000),
        vol.Optional("phase_up_delay_s", default=60.0): _ranged(0, 3600),
        vol.Optional("phase_down_delay_s", default=180.0): _ranged(0, 3600),
        vol.Optional("buffer_W", default=0.0): coerced_float,
        vol.Optional("battery_to_ev", default=False): bool,
        vol.Optional("priority_soc", default=0.0): _ranged(0, 100),
        vol.Optional("buffer_soc", default=0.0): _ranged(0, 100),
        vol.Optional("buffer_start_soc", default=0.0): _ranged(0, 100),
        vol.Optional("grid_phases", default=[1, 2, 3]): vol.All(
            [vol.In((1, 2, 3))], vol.Length(min=1, max=3)
        ),
    }
)


def _input_topic(value: Any) -> str:
    """An MQTT topic to subscribe to: one exact topic (no wildcards), not empty."""
    if not isinstance(value, str):
        raise vol.Invalid("expected an MQTT topic (a string)")
    text = value.strip()
    if not text or any(c in text for c in "+#\0"):
        raise vol.Invalid(f"invalid MQTT topic {value!r} (one topic, no wildcards)")
    return text


ENERGY_SCHEMA = vol.Schema(
    {
        # Exactly one grid input: a Modbus grid meter or an MQTT topic (checked in
        # energy_config, so the message can say which).
        vol.Optional("grid_meter"): DEVICE_SCHEMA,
        vol.Optional("grid_topic"): _input_topic,
        vol.Optional("battery_topic"): _input_topic,
        vol.Optional("battery_soc_topic"): _input_topic,
        vol.Optional("grid_max_age_s", default=60.0): _ranged(1, 3600),
        vol.Optional("fuse_A"): _ranged(6, 400),
        vol.Optional("interval_s", default=10.0): _ranged(1, 300),
        vol.Optional("limit_valid_s", default=60.0): _ranged(5, 3600),
    }
)


def _charger_schema(value: Any) -> Any:
    """A Modbus device (map + connection) or an OCPP charge point (``kind: ocpp``)."""
    return OCPP_CHARGER_SCHEMA(value) if is_ocpp_charger(value) else DEVICE_SCHEMA(value)


CONNECTOR_SCHEMA = vol.Schema(
    {
        vol.Optional("energy"): ENERGY_CONNECTOR_SCHEMA,
        vol.Optional("auth"): AUTH_SCHEMA,  # cards accepted here besides the global ones
        vol.Required("charger"): _charger_schema,
        vol.Optional("meter", default=BUILTIN_METER): vol.Any(BUILTIN_METER, DEVICE_SCHEMA),
        vol.Optional("evse_id"): vol.All(str, vol.Length(min=1, max=64)),
        vol.Optional("max_current_A"): vol.All(coerced_float, vol.Range(min=6, max=80)),
        vol.Optional("min_current_A"): vol.All(coerced_float, vol.Range(min=0, max=32)),
        vol.Optional("phases"): vol.In((1, 3)),
        vol.Optional("failsafe_current_A", default=0.0): vol.All(
            coerced_float, vol.Range(min=0, max=32)
        ),
        vol.Optional("poll_interval_s", default=1.0): vol.All(
            coerced_float, vol.Range(min=0.1, max=60)
        ),
        vol.Optional("free_charging", default=False): bool,
        vol.Optional("auth_timeout_s", default=60.0): vol.All(
            coerced_float, vol.Range(min=1, max=3600)
        ),
        # EVerest EvseManager options (manifest.yaml names and defaults).
        vol.Optional("lock_connector_in_state_b", default=True): bool,
        vol.Optional("has_ventilation", default=True): bool,
        vol.Optional("state_F_after_fault_ms", default=300): vol.All(
            int, vol.Range(min=0, max=10000)
        ),
        vol.Optional("fail_on_powermeter_errors", default=True): bool,
        vol.Optional("switch_3ph1ph_delay_s", default=10): vol.All(int, vol.Range(min=0, max=600)),
        vol.Optional("switch_3ph1ph_cp_state", default="X1"): vol.In(("X1", "F")),
        vol.Optional("soft_over_current_tolerance_percent", default=10.0): vol.All(
            vol.Coerce(float), vol.Range(min=0, max=100)
        ),
        vol.Optional("soft_over_current_measurement_noise_A", default=0.5): vol.All(
            vol.Coerce(float), vol.Range(min=0, max=10)
        ),
        vol.Optional("soft_over_current_timeout_ms", default=7000): vol.All(
            int, vol.Range(min=6000, max=600000)
        ),
        vol.Optional("raise_mrec9", default=False): bool,
        vol.Optional("request_zero_power_in_idle", default=False): bool,
        vol.Optional("inoperative_error_use_vendor_id", default=False): bool,
        vol.Optional("session_logging", default=False): bool,
        vol.Optional("session_logging_path", default="/tmp"): vol.All(str, vol.Length(min=1)),
        vol.Optional("external_ready_to_start_charging", default=False): bool,
        vol.Optional("session_id_type", default="UUID"): vol.In(
            ("UUID", "UUID_BASE64", "SHORT_BASE64")
        ),
        # Not an EVerest option: "finish" is EVerest's only behaviour (PowerLoss at start-up).
        vol.Optional("transaction_at_restart", default="resume"): vol.In(("resume", "finish")),
    }
)


# Connector options passed to KernelConfig under EVerest's own names.
_EVEREST_OPTIONS = (
    "has_ventilation",
    "state_F_after_fault_ms",
    "fail_on_powermeter_errors",
    "switch_3ph1ph_delay_s",
    "switch_3ph1ph_cp_state",
    "soft_over_current_tolerance_percent",
    "soft_over_current_measurement_noise_A",
    "soft_over_current_timeout_ms",
    "raise_mrec9",
    "request_zero_power_in_idle",
    "inoperative_error_use_vendor_id",
    "session_logging",
    "session_logging_path",
    "session_id_type",
    "transaction_at_restart",
)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise vol.Invalid("connector names are 1-32 characters a-z, 0-9, _")
    return value


CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("store", default="evse_sessions.db"): str,
        vol.Required("connectors"): vol.All({_name: CONNECTOR_SCHEMA}, vol.Length(min=1)),
        vol.Optional("energy"): ENERGY_SCHEMA,
        vol.Optional("mqtt"): dict,
        vol.Optional("http"): dict,
        vol.Optional("ocpp"): dict,
        vol.Optional("auth"): AUTH_SCHEMA,  # cards accepted at every connector
        vol.Optional("csms"): dict,
    }
)


@dataclass(frozen=True, kw_only=True)
class DeviceConfig:
    """A device: its map and where it is."""

    map: DeviceMap
    endpoint: Endpoint
    unit: int
    request_gap_s: float = 0.0
    invert_power: bool | None = None  # None: the map's sign


@dataclass(frozen=True, kw_only=True)
class ConnectorConfig:
    """One connector, validated and with its maps loaded."""

    name: str
    charger: DeviceConfig | None  # None for an OCPP charger (``ocpp``)
    meter: DeviceConfig | None  # the charger itself when it meters
    kernel: KernelConfig
    charger_settings: ChargerSettings
    poll_interval_s: float = 1.0
    energy: SurplusSettings | None = None
    energy_mode: Mode = Mode.PV
    grid_phases: tuple[int, ...] = (1, 2, 3)
    ocpp: OcppChargerConfig | None = None  # the charger is an OCPP charge point
    id_tags: tuple[str, ...] = ()  # the cards a charger's reader may authorize (auth)


@dataclass(frozen=True, kw_only=True)
class EnergyConfig:
    """The site: where the grid power comes from, main fuse, cadence.

    Exactly one of ``grid_meter`` (a Modbus meter at the house connection) and
    ``grid_topic`` (an MQTT topic carrying the grid power) is set. ``battery_topic``
    optionally carries the home battery's power (W, + charging) over MQTT,
    ``battery_soc_topic`` its state of charge (%). Pushed values older than
    ``grid_max_age_s`` are not used.
    """

    site: SiteSettings
    grid_meter: DeviceConfig | None = None
    grid_topic: str | None = None
    battery_topic: str | None = None
    battery_soc_topic: str | None = None
    grid_max_age_s: float = 60.0

    @property
    def topics(self) -> tuple[str, ...]:
        """The MQTT topics this section reads (they need the ``mqtt`` section)."""
        topics = (self.grid_topic, self.battery_topic, self.battery_soc_topic)
        return tuple(t for t in topics if t is not None)


@dataclass(frozen=True, kw_only=True)
class ControllerConfig:
    """The whole file."""

    store: Path
    connectors: tuple[ConnectorConfig, ...]
    energy: EnergyConfig | None = None
    mqtt: Mapping[str, Any] | None = None
    http: Mapping[str, Any] | None = None
    ocpp: Mapping[str, Any] | None = None  # where the OCPP central system listens
    csms: CsmsSettings | None = None  # the charging backend the connectors report to
    source: str = "<config>"
    extra: Mapping[str, Any] = field(default_factory=dict)


def device_config(map_id: str, connection: Mapping[str, Any], where: str) -> DeviceConfig:
    """Resolve a map and fill the connection from the map's transport defaults."""
    try:
        device_map = load_map(map_id)
    except MapError as err:
        raise ConfigError(f"{where}.map: {err}") from err
    t = device_map.transport
    kind = connection.get("kind", t.kind)
    if kind in ("tcp", "rtu_over_tcp") and "host" not in connection:
        raise ConfigError(f"{where}.connection.host: required for {kind}")
    if kind in ("rtu", "ascii") and "serial_port" not in connection:
        raise ConfigError(f"{where}.connection.serial_port: required for {kind}")
    endpoint = Endpoint(
        kind=kind,
        host=connection.get("host", "127.0.0.1"),
        port=connection.get("port", t.port),
        serial_port=connection.get("serial_port", ""),
        baudrate=connection.get("baudrate", t.baudrate),
        parity=connection.get("parity", t.parity),
        stopbits=connection.get("stopbits", t.stopbits),
        timeout_s=connection.get("timeout_s", t.timeout_s),
    )
    gap = connection.get("request_gap_ms")
    return DeviceConfig(
        map=device_map,
        endpoint=endpoint,
        unit=connection.get("unit", t.unit),
        request_gap_s=t.request_gap_s if gap is None else gap / 1000,
        invert_power=connection.get("invert_power"),
    )


def connector_config(
    name: str, data: Mapping[str, Any], id_tags: tuple[str, ...] = ()
) -> ConnectorConfig:
    """Validate one connector's mapping (as in the YAML file or a config entry);
    ``id_tags`` are the cards accepted at every connector (the top-level ``auth``)."""
    try:
        c = CONNECTOR_SCHEMA(dict(data))
    except vol.Invalid as err:
        raise ConfigError(f"connectors.{name}: {humanize_error(dict(data), err)}") from err
    where = f"connectors.{name}"
    ocpp = None
    if is_ocpp_charger(c["charger"]):
        if c["meter"] != BUILTIN_METER:
            raise ConfigError(f"{where}.meter: an OCPP charger meters itself (meter: charger)")
        charger = meter = None
        ocpp = charger_config(c["charger"])
    else:
        charger, meter = _modbus_devices(c, where)
    kernel = KernelConfig(
        evse_id=c.get("evse_id", f"DE*EVM*E{name.upper()}*1"),
        max_current_A=c.get("max_current_A"),
        free_charging=c["free_charging"],
        auth_timeout_s=c["auth_timeout_s"],
        lock_connector_in_state_b=c["lock_connector_in_state_b"],
        external_ready=c["external_ready_to_start_charging"],
        **{k: c[k] for k in _EVEREST_OPTIONS},
    )
    settings = ChargerSettings(
        max_current_A=c.get("max_current_A"),
        min_current_A=c.get("min_current_A"),
        phases=c.get("phases"),
        failsafe_current_A=c["failsafe_current_A"],
    )
    energy = c.get("energy")
    # The setpoint resolution: the map's fact; an OCPP profile limit in whole amperes.
    step_A = charger.map.capabilities.current_step_A if charger is not None else 1.0
    return ConnectorConfig(
        name=name,
        charger=charger,
        meter=meter,
        kernel=kernel,
        charger_settings=settings,
        poll_interval_s=c["poll_interval_s"],
        energy=None if energy is None else _surplus_settings(energy, c.get("phases"), step_A),
        energy_mode=Mode(energy["mode"]) if energy else Mode.PV,
        grid_phases=tuple(energy["grid_phases"]) if energy else (1, 2, 3),
        ocpp=ocpp,
        id_tags=tuple(dict.fromkeys((*id_tags, *c.get("auth", {}).get("id_tags", ())))),
    )


def _modbus_devices(c: Mapping[str, Any], where: str) -> tuple[DeviceConfig, DeviceConfig]:
    """The charger and meter of a Modbus connector (the charger twice when it meters)."""
    charger = device_config(c["charger"]["map"], c["charger"]["connection"], f"{where}.charger")
    if charger.map.kind != "charger":
        raise ConfigError(f"{where}.charger.map: {charger.map.id} is a {charger.map.kind} map")
    if c["meter"] == BUILTIN_METER:
        if "energy_import" not in charger.map.registers:
            raise ConfigError(
                f"{where}.meter: {charger.map.id} has no energy counter; configure a meter map"
            )
        return charger, charger
    meter = device_config(c["meter"]["map"], c["meter"]["connection"], f"{where}.meter")
    if "energy_import" not in meter.map.registers:
        raise ConfigError(f"{where}.meter.map: {meter.map.id} has no energy_import register")
    return charger, meter


def _surplus_settings(
    e: Mapping[str, Any], phases: int | None, step_A: float = 1.0
) -> SurplusSettings:
    """The connector's energy section; the setpoint resolution is the charger map's fact
    (capabilities.current_step_A), so the surplus follows in the steps the charger takes."""
    keys = set(SurplusSettings.__dataclass_fields__) - {"phases", "voltage_V", "current_step_A"}
    try:
        return SurplusSettings(
            phases=phases or 3, current_step_A=step_A, **{k: e[k] for k in keys if k in e}
        )
    except ValueError as err:  # the battery SoC thresholds' order
        raise ConfigError(f"energy: {err}") from err


def energy_config(data: Mapping[str, Any]) -> EnergyConfig:
    """The validated ``energy`` section: exactly one grid input (meter or MQTT topic).

    Whether an MQTT topic has a broker to come from is checked by ``parse_config``.
    """
    has_meter, has_topic = "grid_meter" in data, "grid_topic" in data
    if has_meter and has_topic:
        raise ConfigError("energy: set either grid_meter or grid_topic, not both")
    if not has_meter and not has_topic:
        raise ConfigError(
            "energy: a grid input is required: grid_meter (a Modbus meter) "
            "or grid_topic (an MQTT topic)"
        )
    meter = None
    if has_meter:
        g = data["grid_meter"]
        meter = device_config(g["map"], g["connection"], "energy.grid_meter")
        if "power" not in meter.map.registers and "power_l1" not in meter.map.registers:
            raise ConfigError(f"energy.grid_meter.map: {meter.map.id} has no power register")
    site = SiteSettings(
        fuse_A=data.get("fuse_A"),
        interval_s=data["interval_s"],
        limit_valid_s=data["limit_valid_s"],
    )
    return EnergyConfig(
        site=site,
        grid_meter=meter,
        grid_topic=data.get("grid_topic"),
        battery_topic=data.get("battery_topic"),
        battery_soc_topic=data.get("battery_soc_topic"),
        grid_max_age_s=data.get("grid_max_age_s", 60.0),
    )


def parse_config(data: Any, source: str = "<config>") -> ControllerConfig:
    """Validate a parsed YAML document."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the configuration must be a mapping")
    try:
        c = CONFIG_SCHEMA(data)
    except vol.Invalid as err:
        raise ConfigError(f"{source}: {humanize_error(data, err)}") from err
    try:
        id_tags = tuple(c.get("auth", {}).get("id_tags", ()))
        connectors = tuple(connector_config(n, d, id_tags) for n, d in c["connectors"].items())
        energy = energy_config(c["energy"]) if "energy" in c else None
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from err
    _check_store(Path(c["store"]), source)
    _check_ocpp(connectors, c.get("ocpp"), source)
    csms = _csms(c.get("csms"), connectors, source)
    for section, schema in _adapter_schemas(c).items():
        _check_section(section, schema, c[section], source)
    if energy is not None and energy.topics and c.get("mqtt") is None:
        key = next(
            k for k in ("grid_topic", "battery_topic", "battery_soc_topic") if getattr(energy, k)
        )
        raise ConfigError(
            f"{source}: energy.{key}: reading an MQTT topic needs the mqtt section "
            "(the broker to subscribe on)"
        )
    return ControllerConfig(
        store=Path(c["store"]),
        connectors=connectors,
        energy=energy,
        mqtt=c.get("mqtt"),
        http=c.get("http"),
        ocpp=c.get("ocpp"),
        csms=csms,
        source=source,
    )


def _adapter_schemas(c: Mapping[str, Any]) -> dict[str, Any]:
    """The schemas of the adapter sections present (imported only when configured)."""
    schemas: dict[str, Any] = {}
    if c.get("mqtt") is not None:
        from .mqtt.settings import MQTT_SCHEMA  # noqa: PLC0415 - aiomqtt only if used

        schemas["mqtt"] = MQTT_SCHEMA
    if c.get("http") is not None:
        from .http.settings import HTTP_SCHEMA  # noqa: PLC0415 - aiohttp only if used

        schemas["http"] = HTTP_SCHEMA
    return schemas


def _check_section(section: str, schema: Any, data: Any, source: str) -> None:
    """Validate an adapter section exactly as start will, TLS files included."""
    try:
        settings = schema(dict(data))
    except vol.Invalid as err:
        raise ConfigError(f"{source}: {section}: {humanize_error(dict(data), err)}") from None
    except (ValueError, TypeError, ArithmeticError) as err:  # a validator that raised raw
        raise ConfigError(f"{source}: {section}: invalid value ({err})") from None
    if section == "mqtt" and settings.get("tls"):
        from .mqtt.settings import MqttSettings  # noqa: PLC0415

        try:
            MqttSettings(**settings).ssl_context()
        except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
            raise ConfigError(f"{source}: mqtt: TLS files: {err}") from None


def _check_ocpp(
    connectors: tuple[ConnectorConfig, ...], section: Mapping[str, Any] | None, source: str
) -> None:
    """The ``ocpp`` section (TLS files included) and each OCPP connector used once."""
    from .ocpp.settings import OCPP_SCHEMA, ssl_context  # noqa: PLC0415

    try:
        ssl_context(OCPP_SCHEMA(dict(section or {})))
    except vol.Invalid as err:
        raise ConfigError(f"{source}: ocpp: {humanize_error(dict(section or {}), err)}") from None
    except (OSError, ValueError) as err:
        raise ConfigError(f"{source}: ocpp: TLS files: {err}") from None
    passwords: dict[str, str | None] = {}
    seen: set[tuple[str, int]] = set()
    for connector in connectors:
        o = connector.ocpp
        if o is None:
            continue
        where = f"{source}: connectors.{connector.name}.charger"
        if (o.charge_point_id, o.connector_id) in seen:
            raise ConfigError(f"{where}: {o.charge_point_id} connector {o.connector_id} twice")
        if passwords.setdefault(o.charge_point_id, o.password) != o.password:
            raise ConfigError(f"{where}: {o.charge_point_id}: one password per charge point")
        seen.add((o.charge_point_id, o.connector_id))


def _csms(
    section: Mapping[str, Any] | None, connectors: tuple[ConnectorConfig, ...], source: str
) -> CsmsSettings | None:
    """The ``csms`` section against the configured connectors (CA file included)."""
    if section is None:
        return None
    try:
        return csms_settings(section, [c.name for c in connectors])
    except vol.Invalid as err:
        raise ConfigError(f"{source}: csms: {humanize_error(dict(section), err)}") from None
    except (OSError, ValueError) as err:
        raise ConfigError(f"{source}: csms: {err}") from None


def _check_store(store: Path, source: str) -> None:
    """The session database must be a file (or creatable) in an existing folder."""
    try:
        if store.exists() and not store.is_file():
            raise ConfigError(f"{source}: store: {store} is not a regular file")
        folder = store.parent
        if not folder.is_dir():
            raise ConfigError(f"{source}: store: folder {folder} does not exist")
        writable = os.access(folder, os.W_OK | os.X_OK)
    except OSError as err:
        raise ConfigError(f"{source}: store: {err.strerror or err}") from None
    if not writable:
        raise ConfigError(f"{source}: store: folder {folder} is not writable")


def load_config(path: str | Path) -> ControllerConfig:
    """Read and validate a YAML configuration file."""
    file = Path(path)
    try:
        data = load_yaml(read_text(file), str(file))
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return parse_config(data, str(file))


def open_connector(
    config: ConnectorConfig,
    registry: BusRegistry,
    store: SessionStore,
    clock: Clock | None = None,
    poll_offset: float = 0.0,
) -> EvseManager:
    """The manager for one connector over Modbus (not started: call ``start()``).

    Devices on the same bus share one ``ModbusBus``; ``registry.close_all()`` closes them.
    ``poll_offset`` is where in each poll period it polls (``EvseManager.poll_offset``).
    An OCPP connector is opened by ``controller.ocpp.setup.open_ocpp_connector``.
    """
    c, m = config.charger, config.meter
    if c is None or m is None:
        raise ValueError(f"{config.name}: not a Modbus connector")
    clock = clock or SystemClock()  # one for all three: samples are stamped once
    charger_bus = registry.acquire(c.endpoint, request_gap_s=c.request_gap_s)
    charger = ModbusCharger(c.map, charger_bus, c.unit, config.charger_settings, clock)
    meter_bus = registry.acquire(m.endpoint, request_gap_s=m.request_gap_s)
    meter = ModbusMeter(m.map, meter_bus, m.unit, clock, invert_power=m.invert_power)
    manager = EvseManager(
        charger,
        meter,
        store,
        config.kernel,
        name=config.name,
        clock=clock,
        poll_interval=config.poll_interval_s,
        poll_offset=poll_offset,
    )
    manager.token_validator = TokenValidator(config.id_tags)  # for presented tokens
    return manager


async def probe_connector(config: ConnectorConfig, clock: Clock | None = None) -> ChargerInfo:
    """Talk to a connector's devices once, as a setup dialog does before saving them:
    the charger's identity, or ``DeviceError`` naming the device that does not answer.

    Besides the identity (which some chargers serve on a fixed station unit, an Alfen on
    200) it reads what charging needs, the charger's status and a meter sample, at the
    units given: a wrong unit id fails here instead of in an entry that never loads."""
    c, m = config.charger, config.meter
    if c is None or m is None:
        raise ValueError(f"{config.name}: not a Modbus connector")
    registry = BusRegistry()
    try:
        bus = registry.acquire(c.endpoint, request_gap_s=c.request_gap_s)
        charger = ModbusCharger(c.map, bus, c.unit, config.charger_settings, clock)
        info = await charger.connect()
        await _probe_read(charger.read_status(), "charger", c.unit)
        bus = registry.acquire(m.endpoint, request_gap_s=m.request_gap_s)
        meter = ModbusMeter(m.map, bus, m.unit, clock, invert_power=m.invert_power)
        await meter.connect()
        await _probe_read(meter.read(), "meter", m.unit)
        return info
    finally:
        await registry.close_all()


async def _probe_read(read: Awaitable[object], device: str, unit: int) -> None:
    """One read of the probe; its DeviceError says which device and unit did not answer."""
    try:
        await read
    except DeviceError as err:
        raise DeviceError(f"{device} at unit {unit}: {err}") from err
