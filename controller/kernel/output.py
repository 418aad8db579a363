"""What the charger must do, derived from the facts alone: CP mode, PWM, relays, lock.

Pure functions of the read-only ``Facts`` (and the configuration), so the level-based output
can be read apart from the state transitions and always says the same for the same facts.
There is no AC over-voltage check: EvseManager raises MREC5 only from its DC over-voltage
monitor.
"""

from __future__ import annotations

from ..everest import CpState
from ..ports import ChargerOutput, CpMode
from .config import KernelConfig
from .facts import Facts
from .pwm import MIN_CURRENT_A, duty_cycle
from .states import State

_PWM_STATES = (State.PrepareCharging, State.Charging, State.ChargingPausedEV)


def charger_output(f: Facts, config: KernelConfig) -> ChargerOutput:
    """What the charge controller must do now (level-based; the port diffs it)."""
    cp = cp_mode(f, config)
    current = f.signalled_A if cp is CpMode.PWM else 0.0
    return ChargerOutput(
        enabled=f.enabled,
        cp=cp,
        duty_cycle=duty_cycle(current) if cp is CpMode.PWM else 100.0,
        current_A=current,
        allow_power=_allow_power(f, cp),
        phases=f.hardware_phases,
        locked=_locked(f, config),
        overcurrent_limit_A=current,
        reservation_id=f.reservation_id,
    )


def cp_mode(f: Facts, config: KernelConfig) -> CpMode:
    """Charger.cpp: F in Disabled and in Idle with a fatal error; otherwise errors only
    turn PWM off (emergency_shutdown -> X1), except the short F of a fault arriving
    during an EVSE pause (ChargingPausedEVSE, ``state_F_after_fault_ms``)."""
    if not f.enabled or f.state is State.Disabled:
        return CpMode.F
    if f.state is State.Idle and f.inoperative:
        return CpMode.F
    if f.armed("fault_f_end") and not f.due("fault_f_end"):
        return CpMode.F
    if f.armed("wakeup_f_end"):
        return CpMode.F
    if f.state is State.SwitchPhases and config.switch_3ph1ph_cp_state == "F":
        return CpMode.F
    if f.armed("wakeup_x1_end"):
        return CpMode.X1
    if f.state in _PWM_STATES and f.signalled_A >= MIN_CURRENT_A:
        return CpMode.PWM
    return CpMode.X1


def _allow_power(f: Facts, cp: CpMode) -> bool:
    """Contactor permission: never opened under load unless a fault or timeout forces it.

    EVerest's Charger.cpp turns PWM off (X1) in StoppingCharging but withdraws power
    only on a fatal error (emergency_shutdown/error_shutdown); IECStateMachine.cpp
    state_machine (case C, X2->C1) then keeps the relays until the EV goes to B or
    ``power_off_under_load_in_c1_timeout`` (6 s) passes. Relays are never closed there.
    """
    if f.inoperative or not f.requests_power:
        return False
    if f.state is State.Charging:
        return cp is CpMode.PWM
    return f.state is State.StoppingCharging and f.relays_on and not f.due("c1_power_off")


def _locked(f: Facts, config: KernelConfig) -> bool:
    """IECStateMachine.cpp check_connector_lock: locked while the relays are on, and in
    C/D (B too with ``lock_connector_in_state_b``) unless force-unlocked; A, E unlock."""
    if not f.has_lock:
        return False
    if f.relays_on:
        return True
    if f.unlock_requested or f.due("unlock_in_f"):
        return False
    return f.requests_power or (f.cp is CpState.B and config.lock_connector_in_state_b)
