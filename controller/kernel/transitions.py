"""The transition table: the single source of truth for which state changes exist.

Modelled on h11's ``_state.py``: a plain mapping ``{state: {trigger: next_state}}``. The
guards in ``guards.py`` only read the facts and pick a trigger; whether that trigger is legal
in the current state, and where it leads, is decided here and nowhere else. A trigger that
leads back to its own state is an internal transition: no exit or entry action, only the
trigger's action (``_on_<trigger>`` in ``actions.py``) runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import IllegalTransition
from .states import State, Trigger

S = State
T = Trigger

TRANSITIONS: Mapping[State, Mapping[Trigger, State]] = {
    S.Disabled: {
        T.ENABLE: S.Idle,
        T.UNPLUG: S.Disabled,  # the session ends, the EVSE stays disabled
        T.END_SESSION: S.Disabled,
        T.ANNOUNCE: S.Disabled,
    },
    S.Idle: {
        T.DISABLE: S.Disabled,
        T.UNPLUG: S.Idle,  # a session kept for a replug ends
        T.PLUG_IN: S.WaitingForAuthentication,
        T.RESUME_TRANSACTION: S.PrepareCharging,
        T.AWAIT_UNPLUG: S.Finished,
        T.END_SESSION: S.Idle,
        T.ANNOUNCE: S.Idle,
    },
    S.WaitingForAuthentication: {
        T.DISABLE: S.Disabled,
        T.UNPLUG: S.Finished,
        T.AUTH_FAILED: S.Finished,
        T.TRANSACTION_STARTED: S.PrepareCharging,
        T.START_METER_TRANSACTION: S.WaitingForAuthentication,
    },
    S.PrepareCharging: {
        T.DISABLE: S.Disabled,
        T.STOP: S.StoppingCharging,
        T.EVSE_PAUSE: S.StoppingCharging,
        T.EV_REQUESTS_POWER: S.Charging,
        T.WAKEUP_TIMEOUT: S.ChargingPausedEV,
        T.WAKEUP_STEP: S.PrepareCharging,
    },
    S.Charging: {
        T.DISABLE: S.Disabled,
        T.STOP: S.StoppingCharging,
        T.EVSE_PAUSE: S.StoppingCharging,
        T.EV_STOPS_POWER: S.StoppingCharging,
        T.SWITCH_PHASES: S.SwitchPhases,
    },
    S.StoppingCharging: {
        T.DISABLE: S.Disabled,
        T.FINISH: S.Finished,
        T.PAUSED_BY_EVSE: S.ChargingPausedEVSE,
        T.PAUSED_BY_EV: S.ChargingPausedEV,
    },
    S.ChargingPausedEV: {
        T.DISABLE: S.Disabled,
        T.STOP: S.StoppingCharging,
        T.EVSE_PAUSE: S.ChargingPausedEVSE,
        T.EV_REQUESTS_POWER: S.PrepareCharging,
    },
    S.ChargingPausedEVSE: {
        T.DISABLE: S.Disabled,
        T.STOP: S.StoppingCharging,
        T.EVSE_RESUME: S.PrepareCharging,
        T.PAUSE_REASONS_CHANGED: S.ChargingPausedEVSE,
    },
    S.SwitchPhases: {
        T.DISABLE: S.Disabled,
        T.STOP: S.StoppingCharging,
        T.PHASES_SWITCHED: S.PrepareCharging,
    },
    S.Finished: {
        T.DISABLE: S.Disabled,
        T.UNPLUG: S.Idle,
    },
}


def next_state(state: State, trigger: Trigger) -> State:
    """Where ``trigger`` leads from ``state``; raises IllegalTransition if nowhere."""
    try:
        return TRANSITIONS[state][trigger]
    except KeyError:
        raise IllegalTransition(f"no transition from {state} on {trigger}") from None
