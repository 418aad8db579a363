"""The one JSON command API every adapter uses (MQTT, HTTP, Home Assistant services).

Each interface command has an argument schema derived from the EVerest types and a call
into the typed ``EvseManager`` method. ``execute`` validates, runs and returns a
``CommandResult`` whose ``result`` is already in EVerest's JSON form; invalid input gives
``ok=False`` with a message naming the field, never an exception.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import voluptuous as vol
from voluptuous.humanize import humanize_error

from .auth import ID_TAG, present_token, user_token
from .energy.surplus import Mode
from .errors import CommandError, NoEnergyManager
from .everest import (
    EnableDisableSource,
    EnergyTransferMode,
    EnforcedLimits,
    ExternalLimits,
    IdTokenType,
    PlugAndChargeConfiguration,
    ProvidedIdToken,
    StopTransactionRequest,
    ValidationResult,
)
from .everest.model import coerced_float, dump, integer
from .manager import EnergyControl, EvseManager

MAX_JSON_BYTES = 64 * 1024  # far above any command; the HTTP body limit too
MAX_JSON_DEPTH = 32  # the deepest command argument is 4 levels
# How long a caller waits for the connector: a command queues behind a poll, and a
# device that stopped answering holds the poll until its request timeouts run out.
COMMAND_TIMEOUT_S = 5.0
_JSON_SPECIAL = re.compile(r'[\[\]{}"\\]')


class JsonInputError(ValueError):
    """Input that is not acceptable JSON; the message says why (safe to show the sender)."""


def parse_json(text: str | bytes, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse untrusted JSON with its size and nesting bounded *before* parsing.

    The one parser of every adapter (MQTT payloads, HTTP bodies, WebSocket messages):
    deep nesting would otherwise exhaust the recursion limit, and NaN/Infinity (which
    Python's json accepts) are refused, as are numbers too large for a float. ``max_bytes``
    is for a document the controller itself retains and may be larger (the connector list).
    """
    if len(text) > max_bytes:
        raise JsonInputError(f"JSON larger than {max_bytes} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonInputError("JSON must be UTF-8 text") from None
    if _nesting(text) > MAX_JSON_DEPTH:
        raise JsonInputError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except JsonInputError:
        raise
    except ValueError as err:  # JSONDecodeError, and integers beyond Python's digit limit
        raise JsonInputError(f"malformed JSON: {err}") from None


def _nesting(text: str) -> int:
    """The deepest bracket nesting outside strings, in one linear pass."""
    depth = deepest = 0
    in_string = False
    escaped = -1  # position of a character escaped by a backslash
    for match in _JSON_SPECIAL.finditer(text):
        pos, char = match.start(), match.group()
        if in_string:
            if pos == escaped:
                continue
            if char == "\\":
                escaped = pos + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a number (only finite numbers are accepted)")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JsonInputError(f"number {text[:20]} is out of range")
    return value


NO_ARGS = vol.Schema({})
CONNECTOR_ARGS = vol.Schema({vol.Required("connector_id"): vol.All(integer, vol.Range(min=0))})

Runner = Callable[[EvseManager, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    """One interface command: how to validate its arguments and how to run it."""

    name: str
    schema: vol.Schema
    run: Runner
    returns: bool  # whether the interface defines a result


@dataclass(frozen=True)
class CommandResult:
    """Outcome of ``execute``: the interface's result, or why the call was refused."""

    ok: bool
    result: Any = None
    error: str | None = None
    timed_out: bool = False  # the connector did not answer in time (not the caller's fault)
    code: str | None = None  # what kind of refusal, for adapters that word it themselves

    def to_json(self) -> dict[str, Any]:
        """``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``."""
        if self.ok:
            return {"ok": True, "result": self.result}
        return {"ok": False, "error": self.error}


def _connector(m: EvseManager, connector_id: int, *, whole_evse: bool) -> int:
    """``connector_id`` if this EVSE has it (EVerest: 0 is the whole EVSE, then its
    connectors), else a CommandError: a vote or unlock for a connector that does not
    exist must not look accepted."""
    known = ((0,) if whole_evse else ()) + (m.config.connector_id,)
    if connector_id not in known:
        names = " or ".join(str(k) for k in known)
        raise CommandError(f"connector_id {connector_id}: this EVSE has connector_id {names}")
    return connector_id


async def _enable_disable(m: EvseManager, a: dict[str, Any]) -> bool:
    connector_id = _connector(m, a["connector_id"], whole_evse=True)
    return await m.enable_disable(connector_id, EnableDisableSource.from_json(a["cmd_source"]))


async def _force_unlock(m: EvseManager, a: dict[str, Any]) -> bool:
    return await m.force_unlock(_connector(m, a["connector_id"], whole_evse=False))


async def _authorize_response(m: EvseManager, a: dict[str, Any]) -> None:
    await m.authorize_response(
        ProvidedIdToken.from_json(a["provided_token"]),
        ValidationResult.from_json(a["validation_result"]),
    )


async def _stop_transaction(m: EvseManager, a: dict[str, Any]) -> bool:
    return await m.stop_transaction(StopTransactionRequest.from_json(a["request"]))


async def _set_pnc(m: EvseManager, a: dict[str, Any]) -> None:
    config = PlugAndChargeConfiguration.from_json(a["plug_and_charge_configuration"])
    await m.set_plug_and_charge_configuration(config)


async def _update_modes(m: EvseManager, a: dict[str, Any]) -> Any:
    modes = [EnergyTransferMode(v) for v in a["allowed_energy_transfer_modes"]]
    return await m.update_allowed_energy_transfer_modes(modes)


async def _enforce_limits(m: EvseManager, a: dict[str, Any]) -> None:
    await m.set_enforced_limits(EnforcedLimits.from_json(a["value"]))


async def _present_token(m: EvseManager, a: dict[str, Any]) -> Any:
    token = user_token(a["id_token"], IdTokenType(a["type"]))
    return await present_token(m, token)


async def _external_limits(m: EvseManager, a: dict[str, Any]) -> None:
    await m.set_external_limits(ExternalLimits.from_json(a["value"]))


def _energy(m: EvseManager) -> EnergyControl:
    if m.energy is None:
        raise NoEnergyManager(
            "no energy manager drives this connector (configure the energy section)"
        )
    return m.energy


async def _set_charge_mode(m: EvseManager, a: dict[str, Any]) -> None:
    _energy(m).set_mode(a["mode"])


async def _set_energy_settings(m: EvseManager, a: dict[str, Any]) -> None:
    try:
        _energy(m).update_settings(a)
    except ValueError as err:
        raise CommandError(str(err)) from err


def _number(low: float, high: float) -> vol.All:
    return vol.All(coerced_float, vol.Range(min=low, max=high))


ENERGY_SETTINGS = vol.Schema(
    {
        vol.Optional("min_current_A"): _number(0, 32),
        vol.Optional("max_current_A"): _number(6, 80),
        vol.Optional("enable_threshold_W"): _number(-50_000, 50_000),
        vol.Optional("disable_threshold_W"): _number(-50_000, 50_000),
        vol.Optional("enable_delay_s"): _number(0, 3600),
        vol.Optional("disable_delay_s"): _number(0, 3600),
        vol.Optional("import_budget_Wh"): _number(0, 100_000),
        vol.Optional("phase_up_delay_s"): _number(0, 3600),
        vol.Optional("phase_down_delay_s"): _number(0, 3600),
        vol.Optional("buffer_W"): _number(-50_000, 50_000),
        vol.Optional("battery_to_ev"): bool,
        vol.Optional("priority_soc"): _number(0, 100),
        vol.Optional("buffer_soc"): _number(0, 100),
        vol.Optional("buffer_start_soc"): _number(0, 100),
        vol.Optional("phase_switching"): bool,
    }
)

_MODES = vol.All([vol.In([mode.value for mode in EnergyTransferMode])], vol.Length(min=1))

COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("get_evse", NO_ARGS, lambda m, a: m.get_evse(), returns=True),
        Command(
            "enable_disable",
            vol.Schema(
                {
                    vol.Required("connector_id"): vol.All(integer, vol.Range(min=0)),
                    vol.Required("cmd_source"): EnableDisableSource.schema(),
                }
            ),
            _enable_disable,
            returns=True,
        ),
        Command(
            "authorize_response",
            vol.Schema(
                {
                    vol.Required("provided_token"): ProvidedIdToken.schema(),
                    vol.Required("validation_result"): ValidationResult.schema(),
                }
            ),
            _authorize_response,
            returns=False,
        ),
        Command(
            "withdraw_authorization",
            NO_ARGS,
            lambda m, a: m.withdraw_authorization(),
            returns=False,
        ),
        Command(
            "reserve",
            vol.Schema({vol.Required("reservation_id"): integer}),
            lambda m, a: m.reserve(a["reservation_id"]),
            returns=True,
        ),
        Command("cancel_reservation", NO_ARGS, lambda m, a: m.cancel_reservation(), returns=False),
        Command("pause_charging", NO_ARGS, lambda m, a: m.pause_charging(), returns=True),
        Command("resume_charging", NO_ARGS, lambda m, a: m.resume_charging(), returns=True),
        Command(
            "stop_transaction",
            vol.Schema({vol.Required("request"): StopTransactionRequest.schema()}),
            _stop_transaction,
            returns=True,
        ),
        Command(
            "force_unlock",
            CONNECTOR_ARGS,
            _force_unlock,
            returns=True,
        ),
        Command(
            "external_ready_to_start_charging",
            NO_ARGS,
            lambda m, a: m.external_ready_to_start_charging(),
            returns=True,
        ),
        Command(
            "set_plug_and_charge_configuration",
            vol.Schema(
                {vol.Required("plug_and_charge_configuration"): PlugAndChargeConfiguration.schema()}
            ),
            _set_pnc,
            returns=False,
        ),
        Command(
            "update_allowed_energy_transfer_modes",
            vol.Schema({vol.Required("allowed_energy_transfer_modes"): _MODES}),
            _update_modes,
            returns=True,
        ),
        # Not one of the 13 interface commands: the energy-manager input (enforce_limits).
        Command(
            "enforce_limits",
            vol.Schema({vol.Required("value"): EnforcedLimits.schema()}),
            _enforce_limits,
            returns=False,
        ),
        # EVerest's external_energy_limits.set_external_limits (OCPP charging profiles):
        # a second limit beside the energy manager's, the lower one applies.
        Command(
            "set_external_limits",
            vol.Schema({vol.Required("value"): ExternalLimits.schema()}),
            _external_limits,
            returns=False,
        ),
        # The energy manager's mode and tuning (extensions, like enforce_limits).
        Command(
            "set_charge_mode",
            vol.Schema({vol.Required("mode"): vol.In([mode.value for mode in Mode])}),
            _set_charge_mode,
            returns=False,
        ),
        Command("set_energy_settings", ENERGY_SETTINGS, _set_energy_settings, returns=False),
        # A token a user presents (no card reader, a dashboard button): validated as a
        # card is (controller.auth.present_token), then authorize_response.
        Command(
            "present_token",
            vol.Schema(
                {
                    vol.Required("id_token"): ID_TAG,
                    vol.Optional("type", default=IdTokenType.ISO14443.value): vol.In(
                        [t.value for t in IdTokenType]
                    ),
                }
            ),
            _present_token,
            returns=True,
        ),
        # The user's ceiling (the "Maximum current" control), kept across restarts.
        Command(
            "set_max_current",
            vol.Schema({vol.Required("max_current"): _number(0, 80)}),
            lambda m, a: m.set_max_current(a["max_current"]),
            returns=True,
        ),
    )
}

EXTENSION_COMMANDS = (
    "enforce_limits",
    "set_external_limits",
    "present_token",
    "set_charge_mode",
    "set_energy_settings",
    "set_max_current",
)
INTERFACE_COMMANDS = tuple(name for name in COMMANDS if name not in EXTENSION_COMMANDS)


async def execute(manager: EvseManager, name: str, args: Any) -> CommandResult:
    """Validate ``args`` for command ``name`` and run it; never raises for bad input."""
    command = COMMANDS.get(name)
    if command is None:
        return CommandResult(False, error=f"unknown command {name!r}")
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        return CommandResult(False, error=f"{name}: arguments must be a JSON object")
    try:
        validated = command.schema(dict(args))
    except vol.Invalid as err:
        return CommandResult(False, error=f"{name}: {humanize_error(dict(args), err)}")
    try:
        async with asyncio.timeout(COMMAND_TIMEOUT_S):
            result = await command.run(manager, validated)
    except CommandError as err:
        return CommandResult(False, error=f"{name}: {err}", code=getattr(err, "code", None))
    except TimeoutError:
        return CommandResult(False, error=_timeout_message(name), timed_out=True)
    return CommandResult(True, result=dump(result) if command.returns else None)


def _timeout_message(name: str) -> str:
    return (
        f"{name}: no answer within {COMMAND_TIMEOUT_S:g} s: the connector's devices are not "
        "responding; the command is dropped unless it had already started (check the state)"
    )
