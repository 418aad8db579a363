"""A simulated OCPP wallbox (1.6J or 2.0.1), the client side of the ``ocpp`` package,
driven by the same EV model as the Modbus simulator (``SimulatedStation``).

It behaves as a wallbox set to "authorize through the backend": a transaction starts on
RemoteStart / RequestStart, or on an RFID card (``present_card``) the backend accepts
(Authorize), once the EV is plugged in; it charges at the current of the TxDefaultProfile
it was sent (none: 0 A), follows ChangeAvailability, holds reservations (ReserveNow:
Reserved, other cards refused, until it expires, is cancelled or its id tag starts), and
reports status changes and meter values (whole Wh, as chargers' meters do). ``step()``
sends what changed and a meter reading; a test or the demo calls it after moving the EV
or the clock. ``received`` lists every CALL the central system sent, in order (what a
test asserts on).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.typing import Subprotocol

from ..auth import same_tag
from ..kernel.pwm import duty_cycle
from ..ports import ChargerOutput, CpMode
from ..simulation import SimulatedStation
from .central import after, now_iso, on
from .link import ERROR_TYPES

_LOGGER = logging.getLogger(__name__)
MIN_A = 6.0
# EVerest error type -> the 1.6 error code the simulated wallbox reports for it.
ERROR_CODES = {v: k for k, v in reversed(ERROR_TYPES.items())}


@dataclass(frozen=True)
class Reservation:
    """A ReserveNow the wallbox holds."""

    id: int
    id_tag: str
    expiry: datetime


@dataclass
class WallboxState:
    """What the wallbox firmware keeps: availability, profile, transaction, config."""

    available: bool = True
    inoperative_scheduled: bool = False  # Inoperative asked during a transaction
    limit_A: float = 0.0
    transaction_id: str | None = None
    id_tag: str | None = None
    finishing: bool = False  # transaction over, EV still plugged
    accept_reservations: bool = True  # False: ReserveNow is Rejected (not supported)
    reservation: Reservation | None = None
    card: str | None = None  # a card the backend accepted, waiting for the EV
    by_card: bool = False  # the transaction started on a card (not a remote start)
    refused: list[str] = field(default_factory=list)  # cards refused, in order
    # Meter values name the transaction (False: as clock-aligned ones, without its id).
    name_transaction: bool = True
    # False: a card starts the transaction without an Authorize first (a wallbox with a
    # local authorization cache); the backend's verdict is the transaction's answer.
    authorize_cards: bool = True
    # 2.0.1 TxStartPoint EVConnected, read-only: a transaction starts at plug-in and
    # delivers nothing until a card or a RequestStart authorizes it.
    tx_on_plug_in: bool = False
    authorized: bool = True  # the running transaction may deliver energy
    config: dict[str, str] = field(
        default_factory=lambda: {
            "MeterValuesSampledData": "Energy.Active.Import.Register",
            "MeterValueSampleInterval": "60",
            "LocalAuthorizeOffline": "true",
            "LocalPreAuthorize": "false",
            "AllowOfflineTxForUnknownId": "false",
            "AuthorizeRemoteTxRequests": "true",
        }
    )


class SimulatedWallbox:
    """One OCPP charge point with one connector over a SimulatedStation."""

    def __init__(
        self,
        station: SimulatedStation,
        url: str,
        *,
        version: str = "1.6",
        password: str | None = None,
        energy_unit: str = "Wh",
        vendor: str = "Simulated",
        model: str = "OCPP wallbox",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.station = station
        self.url = url
        self.version = version
        self.password = password
        self.energy_unit = energy_unit
        self.ssl_context = ssl_context  # for wss:// (the CA that signed the server)
        self.vendor, self.model = vendor, model
        self.state = WallboxState()
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.sent_energy: list[int] = []  # every energy reading sent, Wh
        self._cp: Any = None
        self._ws: ClientConnection | None = None
        self._serve: asyncio.Task[None] | None = None
        self._status: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()
        self._seq = 0

    @property
    def cp_id(self) -> str:
        """The charge point id: the last segment of the URL."""
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    # ------------------------------------------------------------------ link

    async def connect(self, *, boot: bool = True) -> None:
        """Open the WebSocket; a fresh boot sends BootNotification (a reconnect does not)."""
        headers = {}
        if self.password is not None:
            token = base64.b64encode(f"{self.cp_id}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        protocol = "ocpp1.6" if self.version == "1.6" else "ocpp2.0.1"
        self._ws = await connect(
            self.url,
            subprotocols=[Subprotocol(protocol)],
            additional_headers=headers,
            ssl=self.ssl_context,
        )
        kind = _Client16 if self.version == "1.6" else _Client201
        self._cp = kind(self.cp_id, self._ws, self)
        self._serve = asyncio.create_task(self._run(self._cp))
        self._status = None
        if boot:
            await self._cp.boot()
        await self.step()

    async def _run(self, cp: Any) -> None:
        with contextlib.suppress(ConnectionClosed):
            await cp.start()

    async def disconnect(self) -> None:
        """Drop the WebSocket (the station keeps charging, as a real wallbox would)."""
        if self._ws is not None and self._ws.state is State.OPEN:
            await self.settle()
        if self._ws is not None:
            await self._ws.close()
        # Follow-ups still waiting for an answer from a central system that is gone.
        for task in [*self._tasks, *([self._serve] if self._serve else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await task
        self._ws = self._cp = self._serve = None

    async def settle(self) -> None:
        """Wait for the follow-ups of the last commands (a StartTransaction after a
        RemoteStart, a status after a profile) to be sent and answered."""
        for _ in range(10):
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def spawn(self, coro: Any) -> None:
        """Run a follow-up beside the message loop."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        """A follow-up cut off by a closing connection is expected, not an error."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.debug("%s: follow-up failed: %r", self.cp_id, task.exception())

    # ------------------------------------------------------------------ physics

    def change_availability(self, operative: bool) -> str:
        """OCPP 1.6 §5.2 / 2.0.1 G03: Inoperative during a transaction is Scheduled, taking
        effect when the transaction ends."""
        s = self.state
        s.inoperative_scheduled = not operative and s.transaction_id is not None
        if s.inoperative_scheduled:
            return "Scheduled"
        s.available = operative
        return "Accepted"

    def reserve(self, reservation_id: int, id_tag: str, expiry: str) -> str:
        """OCPP 1.6 §5.13 / 2.0.1 H01: Accepted, or why not (Faulted, Unavailable,
        Occupied: an EV, a transaction or another reservation; Rejected: not supported).
        The same id again replaces the reservation."""
        s = self.state
        self._expire()
        if not s.accept_reservations:
            return "Rejected"
        if self.station.board_errors:
            return "Faulted"
        if not s.available:
            return "Unavailable"
        replaces = s.reservation is not None and s.reservation.id == reservation_id
        busy = self.station.ev.plugged or s.transaction_id is not None
        if not replaces and (busy or s.reservation is not None):
            return "Occupied"
        when = datetime.fromisoformat(expiry.replace("Z", "+00:00"))
        s.reservation = Reservation(reservation_id, id_tag, when)
        return "Accepted"

    def cancel_reservation(self, reservation_id: int) -> bool:
        """CancelReservation: Accepted for the reservation held, else Rejected."""
        s = self.state
        if s.reservation is None or s.reservation.id != reservation_id:
            return False
        s.reservation = None
        return True

    def _expire(self) -> None:
        s = self.state
        if s.reservation is not None and self.station.clock.now() >= s.reservation.expiry:
            s.reservation = None

    def may_start(self, id_tag: str) -> bool:
        """A transaction may start for ``id_tag`` now (available, EV plugged, none yet,
        and the reservation, if any, is this tag's)."""
        s = self.state
        self._expire()
        reserved_for = None if s.reservation is None else s.reservation.id_tag
        if reserved_for is not None and not same_tag(reserved_for, id_tag):
            return False
        return s.available and s.transaction_id is None and self.station.ev.plugged

    def take_reservation(self) -> int | None:
        """The transaction starting now consumes the reservation (its id for the start)."""
        s = self.state
        if s.reservation is None:
            return None
        reservation_id, s.reservation = s.reservation.id, None
        return reservation_id

    async def present_card(self, id_tag: str) -> bool:
        """An RFID card held to the reader: refused locally while the connector is
        reserved for another tag, else Authorize; an accepted card starts a transaction
        as soon as the EV is plugged in (at once if it is)."""
        s = self.state
        self._expire()
        if s.reservation is not None and not same_tag(s.reservation.id_tag, id_tag):
            s.refused.append(id_tag)
            return False
        if self._cp is None:
            return False
        if s.authorize_cards and await self._cp.authorize(id_tag) != "Accepted":
            s.refused.append(id_tag)
            return False
        s.card = id_tag
        await self.step()
        await self.settle()
        return True

    def _start_on_card(self) -> None:
        """An accepted card and the EV both there: the wallbox starts the transaction,
        or authorizes the one it started at plug-in."""
        s = self.state
        if s.card is not None and self.waiting_transaction():
            s.id_tag, s.card, s.by_card, s.authorized = s.card, None, True, True
            self.spawn(self._cp.authorize_transaction())
        if s.card is None or not self.may_start(s.card):
            return
        s.id_tag, s.card, s.by_card = s.card, None, True
        self.spawn(self._cp.start_transaction())

    def waiting_transaction(self) -> bool:
        """A transaction started at plug-in waits for its authorization."""
        return self.state.transaction_id is not None and not self.state.authorized

    def _start_on_plug_in(self) -> None:
        """TxStartPoint EVConnected: the EV plugged in starts an unauthorized transaction."""
        s = self.state
        plugged = self.station.ev.plugged and s.available and not s.finishing
        if s.tx_on_plug_in and plugged and s.transaction_id is None and s.reservation is None:
            s.transaction_id, s.authorized, s.id_tag = f"TX-{self.next_seq()}", False, None
            self.spawn(self._cp.started_on_plug_in())

    def _transaction_ended(self) -> None:
        s = self.state
        s.finishing = self.station.ev.plugged
        if s.inoperative_scheduled:
            s.available, s.inoperative_scheduled = False, False
        self.station.apply(self.output())

    def output(self) -> ChargerOutput:
        """What this wallbox's firmware drives onto the CP, from its OCPP state."""
        s = self.state
        offer = s.available and s.transaction_id is not None and s.limit_A >= MIN_A
        offer = offer and s.authorized
        amps = min(s.limit_A, self.station.capabilities.max_current_A_import) if offer else 0.0
        return ChargerOutput(
            enabled=s.available,
            cp=CpMode.PWM if offer else (CpMode.X1 if s.available else CpMode.F),
            duty_cycle=duty_cycle(amps) if offer else 100.0,
            current_A=amps,
            allow_power=offer,
            phases=3,
            locked=self.station.ev.plugged,
            overcurrent_limit_A=amps,
        )

    def status(self) -> str:
        """The 1.6 connector status the station is in now."""
        s, station = self.state, self.station
        if not s.available:
            return "Unavailable"
        if station.board_errors:
            return "Faulted"
        self._expire()
        if s.reservation is not None and s.transaction_id is None:
            return "Reserved"  # an EV plugged in too: Reserved until the tag is presented
        if not station.ev.plugged:
            return "Available"
        if s.transaction_id is None:
            return "Finishing" if s.finishing else "Preparing"
        if not s.authorized:
            return "Preparing"
        if station.relays_on():
            return "Charging"
        return "SuspendedEVSE" if s.limit_A < MIN_A else "SuspendedEV"

    def error_code(self) -> str:
        """The 1.6 errorCode for the station's board errors."""
        for error in self.station.board_errors:
            return ERROR_CODES.get(error.type, "OtherError")
        return "NoError"

    def energy_Wh(self) -> int:
        """The register, whole Wh."""
        self.station.advance()
        return round(self.station.energy_Wh)

    async def step(self) -> None:
        """Apply the OCPP state to the station, end a transaction whose EV left, send a
        changed status and one meter reading."""
        async with self._lock:
            if self._cp is None:
                return
            self.station.apply(self.output())
            if self.state.transaction_id is not None and not self.station.ev.plugged:
                await self._cp.stop_transaction("EVDisconnected")
            if not self.station.ev.plugged:
                self.state.finishing = False
            self._start_on_card()
            self._start_on_plug_in()
            self.station.apply(self.output())
            status = self.status()
            if status != self._status:
                self._status = status
                await self._cp.send_status(status)
            await self._cp.send_meter_values()

    def apply_soon(self) -> None:
        """A command changed the state: send the consequences after the answer."""
        self.spawn(self.step())

    def meter_value(self) -> dict[str, Any]:
        """One meterValue entry (1.6 shape, string values)."""
        energy = self.energy_Wh()
        self.sent_energy.append(energy)
        l1, l2, l3 = self.station.phase_currents()
        value = f"{energy / 1000:.3f}" if self.energy_unit == "kWh" else str(energy)
        samples = [
            {
                "value": value,
                "measurand": "Energy.Active.Import.Register",
                "unit": self.energy_unit,
            },
            {
                "value": f"{self.station.power_W():.1f}",
                "measurand": "Power.Active.Import",
                "unit": "W",
            },
        ]
        for phase, amps in (("L1", l1), ("L2", l2), ("L3", l3)):
            samples.append(
                {"value": f"{amps:.2f}", "measurand": "Current.Import", "phase": phase, "unit": "A"}
            )
            samples.append(
                {
                    "value": f"{self.station.voltage_V:.1f}",
                    "measurand": "Voltage",
                    "phase": f"{phase}-N",
                    "unit": "V",
                }
            )
        return {"timestamp": now_iso(), "sampled_value": samples}

    def meter_value_201(self) -> dict[str, Any]:
        """The same reading in 2.0.1's shape (numbers, unitOfMeasure)."""
        entry = self.meter_value()
        samples = []
        for sample in entry["sampled_value"]:
            unit = sample.pop("unit")
            samples.append(
                {**sample, "value": float(sample["value"]), "unit_of_measure": {"unit": unit}}
            )
        return {"timestamp": entry["timestamp"], "sampled_value": samples}

    def next_seq(self) -> int:
        """TransactionEvent seqNo."""
        self._seq += 1
        return self._seq

    def record(self, action: str, payload: dict[str, Any]) -> None:
        """Note a CALL from the central system."""
        self.received.append((action, payload))

    def limits(self) -> list[float]:
        """Every limit a SetChargingProfile carried, in order."""
        return [p["limit"] for a, p in self.received if a == "SetChargingProfile"]


