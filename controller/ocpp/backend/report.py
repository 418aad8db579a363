"""What the backend hears of one connector: the controller's updates, version-neutral.

The same ``Update`` stream the MQTT bridge and Home Assistant read (``state``,
``errors``, ``powermeter``, ``session_event``) becomes ``Report``s here, the one place
that maps EVerest's session model onto OCPP's: a connector status in 1.6 terms (2.0.1
derives its own from it), and the transaction's start, periodic meter values and end
with the kernel's own meter readings (the session id is our transaction key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ...everest import Error, Powermeter, SessionEvent, SessionEventEnum
from ...kernel.states import State
from ...manager import Update
from ..link import ERROR_TYPES, Status

# Our charger state -> OCPP 1.6 ChargePointStatus (EVerest's OCPP module derives the
# same from its session events: SessionStarted -> Preparing, ChargingStarted ->
# Charging, ChargingPausedEV/EVSE -> SuspendedEV/EVSE, TransactionFinished ->
# Finishing, SessionFinished -> Available, Disabled -> Unavailable).
STATUS = {
    State.Disabled: Status.Unavailable,
    State.Idle: Status.Available,
    State.WaitingForAuthentication: Status.Preparing,
    State.PrepareCharging: Status.Preparing,
    State.Charging: Status.Charging,
    State.ChargingPausedEV: Status.SuspendedEV,
    State.ChargingPausedEVSE: Status.SuspendedEVSE,
    State.SwitchPhases: Status.SuspendedEVSE,
    State.StoppingCharging: Status.Finishing,
    State.Finished: Status.Finishing,
}
# EVerest error type -> OCPP 1.6 ChargePointErrorCode: the first code link.py maps onto it.
ERROR_CODES = {error_type: code for code, error_type in reversed(ERROR_TYPES.items())}
PHASES = ("L1", "L2", "L3")


@dataclass(frozen=True)
class Meter:
    """One reading as OCPP reports it: the register in Wh, power in W, per-phase A / V."""

    timestamp: str
    energy_Wh: Decimal
    power_W: float | None = None
    current_A: dict[str, float] = field(default_factory=dict)
    voltage_V: dict[str, float] = field(default_factory=dict)

    @property
    def wh(self) -> int:
        """The register in whole Wh (1.6 meterStart / meterStop are integers)."""
        return int(self.energy_Wh.to_integral_value())

    def samples(self) -> list[tuple[str, str | None, str, str]]:
        """(measurand, phase, value, unit) of every value present, in OCPP's units."""
        out: list[tuple[str, str | None, str, str]] = [
            ("Energy.Active.Import.Register", None, _text(self.energy_Wh), "Wh")
        ]
        if self.power_W is not None:
            out.append(("Power.Active.Import", None, _text(self.power_W), "W"))
        out += [("Current.Import", p, _text(a), "A") for p, a in self.current_A.items()]
        out += [("Voltage", p, _text(v), "V") for p, v in self.voltage_V.items()]
        return out


def meter_of(sample: Powermeter) -> Meter:
    """A ``powermeter`` sample in OCPP terms (the register's exact decimal value)."""
    current = sample.current_A
    voltage = sample.voltage_V
    return Meter(
        timestamp=sample.timestamp,
        energy_Wh=Decimal(str(sample.energy_Wh_import.total)),
        power_W=sample.power_W.total if sample.power_W is not None else None,
        current_A=_phases(current),
        voltage_V=_phases(voltage),
    )


def _phases(values: Any) -> dict[str, float]:
    return {p: getattr(values, p) for p in PHASES if getattr(values, p, None) is not None}


def _text(value: Decimal | float) -> str:
    """A number without float noise or a trailing ``.0`` (11000.0 -> "11000")."""
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    text = f"{number.normalize():f}"
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class StatusReport:
    """StatusNotification of one connector."""

    connector: int
    status: Status
    timestamp: str
    error_code: str = "NoError"
    info: str = ""
    triggered: bool = False  # asked for (TriggerMessage): sent even if nothing changed


@dataclass(frozen=True)
class TxStarted:
    """A transaction started: StartTransaction / TransactionEvent Started."""

    connector: int
    tx: str  # our session id
    id_tag: str
    token_type: str  # EVerest IdTokenType (2.0.1 idToken.type)
    remote: bool  # authorized by the CSMS's RemoteStart
    meter: Meter
    status: Status
    reservation_id: int | None = None


@dataclass(frozen=True)
class TxUpdated:
    """Meter values (or a charging state change) during a transaction."""

    connector: int
    tx: str | None  # None: a triggered reading outside a transaction
    meter: Meter
    status: Status
    trigger: str  # 2.0.1 TriggerReason: MeterValuePeriodic, ChargingStateChanged, Trigger


