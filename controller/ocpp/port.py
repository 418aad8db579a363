"""The kernel's charger and meter ports over one OCPP connector (a ``ConnectorLink``).

The kernel's level-based output becomes OCPP commands, each sent only when what it sets
changes (several chargers keep charging profiles and availability in flash):
charging allowed -> TxDefaultProfile at the signalled current, else 0 A; enabled ->
ChangeAvailability; a force-unlock -> UnlockConnector. The kernel's meter transaction is
the charger's OCPP transaction: ``start_transaction`` sends RemoteStart (RequestStart in
2.0.1) with our own token and waits for the charger to start it, so our kernel's
authorization decides; ``stop_transaction`` sends RemoteStop. A charger offline raises
``ConnectError`` from every call: the kernel shows the communication fault.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from ..clock import Clock, SystemClock, rfc3339
from ..errors import ConnectError, DeviceError
from ..everest import (
    ConnectorType,
    CpState,
    Current,
    Energy,
    HardwareCapabilities,
    Power,
    Powermeter,
    Telemetry,
    Voltage,
)
from ..everest.powermeter import (
    TransactionRequestStatus,
    TransactionStartResponse,
    TransactionStopResponse,
)
from ..ports import ChargerInfo, ChargerOutput, ChargerStatus
from .link import ENERGY, Commands, ConnectorLink, Status

_LOGGER = logging.getLogger(__name__)
FRESH_METER_S = 5.0  # how long to wait for the meter values asked for at a stop
GLOBAL_RESERVATION_ID = 1_000_000  # + connector: the wallbox's id for a global reservation


@dataclass(frozen=True, kw_only=True)
class OcppChargerSettings:
    """What the installation says about the wallbox (OCPP does not report it)."""

    max_current_A: float = 32.0
    min_current_A: float = 6.0
    phases: int = 3
    id_tag: str = "evse_manager"  # the token our RemoteStart carries (CiString20)
    connect_timeout_s: float = 5.0  # how long connect() waits (the app retries with backoff)
    start_timeout_s: float = 30.0  # how long a RemoteStart may take to become a transaction
    boot_wait_s: float = 5.0  # how long a connected charger may take to boot by itself
    # A reservation at the wallbox (ReserveNow) ends this long after it is sent unless it
    # is sent again: half-way through while our kernel holds it (EVerest's reserve has no
    # end; its OCPP module cancels), so a dead controller leaves no lasting reservation.
    reservation_expiry_s: float = 3600.0


class OcppCharger:
    """ChargeControllerPort over an OCPP connector."""

    def __init__(
        self,
        link: ConnectorLink,
        settings: OcppChargerSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.link = link
        self.settings = settings or OcppChargerSettings()
        self._clock = clock or SystemClock()
        self._locked = False
        self._was_charging = False
        self._output: ChargerOutput | None = None  # the last output applied
        self._boots = link.boots

    def _session(self) -> Commands:
        session = self.link.session
        if session is None:
            raise ConnectError(f"OCPP charge point {self.link.name} is not connected")
        return session

    async def connect(self) -> ChargerInfo:
        """Wait for the charger to connect and tell its status and meter, asking for what
        it has not sent by itself (a charger connected before we started boots no more)."""
        link = self.link
        if not await link.wait_for(lambda: link.online, self.settings.connect_timeout_s):
            raise ConnectError(f"OCPP charge point {link.name} has not connected")
        session = self._session()
        checks: tuple[tuple[str, Callable[[], bool]], ...] = (
            ("BootNotification", lambda: not link.booted),
            ("StatusNotification", lambda: link.status is None),
            ("MeterValues", lambda: link.reading.energy_Wh is None),
        )
        # A charger that just connected boots by itself: give it the time evcc does
        # (TriggerBootDelay) before asking, so it does not boot twice.
        await link.wait_for(lambda: link.booted, self.settings.boot_wait_s)
        for message, missing in checks:
            if missing():
                await _quietly(session.trigger(message, link.connector_id))
                await link.wait_for(_negated(missing), FRESH_METER_S)
        if link.status is None:
            raise DeviceError(f"OCPP charge point {link.name}: no StatusNotification")
        ident = link.identity
        return ChargerInfo(
            capabilities=self._capabilities(),
            has_lock=True,
            vendor=ident.vendor or "OCPP",
            model=ident.model or f"OCPP {session.version} charge point",
            serial=ident.serial,
            firmware=ident.firmware,
        )

    def _capabilities(self) -> HardwareCapabilities:
        s = self.settings
        return HardwareCapabilities(
            max_current_A_import=s.max_current_A,
            min_current_A_import=s.min_current_A,
            max_phase_count_import=s.phases,
            min_phase_count_import=s.phases,
            max_current_A_export=0.0,
            min_current_A_export=0.0,
            max_phase_count_export=s.phases,
            min_phase_count_export=s.phases,
            supports_changing_phases_during_charging=False,
            supports_cp_state_E=False,
            # OCPP does not report the cable rating (PP): a socket would wait for one.
            connector_type=ConnectorType.IEC62196Type2Cable,
        )

    async def read_status(self) -> ChargerStatus:
        """The connector status as CP state; when charging has just ended, fresh meter
        values first, so the transaction closes on the counter at the stop."""
        link = self.link
        session = self._session()
        if link.status is None:
            raise DeviceError(f"OCPP charge point {link.name}: no status yet")
        if link.boots != self._boots and self._output is not None:
            # Rebooted between two polls: it forgot the profile we had sent.
            _LOGGER.info("%s: rebooted; sending the current output again", link.name)
            await self.apply(self._output)
        self._boots = link.boots
        if self._output is not None:
            await self._reservation(session, self._output.reservation_id)
        await _send_pending_stop(link, session)
        charging = link.status is Status.Charging
        if self._was_charging and not charging:
            seq = link.reading.seq
            if await _quietly(session.trigger("MeterValues", link.connector_id)):
                await link.wait_for(lambda: link.reading.seq != seq, FRESH_METER_S)
        self._was_charging = charging
        stop, link.stopped_by_charger = link.stopped_by_charger, False
        return ChargerStatus(
            cp=link.cp_state(),
            relays_on=charging,
            phases_active=self.settings.phases,
            errors=link.errors(),
            telemetry=Telemetry(
                evse_temperature_C=0.0,
                fan_rpm=0.0,
                supply_voltage_12V=12.0,
                supply_voltage_minus_12V=-12.0,
                relais_on=charging,
            ),
            stop_requested=stop,
        )

    async def apply(self, output: ChargerOutput) -> None:
        """Availability, limit and unlock, each only when it changes."""
        link = self.link
        session = self._session()
        connector = link.connector_id
        self._output, self._boots = output, link.boots
        if link.sent.get("available") != output.enabled:
            if await session.set_available(connector, output.enabled):
                link.sent["available"] = output.enabled
            else:
                _LOGGER.warning("%s: ChangeAvailability refused", link.name)
        amps = self._amps(output.current_A) if output.charging_allowed else 0.0
        if link.sent.get("limit") != amps:
            if await session.set_limit(connector, amps, output.phases):
                link.sent["limit"] = amps
            else:
                _LOGGER.warning("%s: SetChargingProfile %s A refused", link.name, amps)
        # Only a force-unlock of a running connector: the safe output at our stop must not
        # unlock (OCPP 1.6 UnlockConnector ends the transaction a restart would resume).
        unlock = self._locked and not output.locked and output.enabled
        unlock = unlock and link.cp_state() is not CpState.A
        if unlock and not await session.unlock(connector):
            _LOGGER.warning("%s: UnlockConnector refused", link.name)
        self._locked = output.locked
        await self._reservation(session, output.reservation_id)
        await _send_pending_stop(link, session)

    async def _reservation(self, session: Commands, reservation_id: int | None) -> None:
        """Mirror our kernel's reservation: ReserveNow when it starts (and half-way to
        its expiry), CancelReservation when it ends. The wallbox then shows Reserved and
        refuses other cards; a reserved user authorized through our kernel ends it."""
        link = self.link
        wanted = None if reservation_id is None else ocpp_reservation_id(reservation_id, link)
        sent = link.sent.get("reservation")
        link.reserved = wanted is not None
        if wanted is None:
            if sent is not None:
                link.sent.pop("reservation")
                if not await session.cancel_reservation(sent):
                    _LOGGER.info("%s: CancelReservation %s not accepted", link.name, sent)
            return
        now = self._clock.monotonic()
        if sent == wanted and now < link.sent.get("reservation_renew", 0.0):
            return
        expiry_s = self.settings.reservation_expiry_s
        expiry = self._clock.now() + timedelta(seconds=expiry_s)
        status = await session.reserve(
            link.connector_id, wanted, self._reserved_for(reservation_id), expiry
        )
        # Sent either way: a refusal is retried at the renewal, not at every poll.
        link.sent["reservation"], link.sent["reservation_renew"] = wanted, now + expiry_s / 2
        if status != "Accepted":
            _LOGGER.warning("%s: ReserveNow %s: %s", link.name, wanted, status)

    def _reserved_for(self, reservation_id: int | None) -> str:
        """The idTag of the wallbox's ReserveNow: the card the reservation is for (a
        CSMS's ReserveNow names it; the wallbox then lets that card in, OCPP 1.6 §5.13),
        else our own tag (the wallbox refuses every card: our kernel authorizes)."""
        lookup = self.link.reservation_tag
        tag = lookup(reservation_id) if lookup and reservation_id is not None else None
        return tag or self.settings.id_tag

    def _amps(self, amps: float) -> float:
        """Within the installation's range, down to 0.1 A (evcc setCurrent truncates so)."""
        s = self.settings
        return math.floor(max(s.min_current_A, min(s.max_current_A, amps)) * 10 + 1e-9) / 10

    async def close(self) -> None:
        """The manager applied the safe output already; nothing else to release."""


