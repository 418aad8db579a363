"""What every adapter shows: entities derived from the published variables, as data.

The Home Assistant integration and the MQTT discovery both build their entities from this
one table, so a sensor, its unit and its device class are defined once. Values are plain
strings in Home Assistant's vocabulary (device classes, state classes, units) but nothing
here imports Home Assistant. Controls name the JSON command (``controller.commands``) and
how to build its arguments from the control's value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .everest import (
    CarManufacturer,
    CpState,
    EnableSource,
    EnableState,
    SessionEventEnum,
    StopTransactionReason,
)
from .everest.errors import ERROR_TYPES
from .everest.model import lookup
from .kernel.states import State

Vars = Mapping[str, Any]
ValueFn = Callable[[Vars], Any]

SENSOR = "sensor"
BINARY_SENSOR = "binary_sensor"
SWITCH = "switch"
NUMBER = "number"
BUTTON = "button"
SELECT = "select"
EVENT = "event"
DIAGNOSTIC = "diagnostic"
CONFIG = "config"

# The source and priority Home Assistant, MQTT and HTTP users vote with in enable_disable.
LOCAL_SOURCE = EnableSource.LocalAPI
LOCAL_PRIORITY = 100
# Variables the energy manager publishes (controller.energy.manager).
ENERGY_SETTINGS = "energy_settings"
ENERGY_DECISION = "energy_manager"
CHARGE_MODES = ("off", "fast", "pv", "minpv")
LIMITED_BY = ("fuse", "max_current", "external", "surplus", "waiting", "off", "fast")


@dataclass(frozen=True, kw_only=True)
class EntitySpec:
    """One entity: where its state comes from, how it is shown, what it commands."""

    key: str
    platform: str
    value: ValueFn
    name: str
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    category: str | None = None
    enabled_default: bool = True
    options: tuple[str, ...] | None = None
    icon: str | None = None
    command: str | None = None
    command_args: Callable[[Any, Vars], dict[str, Any]] | None = None
    min_value: ValueFn | None = None
    max_value: ValueFn | None = None
    step: float | None = None
    requires: str | None = None  # a variable that must exist for the entity to make sense
    suggested_unit: str | None = None  # how Home Assistant shows it (kWh for Wh counters)
    precision: int | None = None  # decimals shown


def path(var: str, *keys: str) -> ValueFn:
    """Value at ``vars[var].key1.key2...`` in JSON form, or None where anything is unset."""

    def get(values: Vars) -> Any:
        return lookup(values.get(var), keys)

    return get


# The states of the Error sensor: EVerest's error names (errors/*.yaml of the interfaces a
# charger reports through), each once; a type outside them (a map may name any) shows as "other".
ERROR_NAMES = tuple(dict.fromkeys(t.rpartition("/")[2] for t in ERROR_TYPES))
NO_ERROR = "NoError"
OTHER_ERROR = "OtherError"


def _errors_summary(values: Vars) -> str:
    """The first active error's name (``evse_board_support/DiodeFault`` -> ``DiodeFault``),
    ``NoError`` without one."""
    errors = values.get("errors") or []
    if not errors:
        return NO_ERROR
    name = errors[0].type.rpartition("/")[2]
    return name if name in ERROR_NAMES else OTHER_ERROR


def _enable_args(on: Any, _: Vars) -> dict[str, Any]:
    state = EnableState.Enable if on else EnableState.Disable
    return {
        "connector_id": 0,
        "cmd_source": {
            "enable_source": LOCAL_SOURCE.value,
            "enable_state": state.value,
            "enable_priority": LOCAL_PRIORITY,
        },
    }


def _max_current_args(amps: Any, _: Vars) -> dict[str, Any]:
    return {"max_current": float(amps)}


def _stop_args(_: Any, __: Vars) -> dict[str, Any]:
    return {"request": {"reason": StopTransactionReason.Local.value}}


def _no_args(_: Any, __: Vars) -> dict[str, Any]:
    return {}


def _unlock_args(_: Any, __: Vars) -> dict[str, Any]:
    return {"connector_id": 1}


def _mode_args(mode: Any, _: Vars) -> dict[str, Any]:
    return {"mode": mode}


def _tune(
    key: str,
    setting: str,
    name: str,
    *,
    unit: str,
    device_class: str,
    bounds: tuple[float, float, float],
) -> EntitySpec:
    """A number tuning the energy manager (``set_energy_settings``)."""
    low, high, step = bounds
    return EntitySpec(
        key=key,
        platform=NUMBER,
        value=path(ENERGY_SETTINGS, setting),
        name=name,
        unit=unit,
        device_class=device_class,
        category=CONFIG,
        command="set_energy_settings",
        command_args=lambda value, _: {setting: float(value)},
        min_value=lambda _: low,
        max_value=lambda _: high,
        step=step,
        requires=ENERGY_SETTINGS,
    )


def _phase(var: str, kind: str, n: int, unit: str, device_class: str) -> EntitySpec:
    return EntitySpec(
        key=f"{kind}_l{n}",
        platform=SENSOR,
        value=path("powermeter", var, f"L{n}"),
        name=f"{kind.capitalize()} L{n}",
        unit=unit,
        device_class=device_class,
        state_class="measurement",
        category=DIAGNOSTIC if kind == "voltage" else None,
        enabled_default=kind == "current",
    )


ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        key="session_event",
        platform=EVENT,
        value=path("session_event", "event"),
        name="Session event",
        options=tuple(e.value for e in SessionEventEnum),
    ),
    EntitySpec(
        key="state",
        platform=SENSOR,
        value=path("state"),
        name="Charging state",
        device_class="enum",
        options=tuple(s.value for s in State),
    ),
    EntitySpec(
        key="cp_state",
        platform=SENSOR,
        value=path("cp_state"),
        name="Control pilot state",
        device_class="enum",
        options=tuple(s.value for s in CpState),
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="power",
        platform=SENSOR,
        value=path("powermeter", "power_W", "total"),
        name="Power",
        unit="W",
        device_class="power",
        state_class="measurement",
    ),
    EntitySpec(
        key="energy",
        platform=SENSOR,
        value=path("powermeter", "energy_Wh_import", "total"),
        name="Energy",
        unit="Wh",
        device_class="energy",
        state_class="total_increasing",
        suggested_unit="kWh",
        precision=2,
    ),
    EntitySpec(
        key="energy_export",
        platform=SENSOR,
        value=path("powermeter", "energy_Wh_export", "total"),
        name="Energy exported",
        unit="Wh",
        device_class="energy",
        state_class="total_increasing",
        enabled_default=False,
        suggested_unit="kWh",
        precision=2,
    ),
    *(_phase("current_A", "current", n, "A", "current") for n in (1, 2, 3)),
    *(_phase("voltage_V", "voltage", n, "V", "voltage") for n in (1, 2, 3)),
    EntitySpec(
        key="frequency",
        platform=SENSOR,
        value=path("powermeter", "frequency_Hz", "L1"),
        name="Frequency",
        unit="Hz",
        device_class="frequency",
        state_class="measurement",
        category=DIAGNOSTIC,
        enabled_default=False,
    ),
    EntitySpec(
        key="current_limit",
        platform=SENSOR,
        value=path("limits", "max_current"),
        name="Current limit",
        unit="A",
        device_class="current",
        state_class="measurement",
    ),
    EntitySpec(
        key="phases_available",
        platform=SENSOR,
        value=path("limits", "nr_of_phases_available"),
        name="Phases available",
        state_class="measurement",
    ),
    EntitySpec(
        key="enforced_limit",
        platform=SENSOR,
        value=path("enforced_limits", "limits_root_side", "ac_max_current_A", "value"),
        name="Enforced current limit",
        unit="A",
        device_class="current",
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="enforced_limit_source",
        platform=SENSOR,
        value=path("enforced_limits", "limits_root_side", "ac_max_current_A", "source"),
        name="Enforced limit source",
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="hw_max_current",
        platform=SENSOR,
        value=path("hw_capabilities", "max_current_A_import"),
        name="Hardware maximum current",
        unit="A",
        device_class="current",
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="hw_min_current",
        platform=SENSOR,
        value=path("hw_capabilities", "min_current_A_import"),
        name="Hardware minimum current",
        unit="A",
        device_class="current",
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="hw_max_phases",
        platform=SENSOR,
        value=path("hw_capabilities", "max_phase_count_import"),
        name="Hardware phases",
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="evse_id",
        platform=SENSOR,
        value=path("evse_id"),
        name="EVSE ID",
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="selected_protocol",
        platform=SENSOR,
        value=path("selected_protocol"),
        name="Protocol",
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="car_manufacturer",
        platform=SENSOR,
        value=path("car_manufacturer"),
        name="Car manufacturer",
        device_class="enum",
        options=tuple(c.value for c in CarManufacturer),
        category=DIAGNOSTIC,
        enabled_default=False,
    ),
    EntitySpec(
        key="ev_soc",
        platform=SENSOR,
        value=path("ev_info", "soc"),
        name="EV state of charge",
        unit="%",
        device_class="battery",
        state_class="measurement",
        enabled_default=False,
    ),
    EntitySpec(
        key="evse_temperature",
        platform=SENSOR,
        value=path("telemetry", "evse_temperature_C"),
        name="Temperature",
        unit="°C",
        device_class="temperature",
        state_class="measurement",
        category=DIAGNOSTIC,
        enabled_default=False,
    ),
    EntitySpec(
        key="error",
        platform=SENSOR,
        value=_errors_summary,
        name="Error",
        device_class="enum",
        options=(NO_ERROR, *ERROR_NAMES, OTHER_ERROR),
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="session_energy",
        platform=SENSOR,
        value=path("session_info", "energy_Wh"),
        name="Session energy",
        unit="Wh",
        device_class="energy",
        # No state class: a per-session figure is no meter. With total_increasing (or
        # total) Home Assistant offers it in the Energy dashboard beside the Energy counter
        # and records long-term statistics of both: the same energy counted twice. The
        # energy device class allows no "measurement"; the Energy sensor is the statistic.
        suggested_unit="kWh",
        precision=2,
    ),
    EntitySpec(
        key="session_duration",
        platform=SENSOR,
        value=path("session_info", "duration_s"),
        name="Session duration",
        unit="s",
        device_class="duration",
        suggested_unit="min",
        precision=0,
    ),
    EntitySpec(
        key="last_session_energy",
        platform=SENSOR,
        value=path("last_session", "energy_Wh"),
        name="Last session energy",
        unit="Wh",
        device_class="energy",
        suggested_unit="kWh",
        precision=2,
    ),
    EntitySpec(
        key="last_session_duration",
        platform=SENSOR,
        value=path("last_session", "duration_s"),
        name="Last session duration",
        unit="s",
        device_class="duration",
        suggested_unit="min",
        precision=0,
    ),
    EntitySpec(
        key="plugged_in",
        platform=BINARY_SENSOR,
        value=lambda v: None if v.get("cp_state") is None else v["cp_state"] != CpState.A,
        name="Plugged in",
        device_class="plug",
    ),
    EntitySpec(
        key="charging",
        platform=BINARY_SENSOR,
        value=lambda v: v.get("state") == State.Charging,
        name="Charging",
        device_class="battery_charging",
    ),
    EntitySpec(
        key="ready",
        platform=BINARY_SENSOR,
        value=path("ready"),
        name="Ready",
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="waiting_for_external_ready",
        platform=BINARY_SENSOR,
        value=path("waiting_for_external_ready"),
        name="Waiting for external ready",
        category=DIAGNOSTIC,
        enabled_default=False,
    ),
    EntitySpec(
        key="problem",
        platform=BINARY_SENSOR,
        value=lambda v: bool(v.get("errors")),
        name="Problem",
        device_class="problem",
    ),
    EntitySpec(
        key="relays",
        platform=BINARY_SENSOR,
        value=path("telemetry", "relais_on"),
        name="Relays",
        device_class="power",
        category=DIAGNOSTIC,
    ),
    EntitySpec(
        key="enabled",
        platform=SWITCH,
        value=path("enabled"),
        name="Enabled",
        category=CONFIG,
        command="enable_disable",
        command_args=_enable_args,
    ),
    EntitySpec(
        key="max_current",
        platform=NUMBER,
        value=path("max_current"),  # the user's ceiling: no energy manager goes above it
        name="Maximum current",
        unit="A",
        device_class="current",
        command="set_max_current",
        command_args=_max_current_args,
        min_value=lambda v: 0.0,
        max_value=path("hw_capabilities", "max_current_A_import"),
        step=1.0,
    ),
    EntitySpec(
        key="pause",
        platform=BUTTON,
        value=lambda v: None,
        name="Pause charging",
        command="pause_charging",
        command_args=_no_args,
    ),
    EntitySpec(
        key="resume",
        platform=BUTTON,
        value=lambda v: None,
        name="Resume charging",
        command="resume_charging",
        command_args=_no_args,
    ),
    EntitySpec(
        key="stop",
        platform=BUTTON,
        value=lambda v: None,
        name="Stop transaction",
        command="stop_transaction",
        command_args=_stop_args,
    ),
    EntitySpec(
        key="force_unlock",
        platform=BUTTON,
        value=lambda v: None,
        name="Force unlock",
        category=CONFIG,
        command="force_unlock",
        command_args=_unlock_args,
    ),
)


ENERGY_ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        key="charge_mode",
        platform=SELECT,
        value=path(ENERGY_SETTINGS, "mode"),
        name="Charge mode",
        options=CHARGE_MODES,
        command="set_charge_mode",
        command_args=_mode_args,
        requires=ENERGY_SETTINGS,
    ),
    EntitySpec(
        key="energy_limited_by",
        platform=SENSOR,
        value=path(ENERGY_DECISION, "limited_by"),
        name="Limited by",
        device_class="enum",
        options=LIMITED_BY,
        requires=ENERGY_SETTINGS,
    ),
    EntitySpec(
        key="energy_reason",
        platform=SENSOR,
        value=path(ENERGY_DECISION, "reason"),
        name="Energy manager reason",
        requires=ENERGY_SETTINGS,
    ),
    EntitySpec(
        key="surplus_power",
        platform=SENSOR,
        value=path(ENERGY_DECISION, "surplus_W"),
        name="Surplus power",
        unit="W",
        device_class="power",
        state_class="measurement",
        requires=ENERGY_SETTINGS,
    ),
    EntitySpec(
        key="energy_timer",
        platform=SENSOR,
        # When the running start/stop/phase timer fires (a timestamp counts down by
        # itself; the remaining seconds would only change at each energy-manager step).
        value=path(ENERGY_DECISION, "timer_ends_at"),
        name="Surplus timer ends",
        device_class="timestamp",
        requires=ENERGY_SETTINGS,
    ),
    _tune(
        "surplus_start_threshold",
        "enable_threshold_W",
        "Surplus start threshold",
        unit="W",
        device_class="power",
        bounds=(-10_000, 10_000, 50),
    ),
    _tune(
        "surplus_stop_threshold",
        "disable_threshold_W",
        "Surplus stop threshold",
        unit="W",
        device_class="power",
        bounds=(-10_000, 10_000, 50),
    ),
    _tune(
        "surplus_start_delay",
        "enable_delay_s",
        "Surplus start delay",
        unit="s",
        device_class="duration",
        bounds=(0, 3600, 10),
    ),
    _tune(
        "surplus_stop_delay",
        "disable_delay_s",
        "Surplus stop delay",
        unit="s",
        device_class="duration",
        bounds=(0, 3600, 10),
    ),
    _tune(
        "surplus_import_budget",
        "import_budget_Wh",
        "Surplus import budget",
        unit="Wh",
        device_class="energy",
        bounds=(0, 100_000, 10),
    ),
    # evcc's site battery thresholds (prioritySoc, bufferSoc, bufferStartSoc; core/site.go),
    # numbers like evcc's UI; their order (priority <= buffer <= buffer start) is checked
    # by SurplusSettings, so a value that breaks it is refused with an error.
    *(
        _tune(
            f"battery_{setting}",
            setting,
            f"Home battery {name} SoC",
            unit="%",
            device_class="battery",
            bounds=(0, 100, 1),
        )
        for setting, name in (
            ("priority_soc", "priority"),
            ("buffer_soc", "buffer"),
            ("buffer_start_soc", "buffer start"),
        )
    ),
    _tune(
        "solar_min_current",
        "min_current_A",
        "Solar minimum current",
        unit="A",
        device_class="current",
        bounds=(0, 32, 0.5),
    ),
    _tune(
        "solar_max_current",
        "max_current_A",
        "Solar maximum current",
        unit="A",
        device_class="current",
        bounds=(6, 80, 0.5),
    ),
)


def state_key(value: str) -> str:
    """An enum value as a lowercase translation key: ``ChargingPausedEV`` ->
    ``charging_paused_ev`` (Home Assistant translates enum states by such keys)."""
    out = []
    for i, ch in enumerate(value):
        prev = value[i - 1] if i else ""
        nxt = value[i + 1] if i + 1 < len(value) else ""
        boundary = prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower())
        if ch.isupper() and i and boundary:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def entities(platform: str | None = None, values: Vars | None = None) -> tuple[EntitySpec, ...]:
    """All entity specs, or those of one platform; given a connector's ``values``, only
    those whose required variable it publishes (energy entities need an energy manager)."""
    return tuple(
        e
        for e in (*ENTITIES, *ENERGY_ENTITIES)
        if (platform is None or e.platform == platform)
        and (values is None or e.requires is None or e.requires in values)
    )
