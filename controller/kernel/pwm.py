"""IEC 61851-1 current <-> PWM duty cycle, as EVerest's EvseManager computes it."""

from __future__ import annotations

from dataclasses import dataclass

MIN_CURRENT_A = 5.9  # below this, there is no power: the EVSE pauses (NoEnergy)
DUTY_OFF = 100.0


def duty_cycle(current_a: float) -> float:
    """Duty cycle in percent that signals ``current_a``; 100 means PWM off."""
    if current_a < MIN_CURRENT_A:
        return DUTY_OFF
    if current_a <= 6.1:
        return 10.0
    if current_a <= 51.0:
        return current_a / 0.6
    if current_a <= 52.5:
        return 51.0 / 0.6
    if current_a <= 80.0:
        return current_a / 2.5 + 64.0
    if current_a <= 80.1:
        return 97.0
    return DUTY_OFF


def current_from_duty(duty: float) -> float:
    """The current an EV reads from ``duty`` percent (the EV simulator uses this)."""
    if duty < 8.0 or duty > 97.0:
        return 0.0
    if duty < 10.0:
        return 6.0
    if duty <= 85.0:
        return duty * 0.6
    return (duty - 64.0) * 2.5


@dataclass
class PwmSignal:
    """The current signalled to the EV and when the PWM was last updated (Charger.cpp
    update_pwm_now stamps last_pwm_update; update_pwm_max_every_5seconds_ampere waits
    for it)."""

    current_A: float = 0.0
    updated_at: float = -1e9  # Charger.cpp last_pwm_update
    on: bool = False
    _changed: bool = False

    def follow(self, target: float, limited: bool, now: float, interval: float) -> float | None:
        """Take ``target`` now, or (``limited``, less than ``interval`` after the last
        update) return when it may be taken."""
        self._changed = False
        if target == self.current_A:
            return None
        if limited and now - self.updated_at < interval:
            return self.updated_at + interval
        self.current_A = target
        self._changed = True
        return None

    def note_output(self, pwm_on: bool, now: float) -> None:
        """The CP mode after ``follow``: PWM turned on, or a new current with PWM on, is a
        PWM update; PWM off (X1/F) is not."""
        if pwm_on and (self._changed or not self.on):
            self.updated_at = now
        self.on = pwm_on
