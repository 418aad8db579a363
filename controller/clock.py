"""Time as an injected dependency, so deadlines are testable without sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds for deadlines, wall time for timestamps."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps back."""
        ...

    def now(self) -> datetime:
        """Timezone-aware UTC wall time."""
        ...


class SystemClock:
    """The real clocks."""

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    def now(self) -> datetime:
        """datetime.now(UTC) (freezegun can freeze it)."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests, simulations and benchmarks."""

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._mono = 1000.0

    def monotonic(self) -> float:
        """Seconds since an arbitrary origin."""
        return self._mono

    def now(self) -> datetime:
        """The simulated wall time."""
        return self._wall

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self._mono += seconds
        self._wall += timedelta(seconds=seconds)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC timestamp with milliseconds, as EVerest publishes it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
