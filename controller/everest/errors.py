"""EVerest's error framework, reduced to what an adapter needs to show an error."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .model import EverestModel


class Severity(StrEnum):
    """High severity shuts the power path down at once (PWM off, relays open)."""

    High = "High"
    Medium = "Medium"
    Low = "Low"


class EvseManagerError(StrEnum):
    """errors/evse_manager.yaml."""

    Internal = "evse_manager/Internal"
    MREC4OverCurrentFailure = "evse_manager/MREC4OverCurrentFailure"
    MREC5OverVoltage = "evse_manager/MREC5OverVoltage"
    MREC9AuthorizationTimeout = "evse_manager/MREC9AuthorizationTimeout"
    PowermeterTransactionStartFailed = "evse_manager/PowermeterTransactionStartFailed"
    Inoperative = "evse_manager/Inoperative"
    MREC22ResistanceFault = "evse_manager/MREC22ResistanceFault"
    MREC11CableCheckFault = "evse_manager/MREC11CableCheckFault"
    VoltagePlausibilityFault = "evse_manager/VoltagePlausibilityFault"


# Board-support errors that only derate or warn: they never make the EVSE inoperative.
NON_FATAL_ERRORS = frozenset(
    {
        "evse_board_support/VendorWarning",
        "evse_board_support/MREC3HighTemperature",
        "evse_board_support/MREC18CableOverTempDerate",
        "ac_rcd/VendorWarning",
        "connector_lock/VendorWarning",
    }
)

# The kernel's own errors that an unplug clears (Charger.cpp clear_errors_on_unplug).
CLEARED_BY_UNPLUG = frozenset(
    {
        EvseManagerError.MREC4OverCurrentFailure.value,
        EvseManagerError.Internal.value,
        EvseManagerError.PowermeterTransactionStartFailed.value,
        EvseManagerError.MREC9AuthorizationTimeout.value,
        EvseManagerError.MREC22ResistanceFault.value,
        EvseManagerError.MREC11CableCheckFault.value,
        EvseManagerError.MREC5OverVoltage.value,
        EvseManagerError.VoltagePlausibilityFault.value,
    }
)


@dataclass(frozen=True, kw_only=True)
class Error(EverestModel):
    """An active error: ``type`` is ``<interface>/<name>`` as in EVerest's errors/."""

    type: str
    message: str
    severity: Severity = Severity.Medium
    sub_type: str = ""
    origin: str = "evse_manager"
    vendor_id: str | None = None  # the device vendor's, where a board reports one

    @property
    def key(self) -> tuple[str, str]:
        """Errors are identified by type and sub-type, like EVerest's."""
        return (self.type, self.sub_type)

    @property
    def fatal(self) -> bool:
        """Whether this error makes the EVSE inoperative."""
        return self.type not in NON_FATAL_ERRORS and self.type != EvseManagerError.Inoperative