def _limit_16(profile: dict[str, Any]) -> float:
    return float(profile["charging_schedule"]["charging_schedule_period"][0]["limit"])


class _Client16(ChargePoint16):  # type: ignore[misc]
    """The wallbox's OCPP 1.6J stack."""

    def __init__(self, cp_id: str, ws: ClientConnection, box: SimulatedWallbox) -> None:
        super().__init__(cp_id, ws, response_timeout=10)
        self.box = box

    async def boot(self) -> None:
        await self.call(
            call16.BootNotification(
                charge_point_vendor=self.box.vendor,
                charge_point_model=self.box.model,
                charge_point_serial_number=f"SIM-{self.box.cp_id}",
                firmware_version="1.0",
            )
        )

    async def send_status(self, status: str) -> None:
        await self.call(
            call16.StatusNotification(
                connector_id=1, error_code=self.box.error_code(), status=status
            )
        )

    async def send_meter_values(self) -> None:
        s = self.box.state
        tid = s.transaction_id if s.name_transaction else None
        await self.call(
            call16.MeterValues(
                connector_id=1,
                meter_value=[self.box.meter_value()],
                transaction_id=int(tid) if tid else None,
            )
        )

    async def authorize(self, id_tag: str) -> str:
        result = await self.call(call16.Authorize(id_tag=id_tag))
        return str(result.id_tag_info.get("status"))

    async def start_transaction(self) -> None:
        s = self.box.state
        assert s.id_tag is not None
        result = await self.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag=s.id_tag,
                meter_start=self.box.energy_Wh(),
                timestamp=now_iso(),
                reservation_id=self.box.take_reservation(),
            )
        )
        s.transaction_id = str(result.transaction_id)
        if result.id_tag_info.get("status") != "Accepted":
            await self.stop_transaction("DeAuthorized")
        await self.box.step()

    async def stop_transaction(self, reason: str) -> None:
        s = self.box.state
        if s.transaction_id is None:
            return
        tid, s.transaction_id = s.transaction_id, None
        self.box._transaction_ended()
        await self.call(
            call16.StopTransaction(
                meter_stop=self.box.energy_Wh(),
                timestamp=now_iso(),
                transaction_id=int(tid),
                reason=reason,
                id_tag=s.id_tag,
            )
        )

    @on("RemoteStartTransaction")
    def on_remote_start(self, id_tag: str, **kw: Any) -> Any:
        self.box.record("RemoteStartTransaction", {"id_tag": id_tag, **kw})
        s = self.box.state
        ok = self.box.may_start(id_tag)
        if ok:
            s.id_tag, s.by_card = id_tag, False
        return result16.RemoteStartTransaction(status="Accepted" if ok else "Rejected")

    @after("RemoteStartTransaction")
    def after_remote_start(self, **_: Any) -> None:
        if self.box.state.id_tag is not None and self.box.state.transaction_id is None:
            self.box.spawn(self.start_transaction())

    @on("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id: int) -> Any:
        self.box.record("RemoteStopTransaction", {"transaction_id": transaction_id})
        ok = str(transaction_id) == self.box.state.transaction_id
        return result16.RemoteStopTransaction(status="Accepted" if ok else "Rejected")

    @after("RemoteStopTransaction")
    def after_remote_stop(self, transaction_id: int) -> None:
        if str(transaction_id) == self.box.state.transaction_id:
            self.box.spawn(self._stop_and_step("Remote"))

    async def _stop_and_step(self, reason: str) -> None:
        await self.stop_transaction(reason)
        await self.box.step()

    @on("SetChargingProfile")
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: Any) -> Any:
        limit = _limit_16(cs_charging_profiles)
        self.box.record("SetChargingProfile", {"connector_id": connector_id, "limit": limit})
        self.box.state.limit_A = limit
        self.box.apply_soon()
        return result16.SetChargingProfile(status="Accepted")

    @on("ChangeAvailability")
    def on_change_availability(self, connector_id: int, type: str) -> Any:
        self.box.record("ChangeAvailability", {"connector_id": connector_id, "type": type})
        status = self.box.change_availability(type == "Operative")
        self.box.apply_soon()
        return result16.ChangeAvailability(status=status)

    @on("UnlockConnector")
    def on_unlock(self, connector_id: int) -> Any:
        self.box.record("UnlockConnector", {"connector_id": connector_id})
        return result16.UnlockConnector(status="Unlocked")

    @on("TriggerMessage")
    def on_trigger(self, requested_message: str, **kw: Any) -> Any:
        self.box.record("TriggerMessage", {"requested_message": requested_message, **kw})
        return result16.TriggerMessage(status="Accepted")

    @after("TriggerMessage")
    def after_trigger(self, requested_message: str, **_: Any) -> None:
        if requested_message == "MeterValues":
            self.box.spawn(self.send_meter_values())
        elif requested_message == "StatusNotification":
            self.box.spawn(self.send_status(self.box.status()))
        elif requested_message == "BootNotification":
            self.box.spawn(self.boot())

    @on("ReserveNow")
    def on_reserve_now(
        self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int, **kw: Any
    ) -> Any:
        self.box.record(
            "ReserveNow", {"connector_id": connector_id, "id_tag": id_tag, "id": reservation_id}
        )
        status = "Rejected"  # connector 0 (the whole charge point) is not supported
        if connector_id == 1:
            status = self.box.reserve(reservation_id, id_tag, expiry_date)
        self.box.apply_soon()
        return result16.ReserveNow(status=status)

    @on("CancelReservation")
    def on_cancel_reservation(self, reservation_id: int) -> Any:
        self.box.record("CancelReservation", {"id": reservation_id})
        ok = self.box.cancel_reservation(reservation_id)
        self.box.apply_soon()
        return result16.CancelReservation(status="Accepted" if ok else "Rejected")

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None) -> Any:
        self.box.record("GetConfiguration", {"key": key})
        config = self.box.state.config
        keys = key or list(config)
        return result16.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": False, "value": config[k]} for k in keys if k in config
            ],
            unknown_key=[k for k in keys if k not in config] or None,
        )

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str) -> Any:
        self.box.record("ChangeConfiguration", {"key": key, "value": value})
        if key not in self.box.state.config:
            return result16.ChangeConfiguration(status="NotSupported")
        self.box.state.config[key] = value
        return result16.ChangeConfiguration(status="Accepted")


