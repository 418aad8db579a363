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


class BoardSupportError(StrEnum):
    """errors/evse_board_support.yaml."""

    DiodeFault = "evse_board_support/DiodeFault"
    VentilationNotAvailable = "evse_board_support/VentilationNotAvailable"
    BrownOut = "evse_board_support/BrownOut"
    EnergyManagement = "evse_board_support/EnergyManagement"
    PermanentFault = "evse_board_support/PermanentFault"
    MREC2GroundFailure = "evse_board_support/MREC2GroundFailure"
    MREC3HighTemperature = "evse_board_support/MREC3HighTemperature"
    MREC4OverCurrentFailure = "evse_board_support/MREC4OverCurrentFailure"
    MREC5OverVoltage = "evse_board_support/MREC5OverVoltage"
    MREC6UnderVoltage = "evse_board_support/MREC6UnderVoltage"
    MREC8EmergencyStop = "evse_board_support/MREC8EmergencyStop"
    MREC10InvalidVehicleMode = "evse_board_support/MREC10InvalidVehicleMode"
    MREC14PilotFault = "evse_board_support/MREC14PilotFault"
    MREC15PowerLoss = "evse_board_support/MREC15PowerLoss"
    MREC17EVSEContactorFault = "evse_board_support/MREC17EVSEContactorFault"
    MREC18CableOverTempDerate = "evse_board_support/MREC18CableOverTempDerate"
    MREC19CableOverTempStop = "evse_board_support/MREC19CableOverTempStop"
    MREC20PartialInsertion = "evse_board_support/MREC20PartialInsertion"
    MREC23ProximityFault = "evse_board_support/MREC23ProximityFault"
    MREC24ConnectorVoltageHigh = "evse_board_support/MREC24ConnectorVoltageHigh"
    MREC25BrokenLatch = "evse_board_support/MREC25BrokenLatch"
    MREC26CutCable = "evse_board_support/MREC26CutCable"
    TiltDetected = "evse_board_support/TiltDetected"
    WaterIngressDetected = "evse_board_support/WaterIngressDetected"
    EnclosureOpen = "evse_board_support/EnclosureOpen"
    VendorError = "evse_board_support/VendorError"
    VendorWarning = "evse_board_support/VendorWarning"
    CommunicationFault = "evse_board_support/CommunicationFault"


class AcRcdError(StrEnum):
    """errors/ac_rcd.yaml."""

    Selftest = "ac_rcd/Selftest"
    DC = "ac_rcd/DC"
    AC = "ac_rcd/AC"
    MREC2GroundFailure = "ac_rcd/MREC2GroundFailure"
    VendorError = "ac_rcd/VendorError"
    VendorWarning = "ac_rcd/VendorWarning"


class ConnectorLockError(StrEnum):
    """errors/connector_lock.yaml."""

    ConnectorLockCapNotCharged = "connector_lock/ConnectorLockCapNotCharged"
    ConnectorLockUnexpectedOpen = "connector_lock/ConnectorLockUnexpectedOpen"
    ConnectorLockUnexpectedClose = "connector_lock/ConnectorLockUnexpectedClose"
    ConnectorLockFailedLock = "connector_lock/ConnectorLockFailedLock"
    ConnectorLockFailedUnlock = "connector_lock/ConnectorLockFailedUnlock"
    MREC1ConnectorLockFailure = "connector_lock/MREC1ConnectorLockFailure"
    VendorError = "connector_lock/VendorError"
    VendorWarning = "connector_lock/VendorWarning"


# Every error type a charger can report through the interfaces EvseManager requires, in
# EVerest's order: what a map may name and what the Error entity can show.
ERROR_INTERFACES: tuple[type[StrEnum], ...] = (
    EvseManagerError,
    BoardSupportError,
    AcRcdError,
    ConnectorLockError,
)
ERROR_TYPES: tuple[str, ...] = tuple(e.value for enum in ERROR_INTERFACES for e in enum)


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
