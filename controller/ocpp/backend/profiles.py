"""Charging profiles the CSMS sets, version-neutral, and the limit they add up to.

OCPP 1.6 §3.13.2 / 2.0.1 K08 composite schedule: per connector, the TxProfile (when one
is set) replaces the TxDefaultProfile, within each purpose the highest stack level
wins, and the ChargePointMaxProfile (ChargingStationMaxProfile, connector / EVSE 0)
caps the result. The limit is the schedule period active now; a limit in W is handed
on as W (the kernel converts it with its nominal voltage and phases, as for any
``enforce_limits``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_PURPOSES = ("ChargePointMaxProfile", "ChargingStationMaxProfile")
TX_PURPOSES = ("TxProfile",)
DEFAULT_PURPOSES = ("TxDefaultProfile",)


@dataclass(frozen=True)
class Period:
    """From ``start_s`` into the schedule: ``limit`` in ``unit``, on ``phases``."""

    start_s: int
    limit: float
    phases: int | None = None


@dataclass(frozen=True)
class Profile:
    """One charging profile of one connector (0: the whole station)."""

    id: int
    connector: int
    purpose: str
    stack_level: int
    unit: str  # "A" (per phase) or "W"
    periods: tuple[Period, ...]
    start: datetime | None = None  # Absolute / Recurring start; Relative: when set

    def active(self, now: datetime) -> Period | None:
        """The period in force at ``now`` (None before the schedule starts)."""
        elapsed = (now - (self.start or now)).total_seconds()
        current = None
        for period in sorted(self.periods, key=lambda p: p.start_s):
            if period.start_s <= elapsed:
                current = period
        return current


@dataclass(frozen=True)
class Limit:
    """What the profiles allow one connector now."""

    amps: float | None = None  # per phase
    watts: float | None = None
    phases: int | None = None


def profile(
    raw: Mapping[str, Any], connector: int, schedule: Mapping[str, Any], profile_id: Any
) -> Profile:
    """A profile from the fields both versions share (ValueError when unusable)."""
    periods = tuple(
        Period(int(p["start_period"]), float(p["limit"]), p.get("number_phases"))
        for p in schedule.get("charging_schedule_period") or ()
    )
    unit = schedule.get("charging_rate_unit")
    if not periods or unit not in ("A", "W") or not isinstance(profile_id, int):
        raise ValueError("a profile needs an id, a unit (A or W) and periods")
    start_text = schedule.get("start_schedule")
    start = _time(start_text) if raw.get("charging_profile_kind") != "Relative" else None
    return Profile(
        id=profile_id,
        connector=connector,
        purpose=str(raw["charging_profile_purpose"]),
        stack_level=int(raw["stack_level"]),
        unit=unit,
        periods=periods,
        start=start or datetime.now(UTC),
    )


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def limit_for(connector: int, profiles: Iterable[Profile], now: datetime) -> Limit | None:
    """The composite limit of ``connector`` (None: no profile limits it)."""
    mine = [p for p in profiles if p.connector in (0, connector)]
    tx = _top(mine, TX_PURPOSES, now) or _top(mine, DEFAULT_PURPOSES, now)
    cap = _top(mine, MAX_PURPOSES, now)
    chosen = [x for x in (tx, cap) if x is not None]
    if not chosen:
        return None
    amps = [p.limit for unit, p in chosen if unit == "A"]
    watts = [p.limit for unit, p in chosen if unit == "W"]
    phases = [p.phases for _, p in chosen if p.phases]
    return Limit(
        amps=min(amps) if amps else None,
        watts=min(watts) if watts else None,
        phases=min(phases) if phases else None,
    )


def _top(profiles: list[Profile], purposes: tuple[str, ...], now: datetime) -> Any:
    """(unit, period) of the highest stack level of ``purposes`` active now."""
    ranked = sorted(
        (p for p in profiles if p.purpose in purposes), key=lambda p: (p.stack_level, p.connector)
    )
    for p in reversed(ranked):
        period = p.active(now)
        if period is not None:
            return (p.unit, period)
    return None


def to_json(p: Profile) -> dict[str, Any]:
    """A profile as kept in the database (OCPP: profiles survive a restart)."""
    return {
        "id": p.id,
        "connector": p.connector,
        "purpose": p.purpose,
        "stack_level": p.stack_level,
        "unit": p.unit,
        "periods": [[x.start_s, x.limit, x.phases] for x in p.periods],
        "start": p.start.isoformat() if p.start else None,
    }


def from_json(data: Any) -> list[Profile]:
    """The kept profiles; anything unreadable is left out."""
    out = []
    for item in data if isinstance(data, list) else ():
        try:
            out.append(
                Profile(
                    id=int(item["id"]),
                    connector=int(item["connector"]),
                    purpose=str(item["purpose"]),
                    stack_level=int(item["stack_level"]),
                    unit=str(item["unit"]),
                    periods=tuple(Period(int(a), float(b), c) for a, b, c in item["periods"]),
                    start=_time(item["start"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out
