"""Energy limits: enforced limits from an energy manager -> the current the EV may draw."""

from __future__ import annotations

from ..everest import Ampacity, EnforcedLimits, HardwareCapabilities


class EnergyLimits:
    """Combines installation, hardware, cable and energy-manager limits.

    Without any energy-manager input the local maximum applies. An input expires after
    ``valid_for`` seconds and then allows 0 A (the EVSE pauses with NoEnergy until a new
    input arrives). Charger.cpp set_max_current refuses a limit that is already out of date
    (``valid_for <= 0``): the previous one stays. A limit given only as ``total_power_W`` is
    converted with the nominal voltage and the active phases (EVerest's energyImpl.cpp
    starts from 0 A there and so never charges: a deviation on purpose).
    """

    def __init__(
        self, hw: HardwareCapabilities, local_max_A: float | None, nominal_voltage: float
    ) -> None:
        self.hw = hw
        self.local_max_A = min(local_max_A or hw.max_current_A_import, hw.max_current_A_import)
        self.nominal_voltage = nominal_voltage
        self.enforced: EnforcedLimits | None = None
        self.expires_at: float | None = None

    def update(self, limits: EnforcedLimits, now: float) -> bool:
        """Accept a new input from the energy manager; False (ignored) if out of date."""
        if limits.valid_for <= 0:
            return False
        self.enforced = limits
        self.expires_at = now + limits.valid_for
        return True

    def expired(self, now: float) -> bool:
        """Whether the last input ran out."""
        return self.expires_at is not None and now >= self.expires_at

    def allowed_current(self, phases: int, ampacity: Ampacity, now: float) -> float:
        """Per-phase current the EV may draw now (0 means no power)."""
        limit = self.local_max_A
        # IECStateMachine.cpp set_pp_ampacity: 63 A or 70 A by the hardware's phase count.
        cable = ampacity.limit(self.hw.max_phase_count_import)
        if cable is not None:
            limit = min(limit, cable)
        if self.enforced is not None:
            if self.expired(now):
                return 0.0
            root = self.enforced.limits_root_side
            if root.ac_max_current_A is not None:
                limit = min(limit, root.ac_max_current_A.value)
            if root.total_power_W is not None:
                limit = min(limit, root.total_power_W.value / self.nominal_voltage / phases)
        return max(0.0, limit)
