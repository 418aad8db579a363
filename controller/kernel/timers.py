"""The kernel's deadlines: named points in monotonic time, the only timers it has.

One owner for every deadline (wake-up, stopping, phase switch, authorization timeout, ...)
so that arming, cancelling and asking what is due read the same everywhere, and the runner
can be told when the next one falls (``next``).
"""

from __future__ import annotations

from ..clock import Clock


class Timers:
    """Named deadlines on the injected clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._deadlines: dict[str, float] = {}
        self._ticked_at = float("-inf")  # when the last tick ran

    def now(self) -> float:
        """The monotonic time the deadlines are measured in."""
        return self._clock.monotonic()

    def arm(self, name: str, after_s: float) -> None:
        """(Re)start ``name`` to fall ``after_s`` seconds from now."""
        self._deadlines[name] = self.now() + after_s

    def arm_at(self, name: str, at: float) -> None:
        """Set ``name`` to fall at the monotonic time ``at``."""
        self._deadlines[name] = at

    def cancel(self, *names: str) -> None:
        """Forget these deadlines (armed or not)."""
        for name in names:
            self._deadlines.pop(name, None)

    def pending(self, name: str) -> bool:
        """Whether ``name`` is armed (due or not)."""
        return name in self._deadlines

    def due(self, name: str) -> bool:
        """Whether ``name`` is armed and its time has come."""
        deadline = self._deadlines.get(name)
        return deadline is not None and self.now() >= deadline

    def fell_due(self, since: float) -> bool:
        """Whether a deadline fell after ``since`` (and by now)."""
        now = self.now()
        return any(since < t <= now for t in self._deadlines.values())

    def ticked(self) -> None:
        """A tick saw the deadlines due now: they must not make the runner tick again."""
        self._ticked_at = self.now()

    def next(self) -> float | None:
        """The earliest deadline after the last tick (a deadline that tick already saw due
        stays until new facts change things, and must not make the runner tick at once,
        over and over)."""
        times = [t for t in self._deadlines.values() if t > self._ticked_at]
        return min(times) if times else None
