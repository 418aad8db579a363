"""EVerest ``evse_manager`` types: session events, commands' arguments and results."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .authorization import ProvidedIdToken
from .model import EverestModel, constrained
from .powermeter import Powermeter


class StopTransactionReason(StrEnum):
    """Why a transaction ended (OCPP reasons)."""

    EmergencyStop = "EmergencyStop"
    EVDisconnected = "EVDisconnected"
    HardReset = "HardReset"
    Local = "Local"
    Other = "Other"
    PowerLoss = "PowerLoss"
    Reboot = "Reboot"
    Remote = "Remote"
    SoftReset = "SoftReset"
    UnlockCommand = "UnlockCommand"
    DeAuthorized = "DeAuthorized"
    EnergyLimitReached = "EnergyLimitReached"
    GroundFault = "GroundFault"
    LocalOutOfCredit = "LocalOutOfCredit"
    MasterPass = "MasterPass"
    OvercurrentFault = "OvercurrentFault"
    PowerQuality = "PowerQuality"
    SOCLimitReached = "SOCLimitReached"
    StoppedByEV = "StoppedByEV"
    TimeLimitReached = "TimeLimitReached"
    Timeout = "Timeout"
    ReqEnergyTransferRejected = "ReqEnergyTransferRejected"


class StartSessionReason(StrEnum):
    """Why a session started: a plug-in or an authorization before plug-in."""

    EVConnected = "EVConnected"
    Authorized = "Authorized"


class PauseChargingEVSEReason(StrEnum):
    """Why the EVSE (not the EV) holds charging."""

    # In the order Charger.cpp ChargingPausedEVSE lists them (events order by this).
    Error = "Error"
    NoEnergy = "NoEnergy"
    UserPause = "UserPause"


class SessionEventEnum(StrEnum):
    """Every session event the interface defines."""

    Authorized = "Authorized"
    Deauthorized = "Deauthorized"
    Enabled = "Enabled"
    Disabled = "Disabled"
    SessionStarted = "SessionStarted"
    AuthRequired = "AuthRequired"
    TransactionStarted = "TransactionStarted"
    PrepareCharging = "PrepareCharging"
    ChargingStarted = "ChargingStarted"
    ChargingPausedEV = "ChargingPausedEV"
    ChargingPausedEVSE = "ChargingPausedEVSE"
    StoppingCharging = "StoppingCharging"
    ChargingFinished = "ChargingFinished"
    TransactionFinished = "TransactionFinished"
    SessionFinished = "SessionFinished"
    ReservationStart = "ReservationStart"
    ReservationEnd = "ReservationEnd"
    PluginTimeout = "PluginTimeout"
    SwitchingPhases = "SwitchingPhases"
    SessionResumed = "SessionResumed"


class EnableSource(StrEnum):
    """Who asks to enable or disable the EVSE."""

    Unspecified = "Unspecified"
    LocalAPI = "LocalAPI"
    LocalKeyLock = "LocalKeyLock"
    ServiceTechnician = "ServiceTechnician"
    RemoteKeyLock = "RemoteKeyLock"
    MobileApp = "MobileApp"
    FirmwareUpdate = "FirmwareUpdate"
    CSMS = "CSMS"


class EnableState(StrEnum):
    """What a source asks for; Unassigned withdraws its vote."""

    Unassigned = "Unassigned"
    Disable = "Disable"
    Enable = "Enable"


class HlcSessionFailedReason(StrEnum):
    """Why an ISO 15118 session failed (never produced by basic charging)."""

    ProtocolNegotiationFailed = "ProtocolNegotiationFailed"
    AuthorizationFailed = "AuthorizationFailed"
    ChargingParametersNotAccepted = "ChargingParametersNotAccepted"
    EnergyTransferSetupFailed = "EnergyTransferSetupFailed"
    ChargingInterrupted = "ChargingInterrupted"
    FailedTLSHandshake = "FailedTLSHandshake"
    UnexpectedSessionEnd = "UnexpectedSessionEnd"


class CarManufacturer(StrEnum):
    """Manufacturer derived from the EV's MAC address (HLC only)."""

    VolkswagenGroup = "VolkswagenGroup"
    Tesla = "Tesla"
    Unknown = "Unknown"


class ConnectorTypeEnum(StrEnum):
    """Physical connector types."""

    cCCS1 = "cCCS1"
    cCCS2 = "cCCS2"
    cG105 = "cG105"
    cMCS = "cMCS"
    cTesla = "cTesla"
    cType1 = "cType1"
    cType2 = "cType2"
    s309_1P_16A = "s309_1P_16A"
    s309_1P_32A = "s309_1P_32A"
    s309_3P_16A = "s309_3P_16A"
    s309_3P_32A = "s309_3P_32A"
    sBS1361 = "sBS1361"
    sCEE_7_7 = "sCEE_7_7"
    sType2 = "sType2"
    sType3 = "sType3"
    Other1PhMax16A = "Other1PhMax16A"
    Other1PhOver16A = "Other1PhOver16A"
    Other3Ph = "Other3Ph"
    Pan = "Pan"
    wInductive = "wInductive"
    wResonant = "wResonant"
    Undetermined = "Undetermined"
    Unknown = "Unknown"


class UpdateAllowedEnergyTransferModesResult(StrEnum):
    """Result of ``update_allowed_energy_transfer_modes``."""

    Accepted = "Accepted"
    IncompatibleEnergyTransfer = "IncompatibleEnergyTransfer"
    ServiceRenegotiationFailed = "ServiceRenegotiationFailed"
    NoHlc = "NoHlc"


