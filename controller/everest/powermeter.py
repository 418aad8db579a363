"""EVerest ``powermeter`` types: the billing meter sample carried by session events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .model import EverestModel
from .units import Current, Energy, Frequency, Power, ReactivePower, Voltage


@dataclass(frozen=True, kw_only=True)
class Powermeter(EverestModel):
    """One meter sample; ``timestamp`` and ``energy_Wh_import`` are required."""

    timestamp: str
    energy_Wh_import: Energy
    meter_id: str | None = None
    phase_seq_error: bool | None = None
    energy_Wh_export: Energy | None = None
    power_W: Power | None = None
    voltage_V: Voltage | None = None
    VAR: ReactivePower | None = None
    current_A: Current | None = None
    frequency_Hz: Frequency | None = None


class TransactionRequestStatus(StrEnum):
    """Outcome of a start/stop transaction request at the meter."""

    OK = "OK"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    UNEXPECTED_ERROR = "UNEXPECTED_ERROR"


@dataclass(frozen=True, kw_only=True)
class TransactionStartResponse(EverestModel):
    """Meter answer to ``start_transaction``."""

    status: TransactionRequestStatus
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class TransactionStopResponse(EverestModel):
    """Meter answer to ``stop_transaction``."""

    status: TransactionRequestStatus
    error: str | None = None
