"""The OCPP central system: wallboxes connect to us (``ws://host:port/<charge point id>``).

One ``CentralSystem`` serves every OCPP connector of the controller. A charge point is
admitted only under a configured id (HTTP 404 otherwise) and, where a password is set,
with HTTP Basic auth ``<id>:<password>`` (OCPP 1.6 security profile 1/2, 2.0.1 the same;
profile 2 is the same over TLS, the ``ssl`` option). The WebSocket subprotocol picks the
session class: ``ocpp1.6`` or ``ocpp2.0.1``. Sessions translate the charger's messages
into its ``ConnectorLink``s and the ports' commands into OCPP calls; the protocol itself
(framing, schema validation, CALLERRORs for unknown actions) is the ``ocpp`` package's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from http import HTTPStatus
from typing import Any, TypeVar, cast
from urllib.parse import unquote

from ocpp.charge_point import ChargePoint as BaseChargePoint
from ocpp.exceptions import OCPPError
from ocpp.routing import after as _after
from ocpp.routing import on as _on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..auth import same_tag
from ..errors import ConnectError, DeviceError
from ..everest import AuthorizationStatus, ValidationResult
from .link import MEASURANDS, ConnectorLink, Identity, Status, sampled_values

_LOGGER = logging.getLogger(__name__)
SUBPROTOCOLS = ("ocpp1.6", "ocpp2.0.1")
F = TypeVar("F", bound=Callable[..., Any])
PROFILE_ID = 100  # our TxDefaultProfile's id (+ connector): a new one replaces it
STACK_LEVEL = 1


@dataclass(frozen=True, kw_only=True)
class CentralSettings:
    """Where we listen and how we talk to every charger."""

    host: str = "0.0.0.0"
    port: int = 8887  # evcc's default OCPP port too
    ssl_context: ssl.SSLContext | None = None
    heartbeat_interval_s: int = 300
    meter_interval_s: int = 10
    response_timeout_s: float = 15.0
    # A card read at a wallbox whose connector reports to a CSMS waits this long for the
    # CSMS's verdict, then the card list decides (the wallbox waits for our answer).
    authorize_timeout_s: float = 10.0
    # A charge point whose last connector is unregistered keeps its session this long: a
    # reload registers it again at once, and the wallbox need not reconnect.
    forget_after_s: float = 10.0


def now_iso() -> str:
    """Now in OCPP's timestamp form (UTC, Z)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def on(action: str) -> Callable[[F], F]:
    """The package's ``@on`` with its type kept (the package is untyped)."""
    return cast(Callable[[F], F], _on(action))


def after(action: str) -> Callable[[F], F]:
    """The package's ``@after`` with its type kept."""
    return cast(Callable[[F], F], _after(action))


