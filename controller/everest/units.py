"""EVerest ``units`` types: per-phase measurements as published in ``powermeter``."""

from __future__ import annotations

from dataclasses import dataclass

from .model import EverestModel


@dataclass(frozen=True, kw_only=True)
class Current(EverestModel):
    """Current in ampere per phase."""

    DC: float | None = None
    L1: float | None = None
    L2: float | None = None
    L3: float | None = None
    N: float | None = None


@dataclass(frozen=True, kw_only=True)
class Voltage(EverestModel):
    """Voltage in volt per phase."""

    DC: float | None = None
    L1: float | None = None
    L2: float | None = None
    L3: float | None = None


@dataclass(frozen=True, kw_only=True)
class Frequency(EverestModel):
    """Grid frequency in hertz; L1 is required."""

    L1: float
    L2: float | None = None
    L3: float | None = None


@dataclass(frozen=True, kw_only=True)
class Power(EverestModel):
    """Active power in watt, positive when importing."""

    total: float
    L1: float | None = None
    L2: float | None = None
    L3: float | None = None


@dataclass(frozen=True, kw_only=True)
class Energy(EverestModel):
    """Energy in watt-hours."""

    total: float
    L1: float | None = None
    L2: float | None = None
    L3: float | None = None


@dataclass(frozen=True, kw_only=True)
class ReactivePower(EverestModel):
    """Reactive power in var."""

    total: float
    L1: float | None = None
    L2: float | None = None
    L3: float | None = None