@dataclass(frozen=True)
class TxEnded:
    """A transaction ended: StopTransaction / TransactionEvent Ended."""

    connector: int
    tx: str
    meter: Meter
    reason: str  # EVerest StopTransactionReason (OCPP's names)
    id_tag: str | None = None  # the token that stopped it (locally)
    token_type: str | None = None


Report = StatusReport | TxStarted | TxUpdated | TxEnded


@dataclass
class ConnectorReport:
    """Follows one connector's updates; ``on_update`` says what to report."""

    connector: int  # the OCPP connector / EVSE id
    state: State | None = None
    errors: tuple[Error, ...] = ()
    reserved: bool = False
    meter: Meter | None = None
    tx: str | None = None  # the open transaction (our session id)
    last_status: StatusReport | None = None

    def on_update(self, update: Update) -> list[Report]:
        """The reports one update causes (none for most)."""
        if update.var == "powermeter" and isinstance(update.value, Powermeter):
            self.meter = meter_of(update.value)
        elif update.var == "state" and isinstance(update.value, State):
            self.state = update.value
            return self._status_changed()
        elif update.var == "errors":
            self.errors = tuple(e for e in update.value or () if isinstance(e, Error))
            return self._status_changed()
        elif update.var == "session_event" and isinstance(update.value, SessionEvent):
            return self._on_event(update.value)
        return []

    def status(self, timestamp: str | None = None) -> StatusReport:
        """The connector's status now (EVerest: an error that makes the EVSE inoperative
        is Faulted; a reservation shows while idle)."""
        stamp = timestamp or (self.meter.timestamp if self.meter else "")
        fatal = [e for e in self.errors if e.fatal]
        if fatal:
            code = ERROR_CODES.get(fatal[0].type, "OtherError")
            return StatusReport(self.connector, Status.Faulted, stamp, code, fatal[0].message[:50])
        # No state yet: the connector is not running (its devices do not answer).
        status = Status.Unavailable if self.state is None else STATUS[self.state]
        if status is Status.Available and self.reserved:
            status = Status.Reserved
        return StatusReport(self.connector, status, stamp)

    def _status_changed(self) -> list[Report]:
        """A StatusNotification when the status changed; during a transaction also the
        charging state change (2.0.1 TransactionEvent Updated, ChargingStateChanged)."""
        now = self.status()
        last = self.last_status
        if last is not None and (last.status, last.error_code) == (now.status, now.error_code):
            return []
        self.last_status = now
        if self.tx is None or self.meter is None:
            return [now]
        return [
            TxUpdated(self.connector, self.tx, self.meter, now.status, "ChargingStateChanged"),
            now,
        ]

    def _on_event(self, event: SessionEvent) -> list[Report]:
        kind = event.event
        if kind is SessionEventEnum.TransactionStarted:
            return self._started(event)
        if kind is SessionEventEnum.TransactionFinished:
            return self._ended(event)
        if kind is SessionEventEnum.SessionResumed:
            self.tx = event.uuid  # after a restart: its Start was queued before
        elif kind in (SessionEventEnum.ReservationStart, SessionEventEnum.ReservationEnd):
            self.reserved = kind is SessionEventEnum.ReservationStart
            return self._status_changed()
        return []

    def _started(self, event: SessionEvent) -> list[Report]:
        started = event.transaction_started
        assert started is not None
        self.tx = event.uuid
        self.meter = meter_of(started.meter_value)
        token = started.id_tag
        return [
            TxStarted(
                connector=self.connector,
                tx=event.uuid,
                id_tag=token.id_token.value,
                token_type=token.id_token.type.value,
                remote=token.authorization_type.value == "OCPP",
                meter=self.meter,
                status=self.status().status,
                reservation_id=started.reservation_id,
            )
        ]

    def _ended(self, event: SessionEvent) -> list[Report]:
        finished = event.transaction_finished
        assert finished is not None
        tx, self.tx = self.tx or event.uuid, None
        self.meter = meter_of(finished.meter_value)
        reason = finished.reason.value if finished.reason is not None else "Other"
        token = finished.id_tag.id_token if finished.id_tag is not None else None
        return [
            TxEnded(
                self.connector,
                tx,
                self.meter,
                reason,
                token.value if token else None,
                token.type.value if token else None,
            )
        ]

    def periodic(self) -> TxUpdated | None:
        """MeterValues of the open transaction (the meter interval is due)."""
        return self.sample("MeterValuePeriodic") if self.tx is not None else None

    def sample(self, trigger: str) -> TxUpdated | None:
        """The latest reading (of the open transaction, if one is)."""
        if self.meter is None:
            return None
        return TxUpdated(self.connector, self.tx, self.meter, self.status().status, trigger)