class _Session:
    """What both versions' sessions share: the links of one charge point, safe calls and
    a message router that answers anything malformed with a CALLERROR."""

    version = ""
    id: str
    logger: logging.Logger

    def _init(self, links: Mapping[int, ConnectorLink], settings: CentralSettings) -> None:
        self.links = links
        self.settings = settings
        self.tasks: set[asyncio.Task[None]] = set()  # the central system's, set on accept
        self.password: str | None = None  # the one it logged in with
        self.identity: Identity | None = None  # from its last BootNotification
        if any(link.lenient for link in links.values()):
            self.be_lenient()

    def be_lenient(self) -> None:
        """A charger known to bend the schema (lbbrhzn/ocpp has the same per-charger
        option): its messages are taken as they come, our handlers read leniently."""
        route_map: dict[str, dict[str, Any]] = self.route_map  # type: ignore[attr-defined]
        for handlers in route_map.values():
            handlers["_skip_schema_validation"] = True

    def link(self, connector_id: Any) -> ConnectorLink | None:
        """The link of a connector (EVSE) id, None for one we do not drive."""
        return self.links.get(connector_id) if isinstance(connector_id, int) else None

    async def _changed(self, link: ConnectorLink | None = None) -> None:
        for each in (link,) if link is not None else self.links.values():
            await each.changed()

    async def request(self, payload: Any) -> Any:
        """One call to the charger; a CALLERROR is None, no answer or a lost link raises
        ``ConnectError`` (the kernel sees the communication fault)."""
        call = asyncio.ensure_future(BaseChargePoint.call(self, payload))
        closed = asyncio.ensure_future(self._connection.wait_closed())  # type: ignore[attr-defined]
        try:
            # A charger that drops off mid-call fails the call now, not at the timeout.
            await asyncio.wait((call, closed), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # cancelled (the connector stops): so is the call
            call.cancel()
            raise
        finally:
            closed.cancel()
        if not call.done():
            call.cancel()
            raise ConnectError(f"{self.id}: {type(payload).__name__}: connection closed")
        try:
            return call.result()
        except (TimeoutError, ConnectionClosed) as err:
            raise ConnectError(f"{self.id}: {type(payload).__name__}: no answer ({err})") from err
        except OCPPError as err:  # our own payload failed the schema: a bug, not the link
            raise DeviceError(f"{self.id}: {type(payload).__name__}: {err}") from err

    async def route_message(self, raw_msg: Any) -> None:
        """The package's router, but a message that is not OCPP-J gets a CALLERROR (with
        the message id where one can be read, else "-1" as OCPP 2.0.1 part 4 §4.2.3 says)
        instead of only a log line, and nothing a charger sends can end the session."""
        try:
            parsed = json.loads(raw_msg)
        except (ValueError, TypeError):
            parsed = None
        if not _is_frame(parsed):
            await self._send_error(parsed, "FormationViolation", "not an OCPP-J message")
            return
        try:
            await BaseChargePoint.route_message(self, raw_msg)
        except ConnectionClosed:
            raise
        except Exception:  # a handler bug must not kill the charger's session
            _LOGGER.exception("%s: message not handled: %.200s", self.id, raw_msg)
            await self._send_error(parsed, "InternalError", "message not handled")

    async def _send_error(self, parsed: Any, code: str, text: str) -> None:
        if isinstance(parsed, list) and len(parsed) > 1 and parsed[0] in (3, 4):
            return  # never answer a CALLRESULT or CALLERROR
        unique_id = "-1"
        if isinstance(parsed, list) and len(parsed) > 1 and isinstance(parsed[1], str):
            unique_id = parsed[1][:36]
        if self.version != "1.6" and code == "FormationViolation":
            code = "FormatViolation"  # 2.0.1's name for it
        _LOGGER.warning("%s: %s: %s", self.id, code, text)
        await self._connection.send(json.dumps([4, unique_id, code, text, {}]))  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ shared handlers

    async def _boot(self, identity: Identity) -> None:
        _LOGGER.info(
            "%s: boot (%s %s, firmware %s)",
            self.id,
            identity.vendor,
            identity.model,
            identity.firmware,
        )
        self.identity = identity
        for link in self.links.values():
            link.on_boot(identity)
        await self._changed()

    async def _after_boot(self) -> None:
        """Configure the charger, then ask for every connector's status and meter values
        (evcc cp_setup.go does the same after boot)."""
        try:
            await self.configure()
            for connector_id in self.links:
                await self.trigger("StatusNotification", connector_id)
                await self.trigger("MeterValues", connector_id)
        except DeviceError as err:
            _LOGGER.warning("%s: setup after boot incomplete: %s", self.id, err)

    async def _token_status(
        self, id_tag: Any, link: ConnectorLink | None, *, feed: bool = True
    ) -> str:
        """Accepted / Invalid for a token the charger presents (an Authorize names no
        connector: ``link`` None). Our kernel's own RemoteStart token is accepted; a card
        is validated as a token presented by a user is (``controller.auth.validate``: the
        connector's CSMS within ``authorize_timeout_s``, else its card list), and an
        accepted one (``feed``: not at a stop) goes to our kernel's authorization, which
        decides the charging (EVerest: Auth validates, then authorize_response)."""
        if not isinstance(id_tag, str):
            return "Invalid"
        links = [link] if link is not None else list(self.links.values())
        if any(x.is_ours(id_tag) for x in links):
            return "Accepted"
        target = link if link is not None else self._waiting_link()
        if not feed or (target is not None and target.tx_authorized and target.transaction_id):
            target = None  # a card that ends an authorized transaction starts nothing
        if target is None:  # which connector is not known yet: its transaction will say
            verdicts = await asyncio.gather(*(self._verdict(x, id_tag) for x in links))
            accepted = any(_is_accepted(v) for v in verdicts)
        else:
            accepted = await self._card(target, id_tag)
        return "Accepted" if accepted else "Invalid"

    async def _verdict(self, link: ConnectorLink, id_tag: str) -> ValidationResult:
        return await link.card_verdict(id_tag, self.settings.authorize_timeout_s)

    def _waiting_link(self) -> ConnectorLink | None:
        """The connector a card without a connector id is for: the only one, or the only
        one with an EV and no transaction."""
        if len(self.links) == 1:
            return next(iter(self.links.values()))
        waiting = [
            x
            for x in self.links.values()
            if x.status is Status.Preparing and x.transaction_id is None
        ]
        return waiting[0] if len(waiting) == 1 else None

    async def _card(self, link: ConnectorLink, id_tag: str) -> bool:
        """A card at ``link``: the validator's verdict; a newly accepted card is handed
        to our kernel (beside the message loop: the kernel's commands are calls)."""
        result = await self._verdict(link, id_tag)
        if not _is_accepted(result):
            _LOGGER.info(
                "%s: card refused (%s)",
                link.name,
                "reserved" if link.reserved else result.authorization_status.value,
            )
            return False
        if not same_tag(link.card_tag, id_tag):
            _LOGGER.info("%s: card accepted", link.name)
            link.card_tag = id_tag
            if link.on_card is not None:
                _spawn(self.tasks, link.on_card(id_tag, result))
        return True

    async def configure(self) -> None:
        """Set the charger's meter sampling and offline behaviour (version specific)."""

    async def trigger(self, message: str, connector_id: int) -> bool:
        """TriggerMessage (version specific)."""
        raise NotImplementedError


def _is_frame(parsed: Any) -> bool:
    """A JSON array starting with a known message type and a string id."""
    return (
        isinstance(parsed, list)
        and len(parsed) >= 3
        and parsed[0] in (2, 3, 4)
        and isinstance(parsed[1], str)
    )


def _is_accepted(result: ValidationResult) -> bool:
    return result.authorization_status is AuthorizationStatus.Accepted


def _accepted(result: Any, *ok: str) -> bool:
    status = getattr(result, "status", None)
    return status in (ok or ("Accepted",))


# ---------------------------------------------------------------------------- OCPP 1.6J


class Session16(_Session, ChargePoint16):  # type: ignore[misc]
    """A charge point speaking OCPP 1.6J."""

    version = "1.6"

    def __init__(
        self,
        cp_id: str,
        connection: ServerConnection,
        links: Mapping[int, ConnectorLink],
        settings: CentralSettings,
    ) -> None:
        ChargePoint16.__init__(self, cp_id, connection, settings.response_timeout_s)
        self._init(links, settings)

    @on("BootNotification")
    async def on_boot_notification(self, **kw: Any) -> Any:
        await self._boot(
            Identity(
                vendor=str(kw.get("charge_point_vendor", "")),
                model=str(kw.get("charge_point_model", "")),
                serial=kw.get("charge_point_serial_number") or kw.get("charge_box_serial_number"),
                firmware=kw.get("firmware_version"),
            )
        )
        return result16.BootNotification(
            current_time=now_iso(), interval=self.settings.heartbeat_interval_s, status="Accepted"
        )

    @after("BootNotification")
    def after_boot_notification(self, **_: Any) -> None:
        _spawn(self.tasks, self._after_boot())

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return result16.Heartbeat(current_time=now_iso())

    @on("StatusNotification")
    async def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **kw: Any
    ) -> Any:
        link = self.link(connector_id)
        if link is not None:
            link.on_status(Status(status), error_code, str(kw.get("vendor_error_code") or ""))
            await self._changed(link)
        return result16.StatusNotification()

    @on("MeterValues")
    async def on_meter_values(self, connector_id: int, meter_value: list[Any], **kw: Any) -> Any:
        link = self.link(connector_id)
        if link is not None:
            if kw.get("transaction_id") is not None:
                link.on_transaction_seen(str(kw["transaction_id"]))
            link.on_meter_values(sampled_values(meter_value))
            await self._changed(link)
        return result16.MeterValues()

    @on("Authorize")
    async def on_authorize(self, id_tag: str, **_: Any) -> Any:
        status = await self._token_status(id_tag, None)
        return result16.Authorize(id_tag_info={"status": status})

    @on("StartTransaction")
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, **_: Any
    ) -> Any:
        """Ours (RemoteStart) or the wallbox's own on an accepted card: either way the
        transaction of our kernel's session, answered with our transaction id."""
        transaction_id = next_transaction_id()
        link = self.link(connector_id)
        status = await self._token_status(id_tag, link) if link is not None else "Invalid"
        if link is not None and status == "Accepted":
            link.on_transaction_started(str(transaction_id), float(meter_start))
            link.tx_authorized = True
            await self._changed(link)
        return result16.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": status}
        )

    @on("StopTransaction")
    async def on_stop_transaction(self, meter_stop: int, transaction_id: int, **kw: Any) -> Any:
        tid = str(transaction_id)
        link = next((x for x in self.links.values() if x.transaction_id == tid), None)
        if link is not None:
            link.on_meter_values(sampled_values(kw.get("transaction_data") or []))
            link.on_transaction_ended(tid, float(meter_stop))
            await self._changed(link)
        info = {"status": "Accepted"} if kw.get("id_tag") else None
        return result16.StopTransaction(id_tag_info=info)

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return result16.DataTransfer(status="UnknownVendorId")

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_: Any) -> Any:
        return result16.FirmwareStatusNotification()

    @on("DiagnosticsStatusNotification")
    def on_diagnostics_status(self, **_: Any) -> Any:
        return result16.DiagnosticsStatusNotification()

    # ------------------------------------------------------------------ commands

    async def configure(self) -> None:
        """Meter sampling as we read it, and no charging the controller did not decide:
        a dead controller leaves the charger refusing unknown tokens (evcc cp_setup.go sets
        MeterValuesSampledData / MeterValueSampleInterval; the offline keys are ours).
        Keys already right are not written (retentive settings wear flash)."""
        wanted = {
            "MeterValuesSampledData": ",".join(MEASURANDS),
            "MeterValueSampleInterval": str(self.settings.meter_interval_s),
            "LocalAuthorizeOffline": "false",
            "LocalPreAuthorize": "false",
            "AllowOfflineTxForUnknownId": "false",
            "AuthorizeRemoteTxRequests": "false",
        }
        current: dict[str, str] = {}
        result = await self.request(call16.GetConfiguration(key=list(wanted)))
        for entry in getattr(result, "configuration_key", None) or []:
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                current[entry["key"]] = str(entry.get("value", ""))
        for key, value in wanted.items():
            if key in current and current[key].lower() == value.lower():
                continue
            answer = await self.request(call16.ChangeConfiguration(key=key, value=value))
            if not _accepted(answer, "Accepted", "RebootRequired"):
                _LOGGER.info("%s: %s=%s: %s", self.id, key, value, getattr(answer, "status", "-"))

    async def trigger(self, message: str, connector_id: int) -> bool:
        result = await self.request(
            call16.TriggerMessage(requested_message=message, connector_id=connector_id)
        )
        return _accepted(result)

    async def set_limit(self, connector_id: int, amps: float, phases: int) -> bool:
        profile = {
            "charging_profile_id": PROFILE_ID + connector_id,
            "stack_level": STACK_LEVEL,
            "charging_profile_purpose": "TxDefaultProfile",
            "charging_profile_kind": "Absolute",
            "charging_schedule": _schedule(amps),
        }
        result = await self.request(
            call16.SetChargingProfile(connector_id=connector_id, cs_charging_profiles=profile)
        )
        return _accepted(result)

    async def set_available(self, connector_id: int, available: bool) -> bool:
        kind = "Operative" if available else "Inoperative"
        result = await self.request(call16.ChangeAvailability(connector_id=connector_id, type=kind))
        return _accepted(result, "Accepted", "Scheduled")

    async def remote_start(self, connector_id: int, id_tag: str) -> bool:
        result = await self.request(
            call16.RemoteStartTransaction(id_tag=id_tag, connector_id=connector_id)
        )
        return _accepted(result)

    async def remote_stop(self, transaction_id: str) -> bool:
        if not transaction_id.isdigit():
            return False
        result = await self.request(
            call16.RemoteStopTransaction(transaction_id=int(transaction_id))
        )
        return _accepted(result)

    async def unlock(self, connector_id: int) -> bool:
        result = await self.request(call16.UnlockConnector(connector_id=connector_id))
        return _accepted(result, "Unlocked")

    async def reserve(
        self, connector_id: int, reservation_id: int, id_tag: str, expiry: datetime
    ) -> str:
        result = await self.request(
            call16.ReserveNow(
                connector_id=connector_id,
                expiry_date=_iso(expiry),
                id_tag=id_tag,
                reservation_id=reservation_id,
            )
        )
        return str(getattr(result, "status", None) or "Rejected")

    async def cancel_reservation(self, reservation_id: int) -> bool:
        result = await self.request(call16.CancelReservation(reservation_id=reservation_id))
        return _accepted(result)