def _negated(predicate: Callable[[], bool]) -> Callable[[], bool]:
    return lambda: not predicate()


async def _quietly(call: Awaitable[bool]) -> bool:
    """A best-effort request (a trigger): refused or unanswered is False, not an error."""
    try:
        return bool(await call)
    except DeviceError as err:
        _LOGGER.debug("OCPP request failed: %s", err)
        return False


def ocpp_reservation_id(reservation_id: int, link: ConnectorLink) -> int:
    """The wallbox's reservation id for ours: the same, and for EVerest's global one
    (negative: no id of its own) one per connector."""
    return reservation_id if reservation_id >= 0 else GLOBAL_RESERVATION_ID + link.connector_id


async def _send_pending_stop(link: ConnectorLink, session: Commands) -> None:
    """A stop asked while the charger was away, or before it named its transaction
    (a controller restart), goes out once both are known."""
    if link.stop_pending and link.transaction_id is not None:
        await _remote_stop(link, session)


async def _remote_stop(link: ConnectorLink, session: Commands) -> None:
    """RemoteStop, sent again after a reconnect if it got no answer; a refusal is not
    repeated (0 A holds, and the charger's own stop ends the transaction)."""
    assert link.transaction_id is not None
    link.remote_stop_sent = True
    if not await session.remote_stop(link.transaction_id):
        _LOGGER.warning("%s: RemoteStop %s refused", link.name, link.transaction_id)
    link.stop_pending = False


