"""The soft over-current monitor: an EV drawing more than it is signalled, for too long."""

from __future__ import annotations

from ..everest import Powermeter


class OvercurrentMonitor:
    """Charger.cpp check_soft_over_current: MREC4 when a phase draws more than
    (signalled + noise) * (1 + tolerance/100) for the timeout (EvseManager manifest
    soft_over_current_*)."""

    def __init__(self, tolerance_percent: float, noise_A: float, timeout_ms: int) -> None:
        self._factor = 1.0 + tolerance_percent / 100.0
        self._noise_A = noise_A
        self._timeout_s = timeout_ms / 1000
        self._since: float | None = None  # when the phase current first went over

    def check(
        self, charging: bool, sample: Powermeter, signalled_A: float, now: float
    ) -> str | None:
        """A meter sample; returns the error message once the excess lasted long enough."""
        current = sample.current_A
        if not charging or current is None:
            self._since = None
            return None
        limit = (signalled_A + self._noise_A) * self._factor
        phases = [c for c in (current.L1, current.L2, current.L3) if c is not None]
        if not phases or max(phases) <= limit:
            self._since = None
            return None
        if self._since is None:
            self._since = now
            return None
        if now - self._since < self._timeout_s:
            return None
        return f"{max(phases):.1f} A drawn, {signalled_A:.1f} A allowed"
