"""EVerest ``authorization`` types used by ``authorize_response``."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .iso15118 import EnergyTransferMode
from .model import EverestModel, constrained


class AuthorizationStatus(StrEnum):
    """Result of validating a token."""

    Accepted = "Accepted"
    Blocked = "Blocked"
    ConcurrentTx = "ConcurrentTx"
    Expired = "Expired"
    Invalid = "Invalid"
    NoCredit = "NoCredit"
    NotAllowedTypeEVSE = "NotAllowedTypeEVSE"
    NotAtThisLocation = "NotAtThisLocation"
    NotAtThisTime = "NotAtThisTime"
    Unknown = "Unknown"
    PinRequired = "PinRequired"
    Timeout = "Timeout"


class CertificateStatus(StrEnum):
    """Result of validating a contract certificate (Plug & Charge)."""

    Accepted = "Accepted"
    SignatureError = "SignatureError"
    CertificateExpired = "CertificateExpired"
    CertificateRevoked = "CertificateRevoked"
    NoCertificateAvailable = "NoCertificateAvailable"
    CertChainError = "CertChainError"
    ContractCancelled = "ContractCancelled"


class AuthorizationType(StrEnum):
    """How the token was presented."""

    OCPP = "OCPP"
    RFID = "RFID"
    Autocharge = "Autocharge"
    PlugAndCharge = "PlugAndCharge"
    BankCard = "BankCard"


class IdTokenType(StrEnum):
    """OCPP 2.0.1 token type."""

    Central = "Central"
    eMAID = "eMAID"
    MacAddress = "MacAddress"
    ISO14443 = "ISO14443"
    ISO15693 = "ISO15693"
    KeyCode = "KeyCode"
    Local = "Local"
    NoAuthorization = "NoAuthorization"


@dataclass(frozen=True, kw_only=True)
class CustomIdToken(EverestModel):
    """Additional token information."""

    value: str = constrained(length=(0, 36))
    type: str = constrained(length=(0, 50))


@dataclass(frozen=True, kw_only=True)
class IdToken(EverestModel):
    """An identifier token (RFID UID, eMAID, ...)."""

    value: str = constrained(length=(0, 36))
    type: IdTokenType
    additional_info: list[CustomIdToken] | None = None


@dataclass(frozen=True, kw_only=True)
class ProvidedIdToken(EverestModel):
    """A token presented for authorization."""

    id_token: IdToken
    authorization_type: AuthorizationType
    request_id: int | None = None
    parent_id_token: IdToken | None = None
    connectors: list[int] | None = None
    prevalidated: bool | None = None
    certificate: str | None = constrained(length=(None, 5500), default=None)
    iso15118CertificateHashData: list[dict[str, Any]] | None = constrained(
        items=(1, 4), default=None
    )


@dataclass(frozen=True, kw_only=True)
class ValidationResult(EverestModel):
    """Outcome of validating a ProvidedIdToken.

    ``tariff_messages`` is required by EVerest; on input it defaults to an empty list.
    """

    authorization_status: AuthorizationStatus
    tariff_messages: list[dict[str, Any]] = field(default_factory=list)
    certificate_status: CertificateStatus | None = None
    expiry_time: str | None = None
    parent_id_token: IdToken | None = None
    evse_ids: list[int] | None = None
    reservation_id: int | None = None
    allowed_energy_transfer_modes: list[EnergyTransferMode] | None = constrained(
        items=(1, None), default=None
    )
