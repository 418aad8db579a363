"""Exceptions of the controller library (adapters translate these, never parse messages)."""

from __future__ import annotations


class EvseError(Exception):
    """Base of every error the controller raises."""


class DeviceError(EvseError):
    """A charger or meter could not be read or written (timeout, Modbus exception, garbage)."""


class ConnectError(DeviceError):
    """The device is unreachable."""


class MeterCounterError(DeviceError):
    """The meter answers, but its energy counter keeps going back: no energy can be
    counted from it (a reset is a single step back, and is handled)."""


class MapError(EvseError, ValueError):
    """A device map file is invalid; the message names the file and the field."""


class ConfigError(EvseError, ValueError):
    """The controller configuration is invalid; the message names the field."""


class CommandError(EvseError, ValueError):
    """A command was called with invalid arguments; the message says which and why."""


class NoEnergyManager(CommandError):
    """An energy-manager command reached a connector no energy manager drives (each adapter
    says in its own words how to add one)."""

    code = "no_energy_manager"


class IllegalTransition(EvseError):
    """The state machine was asked for a transition its table does not have (a bug)."""
