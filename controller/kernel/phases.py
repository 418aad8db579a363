"""The phase count: as requested by the energy manager, and as told to the hardware.

Charger.cpp switch_three_phases_while_charging: in Charging a new count goes through the
SwitchPhases state (the hardware is told when it is left); in every other state the
hardware is told at once. The two counts differ only while a switch is pending.
"""

from __future__ import annotations

from ..everest import HardwareCapabilities
from .states import State


class Phases:
    """``requested`` (EvseManager ac_nr_phases_active) and ``hardware`` (what the board is told)."""

    def __init__(self, caps: HardwareCapabilities) -> None:
        self._caps = caps
        self.requested = caps.max_phase_count_import
        self.hardware = self.requested

    def request(self, count: int | None) -> None:
        """An energy manager's phase count; ignored on hardware that cannot switch it."""
        caps = self._caps
        if count is None or count == self.requested:
            return
        possible = caps.min_phase_count_import <= count <= caps.max_phase_count_import
        if possible and caps.supports_changing_phases_during_charging:
            self.requested = count

    @property
    def switch_wanted(self) -> bool:
        """A requested count the hardware does not have yet."""
        return self.hardware != self.requested

    def switched(self) -> None:
        """SwitchPhases is over: the hardware switches now."""
        self.hardware = self.requested

    def sync(self, state: State) -> None:
        """Outside Charging a request goes to the hardware at once; a SwitchPhases left
        early (stop, disable) still switches (Charger.cpp "clean up")."""
        if state not in (State.Charging, State.SwitchPhases):
            self.hardware = self.requested
