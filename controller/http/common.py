"""JSON views of connectors and the command call shared by the REST and WebSocket routes."""

from __future__ import annotations

from typing import Any

from ..commands import COMMANDS, CommandResult, execute
from ..everest.model import dump
from ..manager import EvseManager

JsonObject = dict[str, Any]


class ApiError(Exception):
    """A client error; the API turns it into ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def state_of(manager: EvseManager) -> str | None:
    """The state name, or None while the connector waits for its devices (not started)."""
    try:
        return manager.state.value
    except RuntimeError:
        return None


def vars_of(manager: EvseManager) -> JsonObject:
    """Every published variable in EVerest's JSON form ({} before the connector starts)."""
    try:
        values = manager.vars()
    except RuntimeError:
        return {}
    return {name: dump(value) for name, value in values.items()}


def charger_of(manager: EvseManager) -> JsonObject | None:
    """Identity of the charge controller, or None until it has been read."""
    info = manager.charger_info
    if info is None:
        return None
    return {
        "vendor": info.vendor,
        "model": info.model,
        "serial": info.serial,
        "firmware": info.firmware,
    }


def summary(manager: EvseManager) -> JsonObject:
    """One entry of the connector list."""
    return {
        "name": manager.name,
        "available": manager.available,
        "state": state_of(manager),
        "charger": charger_of(manager),
    }


def detail(manager: EvseManager) -> JsonObject:
    """One connector with all its variables."""
    return {
        "name": manager.name,
        "available": manager.available,
        "state": state_of(manager),
        "vars": vars_of(manager),
    }


async def run_command(manager: EvseManager, name: str, args: Any) -> CommandResult:
    """``execute`` plus the one failure it cannot report itself: a connector whose devices
    have not come up yet (no kernel), which must not turn into a 500 or a dead socket."""
    if name not in COMMANDS:
        return CommandResult(False, error=f"unknown command {name!r}")
    if state_of(manager) is None:
        return CommandResult(False, error=f"connector {manager.name!r} is not running")
    return await execute(manager, name, args)
