"""What the central system knows about one connector of an OCPP charger, version-neutral.

The WebSocket session of a charge point (OCPP 1.6J or 2.0.1) writes into a
``ConnectorLink``: the connector status, the meter values, the transaction and the
charger's identity. The kernel's ports (``controller.ocpp.port``) read it and send
commands back through the session the link has while the charger is online. The link
outlives the WebSocket: a charger that reconnects finds its transaction and its counter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Protocol

from ..auth import same_tag
from ..everest import AuthorizationStatus, CpState, Error, Severity, ValidationResult

_LOGGER = logging.getLogger(__name__)

ENERGY = "Energy.Active.Import.Register"  # the OCPP default measurand
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
VOLTAGE = "Voltage"
# What we ask every charger to sample (MeterValuesSampledData / TxUpdatedMeasurands).
MEASURANDS = (ENERGY, POWER, CURRENT, VOLTAGE)
_SCALE = {"wh": 1, "kwh": 1000, "w": 1, "kw": 1000, "a": 1, "v": 1, "varh": 1, "kvarh": 1000}


class Status(StrEnum):
    """A connector's status in OCPP 1.6 terms (2.0.1 statuses are mapped onto these)."""

    Available = "Available"
    Preparing = "Preparing"
    Charging = "Charging"
    SuspendedEV = "SuspendedEV"
    SuspendedEVSE = "SuspendedEVSE"
    Finishing = "Finishing"
    Reserved = "Reserved"
    Unavailable = "Unavailable"
    Faulted = "Faulted"


# CP state as IEC 61851 sees it (evcc charger/ocpp.go Status maps the same way). OCPP does
# not say whether an EV in SuspendedEVSE would draw: B, so the kernel offers current again
# and the charger's next status (Charging or SuspendedEV) tells.
CP_STATE = {
    Status.Available: CpState.A,
    Status.Unavailable: CpState.A,
    Status.Reserved: CpState.A,
    Status.Preparing: CpState.B,
    Status.SuspendedEV: CpState.B,
    Status.Finishing: CpState.B,
    Status.SuspendedEVSE: CpState.B,
    Status.Charging: CpState.C,
    Status.Faulted: CpState.A,
}

# OCPP 1.6 ChargePointErrorCode -> EVerest error type (errors/*.yaml).
ERROR_TYPES = {
    "ConnectorLockFailure": "connector_lock/MREC1ConnectorLockFailure",
    "EVCommunicationError": "evse_board_support/MREC14PilotFault",
    "GroundFailure": "evse_board_support/MREC2GroundFailure",
    "HighTemperature": "evse_board_support/MREC3HighTemperature",
    "InternalError": "evse_board_support/VendorError",
    "OverCurrentFailure": "evse_board_support/MREC4OverCurrentFailure",
    "OverVoltage": "evse_board_support/MREC5OverVoltage",
    "UnderVoltage": "evse_board_support/MREC6UnderVoltage",
    "PowerMeterFailure": "evse_board_support/VendorError",
    "PowerSwitchFailure": "evse_board_support/MREC17EVSEContactorFault",
    "OtherError": "evse_board_support/VendorError",
    # Nothing to do with charging: a warning only.
    "ReaderFailure": "evse_board_support/VendorWarning",
    "LocalListConflict": "evse_board_support/VendorWarning",
    "WeakSignal": "evse_board_support/VendorWarning",
    "ResetFailure": "evse_board_support/VendorWarning",
}