class OcppMeter:
    """PowerMeterPort over an OCPP connector's meter values."""

    def __init__(
        self,
        link: ConnectorLink,
        settings: OcppChargerSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.link = link
        self.settings = settings or OcppChargerSettings()
        self._clock = clock or SystemClock()

    async def connect(self) -> str | None:
        """The charger's serial number is the meter's id."""
        return self.link.identity.serial

    async def read(self) -> Powermeter:
        """The latest meter values (the charger pushes them; nothing is asked here)."""
        link = self.link
        if not link.online:
            raise ConnectError(f"OCPP charge point {link.name} is not connected")
        r = link.reading
        if r.energy_Wh is None:
            raise DeviceError(f"{link.name}: no {ENERGY} received yet")
        currents, volts = r.current_A, r.voltage_V
        return Powermeter(
            timestamp=rfc3339(self._clock.now()),
            meter_id=link.identity.serial,
            energy_Wh_import=Energy(total=r.energy_Wh),
            power_W=None if r.power_W is None else Power(total=r.power_W),
            current_A=Current(**currents) if currents else None,
            voltage_V=Voltage(**volts) if volts else None,
        )

    async def start_transaction(self, transaction_id: str) -> TransactionStartResponse:
        """Our kernel authorized a session: have the charger start its transaction on our
        token and take its start reading. After a card accepted at the wallbox, the
        wallbox starts it by itself (1.6 StartTransaction after its Authorize, 2.0.1
        TxStartPoint): that one is waited for, a RemoteStart with the card only if none
        comes."""
        link = self.link

        def running() -> bool:
            return link.transaction_id is not None and link.tx_authorized

        if link.card_tag is not None:
            await link.wait_for(running, self.settings.start_timeout_s)
        if running():
            return _started(link, transaction_id)
        token = link.card_tag or self.settings.id_tag
        link.id_tag = token
        try:
            session = OcppCharger(link)._session()
            if not await session.remote_start(link.connector_id, token):
                return _start_failed(f"{link.name}: RemoteStart refused")
        except DeviceError as err:
            return _start_failed(str(err))
        if not await link.wait_for(running, self.settings.start_timeout_s):
            return _start_failed(f"{link.name}: the charger started no transaction")
        return _started(link, transaction_id)

    async def stop_transaction(self, transaction_id: str) -> TransactionStopResponse:
        """End the charger's transaction: now, after a reconnect if it is offline, or,
        when the charger has not named it yet (our restart), once it does."""
        link = self.link
        link.id_tag = link.card_tag = None
        if link.transaction_id is None:
            link.stop_pending = link.status is not Status.Available
            return TransactionStopResponse(status=TransactionRequestStatus.OK)
        link.stop_pending = True
        if link.session is not None:
            try:
                await _remote_stop(link, link.session)
            except DeviceError as err:
                _LOGGER.warning("%s: RemoteStop: %s (retried on reconnect)", link.name, err)
        return TransactionStopResponse(status=TransactionRequestStatus.OK)

    async def close(self) -> None:
        """Nothing to release (the central system owns the sockets)."""


def _started(link: ConnectorLink, transaction_id: str) -> TransactionStartResponse:
    _LOGGER.info("%s: OCPP transaction %s for %s", link.name, link.transaction_id, transaction_id)
    return TransactionStartResponse(status=TransactionRequestStatus.OK)


def _start_failed(error: str) -> TransactionStartResponse:
    _LOGGER.warning("%s", error)
    return TransactionStartResponse(status=TransactionRequestStatus.UNEXPECTED_ERROR, error=error)
