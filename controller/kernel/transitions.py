"""The transition table: the single source of truth for which state changes exist.

Modelled on h11's ``_state.py``: a plain mapping ``{state: {trigger: next_state}}``. The
guards in ``guards.py`` only pick a trigger from the facts; whether that trigger is legal in
the current state, and where it leads, is decided here and nowhere else.
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
    },
    S.Idle: {
        T.DISABLE: S.Disabled,
        T.PLUG_IN: S.WaitingForAuthentication,
        T.RESUME_TRANSACTION: S.PrepareCharging,
        T.AWAIT_UNPLUG: S.Finished,
    },
    S.WaitingForAuthentication: {
        T.DISABLE: S.Disabled,
        T.UNPLUG: S.Finished,
        T.AUTH_FAILED: S.Finished,
        T.TRANSACTION_STARTED: S.PrepareCharging,
    },
    S.PrepareCharging: {
        T.DISABLE: S.Disabled,
        T.STOP: S.StoppingCharging,
        T.EVSE_PAUSE: S.StoppingCharging,
        T.EV_REQUESTS_POWER: S.Charging,
        T.WAKEUP_TIMEOUT: S.ChargingPausedEV,
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