class Commands(Protocol):
    """What a charge point session can be told to do (one OCPP version's messages)."""

    version: str

    async def set_limit(self, connector_id: int, amps: float, phases: int) -> bool:
        """TxDefaultProfile with one period of ``amps``."""
        ...

    async def set_available(self, connector_id: int, available: bool) -> bool:
        """ChangeAvailability Operative / Inoperative."""
        ...

    async def remote_start(self, connector_id: int, id_tag: str) -> bool:
        """RemoteStartTransaction / RequestStartTransaction."""
        ...

    async def remote_stop(self, transaction_id: str) -> bool:
        """RemoteStopTransaction / RequestStopTransaction."""
        ...

    async def unlock(self, connector_id: int) -> bool:
        """UnlockConnector."""
        ...

    async def reserve(
        self, connector_id: int, reservation_id: int, id_tag: str, expiry: datetime
    ) -> str:
        """ReserveNow: the charger's answer (Accepted, Occupied, Rejected, ...)."""
        ...

    async def cancel_reservation(self, reservation_id: int) -> bool:
        """CancelReservation."""
        ...

    async def trigger(self, message: str, connector_id: int) -> bool:
        """TriggerMessage (BootNotification, StatusNotification, MeterValues)."""
        ...


@dataclass
class Identity:
    """BootNotification: who the charger says it is."""

    vendor: str = ""
    model: str = ""
    serial: str | None = None
    firmware: str | None = None


@dataclass
class Reading:
    """The latest meter values of a connector (absent measurands stay None)."""

    energy_Wh: float | None = None
    power_W: float | None = None
    current_A: dict[str, float] = field(default_factory=dict)  # L1, L2, L3
    voltage_V: dict[str, float] = field(default_factory=dict)
    seq: int = 0  # counts meter values received, so a waiter can tell a fresh one