def _iso(when: datetime) -> str:
    """A datetime in OCPP's timestamp form (UTC, Z)."""
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _schedule(amps: float) -> dict[str, Any]:
    """One period of ``amps`` from a minute ago on (evcc createTxDefaultChargingProfile:
    absolute, started in the past so a charger clock slightly ahead still applies it)."""
    start = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    return {
        "start_schedule": start.replace("+00:00", "Z"),
        "charging_rate_unit": "A",
        "charging_schedule_period": [{"start_period": 0, "limit": amps}],
    }


_last_transaction_id = 0


def next_transaction_id() -> int:
    """Unique across restarts without storage: seconds since 2024, counting on."""
    global _last_transaction_id  # noqa: PLW0603 - one counter per process
    _last_transaction_id = max(_last_transaction_id + 1, int(time.time()) - 1_704_067_200)
    return _last_transaction_id


# ---------------------------------------------------------------------------- OCPP 2.0.1

# TransactionEvent chargingState -> the 1.6 status our mapping knows.
CHARGING_STATE = {
    "Charging": Status.Charging,
    "SuspendedEV": Status.SuspendedEV,
    "SuspendedEVSE": Status.SuspendedEVSE,
    "EVConnected": Status.Preparing,
}
CONNECTOR_STATUS = {
    "Available": Status.Available,
    "Occupied": Status.Preparing,
    "Reserved": Status.Reserved,
    "Unavailable": Status.Unavailable,
    "Faulted": Status.Faulted,
}


