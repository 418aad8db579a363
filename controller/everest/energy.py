"""EVerest ``energy`` types: the limits an energy manager enforces on this EVSE."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import EverestModel, constrained


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


@dataclass(frozen=True, kw_only=True)
class LimitsReq(EverestModel):
    """Limits a node of the energy tree requests (energy.yaml LimitsReq)."""

    total_power_W: NumberWithSource | None = None
    ac_max_current_A: NumberWithSource | None = None
    ac_min_current_A: NumberWithSource | None = None
    ac_max_phase_count: IntegerWithSource | None = None
    ac_min_phase_count: IntegerWithSource | None = None
    ac_supports_changing_phases_during_charging: bool | None = None
    ac_number_of_active_phases: int | None = constrained(default=None, range=(1, 3))


@dataclass(frozen=True, kw_only=True)
class ScheduleReqEntry(EverestModel):
    """From ``timestamp`` (RFC 3339 UTC) on: the limits towards root and leaves."""

    timestamp: str
    limits_to_root: LimitsReq
    limits_to_leaves: LimitsReq
    conversion_efficiency: float | None = constrained(default=None, range=(0, 1))
    price_per_kwh: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ExternalLimits(EverestModel):
    """Limits set on a node from outside the energy tree (OCPP's charging profiles):
    ``external_energy_limits.set_external_limits``. The first entry holds already now,
    the last one for ever after."""

    schedule_import: list[ScheduleReqEntry]
    schedule_export: list[ScheduleReqEntry] = field(default_factory=list)
    schedule_setpoints: list[dict[str, Any]] = field(default_factory=list)