@dataclass
class ConnectorLink:
    """One connector (1.6 connectorId, 2.0.1 EVSE id) of one charge point."""

    charge_point_id: str
    connector_id: int = 1
    password: str | None = None
    lenient: bool = False  # skip the OCPP schema validation of this charger's messages
    session: Commands | None = None
    booted: bool = False
    boots: int = 0  # BootNotifications seen (a port re-sends its output after one)
    identity: Identity = field(default_factory=Identity)
    status: Status | None = None
    error_code: str = "NoError"
    vendor_error: str = ""
    reading: Reading = field(default_factory=Reading)
    transaction_id: str | None = None
    id_tag: str | None = None  # the token our kernel started the transaction with
    tx_authorized: bool = False  # the transaction runs on our kernel's token
    stopped_by_charger: bool = False  # the charger ended the transaction on its own
    remote_stop_sent: bool = False
    stop_pending: bool = False  # our RemoteStop still has to reach the charger
    reserved: bool = False  # the connector holds our kernel's reservation (ReserveNow)
    # The verdict on a card read here within a bound in seconds (the setup's:
    # controller.auth.validate, the connector's CSMS and its card list).
    check_card: Callable[[str, float], Awaitable[ValidationResult]] | None = None
    # The card a reservation (our kernel's id) is for, when whoever reserved named one
    # (a CSMS's ReserveNow); the wallbox's ReserveNow then carries it (the setup's).
    reservation_tag: Callable[[int], str | None] | None = None
    # An accepted card goes to our kernel's authorization through this (the setup's).
    on_card: Callable[[str, ValidationResult], Awaitable[None]] | None = None
    card_tag: str | None = None  # the card accepted last, until its transaction ends
    last_ended: str | None = None  # a late meter value naming it resumes nothing
    sent: dict[str, Any] = field(default_factory=dict)  # what we last told the charger
    _changed: asyncio.Condition | None = None

    # ------------------------------------------------------------------ waiting

    @property
    def online(self) -> bool:
        """A WebSocket session is open."""
        return self.session is not None

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def changed(self) -> None:
        """Wake everyone waiting for this link to change."""
        cond = self._condition()
        async with cond:
            cond.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``predicate()`` holds (True) or ``timeout_s`` passes (False)."""
        cond = self._condition()
        async with cond:
            try:
                await asyncio.wait_for(cond.wait_for(predicate), timeout_s)
            except TimeoutError:
                return predicate()
        return True

    # ------------------------------------------------------------------ updates

    def attach(self, session: Commands) -> None:
        """A charge point session for this id opened (replacing any older one)."""
        self.session = session

    def detach(self, session: Commands) -> None:
        """That session closed; a newer one stays."""
        if self.session is session:
            self.session = None

    def on_boot(self, identity: Identity) -> None:
        """A (re)booted charger forgets what we told it about volatile things."""
        self.identity = identity
        self.booted = True
        self.boots += 1
        self.sent.clear()

    def on_status(self, status: Status, error_code: str = "NoError", vendor: str = "") -> None:
        """StatusNotification (evcc connector_core.go: Available clears a stale transaction)."""
        if status is Status.Available and self.status not in (None, Status.Available):
            self.card_tag = None  # the EV left (or the card's time ran out)
        self.status = status
        self.error_code = error_code or "NoError"
        self.vendor_error = vendor
        if status is Status.Available and self.transaction_id is not None:
            _LOGGER.info("%s: Available: transaction %s is over", self.name, self.transaction_id)
            self.transaction_id = None
            self.stop_pending = False

    def on_transaction_started(self, transaction_id: str, meter_start_Wh: float | None) -> None:
        """The charger started a transaction; its start reading is the counter now."""
        self.transaction_id = transaction_id
        self.tx_authorized = False
        self.stopped_by_charger = False
        self.remote_stop_sent = False
        self.stop_pending = False  # a stop waiting for an older transaction's id
        if meter_start_Wh is not None:
            self._set_energy(meter_start_Wh)

    def on_transaction_ended(self, transaction_id: str, meter_stop_Wh: float | None) -> None:
        """The charger ended a transaction: by our RemoteStop, or on its own."""
        if meter_stop_Wh is not None:
            self._set_energy(meter_stop_Wh)
        if self.transaction_id in (None, transaction_id):
            self.stopped_by_charger = not self.remote_stop_sent
            self.transaction_id = None
            self.stop_pending = False
            self.card_tag = None
            self.last_ended = transaction_id
        self.reading.power_W = 0.0  # evcc assumeMeterStopped: nothing flows after the stop
        self.reading.current_A = dict.fromkeys(self.reading.current_A, 0.0)

    def on_transaction_seen(self, transaction_id: str) -> None:
        """Meter values name a transaction we did not see start (we were restarted, or it
        started while we were away): it is the connector's (evcc OnMeterValues recovers it
        the same way)."""
        if self.transaction_id is None and transaction_id != self.last_ended:
            _LOGGER.info("%s: resuming transaction %s", self.name, transaction_id)
            self.transaction_id = transaction_id
            if self.stop_pending:
                _LOGGER.info("%s: our stop of it is sent now", self.name)

    async def card_verdict(self, id_tag: str, timeout_s: float) -> ValidationResult:
        """The verdict on a card presented here; refused without a validator. While the
        connector is reserved only a card whose verdict names the reservation is accepted
        (a CSMS's ReserveNow for that card; our own ``reserve`` names no card, so every
        card is refused). The card accepted last is not asked about again (the
        transaction an accepted Authorize announced carries it)."""
        if self.check_card is None:
            return ValidationResult(authorization_status=AuthorizationStatus.Invalid)
        if not self.reserved and same_tag(self.card_tag, id_tag):
            return ValidationResult(authorization_status=AuthorizationStatus.Accepted)
        result = await self.check_card(id_tag, timeout_s)
        if self.reserved and result.reservation_id is None:
            return ValidationResult(authorization_status=AuthorizationStatus.Invalid)
        return result

    def is_ours(self, id_tag: str) -> bool:
        """The token our kernel's RemoteStart carried."""
        return same_tag(self.id_tag, id_tag)

    def on_meter_values(self, values: Mapping[str, float]) -> None:
        """Sampled values (measurand[.phase] -> value in base units) of one reading."""
        r = self.reading
        if ENERGY in values:
            self._set_energy(values[ENERGY])
        elif all(f"{ENERGY}.{p}" in values for p in ("L1", "L2", "L3")):
            self._set_energy(sum(values[f"{ENERGY}.{p}"] for p in ("L1", "L2", "L3")))
        for phase in ("L1", "L2", "L3"):
            if f"{CURRENT}.{phase}" in values:
                r.current_A[phase] = values[f"{CURRENT}.{phase}"]
            for key in (f"{VOLTAGE}.{phase}-N", f"{VOLTAGE}.{phase}"):
                if key in values:
                    r.voltage_V[phase] = values[key]
                    break
        if POWER in values:
            r.power_W = values[POWER]
        elif any(f"{POWER}.{p}" in values for p in ("L1", "L2", "L3")):
            r.power_W = sum(values.get(f"{POWER}.{p}", 0.0) for p in ("L1", "L2", "L3"))
        r.seq += 1

    def _set_energy(self, value_Wh: float) -> None:
        self.reading.energy_Wh = value_Wh
        self.reading.seq += 1

    # ------------------------------------------------------------------ reading

    @property
    def name(self) -> str:
        """How the log names this connector."""
        return f"{self.charge_point_id}/{self.connector_id}"

    def cp_state(self) -> CpState:
        """The IEC 61851 state the connector status implies (a connector Unavailable
        with a transaction still has its EV: B, not an unplug)."""
        if self.status is Status.Unavailable and self.transaction_id is not None:
            return CpState.B
        return CP_STATE.get(self.status or Status.Available, CpState.A)

    def errors(self) -> frozenset[Error]:
        """The charger's own faults in EVerest's terms."""
        code = self.error_code
        if code == "NoError" and self.status is not Status.Faulted:
            return frozenset()
        error_type = ERROR_TYPES.get(code, "evse_board_support/VendorError")
        detail = f"{self.name}: {self.status or 'status'} {code}"
        if self.vendor_error:
            detail += f" ({self.vendor_error})"
        return frozenset(
            {
                Error(
                    type=error_type,
                    message=detail,
                    severity=Severity.High,
                    origin="evse_board_support",
                    vendor_id=self.vendor_error or None,
                )
            }
        )


