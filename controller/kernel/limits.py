"""Energy limits: enforced limits from an energy manager -> the current the EV may draw."""

from __future__ import annotations

from ..everest import Ampacity, EnforcedLimits, HardwareCapabilities, LimitsRes, NumberWithSource

EXPIRED_SOURCE = "expired"


class EnergyLimits:
    """Combines installation, hardware, cable and energy-manager limits.

    Without any energy-manager input the local maximum applies. An input expires after
    ``valid_for`` seconds and then allows 0 A (the EVSE pauses with NoEnergy until a new
    input arrives). Charger.cpp set_max_current refuses a limit that is already out of date
    (``valid_for <= 0``): the previous one stays. A limit given only as ``total_power_W`` is
    converted with the nominal voltage and the active phases (EVerest's energyImpl.cpp
    starts from 0 A there and so never charges: a deviation on purpose).
    An expired input is replaced by an explicit 0 A one (source ``expired``), so what is
    published says why nothing is offered, and it does not outlive its session
    (``lift_lapsed``): the next session starts at the user's maximum current.
    The user's maximum current (``user_max_A``) caps everything, energy manager included.
    """

    def __init__(
        self, hw: HardwareCapabilities, local_max_A: float | None, nominal_voltage: float
    ) -> None:
        self.hw = hw
        self.local_max_A = min(local_max_A or hw.max_current_A_import, hw.max_current_A_import)
        self.nominal_voltage = nominal_voltage
        self.enforced: EnforcedLimits | None = None
        self.expires_at: float | None = None
        self.user_max_A: float | None = None
        self.lapsed = False  # the last input expired: ``enforced`` is the 0 A stand-in

    def update(self, limits: EnforcedLimits, now: float) -> bool:
        """Accept a new input from the energy manager; False (ignored) if out of date."""
        if limits.valid_for <= 0:
            return False
        self.enforced = limits
        self.expires_at = now + limits.valid_for
        self.lapsed = False
        return True

    def lapse(self, now: float) -> EnforcedLimits | None:
        """If the input just ran out: the 0 A input that replaces it (to publish)."""
        if self.enforced is None or not self.expired(now):
            return None
        zero = NumberWithSource(value=0.0, source=EXPIRED_SOURCE)
        self.enforced = EnforcedLimits(
            uuid=self.enforced.uuid,
            valid_for=0,
            limits_root_side=LimitsRes(ac_max_current_A=zero),
        )
        self.expires_at = None
        self.lapsed = True
        return self.enforced

    def lift_lapsed(self) -> EnforcedLimits | None:
        """At the end of a session: an expired input stops applying (returns the empty
        input that replaces it, to publish)."""
        if not self.lapsed or self.enforced is None:
            return None
        self.enforced = EnforcedLimits(
            uuid=self.enforced.uuid, valid_for=0, limits_root_side=LimitsRes()
        )
        self.lapsed = False
        return self.enforced

    def set_user_max(self, amps: float) -> float:
        """The user's ceiling, within 0 and the installation's maximum; the value kept."""
        self.user_max_A = max(0.0, min(amps, self.local_max_A))
        return self.user_max_A

    def expired(self, now: float) -> bool:
        """Whether the last input ran out."""
        return self.expires_at is not None and now >= self.expires_at

    def allowed_current(self, phases: int, ampacity: Ampacity, now: float) -> float:
        """Per-phase current the EV may draw now (0 means no power)."""
        limit = self.local_max_A if self.user_max_A is None else self.user_max_A
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
