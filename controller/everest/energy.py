"""EVerest ``energy`` types: the limits an energy manager enforces on this EVSE."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import EverestModel


@dataclass(frozen=True, kw_only=True)
class NumberWithSource(EverestModel):
    """A limit value and who set it (explains why a limit is active)."""

    value: float
    source: str


@dataclass(frozen=True, kw_only=True)
class IntegerWithSource(EverestModel):
    """An integer limit value and who set it."""

    value: int
    source: str


@dataclass(frozen=True, kw_only=True)
class LimitsRes(EverestModel):
    """Limits at the root side of the energy tree."""

    total_power_W: NumberWithSource | None = None
    ac_max_current_A: NumberWithSource | None = None
    ac_max_phase_count: IntegerWithSource | None = None


@dataclass(frozen=True, kw_only=True)
class ScheduleResEntry(EverestModel):
    """One informative schedule entry."""

    timestamp: str
    limits_to_root: LimitsRes
    price_per_kwh: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class EnforcedLimits(EverestModel):
    """What the energy manager allows; expires after ``valid_for`` seconds."""

    uuid: str
    valid_for: int
    limits_root_side: LimitsRes
    schedule: list[ScheduleResEntry] = field(default_factory=list)
