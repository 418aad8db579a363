"""State guards of the charging kernel: pick a trigger from the facts.

``_guard_<State>`` only reads the current facts and returns the trigger to fire (or None
while the state is stable); it changes nothing. Whether that trigger is legal and where it
leads is decided only by the transition table in ``transitions.py``, and what happens on
the way only by the actions in ``entries.py``.
"""

from __future__ import annotations

from ..everest import PauseChargingEVSEReason
from .entries import EntriesMixin
from .pwm import MIN_CURRENT_A
from .states import State, Trigger


class GuardsMixin(EntriesMixin):
    """One guard per state, plus the conditions several guards share."""

    def _guard(self) -> Trigger | None:
        if self.state is not State.Disabled and not self.enabled:
            return Trigger.DISABLE
        guard = getattr(self, f"_guard_{self.state.name}")
        trigger: Trigger | None = guard()
        return trigger

    def _guard_Disabled(self) -> Trigger | None:
        if self.enabled:
            return Trigger.ENABLE
        if self._facts.session is not None and not self._status.cp.plugged:
            return Trigger.UNPLUG  # the session ends here, the EVSE stays disabled
        return None

    def _guard_Idle(self) -> Trigger | None:
        if (
            self._facts.replug_needed
            and self._facts.session is not None
            and not self._status.cp.plugged
        ):
            return Trigger.UNPLUG
        if not self._ready or not self._status.cp.plugged:
            return None
        if self._facts.transaction is not None:
            return Trigger.RESUME_TRANSACTION
        if self._facts.replug_needed:
            # Re-enabled (or restarted) after the session's end: no second transaction in
            # the same session; it waits for the unplug, as EVerest's Finished does.
            return Trigger.AWAIT_UNPLUG
        # Charger.cpp Idle: CarPluggedIn starts the session whatever the errors; the fatal
        # error ends it in WaitingForAuthentication (-> Finished, a replug to charge).
        return Trigger.PLUG_IN

    def _guard_WaitingForAuthentication(self) -> Trigger | None:
        if not self._status.cp.plugged:
            return Trigger.UNPLUG
        if self._facts.meter_start_failed or self._errors.inoperative:
            return Trigger.AUTH_FAILED
        if self._facts.transaction is not None:
            return Trigger.TRANSACTION_STARTED
        # Charger.cpp WaitingForAuthentication: a plug-in timeout (deauthorize_internal)
        # only emits PluginTimeout and keeps waiting; a socket without a PP reading waits.
        if (
            self._facts.auth is not None
            and not self._facts.meter_start_pending
            and not self._cable_unknown()
        ):
            return Trigger.START_METER_TRANSACTION
        return None

    def _stop_wanted(self) -> bool:
        return not self._status.cp.plugged or self._facts.stop is not None

    def _phase_switch_wanted(self) -> bool:
        """Charger.cpp switch_three_phases_while_charging: only Charging switches via
        SwitchPhases; in other states the hardware is told at once (_sync_bsp_phases)."""
        return self._bsp_phases != self._phases

    def _guard_PrepareCharging(self) -> Trigger | None:
        # Charger.cpp PrepareCharging: only a fatal error stops here; without power it waits
        # silently, and a user pause takes effect in Charging, once the EV asks for power.
        if self._stop_wanted():
            return Trigger.STOP
        if self._errors.inoperative:
            return Trigger.EVSE_PAUSE
        if self._pwm.current_A < MIN_CURRENT_A:
            return None
        if self._status.cp.requests_power:
            return Trigger.EV_REQUESTS_POWER
        if self._due("wakeup_pause"):
            return Trigger.WAKEUP_TIMEOUT
        if any(self._due(name) for name in ("wakeup", "wakeup_f_end", "wakeup_x1_end")):
            return Trigger.WAKEUP_STEP
        return None

    def _guard_Charging(self) -> Trigger | None:
        if self._stop_wanted():
            return Trigger.STOP
        if self.pause_reasons():
            return Trigger.EVSE_PAUSE
        if not self._status.cp.requests_power:
            return Trigger.EV_STOPS_POWER
        if self._phase_switch_wanted():
            return Trigger.SWITCH_PHASES
        return None

    def _guard_StoppingCharging(self) -> Trigger | None:
        if self._status.relays_on and not self._due("stopping"):
            return None
        if self._stop_wanted() or self._facts.transaction is None:
            return Trigger.FINISH
        if self.pause_reasons():
            return Trigger.PAUSED_BY_EVSE
        return Trigger.PAUSED_BY_EV

    def _guard_ChargingPausedEV(self) -> Trigger | None:
        if self._stop_wanted():
            return Trigger.STOP
        # Charger.cpp ChargingPausedEV: no power -> ChargingPausedEVSE; a user pause waits
        # until the EV asks for power (then Charging stops it).
        if self.pause_reasons() - {PauseChargingEVSEReason.UserPause}:
            return Trigger.EVSE_PAUSE
        if self._status.cp.requests_power:
            return Trigger.EV_REQUESTS_POWER
        return None

    def _guard_ChargingPausedEVSE(self) -> Trigger | None:
        if self._stop_wanted():
            return Trigger.STOP
        reasons = self.pause_reasons()
        if not reasons:
            return Trigger.EVSE_RESUME
        if reasons != self._paused_reasons:
            return Trigger.PAUSE_REASONS_CHANGED
        return None

    def _guard_SwitchPhases(self) -> Trigger | None:
        if self._stop_wanted():
            return Trigger.STOP
        if self._due("phase_switch"):
            return Trigger.PHASES_SWITCHED
        return None

    def _guard_Finished(self) -> Trigger | None:
        if not self._status.cp.plugged:
            return Trigger.UNPLUG
        return None
