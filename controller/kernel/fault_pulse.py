"""The short CP F of a fatal fault that arrives during an EVSE pause."""

from __future__ import annotations


class FaultPulse:
    """Charger.cpp ChargingPausedEVSE: a fatal error that arrives during the pause
    (entered_fatal_error_state) gives F for ``state_F_after_fault_ms``, then X1. Remembers
    whether a fatal error was active at the end of the last step, to see one arrive."""

    def __init__(self, f_ms: int) -> None:
        self._f_s = f_ms / 1000.0
        self._seen = False

    def after_step(self, fatal: bool, paused_throughout: bool) -> float | None:
        """End of a step: how long to show F (None: no pulse starts now)."""
        arrived = fatal and not self._seen
        self._seen = fatal
        if arrived and paused_throughout and self._f_s > 0:
            return self._f_s
        return None
