"""Whether the connector may start charging yet, and whether it has said so.

EvseManager.cpp ready_to_start_charging publishes Enabled/Disabled, then ``ready``, once:
at start-up, or with ``external_ready`` when another module signals it. Until then an EV
plugged in waits in Idle.
"""

from __future__ import annotations


class Readiness:
    """``ready`` once no external signal is awaited; ``announce_due`` until it is published."""

    def __init__(self, external: bool) -> None:
        self.waiting_for_external = external
        self.announce_due = False

    @property
    def ready(self) -> bool:
        """No external signal is awaited (any more)."""
        return not self.waiting_for_external

    def started(self) -> None:
        """Start-up: announce now, unless the external signal is awaited."""
        self.announce_due = self.ready

    def signal(self) -> None:
        """The external module's ready_to_start_charging."""
        if self.waiting_for_external:
            self.waiting_for_external = False
            self.announce_due = True

    def announced(self) -> None:
        """Enabled/Disabled and ready were published."""
        self.announce_due = False
