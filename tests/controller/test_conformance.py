"""Conformance with EVerest's own type definitions.

Every interface variable the controller publishes and every interface command result is
validated against the JSON schemas of EVerest's ``evse_manager`` interface and its types
(copied verbatim into ``tests/everest_reference/``; see the README there). Required fields,
enums, ``additionalProperties: false``, ranges and RFC 3339 timestamps are all checked.

Schema semantics are draft-07, as EVerest's types are written: keywords next to ``$ref``
are ignored (the interface's ``supported_energy_transfer_modes`` items, for instance, say
``type: object`` next to a ``$ref`` to the string enum ``EnergyTransferMode``).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from controller import commands
from controller.everest import (
    EnableDisableSource,
    EnableSource,
    EnableState,
    StopTransactionReason,
    StopTransactionRequest,
)
from controller.kernel.machine import KernelConfig
from controller.manager import Update
from controller.variables import EXTENSION_VARS, INTERFACE_VARS
from tests.controller.conftest import ACCEPTED, TOKEN, Rig, limits, make_rig

REFERENCE = Path(__file__).resolve().parents[1] / "everest_reference"
INTERFACE_FILE = REFERENCE / "interfaces" / "evse_manager.yaml"
TYPES_DIR = REFERENCE / "types"

# Variables the project publishes on top of the interface (see controller/variables.py and
# the energy manager). They have no EVerest schema and are skipped; a variable that is
# neither declared by the interface nor listed here fails the test until it is listed.
EXTENSION_VARIABLES = frozenset(
    {
        "state",
        "cp_state",
        "enabled",
        "errors",
        "session_info",
        "last_session",
        "max_current",
        "external_limits",  # an EVerest ExternalLimits (set_external_limits' argument)
        "energy_manager",
        "energy_settings",
    }
)

# Interface variables the PWM (IEC 61851-1) flows below must publish. Not required:
# hlc_session_failed (ISO 15118 only), powermeter_public_key_ocmf (no signing meter),
# ev_info/car_manufacturer/waiting_for_external_ready are published but optional here.
REQUIRED_VARS = frozenset(
    {
        "session_event",
        "limits",
        "telemetry",
        "powermeter",
        "evse_id",
        "hw_capabilities",
        "enforced_limits",
        "ready",
        "supported_energy_transfer_modes",
        "selected_protocol",
    }
)

# Session events the flows must produce. EVerest's current SessionEventEnum has no
# ``Error``/``AllErrorsCleared`` members (errors travel through the error framework, not
# session events): the error flow is covered by ChargingPausedEVSE with reason ``Error``
# (checked in test_error_flow_pauses_with_reason_error) and by the events around it.
REQUIRED_EVENTS = frozenset(
    {
        "Enabled",
        "Disabled",
        "SessionStarted",
        "AuthRequired",
        "Authorized",
        "Deauthorized",
        "TransactionStarted",
        "PrepareCharging",
        "ChargingStarted",
        "ChargingPausedEV",
        "ChargingPausedEVSE",
        "StoppingCharging",
        "ChargingFinished",
        "TransactionFinished",
        "SessionFinished",
        "ReservationStart",
        "ReservationEnd",
        "PluginTimeout",
    }
)


# ---------------------------------------------------------------------------- schemas

_REF = re.compile(r"^/(?P<file>[A-Za-z0-9_]+)#/(?P<name>[A-Za-z0-9_]+)$")


def _def_name(ref: str) -> str:
    match = _REF.match(ref)
    assert match, f"unexpected EVerest $ref {ref!r}"
    return f"{match['file']}__{match['name']}"


def rewrite(node: Any) -> Any:
    """Copy ``node`` with every ``"$ref": "/file#/Name"`` turned into ``#/$defs/file__Name``."""
    if isinstance(node, dict):
        return {
            key: f"#/$defs/{_def_name(value)}" if key == "$ref" else rewrite(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [rewrite(item) for item in node]
    return node


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


@cache
def definitions() -> dict[str, Any]:
    """Every type of every types file, keyed ``file__Name``."""
    defs: dict[str, Any] = {}
    for path in sorted(TYPES_DIR.glob("*.yaml")):
        for name, spec in _load_yaml(path)["types"].items():
            defs[f"{path.stem}__{name}"] = rewrite(spec)
    return defs


@cache
def interface() -> dict[str, Any]:
    """The evse_manager interface yaml."""
    return _load_yaml(INTERFACE_FILE)


def _strip(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k != "description"}


def var_schema(var: str) -> dict[str, Any]:
    """The schema of interface variable ``var``."""
    return _strip(interface()["vars"][var])


def result_schema(cmd: str) -> dict[str, Any] | None:
    """The result schema of interface command ``cmd`` (None if it has no result)."""
    result = interface()["cmds"][cmd].get("result")
    return None if result is None else _strip(result)


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # raises when impossible
    return True


def _validator(spec: str | dict[str, Any]) -> jsonschema.Draft7Validator:
    inner = {"$ref": f"#/$defs/{_def_name(spec)}"} if isinstance(spec, str) else rewrite(spec)
    schema = {"$defs": definitions(), "allOf": [inner]}
    return jsonschema.Draft7Validator(schema, format_checker=FORMATS)


def problems(spec: str | dict[str, Any], instance: Any) -> list[str]:
    """Every violation of ``spec`` (a ``/file#/Name`` ref or a schema) by ``instance``, as
    ``path: message`` strings (empty when valid)."""
    errors = sorted(_validator(spec).iter_errors(instance), key=lambda e: list(e.path))
    return [f"{e.json_path}: {e.message}" for e in errors]


def validate(spec: str | dict[str, Any], instance: Any) -> None:
    """Raise AssertionError naming every violation."""
    found = problems(spec, instance)
    assert not found, "; ".join(found)


# ---------------------------------------------------------------------------- flows


def vote(state: EnableState, priority: int = 10) -> EnableDisableSource:
    return EnableDisableSource(
        enable_source=EnableSource.LocalAPI, enable_state=state, enable_priority=priority
    )


async def _full_session(rig: Rig) -> None:
    """Plug in, authorize, charge, EV pause, EVSE pause, resume, local stop, unplug."""
    rig.station.plug_in()
    await rig.poll()
    await rig.authorize()
    rig.station.draw_power(16.0, 3)
    await rig.poll()
    await rig.advance(300, step=30)
    rig.station.pause()
    await rig.poll()
    rig.station.resume()
    await rig.poll()
    assert await rig.manager.pause_charging() is True
    assert await rig.manager.resume_charging() is True
    await rig.advance(60, step=30)
    stop = StopTransactionRequest(reason=StopTransactionReason.Local, id_tag=TOKEN)
    assert await rig.manager.stop_transaction(stop) is True
    rig.station.unplug()
    await rig.poll()


async def _authorization_timeout_and_withdraw(rig: Rig) -> None:
    """Plug-in timeout without a token; then a token withdrawn before plug-in."""
    rig.station.plug_in()
    await rig.poll()
    await rig.advance(120, step=10)
    rig.station.unplug()
    await rig.poll()
    await rig.authorize()
    await rig.manager.withdraw_authorization()
    await rig.advance(120, step=10)


async def _reservations(rig: Rig) -> None:
    """A reservation cancelled, then one consumed by a transaction."""
    assert await rig.manager.reserve(7) is True
    await rig.manager.cancel_reservation()
    assert await rig.manager.reserve(42) is True
    await rig.start_charging()
    rig.station.unplug()
    await rig.poll()


async def _errors(rig: Rig) -> None:
    """An error while idle, cleared; an error while charging, cleared; unplug."""
    rig.station.inject_error("evse_board_support/MREC14PilotFault")
    await rig.poll()
    rig.station.clear_errors()
    await rig.poll()
    await rig.start_charging()
    rig.station.inject_error("evse_board_support/DiodeFault")
    await rig.poll()
    rig.station.clear_errors()
    await rig.poll()
    rig.station.unplug()
    await rig.poll()


async def _disable_during_session(rig: Rig) -> None:
    """Disabled while charging, enabled again, then disabled and unplugged."""
    await rig.start_charging()
    assert await rig.manager.enable_disable(0, vote(EnableState.Disable)) is False
    assert await rig.manager.enable_disable(0, vote(EnableState.Enable)) is True
    await rig.poll()
    assert await rig.manager.enable_disable(1, vote(EnableState.Disable)) is False
    rig.station.unplug()
    await rig.poll()
    assert await rig.manager.enable_disable(1, vote(EnableState.Enable)) is True


async def _enforced_limits(rig: Rig) -> None:
    """Current, power and phase limits; a NoEnergy pause; a limit that expires."""
    await rig.start_charging()
    await rig.manager.set_enforced_limits(limits(amps=10))
    await rig.manager.set_enforced_limits(limits(watts=6900, phases=1))
    await rig.advance(10)
    await rig.manager.set_enforced_limits(limits(amps=0))
    await rig.manager.set_enforced_limits(limits(amps=16, phases=3, valid_for=30))
    await rig.advance(60, step=5)
    rig.station.unplug()
    await rig.poll()


async def _external_ready(rig: Rig) -> None:
    """Waiting for the external ready signal, then ready."""
    assert await rig.manager.external_ready_to_start_charging() is True
    await rig.start_charging()


FLOWS = (
    (_full_session, None),
    (_authorization_timeout_and_withdraw, None),
    (_reservations, None),
    (_errors, None),
    (_disable_during_session, None),
    (_enforced_limits, None),
    (_external_ready, KernelConfig(external_ready=True)),
)


async def _run(tmp_path: Path, flow, config: KernelConfig | None) -> list[Update]:
    folder = tmp_path / flow.__name__.strip("_")
    folder.mkdir()
    rig = await make_rig(folder, config)
    try:
        await flow(rig)
        return list(rig.updates)
    finally:
        await rig.manager.stop()
        rig.store.close()


@pytest.fixture
async def published(tmp_path) -> list[Update]:
    """Every update of every flow, in order."""
    updates: list[Update] = []
    for flow, config in FLOWS:
        updates.extend(await _run(tmp_path, flow, config))
    return updates


def _describe(update: Update, payload: Any) -> str:
    if update.var == "session_event" and isinstance(payload, dict):
        return f"session_event[{payload.get('event')}]"
    return update.var


def check_updates(updates: list[Update]) -> tuple[set[str], list[str]]:
    """Validate every interface variable update; returns (validated vars, mismatches)."""
    declared = interface()["vars"]
    validated: set[str] = set()
    mismatches: list[str] = []
    for update in updates:
        if update.var not in declared:
            continue
        payload = update.to_json()
        for problem in problems(var_schema(update.var), payload):
            message = f"{_describe(update, payload)} {problem} (value: {payload!r})"
            if message not in mismatches:
                mismatches.append(message)
        validated.add(update.var)
    return validated, mismatches


# ---------------------------------------------------------------------------- the contract


def test_reference_is_complete_and_every_ref_resolves():
    defs = definitions()
    assert "evse_manager__SessionEvent" in defs
    assert "powermeter__Powermeter" in defs
    assert len(defs) > 100

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for item in node for r in refs(item)]
        return []

    dangling = sorted(
        {r for r in refs(rewrite(interface())) + refs(defs) if r[len("#/$defs/") :] not in defs}
    )
    assert dangling == []
    assert (REFERENCE / "LICENSE").read_text(encoding="utf-8").find("Apache License") >= 0
    assert "everest-core" in (REFERENCE / "SOURCE.md").read_text(encoding="utf-8")


def test_interface_matches_the_controller_lists():
    assert tuple(interface()["vars"]) == INTERFACE_VARS
    assert set(interface()["cmds"]) == set(commands.INTERFACE_COMMANDS)
    assert len(commands.INTERFACE_COMMANDS) == 13
    assert set(EXTENSION_VARS) <= EXTENSION_VARIABLES
    assert not EXTENSION_VARIABLES & set(INTERFACE_VARS)
    for name in commands.INTERFACE_COMMANDS:
        assert commands.COMMANDS[name].returns is (result_schema(name) is not None), name


def test_validator_is_strict():
    """The schemas really bite: required fields, extra fields, enums and timestamps."""
    event = {"uuid": "u", "timestamp": "2024-05-01T12:00:00.000Z", "event": "Enabled"}
    assert problems(var_schema("session_event"), event) == []
    missing = {k: v for k, v in event.items() if k != "timestamp"}
    assert problems(var_schema("session_event"), missing) == [
        "$: 'timestamp' is a required property"
    ]
    assert problems("/evse_manager#/SessionEvent", {**event, "event": "Error"})[0].startswith(
        "$.event: 'Error' is not one of"
    )
    assert problems("/evse_manager#/SessionEvent", {**event, "timestamp": "yesterday"}) == [
        "$.timestamp: 'yesterday' is not a 'date-time'"
    ]
    assert problems("/evse_manager#/SessionEvent", {**event, "extra": 1}) == [
        "$: Additional properties are not allowed ('extra' was unexpected)"
    ]
    assert problems(var_schema("limits"), {"max_current": 16.0}) == [
        "$: 'nr_of_phases_available' is a required property"
    ]
    assert problems(var_schema("limits"), {"max_current": 16, "nr_of_phases_available": 4}) == [
        "$.nr_of_phases_available: 4 is greater than the maximum of 3"
    ]
    assert problems(var_schema("supported_energy_transfer_modes"), []) == [
        "$: [] should be non-empty"
    ]
    assert problems(var_schema("supported_energy_transfer_modes"), ["AC_three_phase_core"]) == []
    assert problems(var_schema("supported_energy_transfer_modes"), ["AC_3"])[0].startswith(
        "$[0]: 'AC_3' is not one of"
    )
    assert problems(var_schema("evse_id"), 1) == ["$: 1 is not of type 'string'"]
    assert problems(result_schema("get_evse"), {"id": 1, "connectors": []}) == [
        "$.connectors: [] should be non-empty"
    ]
    validated, mismatches = check_updates(
        [Update("evse1", "limits", {"max_current": 16.0}), Update("evse1", "state", "Idle")]
    )
    assert validated == {"limits"}
    assert mismatches == [
        "limits $: 'nr_of_phases_available' is a required property (value: {'max_current': 16.0})"
    ]


async def test_every_published_interface_var_conforms(published):
    validated, mismatches = check_updates(published)
    assert not mismatches, "published values violate EVerest's schemas:\n" + "\n".join(mismatches)
    missing = sorted(REQUIRED_VARS - validated)
    assert not missing, f"interface variables never published by the flows: {missing}"
    assert len([u for u in published if u.var in interface()["vars"]]) > 100


async def test_every_session_event_conforms_and_the_flows_cover_them(published):
    enum = set(definitions()["evse_manager__SessionEventEnum"]["enum"])
    assert not REQUIRED_EVENTS - enum, sorted(REQUIRED_EVENTS - enum)
    assert not {"Error", "AllErrorsCleared"} & enum  # see REQUIRED_EVENTS
    seen: dict[str, int] = {}
    for update in published:
        if update.var != "session_event":
            continue
        payload = update.to_json()
        validate(var_schema("session_event"), payload)
        seen[payload["event"]] = seen.get(payload["event"], 0) + 1
    missing = sorted(REQUIRED_EVENTS - set(seen))
    assert not missing, f"session events never produced by the flows: {missing}"
    assert set(seen) <= enum


async def test_event_payloads_carry_the_data_their_events_need(published):
    events = [u.to_json() for u in published if u.var == "session_event"]
    data_key = {
        "SessionStarted": "session_started",
        "SessionFinished": "session_finished",
        "TransactionStarted": "transaction_started",
        "TransactionFinished": "transaction_finished",
        "ChargingPausedEVSE": "charging_paused_evse",
        "ChargingStarted": "charging_state_changed_event",
        "ChargingPausedEV": "charging_state_changed_event",
        "Authorized": "authorization_event",
        "Deauthorized": "authorization_event",
        "Enabled": "source",
        "Disabled": "source",
    }
    for event in events:
        key = data_key.get(event["event"])
        if key is None:
            continue
        assert key in event, f"{event['event']} without {key}: {event}"
    finished = [e for e in events if e["event"] == "TransactionFinished"]
    assert {"Local", "EVDisconnected"} <= {
        e["transaction_finished"].get("reason") for e in finished
    }
    started = [e["transaction_started"] for e in events if e["event"] == "TransactionStarted"]
    assert 42 in [s.get("reservation_id") for s in started]


async def test_error_flow_pauses_with_reason_error(tmp_path):
    rig = await make_rig(tmp_path)
    try:
        await rig.start_charging()
        rig.updates.clear()
        rig.station.inject_error("evse_board_support/DiodeFault")
        await rig.poll()
        (paused,) = rig.event_payloads("ChargingPausedEVSE")
        payload = paused.to_json()
        validate(var_schema("session_event"), payload)
        assert payload["charging_paused_evse"] == {"reasons": ["Error"]}
        rig.station.clear_errors()
        await rig.poll()
        assert rig.events()[-1] == "ChargingStarted"
        _, mismatches = check_updates(rig.updates)
        assert mismatches == []
    finally:
        await rig.manager.stop()
        rig.store.close()


async def test_every_published_var_is_declared_or_a_listed_extension(published):
    declared = set(interface()["vars"])
    unknown = sorted({u.var for u in published} - declared - EXTENSION_VARIABLES)
    assert not unknown, (
        f"variables neither in EVerest's interface nor in EXTENSION_VARIABLES: {unknown}"
    )


def _arguments_are_valid(name: str, args: dict[str, Any]) -> None:
    declared = interface()["cmds"][name].get("arguments", {})
    assert set(args) == set(declared), name
    for arg, value in args.items():
        validate(_strip(declared[arg]), value)


async def test_every_command_result_conforms(tmp_path):
    token = TOKEN.to_json()
    source = vote(EnableState.Disable).to_json()
    # In this order the calls walk a session: reserve, cancel, disable/enable, plug in,
    # authorize, pause, resume, stop, ... with the result each one must give.
    calls: list[tuple[str, dict[str, Any], Any]] = [
        ("get_evse", {}, None),
        ("reserve", {"reservation_id": 3}, True),
        ("cancel_reservation", {}, None),
        ("enable_disable", {"connector_id": 0, "cmd_source": source}, False),
        (
            "enable_disable",
            {"connector_id": 1, "cmd_source": {**source, "enable_state": "Enable"}},
            True,
        ),
        ("external_ready_to_start_charging", {}, False),
        (
            "set_plug_and_charge_configuration",
            {"plug_and_charge_configuration": {"pnc_enabled": True}},
            None,
        ),
        (
            "authorize_response",
            {"provided_token": token, "validation_result": ACCEPTED.to_json()},
            None,
        ),
        ("withdraw_authorization", {}, None),
        (
            "authorize_response",
            {"provided_token": token, "validation_result": ACCEPTED.to_json()},
            None,
        ),
        ("pause_charging", {}, True),
        ("resume_charging", {}, True),
        (
            "update_allowed_energy_transfer_modes",
            {"allowed_energy_transfer_modes": ["AC_three_phase_core"]},
            "NoHlc",
        ),
        ("stop_transaction", {"request": {"reason": "Remote"}}, True),
        ("force_unlock", {"connector_id": 1}, True),
    ]
    assert {name for name, _, _ in calls} == set(commands.INTERFACE_COMMANDS)
    rig = await make_rig(tmp_path)
    try:
        for name, args, expected in calls:
            _arguments_are_valid(name, args)
            if name == "pause_charging":
                rig.station.plug_in()
                rig.station.draw_power(16.0, 3)
                await rig.poll()
            outcome = await commands.execute(rig.manager, name, args)
            assert outcome.ok, f"{name}: {outcome.error}"
            schema = result_schema(name)
            if schema is None:
                assert outcome.result is None, f"{name} has no result but returned one"
                continue
            assert outcome.result is not None, f"{name} must return a result"
            found = problems(schema, outcome.result)
            assert not found, f"{name} result {outcome.result!r} violates EVerest: {found}"
            if name == "get_evse":
                assert outcome.result["id"] >= 1
                assert outcome.result["connectors"][0]["id"] == 1
            else:
                assert outcome.result == expected, name
            assert outcome.to_json() == {"ok": True, "result": outcome.result}
        assert "TransactionFinished" in rig.events()
        _, mismatches = check_updates(rig.updates)
        assert mismatches == [], "\n".join(mismatches)
    finally:
        await rig.manager.stop()
        rig.store.close()
