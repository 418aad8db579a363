"""Enable/disable arbitration between prioritised sources (EVerest semantics).

One vote per ``enable_source``; a new command replaces that source's vote. ``Unassigned``
votes are ignored; the lowest priority number wins; on a tie Disable wins; with no votes
the EVSE is enabled.
"""

from __future__ import annotations

from ..everest import EnableDisableSource, EnableSource, EnableState


class EnableArbiter:
    """Keeps the votes and computes the winner."""

    def __init__(self, initial: EnableDisableSource) -> None:
        self._votes: dict[EnableSource, EnableDisableSource] = {initial.enable_source: initial}

    def vote(self, source: EnableDisableSource) -> None:
        """Replace the vote of ``source.enable_source``."""
        self._votes[source.enable_source] = source

    def winner(self) -> EnableDisableSource | None:
        """The deciding vote, or None when nobody votes (then: enabled)."""
        assigned = [v for v in self._votes.values() if v.enable_state is not EnableState.Unassigned]
        if not assigned:
            return None
        return min(
            assigned,
            key=lambda v: (v.enable_priority, v.enable_state is not EnableState.Disable),
        )

    @property
    def enabled(self) -> bool:
        """The arbitration result."""
        winner = self.winner()
        return winner is None or winner.enable_state is EnableState.Enable

    def votes(self) -> list[EnableDisableSource]:
        """All recorded votes (for diagnostics)."""
        return list(self._votes.values())
