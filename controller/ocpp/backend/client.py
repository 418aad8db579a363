"""The charge point we show the CSMS: stays connected, delivers, answers.

Served like the MQTT bridge: an ``Adapter`` (``start`` / ``stop``) that subscribes to
every connector's updates. Each update is mapped (``report``), encoded (``v16`` /
``v201``) and queued at once (``outbox``), so nothing waits for the link. A connection
begins with the BootNotification; then the backlog goes out in order, then every
connector's status, then whatever comes; a Heartbeat runs at the CSMS's interval, and
MeterValues of each open transaction at ``meter_interval_s``. A lost or refused
connection is retried with capped exponential backoff (``controller.backoff``, as the
MQTT connection).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from ...auth import present_token
from ...backoff import Backoff
from ...clock import Clock
from ...errors import ConnectError, DeviceError
from ...everest import (
    AuthorizationStatus,
    ProvidedIdToken,
    SessionEvent,
    SessionEventEnum,
    ValidationResult,
)
from ...manager import EvseManager, Update
from ...mqtt.connection import run_loops
from ..link import MEASURANDS
from .base import Codec, Identity, StationSession
from .control import Control, Reservation
from .outbox import Message, Outbox
from .report import ConnectorReport, Report, TxEnded, TxStarted
from .settings import CsmsSettings

_LOGGER = logging.getLogger(__name__)
SEEDED_VARS = ("state", "errors", "powermeter")
# 2.0.1 device model variables (part 2 appendix) -> the 1.6 configuration key they are.
VARIABLES = {
    ("OCPPCommCtrlr", "HeartbeatInterval"): "HeartbeatInterval",
    ("SampledDataCtrlr", "TxUpdatedInterval"): "MeterValueSampleInterval",
    ("SampledDataCtrlr", "TxUpdatedMeasurands"): "MeterValuesSampledData",
    ("SampledDataCtrlr", "TxEndedMeasurands"): "StopTxnSampledData",
    ("OCPPCommCtrlr", "MessageAttempts"): "TransactionMessageAttempts",
}
RETRY_CALLERROR_S = 1.0
PROFILES = "charging_profiles"  # where the outbox's database keeps them
HINTS = {
    "refused: HTTP 401": " (wrong password for this charge_point_id?)",
    "refused: HTTP 404": " (is charge_point_id registered at the CSMS?)",
}


class CsmsClient:
    """One charge point towards ``settings.url``, its connectors ``managers`` (our name
    -> manager) numbered by ``settings.connectors``; the queue lives in ``store``."""

    WRITABLE = ("HeartbeatInterval", "MeterValueSampleInterval")

    def __init__(
        self,
        managers: Mapping[str, EvseManager],
        settings: CsmsSettings,
        store: Path | str,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.codec, self._session_class = _version(settings.version)
        self._names = {number: name for name, number in settings.connectors.items()}
        self.managers = {number: managers[name] for number, name in self._names.items()}
        self.reports = {number: ConnectorReport(number) for number in self.managers}
        self.control = Control(self.managers, self.reports, clock)
        self.control.reservation_ended = self._reservation_ended
        self._store = store
        self.outbox: Outbox | None = None
        self.heartbeat_interval_s = settings.heartbeat_interval_s
        self.meter_interval_s = settings.meter_interval_s
        self.session: StationSession | None = None
        self.boots = 0  # accepted BootNotifications (a test waits for the next)
        self.last_error: str | None = None  # why the last connection failed, for a user
        self._booted = False
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self._notifying = False  # a notify task is scheduled
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: list[Any] = []

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open the queue, follow every connector, connect in the background."""
        self.outbox = outbox = Outbox(self._store)
        self.control.restore(outbox.load(PROFILES))
        self.control.keep = lambda profiles: outbox.save(PROFILES, profiles)
        for number, manager in self.managers.items():
            self._seed(number, manager)
            manager.csms_validator = lambda token, n=number: self.validate(n, token)
            manager.reservation_token = lambda rid, n=number: self.control.token_of(n, rid)
            self._unsubscribe.append(
                manager.subscribe(lambda u, n=number: self._on_update(n, u))  # type: ignore[misc]
            )
        self.control.start()
        self._spawn(self._stay_connected(), "csms connection")
        self._spawn(self._meter_loop(), "csms meter values")

    async def stop(self) -> None:
        """Stop following, disconnect; the queue stays for the next start."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for manager in self.managers.values():
            manager.csms_validator = None
            manager.reservation_token = None
        await self.control.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.outbox is not None:
            self.outbox.close()
            self.outbox = None

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def online(self) -> bool:
        """Connected and booted: messages flow."""
        return self.session is not None and self._booted

    async def wait_for(self, predicate: Any, timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate()`` holds (tests, the demo); False after ``timeout_s``."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout_s)
            except TimeoutError:
                return bool(predicate())
        return True

    async def _notify(self) -> None:
        self._notifying = False
        async with self._changed:
            self._changed.notify_all()

    def _notify_soon(self) -> None:
        """From synchronous code (a listener): wake the waiters once, soon."""
        if not self._notifying:
            self._notifying = True
            self._spawn(self._notify(), "csms notify")

    def delivered(self) -> bool:
        """Online with nothing left to send."""
        return self.online and self.outbox is not None and not len(self.outbox)

    # ------------------------------------------------------------------ updates

    def _seed(self, number: int, manager: EvseManager) -> None:
        """A connector running already: its state as the reports' starting point."""
        if not manager.running:
            return
        values = manager.vars()
        for var in SEEDED_VARS:
            if var in values:
                self.reports[number].on_update(Update(manager.name, var, values[var]))

    def _on_update(self, number: int, update: Update) -> None:
        """Manager listener (synchronous): map, encode and queue, never block."""
        if update.var == "state" and self.control.needs_limits(number):
            self._spawn(self.control.apply_limits(), "csms limits")  # after a restart
        reports = self.reports[number].on_update(update)
        for report in reports:
            self._queue(report)
            if isinstance(report, TxEnded):
                self._spawn(self.control.transaction_ended(number), "csms availability")
            if isinstance(report, TxStarted) and number in self.control.reservations:
                self._spawn(self.control.reservation_over(number, used=True), "csms reservation")
        event = update.value if update.var == "session_event" else None
        if (
            isinstance(event, SessionEvent)
            and event.event is SessionEventEnum.ReservationEnd
            and number in self.control.reservations
        ):
            self._spawn(self.control.reservation_over(number, used=False), "csms reservation")

    def _queue(self, report: Report) -> None:
        outbox = self.outbox
        if outbox is None:
            return
        self.codec.encode(report, outbox)
        self._wake.set()
        self._notify_soon()

    async def _meter_loop(self) -> None:
        """MeterValues of every open transaction (MeterValueSampleInterval), online or
        not: they are transaction messages, queued."""
        while True:
            await asyncio.sleep(self.meter_interval_s or 1)
            if self.meter_interval_s <= 0:
                continue  # switched off (ChangeConfiguration)
            for report in self.reports.values():
                sample = report.periodic()
                if sample is None:
                    continue
                try:
                    self._queue(sample)
                except Exception:  # a full disk: the next interval tries again
                    _LOGGER.exception("CSMS: meter values not queued")

    # ------------------------------------------------------------------ connection

    async def _stay_connected(self) -> None:
        """Connect, serve, and on any loss reconnect (until cancelled)."""
        s = self.settings
        backoff = Backoff(s.reconnect_min_s, s.reconnect_max_s)
        while True:
            try:
                async with self._connect() as ws:
                    _LOGGER.info("CSMS: connected to %s (OCPP %s)", s.endpoint, s.version)
                    backoff.succeeded()
                    self.last_error = None
                    await self._serve(ws)
            except InvalidStatus as err:
                self._failed(backoff, f"refused: HTTP {err.response.status_code}")
            except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError, DeviceError) as err:
                self._failed(backoff, str(err) or type(err).__name__)
            except Exception:  # a bug must not end the reporting for good
                backoff.failed()
                _LOGGER.exception("CSMS: connection failed unexpectedly")
            finally:
                self._offline()
                await self._notify()
            await backoff.wait()

    def _connect(self) -> Any:
        s = self.settings
        headers = {}
        if s.password is not None:
            login = f"{s.charge_point_id}:{s.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(login).decode()
        return connect(
            s.endpoint,
            subprotocols=[self.codec.subprotocol],  # type: ignore[list-item]
            additional_headers=headers,
            ssl=s.ssl_context(),
            open_timeout=s.response_timeout_s,
            max_size=1 << 20,
        )

    def _failed(self, backoff: Backoff, why: str) -> None:
        """One log line per loss, not one per retry."""
        if backoff.failed():
            _LOGGER.error(
                "CSMS: %s: %s%s; retrying, next in %.1f s",
                self.settings.endpoint,
                why,
                HINTS.get(why, ""),
                backoff.delay,
            )
        else:
            _LOGGER.debug("CSMS: attempt %d failed: %s", backoff.failures, why)
        self.last_error = why

    def _offline(self) -> None:
        self._booted = False
        self.session = None
        if self.outbox is not None:
            self.outbox.offline()

    async def _serve(self, ws: ClientConnection) -> None:
        if ws.subprotocol != self.codec.subprotocol:
            raise ConnectError(f"the CSMS does not speak {self.codec.subprotocol}")
        session: Any = self._session_class(
            self.settings.charge_point_id,  # type: ignore[call-arg]
            ws,
            self.settings.response_timeout_s,
        )
        session._attach(self)
        self.session = session
        try:
            await run_loops(session.start(), self._work(session))
        finally:
            session.close_tasks()

    async def _work(self, session: StationSession) -> None:
        """Boot, then the backlog and the statuses, beside the heartbeat."""
        await self._boot(session)
        assert self.outbox is not None
        self.outbox.online = True
        self.codec.connected()
        for report in self.reports.values():  # OCPP: every connector's status after boot
            self.codec.encode(report.status(), self.outbox)
        await self._notify()
        await run_loops(self._drain(session), self._heartbeat(session))

    async def _boot(self, session: StationSession) -> None:
        """BootNotification until Accepted (Pending / Rejected: again after the
        interval, OCPP 1.6 §4.2: nothing else is sent meanwhile)."""
        while True:
            result = await session.request(self.codec.boot(self.identity()))
            status = getattr(result, "status", None)
            interval = getattr(result, "interval", 0) or 0
            if status == "Accepted":
                if interval > 0:
                    self.heartbeat_interval_s = int(interval)
                self._booted = True
                self.boots += 1
                _LOGGER.info("CSMS: boot accepted, heartbeat every %d s", self.heartbeat_interval_s)
                return
            _LOGGER.warning("CSMS: boot %s; again in %d s", status or "refused", interval or 10)
            await asyncio.sleep(interval or 10)

    def identity(self) -> Identity:
        """The BootNotification's identity: the configured one, else the first
        connector's charger (get_evse / hw info of the Modbus or OCPP charger)."""
        info = next((m.charger_info for m in self.managers.values() if m.charger_info), None)
        s = self.settings
        return Identity(
            vendor=s.vendor or (info.vendor if info and info.vendor else "evse_manager"),
            model=s.model or (info.model if info and info.model else "evse_manager"),
            serial=info.serial if info else None,
            firmware=info.firmware if info else None,
        )

    async def _heartbeat(self, session: StationSession) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            await session.request(self.codec.heartbeat())

    async def _drain(self, session: StationSession) -> None:
        """Deliver the queue in order, each message until it is answered."""
        outbox = self.outbox
        assert outbox is not None
        while True:
            message = outbox.head()
            if message is None:
                await self._notify()
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._deliver(session, outbox, message)

    async def _deliver(self, session: StationSession, outbox: Outbox, message: Message) -> None:
        call = self.codec.prepare(message, outbox)
        if call is None:
            outbox.done(message)
            return
        try:
            result = await session.request(call)
        except ConnectError:
            raise
        except DeviceError as err:  # our payload broke the schema: a bug, never retried
            _LOGGER.error("CSMS: %s dropped: %s", message.action, err)
            outbox.done(message)
            return
        if result is None:  # a CALLERROR: an answer, tried a few times (libocpp too)
            message.attempts += 1
            if (
                message.seq is not None
                and message.attempts < self.settings.transaction_message_attempts
            ):
                await asyncio.sleep(RETRY_CALLERROR_S)
                return
            _LOGGER.warning("CSMS: %s refused with a CALLERROR; dropped", message.action)
            outbox.done(message)
            return
        answer = self.codec.answered(message, result, outbox)
        outbox.done(message)
        if answer.deauthorize is not None:
            connector = self.control.connector_of(answer.deauthorize)
            if connector is not None:
                _LOGGER.warning("CSMS: token of %s refused: stopping it", answer.deauthorize)
                self._spawn(self.control.stop_transaction(connector, "DeAuthorized"), "csms stop")

    # ------------------------------------------------------------------ CSMS requests

    async def trigger(self, message: str, connector: int | None) -> None:
        """TriggerMessage, after its answer."""
        session = self.session
        targets = [connector] if connector is not None else list(self.reports)
        if message == "BootNotification" and session is not None:
            await session.request(self.codec.boot(self.identity()))
        elif message == "Heartbeat" and session is not None:
            await session.request(self.codec.heartbeat())
        elif message == "StatusNotification":
            for number in targets:
                self._queue(replace(self.reports[number].status(), triggered=True))
        elif message == "MeterValues":
            for number in targets:
                sample = self.reports[number].sample("Trigger")
                if sample is not None and self.outbox is not None:
                    self.codec.meter_values(sample, self.outbox)
                    self._wake.set()

    async def reset(self, reason: str) -> None:
        """Reset: the transactions end (HardReset / SoftReset) and, once their messages
        are queued, the connection starts over with a BootNotification."""
        await self.control.stop_all(reason)
        session = self.session
        if session is not None:
            await session._connection.close()  # type: ignore[attr-defined]

    async def _reservation_ended(self, reservation: Reservation, why: str) -> None:
        """A reservation the CSMS made ended other than by CancelReservation: 2.0.1 tells
        it with ReservationStatusUpdate (Expired or Removed, use case H01); 1.6 has only
        the connector's status."""
        outbox = self.outbox
        if outbox is None or self.settings.version == "1.6":
            return
        fields = {"reservation_id": reservation.id, "reservation_update_status": why}
        outbox.push("ReservationStatusUpdate", fields, durable=False)
        self._wake.set()
        self._notify_soon()

    async def authorize(self, id_tag: str) -> str:
        """Authorize: the CSMS's verdict on a token (Timeout while offline)."""
        session = self.session
        if session is None or not self.online:
            return "Timeout"
        try:
            result = await session.request(self.codec.authorize(id_tag))
        except DeviceError as err:
            _LOGGER.warning("CSMS: Authorize: %s", err)
            return "Timeout"
        return self.codec.authorization_status(result)

    async def validate(self, connector: int, token: ProvidedIdToken) -> ValidationResult:
        """The CSMS's verdict on a token presented at ``connector`` (EVerest's Auth
        module asks its OCPP validator the same way): Authorize; at a connector the CSMS
        reserved for another token NotAtThisTime, unasked; the reserved token's verdict
        names the reservation (its transaction then does)."""
        id_tag = token.id_token.value
        if self.control.refused_by_reservation(connector, id_tag):
            return ValidationResult(authorization_status=AuthorizationStatus.NotAtThisTime)
        status = await self.authorize(id_tag)
        if status not in {s.value for s in AuthorizationStatus}:
            status = AuthorizationStatus.Invalid.value
        reservation = self.control.reserved_for(connector, id_tag)
        accepted = status == AuthorizationStatus.Accepted.value
        return ValidationResult(
            authorization_status=AuthorizationStatus(status),
            reservation_id=reservation.id if reservation is not None and accepted else None,
        )

    async def present_token(self, connector: int, token: Mapping[str, Any]) -> str:
        """A token (a ProvidedIdToken in JSON) presented at ``connector``, through the
        controller's one path (``controller.auth.present_token``); its status."""
        result = await present_token(self.managers[connector], ProvidedIdToken.from_json(token))
        return result.authorization_status.value

    def configuration(self) -> dict[str, str]:
        """What GetConfiguration reports (OCPP 1.6 §9.1 key names)."""
        return {
            "HeartbeatInterval": str(self.heartbeat_interval_s),
            "MeterValueSampleInterval": str(self.meter_interval_s),
            "MeterValuesSampledData": ",".join(MEASURANDS),
            "StopTxnSampledData": ",".join(MEASURANDS),
            "NumberOfConnectors": str(len(self.managers)),
            "AuthorizeRemoteTxRequests": "false",
            "StopTransactionOnInvalidId": "true",
            "TransactionMessageAttempts": str(self.settings.transaction_message_attempts),
            "SupportedFeatureProfiles": "Core,RemoteTrigger,SmartCharging,Reservation",
            "ReserveConnectorZeroSupported": "false",
        }

    def configure(self, key: str, value: str) -> str:
        """ChangeConfiguration: the intervals can change; other keys are read-only."""
        values = self.configuration()
        if key not in values:
            return "NotSupported"
        if key not in self.WRITABLE:
            return "Rejected"
        try:
            seconds = int(value)
        except ValueError:
            return "Rejected"
        if seconds < 0 or (key == "HeartbeatInterval" and seconds == 0):
            return "Rejected"
        if key == "HeartbeatInterval":
            self.heartbeat_interval_s = seconds
        else:
            self.meter_interval_s = seconds
        return "Accepted"

    def variables(self) -> dict[tuple[str, str], str]:
        """What GetVariables reports (2.0.1 names of the same settings)."""
        values = self.configuration()
        return {key: values[name] for key, name in VARIABLES.items()}

    def set_variable(self, key: tuple[str, str], value: str) -> str:
        """SetVariables: as ChangeConfiguration, in 2.0.1's statuses."""
        name = VARIABLES.get(key)
        if name is None:
            return "UnknownVariable"
        return "Accepted" if self.configure(name, value) == "Accepted" else "Rejected"


def _version(version: str) -> tuple[Codec, type[StationSession]]:
    """The codec and session class of an OCPP version."""
    if version == "1.6":
        from .v16 import Codec16, Session16  # noqa: PLC0415

        return Codec16(), Session16
    from .v201 import Codec201, Session201  # noqa: PLC0415

    return Codec201(), Session201
