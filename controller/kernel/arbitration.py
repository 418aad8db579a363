"""Enable/disable arbitration between prioritised sources (Charger.cpp semantics).

One table entry per ``enable_source``, in the order the sources first voted; a new command
replaces that source's entry in place. ``parse_enable_disable_source_table``: Unassigned
entries are ignored, the lowest priority number wins, and at one priority a Disable entry
replaces the winner (so of two Disables the later entry wins); with no assigned entry the
winner is the default ``{Unspecified, Unassigned, 10000}`` and the EVSE is enabled.
``connector_enabled`` changes only on a command for a non-zero connector id.
"""

from __future__ import annotations

from ..everest import EnableDisableSource, EnableSource, EnableState

DEFAULT_WINNER = EnableDisableSource(
    enable_source=EnableSource.Unspecified,
    enable_state=EnableState.Unassigned,
    enable_priority=10000,
)


class EnableArbiter:
    """Keeps the table of votes and computes the winner."""

    def __init__(self, initial: EnableDisableSource) -> None:
        self._votes: dict[EnableSource, EnableDisableSource] = {initial.enable_source: initial}
        self.connector_enabled = True

    def vote(self, connector_id: int, source: EnableDisableSource) -> bool:
        """Charger.cpp enable_disable: update the table; returns the table's verdict."""
        self._votes[source.enable_source] = source
        verdict = self.table_enabled
        if connector_id != 0:
            self.connector_enabled = verdict
        return verdict

    def winner(self) -> EnableDisableSource:
        """The deciding entry (the default winner when no entry is assigned)."""
        winner = DEFAULT_WINNER
        for entry in self._votes.values():
            if entry.enable_state is EnableState.Unassigned:
                continue
            if winner.enable_state is EnableState.Unassigned:
                winner = entry
            elif entry.enable_priority == winner.enable_priority:
                if entry.enable_state is EnableState.Disable:
                    winner = entry
            elif entry.enable_priority < winner.enable_priority:
                winner = entry
        return winner

    @property
    def table_enabled(self) -> bool:
        """The table's result: enabled unless the winner disables."""
        return self.winner().enable_state is not EnableState.Disable

    @property
    def enabled(self) -> bool:
        """Whether the EVSE may leave Disabled: the table and the connector flag agree."""
        return self.table_enabled and self.connector_enabled

    def votes(self) -> list[EnableDisableSource]:
        """All recorded votes (for diagnostics)."""
        return list(self._votes.values())
