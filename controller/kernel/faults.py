"""The set of active errors and the Inoperative error derived from it."""

from __future__ import annotations

from collections.abc import Iterable

from ..everest import CpState, Error, EvseManagerError, Severity
from ..everest.errors import CLEARED_BY_UNPLUG

METER_LINK_ORIGIN = "link/meter"  # the runner lost the power meter
VENTILATION_NOT_AVAILABLE = "evse_board_support/VentilationNotAvailable"

# ErrorHandling.cpp: raise_overcurrent_error and raise_internal_error are High severity;
# MREC9 and PowermeterTransactionStartFailed are Medium.
_HIGH_SEVERITY = frozenset({EvseManagerError.MREC4OverCurrentFailure, EvseManagerError.Internal})


class ActiveErrors:
    """Errors by (type, sub_type); ``Inoperative`` is raised while any fatal one is active."""

    def __init__(self, meter_errors_fatal: bool = True, cause_vendor_id: bool = False) -> None:
        self._errors: dict[tuple[str, str], Error] = {}
        # EvseManager fail_on_powermeter_errors: whether a failing meter is fatal.
        self._meter_errors_fatal = meter_errors_fatal
        # EvseManager inoperative_error_use_vendor_id: Inoperative takes the cause's vendor.
        self._cause_vendor_id = cause_vendor_id

    def raise_error(self, error: Error) -> bool:
        """Activate ``error``; True if it was not active yet."""
        new = error.key not in self._errors
        self._errors[error.key] = error
        return new

    def raise_own(self, kind: EvseManagerError, message: str) -> bool:
        """Activate one of the kernel's own errors with EVerest's severity; True if new."""
        severity = Severity.High if kind in _HIGH_SEVERITY else Severity.Medium
        error = Error(type=kind.value, message=message or kind.name, severity=severity)
        return self.raise_error(error)

    def check_ventilation(self, cp: CpState, has_ventilation: bool) -> None:
        """Manifest has_ventilation (passed to the board, BoardSupport
        VentilationNotAvailable): an EV asking for ventilated charging (D) gets no power
        without ventilation."""
        if cp is CpState.D and not has_ventilation:
            error = Error(
                type=VENTILATION_NOT_AVAILABLE,
                message="The EV asks for ventilation (CP D); this EVSE has none",
                severity=Severity.High,
            )
            self.raise_error(error)
        else:
            self.clear(VENTILATION_NOT_AVAILABLE)

    def clear(self, error_type: str, sub_type: str = "") -> bool:
        """Deactivate one error; True if it was active."""
        return self._errors.pop((error_type, sub_type), None) is not None

    def sync_origin(self, origin: str, errors: Iterable[Error]) -> bool:
        """Make the errors reported by ``origin`` exactly ``errors``; True if changed."""
        wanted = {e.key: e for e in errors}
        stale = [k for k, e in self._errors.items() if e.origin == origin and k not in wanted]
        for key in stale:
            del self._errors[key]
        added = [e for k, e in wanted.items() if self._errors.get(k) != e]
        for error in added:
            self._errors[error.key] = error
        return bool(stale or added)

    def clear_on_unplug(self) -> bool:
        """Drop the kernel's own errors that end with the session."""
        keys = [k for k in self._errors if k[0] in CLEARED_BY_UNPLUG]
        for key in keys:
            del self._errors[key]
        return bool(keys)

    @property
    def fatal(self) -> list[Error]:
        """Errors that make the EVSE inoperative."""
        return [e for e in self._errors.values() if e.fatal and not self._tolerated(e)]

    def _tolerated(self, error: Error) -> bool:
        return not self._meter_errors_fatal and error.origin == METER_LINK_ORIGIN

    @property
    def inoperative(self) -> bool:
        """Charging is impossible while this is true."""
        return bool(self.fatal)

    def active(self) -> list[Error]:
        """All active errors, with Inoperative first when it applies."""
        errors = sorted(self._errors.values(), key=lambda e: e.key)
        if self.inoperative:
            fatal = self.fatal
            causes = ", ".join(e.type for e in fatal)
            # ErrorHandling.cpp raise_inoperative_error: the cause's vendor_id if configured.
            vendor = fatal[0].vendor_id if self._cause_vendor_id else None
            # ErrorHandling.cpp raise_inoperative_error: Inoperative is always High.
            inoperative = Error(
                type=EvseManagerError.Inoperative.value,
                message=f"Charging is not possible: {causes}",
                severity=Severity.High,
                vendor_id=vendor,
            )
            errors.insert(0, inoperative)
        return errors
