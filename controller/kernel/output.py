"""Derived outputs of the charging kernel: what the charger must do and how much current.

Split out of ``machine.py`` so the level-based charger output (CP mode, PWM current,
contactor permission, lock), the signalled-current rate limit and the meter-based
over-voltage/over-current checks can be read apart from the state transitions.
"""

from __future__ import annotations

from ..everest import EvseManagerError, PauseChargingEVSEReason, Powermeter
from ..ports import ChargerOutput, CpMode
from .core import KernelCore
from .pwm import MIN_CURRENT_A, duty_cycle
from .states import State


class OutputMixin(KernelCore):
    """Charger output, allowed/signalled current and the meter safety checks."""

    def pause_reasons(self) -> frozenset[PauseChargingEVSEReason]:
        """Why the EVSE holds charging now (empty: it does not)."""
        reasons: set[PauseChargingEVSEReason] = set()
        if self._user_pause:
            reasons.add(PauseChargingEVSEReason.UserPause)
        if self._errors.inoperative:
            reasons.add(PauseChargingEVSEReason.Error)
        if self._allowed_current() < MIN_CURRENT_A:
            reasons.add(PauseChargingEVSEReason.NoEnergy)
        return frozenset(reasons)

    def output(self) -> ChargerOutput:
        """What the charge controller must do now (level-based; the port diffs it)."""
        cp = self._cp_mode()
        current = self._signalled_A if cp is CpMode.PWM else 0.0
        allow = (
            self.state is State.Charging
            and cp is CpMode.PWM
            and self._status.cp.requests_power
            and not self._errors.inoperative
        )
        return ChargerOutput(
            enabled=self.enabled,
            cp=cp,
            duty_cycle=duty_cycle(current) if cp is CpMode.PWM else 100.0,
            current_A=current,
            allow_power=allow,
            phases=self._phases,
            locked=self._locked(),
            overcurrent_limit_A=current,
        )

    def _cp_mode(self) -> CpMode:
        if not self.enabled or self.state is State.Disabled or self._errors.emergency:
            return CpMode.F
        if self.state is State.Idle and self._errors.inoperative:
            return CpMode.F
        if "wakeup_f_end" in self._deadlines:
            return CpMode.F
        if "wakeup_x1_end" in self._deadlines:
            return CpMode.X1
        pwm_states = (State.PrepareCharging, State.Charging, State.ChargingPausedEV)
        if self.state in pwm_states and self._signalled_A >= MIN_CURRENT_A:
            return CpMode.PWM
        return CpMode.X1

    def _locked(self) -> bool:
        if not self._info.has_lock or self._unlock_requested:
            return False
        return self._transaction is not None and self._status.cp.plugged

    def _allowed_current(self) -> float:
        return self._limits.allowed_current(self._phases, self._status.pp_ampacity, self._now())

    def _update_signalled_current(self) -> None:
        """New current limits apply at once when lower, at most every 5 s when higher."""
        target = self._allowed_current()
        target = 0.0 if target < MIN_CURRENT_A else target
        if target == self._signalled_A:
            self._deadlines.pop("pwm_update", None)
            return
        held = (
            self.state is State.Charging
            and target > self._signalled_A
            and self._now() - self._signalled_at < self.config.pwm_update_s
        )
        if held:
            self._deadlines["pwm_update"] = self._signalled_at + self.config.pwm_update_s
            return
        self._deadlines.pop("pwm_update", None)
        self._signalled_A = target
        self._signalled_at = self._now()

    def _check_voltage(self, sample: Powermeter) -> None:
        voltage = sample.voltage_V
        if voltage is None:
            return
        phases = [v for v in (voltage.L1, voltage.L2, voltage.L3) if v is not None]
        if phases and max(phases) > self.config.overvoltage_V:
            self._raise_own(EvseManagerError.MREC5OverVoltage, f"{max(phases):.1f} V")

    def _check_overcurrent(self, sample: Powermeter) -> None:
        """MREC4: any phase above (signalled + 0.5 A) * 1.1 for 7 s while charging."""
        current = sample.current_A
        if self.state is not State.Charging or current is None:
            self._overcurrent_since = None
            return
        limit = (self._signalled_A + 0.5) * 1.1
        phases = [c for c in (current.L1, current.L2, current.L3) if c is not None]
        if not phases or max(phases) <= limit:
            self._overcurrent_since = None
            return
        if self._overcurrent_since is None:
            self._overcurrent_since = self._now()
        elif self._now() - self._overcurrent_since >= self.config.overcurrent_s:
            self._raise_own(
                EvseManagerError.MREC4OverCurrentFailure,
                f"{max(phases):.1f} A drawn, {self._signalled_A:.1f} A allowed",
            )
