"""Write the integration's strings.json, translations/en.json, services.yaml and icons.json.

Entity names and enum states come from the controller's catalog and services from its
command table (action field keys through the integration's ``field_key``), so the
integration's text cannot drift from what the controller offers;
tests/ha/test_diagnostics_and_files.py fails when a regenerated file would differ, and
tests/install/test_hassfest_rules.py checks them against hassfest's rules.
Run: .venv/bin/python scripts/gen_ha_files.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from controller.catalog import SELECT, SENSOR, entities, state_key  # noqa: E402
from controller.commands import COMMANDS  # noqa: E402
from controller.everest import (  # noqa: E402
    EnableSource,
    EnableState,
    IdTokenType,
    StopTransactionReason,
)
from custom_components.evse_manager.services import field_key  # noqa: E402

INTEGRATION = ROOT / "custom_components" / "evse_manager"
ENTRY_FIELD = {
    "name": "Charger",
    "description": "The EVSE Manager connector (config entry) to send the command to.",
}
OBJECT = {"object": {}}


def _field(
    name: str,
    description: str,
    selector: dict[str, Any],
    example: Any = None,
    required: bool = True,
) -> dict[str, Any]:
    field = {"name": name, "description": description, "selector": selector, "required": required}
    if example is not None:  # hassfest: example is a string/number/..., never null
        field["example"] = example
    return field


def _setting(name: str, description: str, low: float, high: float, unit: str) -> dict[str, Any]:
    selector = {"number": {"min": low, "max": high, "mode": "box", "unit_of_measurement": unit}}
    return _field(name, description, selector, None, required=False)


FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "simulate_ev": {
        "scenario": _field(
            "Scenario",
            "Commands separated by ';': sleep s, plugin, unplug, iec_wait_pwr_ready, "
            "draw_power_regulated A,phases, pause, resume, diode_fail, rcd_current mA, "
            "clear_errors.",
            {"text": {}},
            "plugin;iec_wait_pwr_ready;draw_power_regulated 16,3;sleep 600;unplug",
        ),
    },
    "set_charge_mode": {
        "mode": _field(
            "Mode",
            "off, fast, pv (surplus only) or minpv (minimum current plus surplus).",
            {"select": {"options": ["off", "fast", "pv", "minpv"]}},
            "pv",
        ),
    },
    "set_energy_settings": {
        "min_current_A": _setting("Minimum current", "Lowest charging current.", 0, 32, "A"),
        "max_current_A": _setting("Maximum current", "Highest charging current.", 6, 80, "A"),
        "enable_threshold_W": _setting(
            "Start threshold",
            "Surplus above the minimum power needed to start.",
            -10000,
            10000,
            "W",
        ),
        "disable_threshold_W": _setting(
            "Stop threshold", "Grid import tolerated before stopping.", -10000, 10000, "W"
        ),
        "enable_delay_s": _setting("Start delay", "Surplus must last this long.", 0, 3600, "s"),
        "disable_delay_s": _setting(
            "Stop delay", "Longest dip ridden at the minimum current.", 0, 3600, "s"
        ),
        "import_budget_Wh": _setting(
            "Import budget",
            "Most grid energy one dip may import before charging stops.",
            0,
            100000,
            "Wh",
        ),
        "phase_up_delay_s": _setting(
            "Phase up delay", "Before switching to 3 phases.", 0, 3600, "s"
        ),
        "phase_down_delay_s": _setting(
            "Phase down delay", "Before switching to 1 phase.", 0, 3600, "s"
        ),
        "buffer_W": _setting("Buffer", "Keep this much exported.", -10000, 10000, "W"),
        "battery_to_ev": _field(
            "Battery to EV",
            "Count home-battery charging as surplus (at or above the priority SoC).",
            {"boolean": {}},
            None,
            required=False,
        ),
        "priority_soc": _setting(
            "Priority SoC", "Below it the home battery charges first (0: off).", 0, 100, "%"
        ),
        "buffer_soc": _setting(
            "Buffer SoC",
            "Above it a running charge holds its minimum on the home battery (0: off).",
            0,
            100,
            "%",
        ),
        "buffer_start_soc": _setting(
            "Buffer start SoC",
            "At or above it charging also starts on the home battery (0: off).",
            0,
            100,
            "%",
        ),
        "phase_switching": _field(
            "Phase switching",
            "The charger may switch between 1 and 3 phases.",
            {"boolean": {}},
            None,
            required=False,
        ),
    },
    "enable_disable": {
        "connector_id": _field(
            "Connector",
            "0 for the whole EVSE, 1 for its connector.",
            {"number": {"min": 0, "max": 1, "mode": "box"}},
            0,
        ),
        "cmd_source": _field(
            "Source",
            "Who votes and how: enable_source "
            f"({', '.join(s.value for s in EnableSource)}), enable_state "
            f"({', '.join(s.value for s in EnableState)}), enable_priority (0 is the highest).",
            OBJECT,
            {"enable_source": "LocalAPI", "enable_state": "Disable", "enable_priority": 100},
        ),
    },
    "authorize_response": {
        "provided_token": _field(
            "Token",
            "The ProvidedIdToken that was validated.",
            OBJECT,
            {"id_token": {"value": "DEADBEEF", "type": "ISO14443"}, "authorization_type": "RFID"},
        ),
        "validation_result": _field(
            "Result",
            "The ValidationResult (authorization_status).",
            OBJECT,
            {"authorization_status": "Accepted"},
        ),
    },
    "reserve": {
        "reservation_id": _field(
            "Reservation ID",
            "Identifier of the reservation.",
            {"number": {"min": 0, "max": 2147483647, "mode": "box"}},
            1,
        ),
    },
    "stop_transaction": {
        "request": _field(
            "Request",
            "StopTransactionRequest: reason ("
            f"{', '.join(r.value for r in StopTransactionReason)}) and optional id_tag.",
            OBJECT,
            {"reason": "Local"},
        ),
    },
    "force_unlock": {
        "connector_id": _field(
            "Connector",
            "The connector to unlock (1).",
            {"number": {"min": 0, "max": 1, "mode": "box"}},
            1,
        ),
    },
    "set_plug_and_charge_configuration": {
        "plug_and_charge_configuration": _field(
            "Configuration",
            "PlugAndChargeConfiguration: pnc_enabled, "
            "central_contract_validation_allowed, contract_certificate_installation_enabled.",
            OBJECT,
            {"pnc_enabled": False},
        ),
    },
    "update_allowed_energy_transfer_modes": {
        "allowed_energy_transfer_modes": _field(
            "Modes",
            "List of EnergyTransferMode values the EV may use.",
            OBJECT,
            ["AC_single_phase_core", "AC_three_phase_core"],
        ),
    },
    "set_max_current": {
        "max_current": _field(
            "Maximum current",
            "Your ceiling in A: the charger never offers more, whatever an energy "
            "manager allows; kept across restarts (at most the installation's maximum).",
            {"number": {"min": 0, "max": 80, "step": 0.5, "unit_of_measurement": "A"}},
            10,
        ),
    },
    "enforce_limits": {
        "value": _field(
            "Limits",
            "EnforcedLimits from an energy manager: uuid (the connector's own, as in "
            "its limits variable; others are ignored), valid_for (s, > 0) and "
            "limits_root_side (ac_max_current_A, total_power_W, ac_max_phase_count, "
            "each with a value and a source).",
            OBJECT,
            {
                "uuid": "evse_manager",
                "valid_for": 3600,
                "limits_root_side": {"ac_max_current_A": {"value": 10, "source": "solar"}},
            },
        ),
    },
    "present_token": {
        "id_token": _field(
            "Token",
            "The card or token id to present here (for a charger without a card reader, "
            "or a button that authorizes a known card). It is checked like a card read "
            "at a charger: by the charging backend when one is configured, else against "
            "the connector's accepted cards; then the connector decides the charging.",
            {"text": {}},
            "DEADBEEF",
        ),
        "type": _field(
            "Token type",
            "EVerest IdTokenType (default ISO14443, a card's UID).",
            {"select": {"options": [t.value for t in IdTokenType]}},
            "ISO14443",
            required=False,
        ),
    },
    "set_external_limits": {
        "value": _field(
            "Limits",
            "ExternalLimits (as OCPP charging profiles give them): schedule_import, a "
            "list of timestamp, limits_to_root and limits_to_leaves (ac_max_current_A, "
            "total_power_W, each with a value and a source). The first entry holds now, "
            "the last one for ever after; an empty list lifts them. The lower of these "
            "and the energy manager's limit applies.",
            OBJECT,
            {
                "schedule_import": [
                    {
                        "timestamp": "2026-01-01T00:00:00Z",
                        "limits_to_root": {},
                        "limits_to_leaves": {"ac_max_current_A": {"value": 10, "source": "csms"}},
                    }
                ],
                "schedule_export": [],
                "schedule_setpoints": [],
            },
        ),
    },
}
SERVICE_TEXT = {
    "get_evse": ("Get EVSE", "Returns the EVSE description (id, connectors, capabilities)."),
    "enable_disable": ("Enable or disable", "Casts a prioritised enable/disable vote."),
    "authorize_response": ("Authorize", "Reports the validation result of a token."),
    "withdraw_authorization": (
        "Withdraw authorization",
        "Withdraws an authorization not yet used by a transaction.",
    ),
    "reserve": ("Reserve", "Reserves the EVSE; returns whether the reservation was accepted."),
    "cancel_reservation": ("Cancel reservation", "Cancels the current reservation."),
    "pause_charging": ("Pause charging", "Pauses charging (paused by the EVSE)."),
    "resume_charging": ("Resume charging", "Resumes charging paused by the EVSE."),
    "stop_transaction": ("Stop transaction", "Stops the running transaction with a reason."),
    "force_unlock": ("Force unlock", "Unlocks the connector, stopping any transaction."),
    "external_ready_to_start_charging": (
        "External ready to start charging",
        "Signals that external systems are ready so charging may begin.",
    ),
    "set_plug_and_charge_configuration": (
        "Set plug and charge configuration",
        "Configures ISO 15118 plug and charge.",
    ),
    "update_allowed_energy_transfer_modes": (
        "Update allowed energy transfer modes",
        "Sets the energy transfer modes the EV may use; returns the result.",
    ),
    "enforce_limits": (
        "Enforce limits",
        "Energy-manager input: the allowed current, power and phase count.",
    ),
    "present_token": (
        "Present token",
        "Presents a card or token id for this connector, as if read at the charger; "
        "returns the validation result.",
    ),
    "set_external_limits": (
        "Set external limits",
        "External limits (a charging backend's): the lower of these and the energy "
        "manager's limit applies.",
    ),
    "set_max_current": (
        "Set maximum current",
        "Your maximum charging current (a ceiling every energy manager respects).",
    ),
    "set_charge_mode": (
        "Set charge mode",
        "Built-in energy manager: off, fast, pv (surplus only) or minpv (minimum + surplus).",
    ),
    "simulate_ev": (
        "Simulate EV",
        "Simulator entries only: play an EV scenario (car-simulator commands).",
    ),
    "set_energy_settings": (
        "Set energy settings",
        "Built-in energy manager: thresholds, delays and currents (only those given change).",
    ),
}
ICONS = {
    "sensor": {
        "state": "mdi:ev-station",
        "cp_state": "mdi:sine-wave",
        "session_energy": "mdi:battery-charging",
        "session_duration": "mdi:timer-outline",
        "last_session_energy": "mdi:history",
        "last_session_duration": "mdi:history",
        "current_limit": "mdi:current-ac",
        "enforced_limit": "mdi:speedometer",
        "enforced_limit_source": "mdi:source-branch",
        "evse_id": "mdi:identifier",
        "error": "mdi:alert-circle-outline",
        "selected_protocol": "mdi:protocol",
        "car_manufacturer": "mdi:car-electric",
        "phases_available": "mdi:sine-wave",
        "energy_limited_by": "mdi:scale-balance",
        "energy_reason": "mdi:comment-question-outline",
        "surplus_power": "mdi:solar-power",
        "energy_timer": "mdi:timer-sand",
    },
    "switch": {"enabled": "mdi:power"},
    "select": {"charge_mode": "mdi:solar-power-variant"},
    "number": {
        "max_current": "mdi:current-ac",
        "surplus_start_threshold": "mdi:solar-power",
        "surplus_stop_threshold": "mdi:transmission-tower-import",
        "surplus_start_delay": "mdi:timer-play-outline",
        "surplus_stop_delay": "mdi:timer-stop-outline",
        "surplus_import_budget": "mdi:transmission-tower-import",
        "battery_priority_soc": "mdi:home-battery",
        "battery_buffer_soc": "mdi:home-battery-outline",
        "battery_buffer_start_soc": "mdi:battery-arrow-up",
        "solar_min_current": "mdi:current-ac",
        "solar_max_current": "mdi:current-ac",
    },
    "button": {
        "pause": "mdi:pause",
        "resume": "mdi:play",
        "stop": "mdi:stop",
        "force_unlock": "mdi:lock-open-variant",
    },
    "event": {"session_event": "mdi:ev-plug-type2"},
}
CONFIG = {
    "step": {
        "user": {
            "title": "Set up a charger",
            "description": "Connect a real charge controller over Modbus or a wallbox "
            "over OCPP, or try the integration with a built-in simulator.",
            "menu_options": {
                "modbus": "Charger over Modbus",
                "ocpp": "Charger over OCPP",
                "simulator": "Simulator",
                "ocpp_simulator": "OCPP simulator",
            },
        },
        "modbus": {
            "title": "Charger over Modbus",
            "description": "Pick the charger's device map and how to reach it, then its "
            "energy meter.",
            "data": {
                "name": "Name",
                "map": "Charger model",
                "kind": "Connection",
                "host": "Host",
                "port": "Port",
                "unit": "Unit ID",
                "serial_port": "Serial port",
                "baudrate": "Baud rate",
                "meter_map": "Energy meter",
                "meter_host": "Meter host",
                "meter_port": "Meter port",
                "meter_unit": "Meter unit ID",
            },
            "data_description": {
                "name": "Shown as the device name.",
                "map": "The Modbus register map of the charge controller.",
                "kind": "Modbus TCP, RTU through a TCP gateway, or RTU on a serial port.",
                "host": "IP address or host name of the charger or its gateway.",
                "port": "TCP port (502 for most devices).",
                "unit": "Modbus unit (slave) ID; empty for the device's default.",
                "serial_port": "Serial device for RTU, such as /dev/ttyUSB0.",
                "baudrate": "Serial speed; empty for the device's default.",
                "meter_map": "The charger's own counter, or a separate meter's map.",
                "meter_host": "Only if the meter has its own TCP address; otherwise it "
                "shares the charger's bus.",
                "meter_port": "The meter's TCP port.",
                "meter_unit": "The meter's unit ID on its bus.",
            },
        },
        "simulator": {
            "title": "Simulator",
            "description": "Serves the chosen maps from a simulated charger, EV and meter "
            "on 127.0.0.1, so you can try everything without hardware.",
            "data": {"name": "Name", "map": "Charger model", "meter_map": "Energy meter"},
            "data_description": {
                "name": "Shown as the device name.",
                "map": "The charger to simulate.",
                "meter_map": "The meter to simulate.",
            },
        },
        "ocpp": {
            "title": "Charger over OCPP",
            "description": "Home Assistant becomes the wallbox's OCPP central system. In "
            "the wallbox's web UI or app, set the OCPP backend URL to "
            "ws://HA_ADDRESS:PORT/CHARGE_POINT_ID (OCPP 1.6J or "
            "2.0.1) and turn off its own free charging / local authorization.",
            "data": {
                "name": "Name",
                "charge_point_id": "Charge point ID",
                "connector_id": "Connector",
                "password": "Password",
                "ocpp_port": "Port to listen on",
                "ocpp_certfile": "TLS certificate file",
                "ocpp_keyfile": "TLS key file",
                "id_tags": "RFID cards",
            },
            "data_description": {
                "name": "Shown as the device name.",
                "charge_point_id": "The identity the wallbox sends, the last part of its "
                "backend URL.",
                "connector_id": "The wallbox's connector (EVSE) number, 1 for a single one.",
                "password": "Optional: the wallbox must then log in with HTTP Basic auth "
                "(OCPP security profile 1), 8 to 64 characters.",
                "ocpp_port": "The TCP port Home Assistant listens on for OCPP; every OCPP "
                "charger shares it.",
                "ocpp_certfile": "Optional: the path of a PEM certificate (chain); Home "
                "Assistant then listens with TLS and the wallbox uses wss:// (OCPP security "
                "profile 2). Every OCPP charger on this port uses the same files.",
                "ocpp_keyfile": "The path of its private key, unless the certificate file "
                "holds it.",
                "id_tags": "Optional: the RFID cards that may start charging at the "
                "wallbox's reader, separated by commas (case does not matter). Any other "
                "card is refused.",
            },
        },
        "ocpp_simulator": {
            "title": "OCPP simulator",
            "description": "A simulated OCPP wallbox and EV connect to Home Assistant on "
            "127.0.0.1, so you can try an OCPP charger without hardware.",
            "data": {"name": "Name", "ocpp_version": "OCPP version"},
            "data_description": {
                "name": "Shown as the device name.",
                "ocpp_version": "The protocol the simulated wallbox speaks.",
            },
        },
        "reconfigure": {
            "title": "Reconfigure the charger",
            "description": "Change how the charger and its meter are reached.",
            "data": {},
            "data_description": {},
        },
        "reconfigure_ocpp": {
            "title": "Reconfigure the OCPP charger",
            "description": "Change the TLS files, the accepted RFID cards and how long a "
            "reservation holds at the wallbox. The charge point ID, connector and port name "
            "this entry: for another wallbox, add another entry.",
            "data": {
                "ocpp_certfile": "TLS certificate file",
                "ocpp_keyfile": "TLS key file",
                "id_tags": "RFID cards",
                "reservation_expiry_s": "Reservation expiry",
            },
            "data_description": {
                "ocpp_certfile": "Optional: the path of a PEM certificate (chain); empty for "
                "no TLS. Every OCPP charger on this port uses the same files.",
                "ocpp_keyfile": "The path of its private key, unless the certificate file "
                "holds it.",
                "id_tags": "The RFID cards that may start charging, separated by commas; "
                "empty: every card is refused.",
                "reservation_expiry_s": "How long a reservation sent to the wallbox "
                "(ReserveNow) holds; it is renewed half-way while the connector stays "
                "reserved.",
            },
        },
    },
    "error": {
        "cannot_connect": "The devices did not answer: {error}",
        "invalid_map": "The device map cannot be used: {error}",
        "invalid_config": "The settings are not valid: {error}",
        "charge_point_mismatch": "Another connector of this charge point uses another "
        "password or port.",
        "listener_mismatch": "Another OCPP charger on this port uses other TLS files.",
    },
    "abort": {
        "already_configured": "This charger is already configured.",
        "another_device": "These settings reach a different charger.",
        "reconfigure_successful": "The charger was reconfigured.",
        "simulator_not_reconfigurable": "A simulator entry has no connection to change.",
    },
}
OPTIONS = {
    "step": {
        "init": {
            "title": "Charger options",
            "data": {
                "poll_interval_s": "Poll interval",
                "min_current_A": "Minimum current",
                "max_current_A": "Maximum current",
                "phases": "Phases",
                "free_charging": "Charge without authorization",
                "transaction_at_restart": "Charging session at a restart",
                "id_tags": "RFID cards",
            },
            "data_description": {
                "poll_interval_s": "How often the charger and meter are read.",
                "min_current_A": "Lowest current to charge with; below it the EVSE pauses.",
                "max_current_A": "Highest current ever offered (the installation's limit).",
                "phases": "Force one or three phases, or follow the charger.",
                "free_charging": "Start charging when a vehicle is plugged in; off to wait "
                "for an authorization (a card through the present_token action, or the "
                "authorize_response action). Must be off with RFID cards.",
                "transaction_at_restart": "A session that was charging when Home Assistant "
                "stopped: go on with it, or finish it (PowerLoss) and start a new one, as "
                "EVerest does.",
                "id_tags": "The cards (id tags) that may start charging through the "
                "present_token action or MQTT command, separated by commas (case does not "
                "matter); any other card is refused. Empty: no cards.",
            },
            "sections": {
                "solar": {
                    "name": "Solar surplus",
                    "description": "A grid power sensor turns on the built-in energy "
                    "manager: a charge mode select, explanation sensors and surplus "
                    "thresholds appear on the device.",
                    "data": {
                        "grid_power_entity": "Grid power sensor",
                        "grid_power_inverted": "Sensor shows export as positive",
                        "battery_power_entity": "Home battery power sensor",
                        "battery_soc_entity": "Home battery state of charge sensor",
                    },
                    "data_description": {
                        "grid_power_entity": "Power at the house connection "
                        "(+ import, - export), in W or kW.",
                        "grid_power_inverted": "Turn on if your meter reports export as positive.",
                        "battery_power_entity": "Optional: + while the home battery charges, "
                        "- while it discharges (discharge is never surplus); its charging "
                        "counts as surplus only if 'battery to EV' is enabled.",
                        "battery_soc_entity": "Optional: the home battery's charge in %, "
                        "for the priority and buffer SoC settings.",
                    },
                },
                "mqtt": {
                    "name": "MQTT",
                    "description": "Also publish this charger on an MQTT broker (topics, "
                    "commands and optional discovery, as the standalone controller does).",
                    "data": {
                        "mqtt_host": "Broker host",
                        "mqtt_port": "Broker port",
                        "mqtt_username": "Username",
                        "mqtt_password": "Password",
                        "mqtt_base_topic": "Base topic",
                        "mqtt_discovery": "Announce with MQTT discovery",
                    },
                    "data_description": {
                        "mqtt_host": "Leave empty to not use MQTT.",
                        "mqtt_port": "1883, or the broker's port.",
                        "mqtt_username": "If the broker requires a login.",
                        "mqtt_password": "Not shown once saved: leave empty to keep the "
                        "stored password; clear the username to remove the login.",
                        "mqtt_base_topic": "Topics are this, then /evse/ and the variable name.",
                        "mqtt_discovery": "Only for another Home Assistant: this one already "
                        "has the entities.",
                    },
                },
                "csms": {
                    "name": "Charging backend (OCPP)",
                    "description": "Also report this charger to a charging backend (CSMS: "
                    "company-car reimbursement, roaming, a fleet backend) as an OCPP 1.6J "
                    "or 2.0.1 charge point: its sessions with meter values, and the "
                    "backend's remote start/stop, availability, charging limits and "
                    "reservations.",
                    "data": {
                        "csms_url": "Backend URL",
                        "csms_charge_point_id": "Charge point ID",
                        "csms_version": "OCPP version",
                        "csms_password": "Password",
                    },
                    "data_description": {
                        "csms_url": "The backend's OCPP-J URL, ws:// or wss:// (the charge "
                        "point ID is appended). Leave empty to not report to a backend.",
                        "csms_charge_point_id": "The identity the backend knows this charger by.",
                        "csms_version": "The protocol the backend speaks.",
                        "csms_password": "If the backend requires a login (HTTP Basic, 8 to "
                        "64 characters). Not shown once saved: leave empty to keep it.",
                    },
                },
            },
        }
    },
    "error": {
        "min_above_max": "The minimum current is above the maximum current.",
        "invalid_csms": "The charging backend settings are not valid: {error}",
        "invalid_config": "The settings are not valid: {error}",
        "free_with_cards": "Turn off charge without authorization to use RFID cards: "
        "with it on, a plugged-in vehicle charges without any card.",
    },
}
SELECTORS = {
    "kind": {
        "options": {
            "tcp": "Modbus TCP",
            "rtu_over_tcp": "RTU over TCP (gateway)",
            "rtu": "RTU on a serial port",
        }
    },
    "meter_map": {"options": {"charger": "The charger's own meter"}},
    "phases": {
        "options": {"auto": "As the charger reports", "1": "One phase", "3": "Three phases"}
    },
    "transaction_at_restart": {
        "options": {"resume": "Go on with it", "finish": "Finish it (as EVerest)"}
    },
}
EXCEPTIONS = {
    "cannot_connect": {"message": "The charger or meter does not answer: {error}"},
    "invalid_config": {"message": "The entry's settings are not valid: {error}"},
    "command_failed": {"message": "{command} failed: {error}"},
    "command_refused": {"message": "The charger refused {command} in its current state."},
    "outvoted": {"message": "The charger stays {state}: a source with a higher priority decides."},
    "entry_not_found": {"message": "No EVSE Manager entry with id {entry_id}."},
    "entry_not_loaded": {"message": "{entry} is not loaded."},
    "not_a_simulator": {"message": "{entry} is not a simulator entry."},
    "invalid_scenario": {"message": "Invalid scenario: {error}"},
    "invalid_arguments": {"message": "Invalid arguments: {error}"},
    "no_energy_manager": {
        "message": "{entry} has no energy manager: choose a grid power sensor in the "
        "entry's options (Configure, solar surplus)."
    },
}
ISSUES = {
    "meter_counter": {
        "title": "{entry}: the meter's energy counter cannot be used",
        "description": (
            "The meter answers, but its energy counter keeps going back ({error}), so no "
            "energy can be counted and charging is stopped. A single reset (a replaced or "
            "restarted meter) is counted on by itself; this is not one. Check the meter and "
            "its unit id and map; the issue goes away as soon as the counter is plausible."
        ),
    }
}
# Human names of enum states: EVerest's identifiers split into words, acronyms kept.
ACRONYMS = {"ev": "EV", "evse": "EVSE"}
LABELS = {
    "a": "A: no vehicle",
    "b": "B: vehicle connected",
    "c": "C: charging",
    "d": "D: charging, ventilation required",
    "e": "E: no power",
    "f": "F: fault",
    "pv": "Solar surplus only",
    "minpv": "Minimum + solar surplus",
    "fuse": "Main fuse",
    "max_current": "Your maximum current",
    "external": "Charging backend (CSMS)",
    "surplus": "Solar surplus",
    "waiting": "Waiting for surplus",
    "no_error": "No error",
    "other_error": "Other error",
    "dc": "DC residual current",
    "ac": "AC residual current",
    "selftest": "RCD self-test failed",
}


def _words(value: str) -> str:
    key = state_key(value)
    if key in LABELS:
        return LABELS[key]
    words = [w.upper() if w.startswith("mrec") else ACRONYMS.get(w, w) for w in key.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def entity_strings() -> dict[str, Any]:
    result: dict[str, dict[str, Any]] = {}
    for spec in entities():
        entry: dict[str, Any] = {"name": spec.name}
        if spec.platform in (SENSOR, SELECT) and spec.options:
            entry["state"] = {state_key(o): _words(o) for o in spec.options}
        result.setdefault(spec.platform, {})[spec.key] = entry
    return result


# Services beyond the command table (integration-only).
EXTRA_SERVICES = ("simulate_ev",)


def strings() -> dict[str, Any]:
    services = {}
    for name in (*COMMANDS, *EXTRA_SERVICES):
        title, description = SERVICE_TEXT[name]
        fields = {"config_entry_id": ENTRY_FIELD}
        for key, f in FIELDS.get(name, {}).items():
            fields[field_key(key)] = {"name": f["name"], "description": f["description"]}
        services[name] = {"name": title, "description": description, "fields": fields}
    return {
        "config": CONFIG,
        "options": OPTIONS,
        "selector": SELECTORS,
        "entity": entity_strings(),
        "exceptions": EXCEPTIONS,
        "issues": ISSUES,
        "services": services,
    }


def services_yaml() -> dict[str, Any]:
    out = {}
    for name in (*COMMANDS, *EXTRA_SERVICES):
        fields: dict[str, Any] = {
            "config_entry_id": {
                "required": True,
                "selector": {"config_entry": {"integration": "evse_manager"}},
            }
        }
        for key, f in FIELDS.get(name, {}).items():
            fields[field_key(key)] = {
                k: f[k] for k in ("required", "example", "selector") if k in f
            }
        out[name] = {"fields": fields}
    return out


def icons() -> dict[str, Any]:
    platforms = {spec.platform for spec in entities()}
    entity = {
        p: {k: {"default": v} for k, v in ICONS.get(p, {}).items()}
        for p in sorted(platforms)
        if ICONS.get(p)
    }
    service_icons = {
        "get_evse": "mdi:information-outline",
        "enable_disable": "mdi:power",
        "authorize_response": "mdi:card-account-details",
        "withdraw_authorization": "mdi:card-remove-outline",
        "reserve": "mdi:calendar-clock",
        "cancel_reservation": "mdi:calendar-remove",
        "pause_charging": "mdi:pause",
        "resume_charging": "mdi:play",
        "stop_transaction": "mdi:stop",
        "force_unlock": "mdi:lock-open-variant",
        "external_ready_to_start_charging": "mdi:check-circle-outline",
        "set_plug_and_charge_configuration": "mdi:certificate",
        "update_allowed_energy_transfer_modes": "mdi:transmission-tower",
        "enforce_limits": "mdi:speedometer",
        "set_external_limits": "mdi:speedometer-slow",
        "present_token": "mdi:card-account-details-outline",
        "set_charge_mode": "mdi:solar-power-variant",
        "set_energy_settings": "mdi:tune-variant",
        "set_max_current": "mdi:current-ac",
        "simulate_ev": "mdi:car-electric-outline",
    }
    names = (*COMMANDS, *EXTRA_SERVICES)
    return {"entity": entity, "services": {n: {"service": service_icons[n]} for n in names}}


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def rendered() -> dict[Path, str]:
    """Every generated file and its exact text."""
    text = json.dumps(strings(), indent=2, ensure_ascii=False) + "\n"
    header = "# Generated by scripts/gen_ha_files.py from controller.commands; do not edit.\n"
    return {
        INTEGRATION / "strings.json": text,
        INTEGRATION / "translations" / "en.json": text,
        INTEGRATION / "services.yaml": header
        + yaml.dump(services_yaml(), Dumper=_NoAliases, sort_keys=False, allow_unicode=True),
        INTEGRATION / "icons.json": json.dumps(icons(), indent=2) + "\n",
    }


if __name__ == "__main__":
    for path, content in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
