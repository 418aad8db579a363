"""Site load management: share the main fuse between connectors, per phase, fairly.

Household load comes first (it cannot be controlled); what is left on each phase is
shared by water-filling: every connector gets the same current unless it wants less, and
the current left over by modest connectors goes to the others. A connector that cannot
get its minimum current is paused (0 A) rather than given less than the EV accepts; the
lowest-priority one (last in the list) is paused first. The result never exceeds the fuse
on any phase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PHASES = (1, 2, 3)


@dataclass(frozen=True, kw_only=True)
class Demand:
    """What one connector wants, and which phases of the house it loads."""

    name: str
    phases: tuple[int, ...]  # grid phases used, e.g. (1, 2, 3) or (2,)
    min_A: float
    max_A: float  # what it would draw now without the fuse; 0: nothing


def headroom(fuse_A: float, household_A: Sequence[float]) -> dict[int, float]:
    """Current left per phase after the household's own load."""
    return {p: max(0.0, fuse_A - household_A[p - 1]) for p in PHASES}


def share(
    fuse_A: float, household_A: Sequence[float], demands: Sequence[Demand]
) -> dict[str, float]:
    """Per-connector current limits (A per phase) that fit the fuse on every phase."""
    room = headroom(fuse_A, household_A)
    active = [d for d in demands if d.max_A > 0 and d.max_A >= d.min_A]
    result = {d.name: 0.0 for d in demands}
    while active:
        allocation = _water_fill(room, active)
        starved = [d for d in active if allocation[d.name] + 1e-9 < d.min_A]
        if not starved:
            result.update(allocation)
            return result
        active.remove(starved[-1])  # pause the lowest-priority connector that starves
    return result


def _water_fill(room: dict[int, float], demands: Sequence[Demand]) -> dict[str, float]:
    left = dict(room)
    pending = list(demands)
    allocation: dict[str, float] = {}
    while pending:
        level = _level(left, pending)
        satisfied = [d for d in pending if d.max_A <= level[d.name] + 1e-9]
        if not satisfied:
            for d in pending:
                allocation[d.name] = level[d.name]
            return allocation
        for d in satisfied:
            allocation[d.name] = d.max_A
            for p in d.phases:
                left[p] -= d.max_A
            pending.remove(d)
    return allocation


def _level(left: dict[int, float], pending: Sequence[Demand]) -> dict[str, float]:
    """The equal share each pending connector can get on its tightest phase."""
    users = {p: sum(1 for d in pending if p in d.phases) for p in PHASES}
    per_phase = {p: (left[p] / users[p]) if users[p] else 0.0 for p in PHASES}
    return {d.name: max(0.0, min(per_phase[p] for p in d.phases)) for d in pending}
