"""Energy limits: enforced limits from an energy manager -> the current the EV may draw."""

from __future__ import annotations

from datetime import datetime

from ..everest import (
    Ampacity,
    EnforcedLimits,
    ExternalLimits,
    HardwareCapabilities,
    LimitsReq,
    LimitsRes,
    NumberWithSource,
)

EXPIRED_SOURCE = "expired"


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp (ValueError when it is not one, or has no zone)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"timestamp {text!r} is not RFC 3339") from None
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return moment


def external_entry(limits: ExternalLimits, at: datetime) -> LimitsReq | None:
    """The import limits of ``limits`` in force at ``at`` (None: no schedule).

    energy.yaml ExternalLimits: the first entry holds already now even if its timestamp
    is in the future, the last one for any time after the schedule ends.
    """
    current = None
    for entry in limits.schedule_import:
        if current is None or parse_time(entry.timestamp) <= at:
            current = entry
    if current is None:
        return None
    return _tighter(current.limits_to_root, current.limits_to_leaves)


def _tighter(a: LimitsReq, b: LimitsReq) -> LimitsReq:
    """Both sides' limits in one (EVerest's OCPP modules fill limits_to_leaves; a
    limit towards the root binds this leaf as well)."""

    def low(x: NumberWithSource | None, y: NumberWithSource | None) -> NumberWithSource | None:
        if x is None or y is None:
            return x or y
        return x if x.value <= y.value else y

    phases = [p for p in (a.ac_max_phase_count, b.ac_max_phase_count) if p is not None]
    return LimitsReq(
        total_power_W=low(a.total_power_W, b.total_power_W),
        ac_max_current_A=low(a.ac_max_current_A, b.ac_max_current_A),
        ac_max_phase_count=min(phases, key=lambda p: p.value) if phases else None,
    )


def cap_A(limits: LimitsReq | None, nominal_voltage: float, phases: int) -> float | None:
    """The per-phase current ``limits`` allow (a power limit converted with the nominal
    voltage and the active phases); None when they do not limit the current."""
    if limits is None:
        return None
    caps = []
    if limits.ac_max_current_A is not None:
        caps.append(limits.ac_max_current_A.value)
    if limits.total_power_W is not None:
        caps.append(limits.total_power_W.value / nominal_voltage / max(1, phases))
    return max(0.0, min(caps)) if caps else None


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

    External limits (OCPP's charging profiles, ``set_external_limits``) are a second
    input beside the energy manager's, as in EVerest: its OCPP modules hand the composite
    schedule to the EVSE's EnergyNode (modules/EVSE/OCPP/OCPP.cpp set_external_limits ->
    external_energy_limits.set_external_limits), the node puts it into its
    energy_flow_request (modules/EnergyManagement/EnergyNode/energy_grid/energyImpl.cpp
    set_external_limits), and the EnergyManager's result for the leaf stays under it
    (modules/EnergyManagement/EnergyManager/Market.cpp, min_optional along the tree).
    The current allowed is the minimum of both; each lapses on its own: the energy
    manager's after ``valid_for``, the external one when its schedule says so (its last
    entry holds until it is replaced).
    Without an energy manager the external limit applies directly.
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
        self.external: ExternalLimits | None = None
        self._external_at: list[tuple[float, LimitsReq]] = []  # (monotonic start, limits)

    def set_external(self, limits: ExternalLimits, wall: datetime, now: float) -> None:
        """Accept external limits; their timestamps are placed on the monotonic clock
        (ValueError for a timestamp that is not RFC 3339)."""
        self._external_at = [
            (
                now + (parse_time(e.timestamp) - wall).total_seconds(),
                _tighter(e.limits_to_root, e.limits_to_leaves),
            )
            for e in limits.schedule_import
        ]
        self.external = limits if limits.schedule_import else None

    def external_now(self, now: float) -> LimitsReq | None:
        """The external limits in force now (the first entry already before its time)."""
        current = None
        for at, limits in self._external_at:
            if current is None or at <= now:
                current = limits
        return current

    def next_external_change(self, now: float) -> float | None:
        """When the external schedule moves on next (None: it does not)."""
        later = [at for at, _ in self._external_at if at > now]
        return min(later) if later else None

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
        external = cap_A(self.external_now(now), self.nominal_voltage, phases)
        if external is not None:
            limit = min(limit, external)
        return max(0.0, limit)