class Session201(_Session, ChargePoint201):  # type: ignore[misc]
    """A charging station speaking OCPP 2.0.1 (an EVSE id is our connector id)."""

    version = "2.0.1"

    def __init__(
        self,
        cp_id: str,
        connection: ServerConnection,
        links: Mapping[int, ConnectorLink],
        settings: CentralSettings,
    ) -> None:
        ChargePoint201.__init__(self, cp_id, connection, settings.response_timeout_s)
        self._init(links, settings)
        self._remote_start_id = 0

    @on("BootNotification")
    async def on_boot_notification(self, charging_station: dict[str, Any], **_: Any) -> Any:
        await self._boot(
            Identity(
                vendor=str(charging_station.get("vendor_name", "")),
                model=str(charging_station.get("model", "")),
                serial=charging_station.get("serial_number"),
                firmware=charging_station.get("firmware_version"),
            )
        )
        return result201.BootNotification(
            current_time=now_iso(), interval=self.settings.heartbeat_interval_s, status="Accepted"
        )

    @after("BootNotification")
    def after_boot_notification(self, **_: Any) -> None:
        _spawn(self.tasks, self._after_boot())

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return result201.Heartbeat(current_time=now_iso())

    @on("StatusNotification")
    async def on_status_notification(self, connector_status: str, evse_id: int, **_: Any) -> Any:
        link = self.link(evse_id)
        if link is not None:
            status = CONNECTOR_STATUS[connector_status]
            if status is Status.Preparing and link.status in CHARGING_STATE.values():
                # Occupied says less than the transaction's charging state.
                status = link.status or status
            link.on_status(status)
            await self._changed(link)
        return result201.StatusNotification()

    @on("MeterValues")
    async def on_meter_values(self, evse_id: int, meter_value: list[Any], **_: Any) -> Any:
        link = self.link(evse_id)
        if link is not None:
            link.on_meter_values(sampled_values(meter_value))
            await self._changed(link)
        return result201.MeterValues()

    @on("Authorize")
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
        status = await self._token_status(_token(id_token), None)
        return result201.Authorize(id_token_info={"status": status})

    @on("TransactionEvent")
    async def on_transaction_event(
        self, event_type: str, transaction_info: dict[str, Any], **kw: Any
    ) -> Any:
        tid = str(transaction_info.get("transaction_id"))
        evse = kw.get("evse") or {}
        link = self.link(evse.get("id")) or next(
            (x for x in self.links.values() if x.transaction_id == tid), None
        )
        status = None
        if link is not None:
            status = await self._transaction_event(link, event_type, tid, transaction_info, kw)
        elif kw.get("id_token") is not None:
            status = "Invalid"  # an EVSE we do not drive
        info = {"status": status} if status is not None else None
        return result201.TransactionEvent(id_token_info=info)

    async def _transaction_event(
        self,
        link: ConnectorLink,
        event_type: str,
        tid: str,
        info: Mapping[str, Any],
        kw: Mapping[str, Any],
    ) -> str | None:
        """The event applied to the link; the status of its idToken (None: it has none).
        The station's own transaction on an accepted card is our kernel's session's."""
        values = sampled_values(kw.get("meter_value") or [])
        link.on_meter_values(values)
        token = kw.get("id_token")
        ended = event_type == "Ended"
        status = None
        if token is not None:
            status = await self._token_status(_token(token), link, feed=not ended)
        if ended:
            link.on_transaction_ended(tid, None)
            if link.status is not Status.Available:
                link.on_status(Status.Finishing)
        else:
            if event_type == "Started":
                link.on_transaction_started(tid, None)
            else:  # we missed its start (a restart, offline): resume it
                link.on_transaction_seen(tid)
            ours = info.get("remote_start_id") == self._remote_start_id != 0
            if ours or status == "Accepted":
                link.tx_authorized = True
            state = CHARGING_STATE.get(str(info.get("charging_state")))
            if state is not None:
                link.on_status(state)
        await self._changed(link)
        return status

    @on("ReservationStatusUpdate")
    async def on_reservation_status_update(
        self, reservation_id: int, reservation_update_status: str, **_: Any
    ) -> Any:
        """The station dropped a reservation (Expired, Removed): a connector still
        reserved by our kernel sends it again."""
        for link in self.links.values():
            if link.sent.get("reservation") == reservation_id:
                _LOGGER.info("%s: reservation %s", link.name, reservation_update_status)
                link.sent.pop("reservation", None)
                await self._changed(link)
        return result201.ReservationStatusUpdate()

    @on("NotifyEvent")
    def on_notify_event(self, **_: Any) -> Any:
        return result201.NotifyEvent()

    @on("NotifyReport")
    def on_notify_report(self, **_: Any) -> Any:
        return result201.NotifyReport()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_: Any) -> Any:
        return result201.FirmwareStatusNotification()

    @on("SecurityEventNotification")
    def on_security_event(self, **_: Any) -> Any:
        return result201.SecurityEventNotification()

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return result201.DataTransfer(status="UnknownVendorId")

    # ------------------------------------------------------------------ commands

    async def configure(self) -> None:
        """The 2.0.1 names of what the 1.6 session sets (OCPP 2.0.1 part 2 appendix:
        SampledDataCtrlr, AlignedDataCtrlr, AuthCtrlr, TxCtrlr); values already right are
        not written."""
        measurands = ",".join(MEASURANDS)
        interval = str(self.settings.meter_interval_s)
        wanted = {
            ("SampledDataCtrlr", "TxUpdatedMeasurands"): measurands,
            ("SampledDataCtrlr", "TxUpdatedInterval"): interval,
            ("AlignedDataCtrlr", "Measurands"): measurands,
            ("AlignedDataCtrlr", "Interval"): interval,
            ("AuthCtrlr", "LocalAuthorizeOffline"): "false",
            ("AuthCtrlr", "LocalPreAuthorize"): "false",
            ("AuthCtrlr", "AuthorizeRemoteStart"): "false",
            ("TxCtrlr", "TxStartPoint"): "Authorized",
        }
        result = await self.request(
            call201.GetVariables(
                get_variable_data=[
                    {"component": {"name": c}, "variable": {"name": v}} for c, v in wanted
                ]
            )
        )
        current = {
            (r["component"]["name"], r["variable"]["name"]): str(r.get("attribute_value"))
            for r in getattr(result, "get_variable_result", None) or []
            if r.get("attribute_status") == "Accepted"
        }
        changes = [
            {"attribute_value": value, "component": {"name": c}, "variable": {"name": v}}
            for (c, v), value in wanted.items()
            if current.get((c, v), "").lower() != value.lower()
        ]
        if changes:
            await self.request(call201.SetVariables(set_variable_data=changes))

    async def trigger(self, message: str, connector_id: int) -> bool:
        result = await self.request(
            call201.TriggerMessage(requested_message=message, evse={"id": connector_id})
        )
        return _accepted(result)

    async def set_limit(self, connector_id: int, amps: float, phases: int) -> bool:
        profile = {
            "id": PROFILE_ID + connector_id,
            "stack_level": STACK_LEVEL,
            "charging_profile_purpose": "TxDefaultProfile",
            "charging_profile_kind": "Absolute",
            "charging_schedule": [{"id": PROFILE_ID + connector_id, **_schedule(amps)}],
        }
        result = await self.request(
            call201.SetChargingProfile(evse_id=connector_id, charging_profile=profile)
        )
        return _accepted(result)

    async def set_available(self, connector_id: int, available: bool) -> bool:
        result = await self.request(
            call201.ChangeAvailability(
                operational_status="Operative" if available else "Inoperative",
                evse={"id": connector_id},
            )
        )
        return _accepted(result, "Accepted", "Scheduled")

    async def remote_start(self, connector_id: int, id_tag: str) -> bool:
        self._remote_start_id = next_transaction_id()
        result = await self.request(
            call201.RequestStartTransaction(
                id_token={"id_token": id_tag, "type": "Central"},
                remote_start_id=self._remote_start_id,
                evse_id=connector_id,
            )
        )
        return _accepted(result)

    async def remote_stop(self, transaction_id: str) -> bool:
        result = await self.request(call201.RequestStopTransaction(transaction_id=transaction_id))
        return _accepted(result)

    async def unlock(self, connector_id: int) -> bool:
        result = await self.request(call201.UnlockConnector(evse_id=connector_id, connector_id=1))
        return _accepted(result, "Unlocked")

    async def reserve(
        self, connector_id: int, reservation_id: int, id_tag: str, expiry: datetime
    ) -> str:
        result = await self.request(
            call201.ReserveNow(
                id=reservation_id,
                expiry_date_time=_iso(expiry),
                id_token={"id_token": id_tag, "type": "Central"},
                evse_id=connector_id,
            )
        )
        return str(getattr(result, "status", None) or "Rejected")

    async def cancel_reservation(self, reservation_id: int) -> bool:
        result = await self.request(call201.CancelReservation(reservation_id=reservation_id))
        return _accepted(result)


