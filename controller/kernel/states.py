"""The charger states and the triggers that move between them."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Charger (session) states, named as in EVerest's EvseManager."""

    Disabled = "Disabled"
    Idle = "Idle"
    WaitingForAuthentication = "WaitingForAuthentication"
    PrepareCharging = "PrepareCharging"
    Charging = "Charging"
    StoppingCharging = "StoppingCharging"
    ChargingPausedEV = "ChargingPausedEV"
    ChargingPausedEVSE = "ChargingPausedEVSE"
    SwitchPhases = "SwitchPhases"
    Finished = "Finished"


class Trigger(StrEnum):
    """Why the machine leaves a state; chosen by the state's guard from the facts."""

    ENABLE = "enable"
    DISABLE = "disable"
    PLUG_IN = "plug_in"
    UNPLUG = "unplug"
    RESUME_TRANSACTION = "resume_transaction"
    TRANSACTION_STARTED = "transaction_started"
    AUTH_FAILED = "auth_failed"
    EV_REQUESTS_POWER = "ev_requests_power"
    EV_STOPS_POWER = "ev_stops_power"
    EVSE_PAUSE = "evse_pause"
    EVSE_RESUME = "evse_resume"
    STOP = "stop"
    FINISH = "finish"
    PAUSED_BY_EV = "paused_by_ev"
    PAUSED_BY_EVSE = "paused_by_evse"
    WAKEUP_TIMEOUT = "wakeup_timeout"
    SWITCH_PHASES = "switch_phases"
    PHASES_SWITCHED = "phases_switched"
    AWAIT_UNPLUG = "await_unplug"
    # Internal transitions (the state stays; the action named for the trigger runs).
    START_METER_TRANSACTION = "start_meter_transaction"
    WAKEUP_STEP = "wakeup_step"
    PAUSE_REASONS_CHANGED = "pause_reasons_changed"
    END_SESSION = "end_session"  # withdrawn authorization or a restart: nothing to wait for
    ANNOUNCE = "announce"  # Enabled/Disabled and ready, once at start-up or external ready


# States in which a transaction may be open and energy flows or may flow.
ACTIVE_STATES = frozenset(
    {
        State.PrepareCharging,
        State.Charging,
        State.StoppingCharging,
        State.ChargingPausedEV,
        State.ChargingPausedEVSE,
        State.SwitchPhases,
    }
)