CONNECTOR_STATUS_201 = {
    "Available": "Available",
    "Preparing": "Occupied",
    "Charging": "Occupied",
    "SuspendedEV": "Occupied",
    "SuspendedEVSE": "Occupied",
    "Finishing": "Occupied",
    "Reserved": "Reserved",
    "Unavailable": "Unavailable",
    "Faulted": "Faulted",
}


class _Client201(ChargePoint201):  # type: ignore[misc]
    """The wallbox's OCPP 2.0.1 stack (TxStartPoint Authorized: a transaction starts on
    RequestStartTransaction)."""

    def __init__(self, cp_id: str, ws: ClientConnection, box: SimulatedWallbox) -> None:
        super().__init__(cp_id, ws, response_timeout=10)
        self.box = box
        self.variables: dict[tuple[str, str], str] = {
            ("SampledDataCtrlr", "TxUpdatedMeasurands"): "Energy.Active.Import.Register",
            ("SampledDataCtrlr", "TxUpdatedInterval"): "60",
            ("AuthCtrlr", "LocalAuthorizeOffline"): "true",
            ("TxCtrlr", "TxStartPoint"): "PowerPathClosed",
        }
        self._remote_start_id: int | None = None

    async def boot(self) -> None:
        await self.call(
            call201.BootNotification(
                charging_station={
                    "vendor_name": self.box.vendor,
                    "model": self.box.model,
                    "serial_number": f"SIM-{self.box.cp_id}",
                    "firmware_version": "1.0",
                },
                reason="PowerUp",
            )
        )

    async def send_status(self, status: str) -> None:
        await self.call(
            call201.StatusNotification(
                timestamp=now_iso(),
                connector_status=CONNECTOR_STATUS_201[status],
                evse_id=1,
                connector_id=1,
            )
        )
        s = self.box.state
        if s.transaction_id is not None and s.name_transaction:
            await self._event("Updated", "ChargingStateChanged", status)

    async def send_meter_values(self) -> None:
        s = self.box.state
        if s.transaction_id is not None and s.name_transaction:
            await self._event("Updated", "MeterValuePeriodic", self.box.status())
            return
        await self.call(call201.MeterValues(evse_id=1, meter_value=[self.box.meter_value_201()]))

    async def _event(self, kind: str, trigger: str, status: str, **extra: Any) -> Any:
        s = self.box.state
        state = status if status in ("Charging", "SuspendedEV", "SuspendedEVSE") else "EVConnected"
        info: dict[str, Any] = {"transaction_id": s.transaction_id or "", "charging_state": state}
        if trigger == "RemoteStart" and self._remote_start_id is not None:
            info["remote_start_id"] = self._remote_start_id
        if "stopped_reason" in extra:
            info["stopped_reason"] = extra.pop("stopped_reason")
            info["transaction_id"] = extra.pop("transaction_id")
        return await self.call(
            call201.TransactionEvent(
                event_type=kind,
                timestamp=now_iso(),
                trigger_reason=trigger,
                seq_no=self.box.next_seq(),
                transaction_info=info,
                meter_value=[self.box.meter_value_201()],
                evse={"id": 1, "connector_id": 1},
                **extra,
            )
        )

    async def authorize(self, id_tag: str) -> str:
        result = await self.call(
            call201.Authorize(id_token={"id_token": id_tag, "type": "ISO14443"})
        )
        return str(result.id_token_info.get("status"))

    async def started_on_plug_in(self) -> None:
        """TransactionEvent Started at plug-in, without a token (TxStartPoint EVConnected)."""
        await self._event("Started", "CablePluggedIn", self.box.status())

    async def start_transaction(self, kind: str = "Started") -> None:
        """Started with the token (a card or our RequestStart), or ``Updated``: the
        transaction started at plug-in is authorized now."""
        s = self.box.state
        if kind == "Started":
            s.transaction_id = f"TX-{self.box.next_seq()}"
        s.authorized = True
        token = {"id_token": s.id_tag, "type": "ISO14443" if s.by_card else "Central"}
        trigger = "Authorized" if s.by_card else "RemoteStart"
        extra: dict[str, Any] = {"id_token": token}
        reservation_id = self.box.take_reservation()
        if reservation_id is not None:
            extra["reservation_id"] = reservation_id
        result = await self._event(kind, trigger, self.box.status(), **extra)
        info = getattr(result, "id_token_info", None) or {}
        if info.get("status", "Accepted") != "Accepted":  # TxCtrlr StopTxOnInvalidId
            await self.stop_transaction("DeAuthorized")
        await self.box.step()

    async def authorize_transaction(self) -> None:
        await self.start_transaction("Updated")

    async def stop_transaction(self, reason: str) -> None:
        s = self.box.state
        if s.transaction_id is None:
            return
        tid, s.transaction_id = s.transaction_id, None
        self.box._transaction_ended()
        trigger = {"Remote": "RemoteStop", "DeAuthorized": "Deauthorized"}.get(
            reason, "EVCommunicationLost"
        )
        await self._event(
            "Ended", trigger, self.box.status(), stopped_reason=reason, transaction_id=tid
        )

    @on("RequestStartTransaction")
    def on_request_start(self, id_token: dict[str, Any], remote_start_id: int, **kw: Any) -> Any:
        self.box.record("RequestStartTransaction", {"id_token": id_token, **kw})
        s = self.box.state
        waiting = self.box.waiting_transaction()  # F01: the running one is authorized
        ok = waiting or self.box.may_start(id_token["id_token"])
        if ok:
            s.id_tag, s.by_card = id_token["id_token"], False
            self._remote_start_id = remote_start_id
            self.box.spawn(self.start_transaction("Updated" if waiting else "Started"))
        return result201.RequestStartTransaction(status="Accepted" if ok else "Rejected")

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id: str) -> Any:
        self.box.record("RequestStopTransaction", {"transaction_id": transaction_id})
        ok = transaction_id == self.box.state.transaction_id
        if ok:
            self.box.spawn(self._stop_and_step())
        return result201.RequestStopTransaction(status="Accepted" if ok else "Rejected")

    async def _stop_and_step(self) -> None:
        await self.stop_transaction("Remote")
        await self.box.step()

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any]) -> Any:
        period = charging_profile["charging_schedule"][0]["charging_schedule_period"][0]
        limit = float(period["limit"])
        self.box.record("SetChargingProfile", {"evse_id": evse_id, "limit": limit})
        self.box.state.limit_A = limit
        self.box.apply_soon()
        return result201.SetChargingProfile(status="Accepted")

    @on("ChangeAvailability")
    def on_change_availability(self, operational_status: str, **kw: Any) -> Any:
        self.box.record("ChangeAvailability", {"operational_status": operational_status, **kw})
        status = self.box.change_availability(operational_status == "Operative")
        self.box.apply_soon()
        return result201.ChangeAvailability(status=status)

    @on("UnlockConnector")
    def on_unlock(self, evse_id: int, connector_id: int) -> Any:
        self.box.record("UnlockConnector", {"evse_id": evse_id, "connector_id": connector_id})
        return result201.UnlockConnector(status="Unlocked")

    @on("TriggerMessage")
    def on_trigger(self, requested_message: str, **kw: Any) -> Any:
        self.box.record("TriggerMessage", {"requested_message": requested_message, **kw})
        if requested_message == "MeterValues":
            self.box.spawn(self.send_meter_values())
        elif requested_message == "StatusNotification":
            self.box.spawn(self.send_status(self.box.status()))
        elif requested_message == "BootNotification":
            self.box.spawn(self.boot())
        return result201.TriggerMessage(status="Accepted")

    @on("ReserveNow")
    def on_reserve_now(
        self, id: int, expiry_date_time: str, id_token: dict[str, Any], **kw: Any
    ) -> Any:
        evse_id = kw.get("evse_id")
        tag = id_token["id_token"]
        self.box.record("ReserveNow", {"evse_id": evse_id, "id_tag": tag, "id": id})
        status = "Rejected"  # a reservation for any EVSE is not supported
        if evse_id == 1:
            status = self.box.reserve(id, tag, expiry_date_time)
        self.box.apply_soon()
        return result201.ReserveNow(status=status)

    @on("CancelReservation")
    def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        self.box.record("CancelReservation", {"id": reservation_id})
        ok = self.box.cancel_reservation(reservation_id)
        self.box.apply_soon()
        return result201.CancelReservation(status="Accepted" if ok else "Rejected")

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]]) -> Any:
        self.box.record("GetVariables", {"get_variable_data": get_variable_data})
        results = []
        for item in get_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            known = key in self.variables
            result = {
                "attribute_status": "Accepted" if known else "UnknownVariable",
                "component": item["component"],
                "variable": item["variable"],
            }
            if known:
                result["attribute_value"] = self.variables[key]
            results.append(result)
        return result201.GetVariables(get_variable_result=results)

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]]) -> Any:
        self.box.record("SetVariables", {"set_variable_data": set_variable_data})
        results = []
        for item in set_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            fixed = key == ("TxCtrlr", "TxStartPoint") and self.box.state.tx_on_plug_in
            if not fixed:
                self.variables[key] = str(item["attribute_value"])
            results.append(
                {
                    "attribute_status": "Rejected" if fixed else "Accepted",
                    "component": item["component"],
                    "variable": item["variable"],
                }
            )
        return result201.SetVariables(set_variable_result=results)
