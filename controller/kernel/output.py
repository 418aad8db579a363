"""Derived outputs of the charging kernel: what the charger must do and how much current.

Split out of ``machine.py`` so the level-based charger output (CP mode, PWM current,
contactor permission, lock), the signalled-current rate limit and the meter-based
over-current check can be read apart from the state transitions. There is no AC
over-voltage check: EvseManager raises MREC5 only from its DC over-voltage monitor.
"""

from __future__ import annotations

from ..everest import (
    Ampacity,
    ConnectorType,
    CpState,
    Error,
    EvseManagerError,
    PauseChargingEVSEReason,
    Powermeter,
    Severity,
)
from ..ports import ChargerOutput, ChargerStatus, CpMode
from .core import KernelCore
from .pwm import MIN_CURRENT_A, duty_cycle
from .states import State

VENTILATION_NOT_AVAILABLE = "evse_board_support/VentilationNotAvailable"


class OutputMixin(KernelCore):
    """Charger output, allowed/signalled current and the meter safety checks."""

    def pause_reasons(self) -> frozenset[PauseChargingEVSEReason]:
        """Why the EVSE holds charging now (empty: it does not)."""
        reasons: set[PauseChargingEVSEReason] = set()
        if self._facts.user_pause:
            reasons.add(PauseChargingEVSEReason.UserPause)
        if self._errors.inoperative:
            reasons.add(PauseChargingEVSEReason.Error)
        if self._allowed_current() < MIN_CURRENT_A:
            reasons.add(PauseChargingEVSEReason.NoEnergy)
        return frozenset(reasons)

    def output(self) -> ChargerOutput:
        """What the charge controller must do now (level-based; the port diffs it)."""
        cp = self._cp_mode()
        current = self._pwm.current_A if cp is CpMode.PWM else 0.0
        return ChargerOutput(
            enabled=self.enabled,
            cp=cp,
            duty_cycle=duty_cycle(current) if cp is CpMode.PWM else 100.0,
            current_A=current,
            allow_power=self._allow_power(cp),
            phases=self._bsp_phases,
            locked=self._locked(),
            overcurrent_limit_A=current,
            reservation_id=self._reservation,
        )

    def _allow_power(self, cp: CpMode) -> bool:
        """Contactor permission: never opened under load unless a fault or timeout forces it.

        EVerest's Charger.cpp turns PWM off (X1) in StoppingCharging but withdraws power
        only on a fatal error (emergency_shutdown/error_shutdown); IECStateMachine.cpp
        state_machine (case C, X2->C1) then keeps the relays until the EV goes to B or
        ``power_off_under_load_in_c1_timeout`` (6 s) passes. Relays are never closed there.
        """
        if self._errors.inoperative or not self._status.cp.requests_power:
            return False
        if self.state is State.Charging:
            return cp is CpMode.PWM
        return (
            self.state is State.StoppingCharging
            and self._status.relays_on
            and not self._due("c1_power_off")
        )

    def _cp_mode(self) -> CpMode:
        """Charger.cpp: F in Disabled and in Idle with a fatal error; otherwise errors only
        turn PWM off (emergency_shutdown -> X1), except the short F of a fault arriving
        during an EVSE pause (ChargingPausedEVSE, ``state_F_after_fault_ms``)."""
        if not self.enabled or self.state is State.Disabled:
            return CpMode.F
        if self.state is State.Idle and self._errors.inoperative:
            return CpMode.F
        if "fault_f_end" in self._deadlines and not self._due("fault_f_end"):
            return CpMode.F
        if "wakeup_f_end" in self._deadlines:
            return CpMode.F
        if self.state is State.SwitchPhases and self.config.switch_3ph1ph_cp_state == "F":
            return CpMode.F
        if "wakeup_x1_end" in self._deadlines:
            return CpMode.X1
        pwm_states = (State.PrepareCharging, State.Charging, State.ChargingPausedEV)
        if self.state in pwm_states and self._pwm.current_A >= MIN_CURRENT_A:
            return CpMode.PWM
        return CpMode.X1

    def _locked(self) -> bool:
        """IECStateMachine.cpp check_connector_lock: locked while the relays are on, and in
        C/D (B too with ``lock_connector_in_state_b``) unless force-unlocked; A, E unlock."""
        if not self._info.has_lock:
            return False
        if self._status.relays_on:
            return True
        if self._facts.unlock_requested or self._due("unlock_in_f"):
            return False
        cp = self._status.cp
        return cp.requests_power or (cp is CpState.B and self.config.lock_connector_in_state_b)

    def _note_cp_f(self, in_f: bool) -> None:
        """IECStateMachine.cpp case F: timeout_unlock_state_F runs while the board reads F."""
        if not in_f:
            self._deadlines.pop("unlock_in_f", None)
        elif "unlock_in_f" not in self._deadlines:
            timeout = self.config.unlock_in_state_f_timeout_s
            self._deadlines["unlock_in_f"] = self._now() + timeout

    def _update_fault_f(self, start_state: State) -> None:
        """Charger.cpp ChargingPausedEVSE: a fatal error that arrives during the pause
        (entered_fatal_error_state) gives F for ``state_F_after_fault_ms``, then X1."""
        fatal = self._errors.inoperative
        arrived_in_pause = start_state is State.ChargingPausedEVSE is self.state
        f_ms = self.config.state_F_after_fault_ms
        if fatal and not self._fault_seen and arrived_in_pause and f_ms > 0:
            self._deadlines["fault_f_end"] = self._now() + f_ms / 1000.0
        self._fault_seen = fatal

    def _allowed_current(self) -> float:
        return self._limits.allowed_current(self._phases, self._cable_ampacity(), self._now())

    def _cable_ampacity(self) -> Ampacity:
        """Charger.cpp get_max_current_internal: the PP rating limits only a Type 2 socket,
        and only outside Idle (max_current_cable is reset there)."""
        if not self._is_socket() or self.state is State.Idle:
            return Ampacity.None_
        return self._pp()

    def _cable_unknown(self) -> bool:
        """Charger.cpp WaitingForAuthentication: a socket waits until PP is reported."""
        return self._is_socket() and self._pp() is Ampacity.None_

    def _pp(self) -> Ampacity:
        """The PP rating read since plug-in (or the current reading before any)."""
        return self._status.pp_ampacity if self._cable is Ampacity.None_ else self._cable

    def _is_socket(self) -> bool:
        return self._info.capabilities.connector_type is ConnectorType.IEC62196Type2Socket

    def _note_pp(self, status: ChargerStatus) -> None:
        """Charger.cpp keeps max_current_cable once read until the EV leaves: a PP reading
        that drops out mid-session does not lift the cable's limit."""
        if not status.cp.plugged:
            self._cable = Ampacity.None_
        elif status.pp_ampacity is not Ampacity.None_:
            self._cable = status.pp_ampacity

    def _sync_bsp_phases(self) -> None:
        """Charger.cpp: outside Charging a phase request goes to the hardware at once; a
        SwitchPhases left early (stop, disable) still switches ("clean up")."""
        if self.state not in (State.Charging, State.SwitchPhases):
            self._bsp_phases = self._phases

    def _update_signalled_current(self, entered: bool) -> None:
        """Charger.cpp: PrepareCharging and the entry into Charging set the PWM at once
        (update_pwm_now_if_changed_ampere); later in Charging and in ChargingPausedEV
        every change, up or down, waits until 5 s after the last PWM update
        (update_pwm_max_every_5seconds_ampere, IEC 61851-1). A lack of power pauses at once
        through the guards, whatever the PWM."""
        target = self._allowed_current()
        target = 0.0 if target < MIN_CURRENT_A else target
        limited = self.state is State.ChargingPausedEV or (
            self.state is State.Charging and not entered
        )
        wait = self._pwm.follow(target, limited, self._now(), self.config.pwm_update_s)
        if wait is None:
            self._deadlines.pop("pwm_update", None)
        else:
            self._deadlines["pwm_update"] = wait
        self._pwm.note_output(self._cp_mode() is CpMode.PWM, self._now())

    def _check_ventilation(self, cp: CpState) -> None:
        """Manifest has_ventilation (passed to the board, BoardSupport VentilationNotAvailable):
        an EV asking for ventilated charging (D) gets no power without ventilation."""
        if cp is CpState.D and not self.config.has_ventilation:
            error = Error(
                type=VENTILATION_NOT_AVAILABLE,
                message="The EV asks for ventilation (CP D); this EVSE has none",
                severity=Severity.High,
            )
            self._errors.raise_error(error)
        else:
            self._errors.clear(VENTILATION_NOT_AVAILABLE)

    def _check_overcurrent(self, sample: Powermeter) -> None:
        """Charger.cpp check_soft_over_current: MREC4 when a phase draws more than
        (signalled + noise) * (1 + tolerance) for soft_over_current_timeout_ms."""
        current = sample.current_A
        if self.state is not State.Charging or current is None:
            self._overcurrent_since = None
            return
        cfg = self.config
        limit = (self._pwm.current_A + cfg.soft_over_current_measurement_noise_A) * (
            1.0 + cfg.soft_over_current_tolerance_percent / 100.0
        )
        phases = [c for c in (current.L1, current.L2, current.L3) if c is not None]
        if not phases or max(phases) <= limit:
            self._overcurrent_since = None
            return
        if self._overcurrent_since is None:
            self._overcurrent_since = self._now()
        elif self._now() - self._overcurrent_since >= cfg.soft_over_current_timeout_ms / 1000:
            self._raise_own(
                EvseManagerError.MREC4OverCurrentFailure,
                f"{max(phases):.1f} A drawn, {self._pwm.current_A:.1f} A allowed",
            )
