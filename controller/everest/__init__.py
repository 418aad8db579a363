"""EVerest's type definitions as typed dataclasses with their exact JSON form."""

from .authorization import (
    AuthorizationStatus,
    AuthorizationType,
    IdToken,
    IdTokenType,
    ProvidedIdToken,
    ValidationResult,
)
from .board_support import Ampacity, ConnectorType, CpState, HardwareCapabilities, Telemetry
from .energy import EnforcedLimits, IntegerWithSource, LimitsRes, NumberWithSource
from .errors import Error, EvseManagerError, Severity
from .evse_manager import (
    CarManufacturer,
    Connector,
    ConnectorTypeEnum,
    EnableDisableSource,
    EnableSource,
    EnableState,
    EVInfo,
    Evse,
    Limits,
    PauseChargingEVSEReason,
    PlugAndChargeConfiguration,
    SessionEvent,
    SessionEventEnum,
    StartSessionReason,
    StopTransactionReason,
    StopTransactionRequest,
    UpdateAllowedEnergyTransferModesResult,
)
from .iso15118 import EnergyTransferMode
from .model import EverestModel, JsonDict
from .powermeter import Powermeter
from .units import Current, Energy, Frequency, Power, Voltage

__all__ = [
    "Ampacity",
    "AuthorizationStatus",
    "AuthorizationType",
    "CarManufacturer",
    "Connector",
    "ConnectorType",
    "ConnectorTypeEnum",
    "CpState",
    "Current",
    "EVInfo",
    "EnableDisableSource",
    "EnableSource",
    "EnableState",
    "Energy",
    "EnergyTransferMode",
    "EnforcedLimits",
    "Error",
    "EverestModel",
    "Evse",
    "EvseManagerError",
    "Frequency",
    "HardwareCapabilities",
    "IdToken",
    "IdTokenType",
    "IntegerWithSource",
    "JsonDict",
    "Limits",
    "LimitsRes",
    "NumberWithSource",
    "PauseChargingEVSEReason",
    "PlugAndChargeConfiguration",
    "Power",
    "Powermeter",
    "ProvidedIdToken",
    "SessionEvent",
    "SessionEventEnum",
    "Severity",
    "StartSessionReason",
    "StopTransactionReason",
    "StopTransactionRequest",
    "Telemetry",
    "UpdateAllowedEnergyTransferModesResult",
    "ValidationResult",
    "Voltage",
]
