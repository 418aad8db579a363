"""A read-only picture of everything the guards and the output derivation may look at.

The kernel takes it from its parts (``ChargingKernel._facts``) whenever a guard runs or the
output is asked for. It is frozen: whatever reads it cannot change anything, so a guard is
a function from facts to a trigger and the charger output a function of the facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..everest import CpState, PauseChargingEVSEReason
from .states import State


@dataclass(frozen=True, kw_only=True)
class Facts:
    """The connector's state and facts at one instant."""

    state: State
    enabled: bool
    ready: bool  # external_ready: the signal came (or none is needed)
    announce_due: bool  # Enabled/ready not published yet, and it is time
    cp: CpState  # the EV's state (F kept at the last EV state)
    relays_on: bool
    has_lock: bool
    in_session: bool
    transaction_open: bool
    authorized: bool
    replug_needed: bool
    meter_start_pending: bool
    meter_start_failed: bool
    stop_requested: bool
    session_ending: bool  # a withdrawal or a restart left the session with nothing to wait for
    unlock_requested: bool
    inoperative: bool
    cable_unknown: bool
    signalled_A: float  # the current the PWM signals now
    pause_reasons: frozenset[PauseChargingEVSEReason]  # why the EVSE holds charging now
    announced_pause: frozenset[PauseChargingEVSEReason]  # the last ChargingPausedEVSE's
    phase_switch_wanted: bool
    hardware_phases: int
    armed: frozenset[str]  # deadlines armed
    due: frozenset[str]  # deadlines whose time has come

    @property
    def plugged(self) -> bool:
        """An EV is connected."""
        return self.cp.plugged

    @property
    def requests_power(self) -> bool:
        """The EV asks for power (C or D)."""
        return self.cp.requests_power

    @property
    def stop_wanted(self) -> bool:
        """The EV left or someone asked to end the transaction."""
        return not self.plugged or self.stop_requested
