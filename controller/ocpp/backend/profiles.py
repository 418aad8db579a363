"""Charging profiles the CSMS sets, version-neutral, and the limit they add up to.

OCPP 1.6 §3.13.2 / 2.0.1 K08 composite schedule: per connector, the TxProfile (when one
is set) replaces the TxDefaultProfile, within each purpose the highest stack level
wins, and the ChargePointMaxProfile (ChargingStationMaxProfile, connector / EVSE 0)
caps the result. ``schedule_for`` gives the composite limit over the next ``horizon`` as the
times it changes (period starts, a schedule's duration or validTo ending it), as
libocpp's get_all_enhanced_composite_charging_schedules does for EVerest's OCPP
modules; a limit in W is handed on as W (the kernel converts it with its nominal
voltage and phases).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    ends: datetime | None = None  # the schedule's duration or the profile's validTo

    def active(self, now: datetime) -> Period | None:
        """The period in force at ``now`` (None before the schedule starts and once it
        has ended)."""
        if self.ends is not None and now >= self.ends:
            return None
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
    raw: Mapping[str, Any],
    connector: int,
    schedule: Mapping[str, Any],
    profile_id: Any,
    now: datetime | None = None,
) -> Profile:
    """A profile from the fields both versions share (ValueError when unusable); a
    Relative one starts ``now``."""
    now = now or datetime.now(UTC)
    periods = tuple(
        Period(int(p["start_period"]), float(p["limit"]), p.get("number_phases"))
        for p in schedule.get("charging_schedule_period") or ()
    )
    unit = schedule.get("charging_rate_unit")
    if not periods or unit not in ("A", "W") or not isinstance(profile_id, int):
        raise ValueError("a profile needs an id, a unit (A or W) and periods")
    start_text = schedule.get("start_schedule")
    start = _time(start_text) if raw.get("charging_profile_kind") != "Relative" else None
    start = start or now
    ends = [_time(raw.get("valid_to"))]
    duration = schedule.get("duration")
    if isinstance(duration, int) and duration > 0:
        ends.append(start + timedelta(seconds=duration))
    known_ends = [e for e in ends if e is not None]
    return Profile(
        id=profile_id,
        connector=connector,
        purpose=str(raw["charging_profile_purpose"]),
        stack_level=int(raw["stack_level"]),
        unit=unit,
        periods=periods,
        start=start,
        ends=min(known_ends) if known_ends else None,
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


def schedule_for(
    connector: int, profiles: Iterable[Profile], now: datetime, horizon_s: float
) -> list[tuple[datetime, Limit | None]]:
    """The composite limit from ``now`` over ``horizon_s``: (from when, limit) at each
    change; [] when no profile limits the connector in that time."""
    mine = [p for p in profiles if p.connector in (0, connector)]
    until = now + timedelta(seconds=horizon_s)
    times = {now}
    for p in mine:
        base = p.start or now
        times.update(base + timedelta(seconds=x.start_s) for x in p.periods)
        if p.ends is not None:
            times.add(p.ends)
    entries: list[tuple[datetime, Limit | None]] = []
    for moment in sorted(t for t in times if now <= t < until):
        limit = limit_for(connector, mine, moment)
        if not entries or entries[-1][1] != limit:
            entries.append((moment, limit))
    return [] if all(limit is None for _, limit in entries) else entries


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
        "ends": p.ends.isoformat() if p.ends else None,
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
                    ends=_time(item.get("ends")),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out