def _token(id_token: Any) -> Any:
    """The value of a 2.0.1 IdTokenType (anything else: None)."""
    return id_token.get("id_token") if isinstance(id_token, dict) else None


# ---------------------------------------------------------------------------- server


def _spawn(tasks: set[asyncio.Task[None]], coro: Any) -> None:
    """Run a follow-up (setup after boot) beside the session's message loop: a call made
    from inside a handler would wait for an answer the loop cannot read meanwhile.
    ``tasks`` is the central system's, so stopping one never cancels another's."""
    task = asyncio.ensure_future(coro)
    tasks.add(task)
    task.add_done_callback(partial(_done, tasks))


def _done(tasks: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
    tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.warning("OCPP follow-up failed: %r", task.exception())


class CentralSystem:
    """The WebSocket server and the registry of the charge points we drive."""

    def __init__(self, settings: CentralSettings | None = None) -> None:
        self.settings = settings or CentralSettings()
        self._points: dict[str, dict[int, ConnectorLink]] = {}  # admitted ids (none: held)
        self._passwords: dict[str, str | None] = {}  # each admitted id's password
        self._sessions: dict[str, _Session] = {}
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._forgets: dict[str, asyncio.Task[None]] = {}  # unregistered, in the grace

    def register(
        self,
        charge_point_id: str,
        connector_id: int = 1,
        password: str | None = None,
        *,
        lenient: bool = False,
    ) -> ConnectorLink:
        """The link of one connector; a charge point id is admitted once registered."""
        links = self._points.setdefault(charge_point_id, {})
        forget = self._forgets.pop(charge_point_id, None)
        if forget is not None:
            forget.cancel()
        if connector_id in links:
            raise ValueError(f"{charge_point_id} connector {connector_id} is configured twice")
        session = self._sessions.get(charge_point_id)
        if not links and session is not None and password != session.password:
            # Back within the grace with another password: the old login no longer counts.
            _spawn(self._tasks, session._connection.close())  # type: ignore[attr-defined]
            session = None
        if any(x.password != password for x in links.values()):
            raise ValueError(f"{charge_point_id}: one password per charge point")
        self._passwords[charge_point_id] = password
        link = ConnectorLink(charge_point_id, connector_id, password, lenient=lenient)
        links[connector_id] = link
        if session is not None:  # connected already (a reload): the port asks what it misses
            if lenient:
                session.be_lenient()
            link.attach(session)  # type: ignore[arg-type]
            if session.identity is not None:  # booted: it will not boot again by itself
                link.on_boot(session.identity)
        return link

    async def unregister(self, link: ConnectorLink, hold_s: float | None = None) -> None:
        """Forget one connector (its Home Assistant entry unloads). The charge point's
        other connectors keep their session; without any left, its id is held for
        ``hold_s`` (default ``forget_after_s``): still admitted, a connected charger kept
        and one connecting accepted, so a reload or a setup retry registering it again
        finds it there; then it is disconnected and refused."""
        cp_id = link.charge_point_id
        hold_s = self.settings.forget_after_s if hold_s is None else hold_s
        links = self._points.get(cp_id)
        if links is None or links.get(link.connector_id) is not link:
            return
        del links[link.connector_id]
        session = self._sessions.get(cp_id)
        if session is not None:
            link.detach(session)  # type: ignore[arg-type]
        if not links and hold_s <= 0:
            await self._forget(cp_id, links)
        elif not links:
            self._forgets[cp_id] = asyncio.create_task(self._forget_later(cp_id, links, hold_s))

    async def _forget_later(
        self, cp_id: str, links: dict[int, ConnectorLink], hold_s: float
    ) -> None:
        await asyncio.sleep(hold_s)
        self._forgets.pop(cp_id, None)
        await self._forget(cp_id, links)

    async def _forget(self, cp_id: str, links: dict[int, ConnectorLink]) -> None:
        if links or self._points.get(cp_id) is not links:
            return  # registered again
        del self._points[cp_id]
        self._passwords.pop(cp_id, None)
        session = self._sessions.get(cp_id)
        if session is not None:
            _LOGGER.info("%s: no connector configured any more: disconnected", cp_id)
            await session._connection.close()  # type: ignore[attr-defined]

    @property
    def charge_points(self) -> dict[str, tuple[int, ...]]:
        """The registered charge point ids and their connector ids (held ones not)."""
        return {cp: tuple(sorted(links)) for cp, links in self._points.items() if links}

    @property
    def port(self) -> int:
        """The port actually bound (the configured one, or the OS's pick for 0)."""
        if self._server is None:
            return self.settings.port
        return int(next(iter(self._server.sockets)).getsockname()[1])

    async def start(self) -> None:
        """Listen (idempotent)."""
        if self._server is not None:
            return
        self._server = await serve(
            self._handle,
            self.settings.host,
            self.settings.port,
            subprotocols=list(SUBPROTOCOLS),  # type: ignore[arg-type]
            process_request=self._admit,
            ssl=self.settings.ssl_context,
            max_size=1 << 20,
            ping_interval=20,  # a wallbox gone silent is closed within 40 s: unavailable
            ping_timeout=20,
        )
        scheme = "wss" if self.settings.ssl_context else "ws"
        _LOGGER.info(
            "OCPP central system on %s://%s:%s/<charge point id>",
            scheme,
            self.settings.host,
            self.port,
        )

    async def stop(self) -> None:
        """Close every session and stop listening."""
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        for task in [*self._tasks, *self._forgets.values()]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._forgets.clear()

    async def settle(self) -> None:
        """Wait for the setup after each boot to be done (tests, the demo)."""
        for _ in range(10):
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        """A known (or held) charge point id, with its password where one is set."""
        cp_id = charge_point_id(request.path)
        if cp_id not in self._points:  # never registered, or no longer held
            _LOGGER.warning("OCPP: unknown charge point id %r refused", cp_id)
            return connection.respond(HTTPStatus.NOT_FOUND, "unknown charge point id\n")
        password = self._passwords.get(cp_id)
        if password is not None and not _authorized(request.headers, cp_id, password):
            _LOGGER.warning("OCPP: %s: wrong or missing password", cp_id)
            response = connection.respond(HTTPStatus.UNAUTHORIZED, "authorization required\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="OCPP"'
            return response
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        cp_id = charge_point_id(connection.request.path if connection.request else "")
        links = self._points.get(cp_id)
        if links is None:  # forgotten between the handshake and now
            await connection.close()
            return
        # Held (no connector yet): the session answers it and its connectors join later.
        kind = Session16 if connection.subprotocol == "ocpp1.6" else Session201
        session = kind(cp_id, connection, links, self.settings)
        session.tasks = self._tasks
        session.password = self._passwords.get(cp_id)
        old = self._sessions.get(cp_id)
        self._sessions[cp_id] = session
        if old is not None:  # the charger reconnected before we saw the old socket die
            await old._connection.close()  # type: ignore[attr-defined]
        _LOGGER.info("%s: connected (OCPP %s)", cp_id, session.version)
        for link in links.values():
            link.attach(session)
            await link.changed()
        try:
            await session.start()
        except ConnectionClosed:
            pass
        finally:
            if self._sessions.get(cp_id) is session:
                del self._sessions[cp_id]
            for link in links.values():
                link.detach(session)
                await link.changed()
            _LOGGER.info("%s: disconnected", cp_id)


def charge_point_id(path: str) -> str:
    """The last path segment, URL-decoded (``/ocpp/CP%201`` -> ``CP 1``)."""
    return unquote(path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])


def _authorized(headers: Headers, cp_id: str, password: str) -> bool:
    """HTTP Basic ``<charge point id>:<password>`` (OCPP 1.6 security profile 1)."""
    value = headers.get("Authorization", "")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, given = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user.encode(), cp_id.encode()) and hmac.compare_digest(
        given.encode(), password.encode()
    )