def sampled_values(meter_values: Iterable[Any]) -> dict[str, float]:
    """OCPP meterValue entries (1.6 or 2.0.1, keys in snake case) -> measurand[.phase]: value
    in base units (Wh, W, A, V). Garbage entries are skipped, never raised."""
    out: dict[str, float] = {}
    for entry in meter_values if isinstance(meter_values, list) else ():
        samples = entry.get("sampled_value") if isinstance(entry, dict) else None
        for sample in samples if isinstance(samples, list) else ():
            if not isinstance(sample, dict) or sample.get("location") == "EV":
                continue
            parsed = _sample(sample)
            if parsed is not None:
                out[parsed[0]] = parsed[1]
    return out


def _sample(sample: Mapping[str, Any]) -> tuple[str, float] | None:
    """One sampledValue: exact decimal scaling (a kWh string gives exact Wh)."""
    measurand = sample.get("measurand") or ENERGY
    unit_of_measure = sample.get("unit_of_measure")
    multiplier = 0
    if isinstance(unit_of_measure, dict):  # 2.0.1
        unit = unit_of_measure.get("unit")
        multiplier = unit_of_measure.get("multiplier") or 0
    else:
        unit = sample.get("unit")
    try:
        value = Decimal(str(sample.get("value")))
        scale = Decimal(_SCALE.get(str(unit or _default_unit(measurand)).lower(), 1))
        if not value.is_finite() or not isinstance(multiplier, int):
            return None
        result = value * scale * Decimal(10) ** multiplier
    except (InvalidOperation, ValueError, ArithmeticError):
        return None
    phase = sample.get("phase")
    key = f"{measurand}.{phase}" if isinstance(phase, str) and phase else str(measurand)
    return key, float(result)


def _default_unit(measurand: str) -> str:
    """The unit a sampledValue without one has (OCPP 1.6 SampledValue: Wh by default)."""
    if measurand.startswith("Current"):
        return "A"
    if measurand.startswith("Voltage"):
        return "V"
    return "Wh"
