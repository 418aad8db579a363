"""Constants of the EVSE Manager integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "evse_manager"

CONF_MODE: Final = "mode"
MODE_MODBUS: Final = "modbus"
MODE_SIMULATOR: Final = "simulator"
MODE_OCPP: Final = "ocpp"
MODE_OCPP_SIMULATOR: Final = "ocpp_simulator"
CONF_CHARGE_POINT_ID: Final = "charge_point_id"
CONF_CONNECTOR_ID: Final = "connector_id"
CONF_OCPP_PASSWORD: Final = "password"
CONF_OCPP_HOST: Final = "ocpp_host"  # not in the form: every interface unless set
CONF_OCPP_PORT: Final = "ocpp_port"
CONF_OCPP_VERSION: Final = "ocpp_version"  # the simulated wallbox's
CONF_OCPP_CERTFILE: Final = "ocpp_certfile"  # TLS (wss://) for the listener
CONF_OCPP_KEYFILE: Final = "ocpp_keyfile"
CONF_AUTH: Final = "auth"  # the connector's token list, as the controller's ``auth``
CONF_RESERVATION_EXPIRY: Final = "reservation_expiry_s"  # a ReserveNow at the wallbox
DEFAULT_RESERVATION_EXPIRY_S: Final = 3600
CONF_ID_TAGS: Final = "id_tags"  # the RFID cards the wallbox's reader may authorize
DEFAULT_OCPP_HOST: Final = "0.0.0.0"
DEFAULT_OCPP_PORT: Final = 8887  # evcc's and the controller's default
CONF_CHARGER: Final = "charger"
CONF_METER: Final = "meter"
CONF_MAP: Final = "map"
CONF_CONNECTION: Final = "connection"
CONF_KIND: Final = "kind"
CONF_UNIT: Final = "unit"
CONF_SERIAL_PORT: Final = "serial_port"
CONF_BAUDRATE: Final = "baudrate"
CONF_METER_MAP: Final = "meter_map"
BUILTIN_METER: Final = "charger"  # the charger's own energy counter

CONF_POLL_INTERVAL: Final = "poll_interval_s"
CONF_MIN_CURRENT: Final = "min_current_A"
CONF_MAX_CURRENT: Final = "max_current_A"
CONF_PHASES: Final = "phases"
DEFAULT_POLL_INTERVAL: Final = 1.0

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
CONF_FREE_CHARGING: Final = "free_charging"
CONF_TRANSACTION_AT_RESTART: Final = "transaction_at_restart"
RESTART_RESUME: Final = "resume"  # the other: "finish", as EVerest
# Each entry has its own session database, so one fixed connector name keeps the history
# when the entry is renamed.
CONNECTOR_NAME: Final = "evse1"
CONF_GRID_ENTITY: Final = "grid_power_entity"
CONF_BATTERY_ENTITY: Final = "battery_power_entity"
CONF_BATTERY_SOC_ENTITY: Final = "battery_soc_entity"
CONF_GRID_INVERTED: Final = "grid_power_inverted"
DEFAULT_ENERGY_INTERVAL_S: Final = 10.0
CONF_MQTT_HOST: Final = "mqtt_host"
CONF_MQTT_PORT: Final = "mqtt_port"
CONF_MQTT_USERNAME: Final = "mqtt_username"
CONF_MQTT_PASSWORD: Final = "mqtt_password"
CONF_MQTT_BASE_TOPIC: Final = "mqtt_base_topic"
CONF_MQTT_DISCOVERY: Final = "mqtt_discovery"
MQTT_CONNECTOR: Final = "evse"  # the connector's name in its MQTT topics
# Reporting to a charging backend (the controller's ``csms`` section), in the options.
CONF_CSMS_URL: Final = "csms_url"
CONF_CSMS_CHARGE_POINT_ID: Final = "csms_charge_point_id"
CONF_CSMS_VERSION: Final = "csms_version"
CONF_CSMS_PASSWORD: Final = "csms_password"
SECTION_SOLAR: Final = "solar"
SECTION_MQTT: Final = "mqtt"
SECTION_CSMS: Final = "csms"