@dataclass(frozen=True, kw_only=True)
class StopTransactionRequest(EverestModel):
    """Argument of ``stop_transaction``."""

    reason: StopTransactionReason
    id_tag: ProvidedIdToken | None = None


@dataclass(frozen=True, kw_only=True)
class ChargingPausedEVSEReasons(EverestModel):
    """The set of reasons the EVSE holds charging (1 to 3)."""

    reasons: list[PauseChargingEVSEReason] = constrained(items=(1, 3))


@dataclass(frozen=True, kw_only=True)
class SessionStarted(EverestModel):
    """Payload of SessionStarted."""

    reason: StartSessionReason
    meter_value: Powermeter
    id_tag: ProvidedIdToken | None = None
    reservation_id: int | None = None
    logging_path: str | None = None


@dataclass(frozen=True, kw_only=True)
class SessionFinished(EverestModel):
    """Payload of SessionFinished."""

    meter_value: Powermeter


@dataclass(frozen=True, kw_only=True)
class TransactionStarted(EverestModel):
    """Payload of TransactionStarted."""

    id_tag: ProvidedIdToken
    meter_value: Powermeter
    reservation_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class TransactionFinished(EverestModel):
    """Payload of TransactionFinished; ``id_tag`` only when stopped locally."""

    meter_value: Powermeter
    reason: StopTransactionReason | None = None
    id_tag: ProvidedIdToken | None = None


@dataclass(frozen=True, kw_only=True)
class ChargingStateChangedEvent(EverestModel):
    """Payload of ChargingStarted / ChargingPausedEV / ChargingPausedEVSE."""

    meter_value: Powermeter


@dataclass(frozen=True, kw_only=True)
class AuthorizationEvent(EverestModel):
    """Payload of Authorized / Deauthorized."""

    meter_value: Powermeter


@dataclass(frozen=True, kw_only=True)
class EnableDisableSource(EverestModel):
    """One vote in the enable/disable arbitration; priority 0 is the highest."""

    enable_source: EnableSource
    enable_state: EnableState
    enable_priority: int = constrained(range=(0, 10000))


@dataclass(frozen=True, kw_only=True)
class SessionEvent(EverestModel):
    """One entry of the ``session_event`` stream."""

    uuid: str
    timestamp: str
    event: SessionEventEnum
    connector_id: int | None = None
    session_started: SessionStarted | None = None
    session_finished: SessionFinished | None = None
    transaction_started: TransactionStarted | None = None
    transaction_finished: TransactionFinished | None = None
    charging_paused_evse: ChargingPausedEVSEReasons | None = None
    charging_state_changed_event: ChargingStateChangedEvent | None = None
    authorization_event: AuthorizationEvent | None = None
    source: EnableDisableSource | None = None


@dataclass(frozen=True, kw_only=True)
class HlcSessionFailedEvent(EverestModel):
    """Published when an ISO 15118 session fails (HLC only)."""

    uuid: str
    reason: HlcSessionFailedReason


@dataclass(frozen=True, kw_only=True)
class Limits(EverestModel):
    """The current and phases the EV may use right now."""

    max_current: float
    nr_of_phases_available: int = constrained(range=(1, 3))
    uuid: str | None = None


@dataclass(frozen=True, kw_only=True)
class EVInfo(EverestModel):
    """What is known about the EV (ISO 15118 only; empty for basic charging)."""

    soc: float | None = constrained(range=(0, 100), default=None)
    present_voltage: float | None = None
    present_current: float | None = None
    target_voltage: float | None = None
    target_current: float | None = None
    maximum_current_limit: float | None = None
    minimum_current_limit: float | None = None
    maximum_voltage_limit: float | None = None
    maximum_power_limit: float | None = None
    estimated_time_full: str | None = None
    departure_time: str | None = None
    estimated_time_bulk: str | None = None
    evcc_id: str | None = constrained(pattern=r"^[A-Fa-f0-9]{2}(:[A-Fa-f0-9]{2}){5}$", default=None)
    remaining_energy_needed: float | None = None
    battery_capacity: float | None = None
    battery_full_soc: float | None = constrained(range=(0, 100), default=None)
    battery_bulk_soc: float | None = constrained(range=(0, 100), default=None)
    target_energy_request: float | None = None
    max_energy_request: float | None = None
    min_energy_request: float | None = None
    ac_max_charge_power: float | None = None
    ac_min_charge_power: float | None = None
    ac_max_discharge_power: float | None = None
    ac_min_discharge_power: float | None = None
    ac_present_active_power: float | None = None
    ac_present_reactive_power: float | None = None


@dataclass(frozen=True, kw_only=True)
class Connector(EverestModel):
    """One connector of an EVSE."""

    id: int = constrained(range=(1, None))
    type: ConnectorTypeEnum | None = None


@dataclass(frozen=True, kw_only=True)
class Evse(EverestModel):
    """Result of ``get_evse``."""

    id: int = constrained(range=(1, 128))
    connectors: list[Connector] = constrained(items=(1, 128))


@dataclass(frozen=True, kw_only=True)
class PlugAndChargeConfiguration(EverestModel):
    """ISO 15118 contract authorization settings."""

    pnc_enabled: bool | None = None
    central_contract_validation_allowed: bool | None = None
    contract_certificate_installation_enabled: bool | None = None
