"""State guards of the charging kernel: pick a trigger from the facts.

Each guard is a function of the read-only ``Facts`` that returns the trigger to fire (or None
while the state is stable); it cannot change anything. Whether that trigger is legal and
where it leads is decided only by the transition table in ``transitions.py``, and what
happens on the way only by the actions in ``actions.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..everest import PauseChargingEVSEReason
from .facts import Facts
from .pwm import MIN_CURRENT_A
from .states import State, Trigger

Guard = Callable[[Facts], Trigger | None]


def choose(f: Facts) -> Trigger | None:
    """The trigger the facts call for in the current state."""
    if f.state is not State.Disabled and not f.enabled:
        return Trigger.DISABLE
    return GUARDS[f.state](f)


def _before_session(f: Facts) -> Trigger | None:
    """Disabled and Idle first settle what start-up and withdrawals left: a session with
    nothing left to wait for ends, then Enabled/ready are announced (EvseManager.cpp init:
    both before anything else happens)."""
    if f.session_ending:
        return Trigger.END_SESSION
    if f.announce_due:
        return Trigger.ANNOUNCE
    return None


def disabled(f: Facts) -> Trigger | None:
    if (trigger := _before_session(f)) is not None:
        return trigger
    if f.enabled:
        return Trigger.ENABLE
    if f.in_session and not f.plugged:
        return Trigger.UNPLUG  # the session ends here, the EVSE stays disabled
    return None


def idle(f: Facts) -> Trigger | None:
    if (trigger := _before_session(f)) is not None:
        return trigger
    if f.replug_needed and f.in_session and not f.plugged:
        return Trigger.UNPLUG
    if not f.ready or not f.plugged:
        return None
    if f.transaction_open:
        return Trigger.RESUME_TRANSACTION
    if f.replug_needed:
        # Re-enabled (or restarted) after the session's end: no second transaction in
        # the same session; it waits for the unplug, as EVerest's Finished does.
        return Trigger.AWAIT_UNPLUG
    # Charger.cpp Idle: CarPluggedIn starts the session whatever the errors; the fatal
    # error ends it in WaitingForAuthentication (-> Finished, a replug to charge).
    return Trigger.PLUG_IN


def waiting_for_authentication(f: Facts) -> Trigger | None:
    if not f.plugged:
        return Trigger.UNPLUG
    if f.meter_start_failed or f.inoperative:
        return Trigger.AUTH_FAILED
    if f.transaction_open:
        return Trigger.TRANSACTION_STARTED
    # Charger.cpp WaitingForAuthentication: a plug-in timeout (deauthorize_internal)
    # only emits PluginTimeout and keeps waiting; a socket without a PP reading waits.
    if f.authorized and not f.meter_start_pending and not f.cable_unknown:
        return Trigger.START_METER_TRANSACTION
    return None


def prepare_charging(f: Facts) -> Trigger | None:
    # Charger.cpp PrepareCharging: only a fatal error stops here; without power it waits
    # silently, and a user pause takes effect in Charging, once the EV asks for power.
    if f.stop_wanted:
        return Trigger.STOP
    if f.inoperative:
        return Trigger.EVSE_PAUSE
    if f.signalled_A < MIN_CURRENT_A:
        return None
    if f.requests_power:
        return Trigger.EV_REQUESTS_POWER
    if f.due("wakeup_pause"):
        return Trigger.WAKEUP_TIMEOUT
    if f.due("wakeup", "wakeup_f_end", "wakeup_x1_end"):
        return Trigger.WAKEUP_STEP
    return None


def charging(f: Facts) -> Trigger | None:
    if f.stop_wanted:
        return Trigger.STOP
    if f.pause_reasons:
        return Trigger.EVSE_PAUSE
    if not f.requests_power:
        return Trigger.EV_STOPS_POWER
    if f.phase_switch_wanted:
        # Charger.cpp switch_three_phases_while_charging: only Charging switches via
        # SwitchPhases; in other states the hardware is told at once (Phases.sync).
        return Trigger.SWITCH_PHASES
    return None


def stopping_charging(f: Facts) -> Trigger | None:
    if f.relays_on and not f.due("stopping"):
        return None
    if f.stop_wanted or not f.transaction_open:
        return Trigger.FINISH
    if f.pause_reasons:
        return Trigger.PAUSED_BY_EVSE
    return Trigger.PAUSED_BY_EV


def charging_paused_ev(f: Facts) -> Trigger | None:
    if f.stop_wanted:
        return Trigger.STOP
    # Charger.cpp ChargingPausedEV: no power -> ChargingPausedEVSE; a user pause waits
    # until the EV asks for power (then Charging stops it).
    if f.pause_reasons - {PauseChargingEVSEReason.UserPause}:
        return Trigger.EVSE_PAUSE
    if f.requests_power:
        return Trigger.EV_REQUESTS_POWER
    return None


def charging_paused_evse(f: Facts) -> Trigger | None:
    if f.stop_wanted:
        return Trigger.STOP
    if not f.pause_reasons:
        return Trigger.EVSE_RESUME
    if f.pause_reasons != f.announced_pause:
        return Trigger.PAUSE_REASONS_CHANGED
    return None


def switch_phases(f: Facts) -> Trigger | None:
    if f.stop_wanted:
        return Trigger.STOP
    if f.due("phase_switch"):
        return Trigger.PHASES_SWITCHED
    return None


def finished(f: Facts) -> Trigger | None:
    if not f.plugged:
        return Trigger.UNPLUG
    return None


GUARDS: Mapping[State, Guard] = {
    State.Disabled: disabled,
    State.Idle: idle,
    State.WaitingForAuthentication: waiting_for_authentication,
    State.PrepareCharging: prepare_charging,
    State.Charging: charging,
    State.StoppingCharging: stopping_charging,
    State.ChargingPausedEV: charging_paused_ev,
    State.ChargingPausedEVSE: charging_paused_evse,
    State.SwitchPhases: switch_phases,
    State.Finished: finished,
}
