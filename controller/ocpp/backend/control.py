"""What the CSMS asks of our connectors, mapped onto the controller's commands.

Every request goes through ``controller.commands.execute``, the JSON command API every
adapter uses (validation, the connector's timeout): RemoteStart becomes an accepted
``authorize_response`` with a Central token, RemoteStop ``stop_transaction`` (Remote),
ChangeAvailability an ``enable_disable`` vote of source CSMS, charging profiles
``set_external_limits``, UnlockConnector ``force_unlock``, ReserveNow ``reserve`` and
CancelReservation ``cancel_reservation``.

Reservations: our kernel decides whether the connector can be reserved (``reserve``
true); when it cannot, the answer says why from the connector's status (Faulted,
Unavailable, Occupied: a transaction, an EV or another reservation). What OCPP adds
is kept here, as EVerest's Auth module keeps it (modules/EVSE/Auth/lib/ReservationHandler.cpp):
the reserved id tag (another token presented there is refused; the reserved one is
authorized with the reservation's id, so StartTransaction names it) and the expiry
(then ``cancel_reservation``; 2.0.1 ReservationStatusUpdate Expired).

Charging profiles are external limits, as in EVerest: its OCPP module turns the
composite schedule of each connector into ``ExternalLimits`` (one schedule_import
entry per period, limits_to_leaves; modules/EVSE/OCPP/OCPP.cpp set_external_limits,
OCPP201.cpp likewise) and calls set_external_limits on the EVSE's energy node. They
do not replace the energy manager's ``enforce_limits``: the kernel applies the lower of
both, and the built-in energy manager stays under them when it shares the fuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...auth import same_tag
from ...clock import Clock, SystemClock, rfc3339
from ...commands import CommandResult, execute
from ...manager import EvseManager
from ..link import Status
from .profiles import Limit, Profile, from_json, schedule_for, to_json
from .report import ConnectorReport

_LOGGER = logging.getLogger(__name__)
# EVerest's OCPP modules vote in enable_disable with priority 5000 (mid-range; 0 wins).
CSMS_PRIORITY = 5000
LIMIT_SOURCE = "CSMS"
# How far ahead each connector's schedule goes (EVerest OCPP PublishChargingScheduleDurationS);
# it is sent again well before that horizon ends. A profile holds until it is cleared or
# its own schedule ends (OCPP), so the schedule's last entry stays in force meanwhile.
SCHEDULE_HORIZON_S = 86400
LIMIT_REFRESH_S = 3600
NOT_STARTABLE = (Status.Unavailable, Status.Faulted, Status.Reserved)
Schedule = list[tuple[datetime, Limit | None]]
OCCUPIED = (
    Status.Preparing,
    Status.Charging,
    Status.SuspendedEV,
    Status.SuspendedEVSE,
    Status.Finishing,
    Status.Reserved,
)
EXPIRY_CHECK_S = 1.0


@dataclass(frozen=True)
class Reservation:
    """A CSMS's reservation of one connector (ReserveNow)."""

    id: int
    id_tag: str
    expiry: datetime


class Control:
    """The connectors by OCPP id, and what the CSMS set on them."""

    def __init__(
        self,
        managers: Mapping[int, EvseManager],
        reports: Mapping[int, ConnectorReport],
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.managers = managers
        self.reports = reports
        self.profiles: dict[int, Profile] = {}  # by profile id
        self._pending_availability: dict[int, bool] = {}  # waits for the transaction's end
        self._applied: dict[int, Schedule] = {}
        self._task: asyncio.Task[None] | None = None
        self._expiry_task: asyncio.Task[None] | None = None
        self.keep: Callable[[list[dict[str, Any]]], None] | None = None  # persists profiles
        self.reservations: dict[int, Reservation] = {}  # by connector
        self._asked: dict[int, Reservation] = {}  # ReserveNow running, by connector
        # Told when a reservation ends other than by CancelReservation (Expired, Removed).
        self.reservation_ended: Callable[[Reservation, str], Awaitable[None]] | None = None

    def restore(self, saved: Any) -> None:
        """The profiles kept before a restart (applied once each connector runs)."""
        self.profiles = {p.id: p for p in from_json(saved)}

    def needs_limits(self, connector: int) -> bool:
        """Profiles exist that this connector has not been given (it just started)."""
        return bool(self.profiles) and connector not in self._applied

    def _kept(self) -> None:
        if self.keep is not None:
            self.keep([to_json(p) for p in self.profiles.values()])

    def start(self) -> None:
        """Keep the limits applied (an ``enforce_limits`` input lapses)."""
        self._task = asyncio.create_task(self._refresh(), name="csms limits")
        self._expiry_task = asyncio.create_task(self._expire(), name="csms reservations")

    async def close(self) -> None:
        """Stop refreshing."""
        for task in (self._task, self._expiry_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _run(self, connector: int, name: str, args: Mapping[str, Any]) -> CommandResult:
        manager = self.managers.get(connector)
        if manager is None or not manager.running:
            return CommandResult(False, error=f"connector {connector} not running")
        result = await execute(manager, name, dict(args))
        if not result.ok:
            _LOGGER.warning("CSMS: connector %d: %s", connector, result.error)
        return result

    # ------------------------------------------------------------------ transactions

    def connector_for_start(self, connector: int | None, id_tag: str = "") -> int | None:
        """The connector a RemoteStart means: the one named, else the only free one (a
        connector reserved for ``id_tag`` first)."""
        if connector is not None:
            return connector if self._startable(connector, id_tag) else None
        free = [c for c in self.reports if self._startable(c, id_tag)]
        mine = [c for c in free if c in self.reservations]
        occupied = [c for c in free if self.reports[c].status().status is Status.Preparing]
        picked = mine or occupied or free
        return picked[0] if picked else None

    def _startable(self, connector: int, id_tag: str) -> bool:
        report = self.reports.get(connector)
        if report is None or report.tx is not None:
            return False
        status = report.status().status
        if status is Status.Reserved:
            return self.reserved_for(connector, id_tag) is not None
        return status not in NOT_STARTABLE

    def reserved_for(self, connector: int, id_tag: str) -> Reservation | None:
        """The CSMS's reservation of ``connector`` if ``id_tag`` is its token."""
        reservation = self.reservations.get(connector)
        return reservation if reservation and same_tag(reservation.id_tag, id_tag) else None

    def token_of(self, connector: int, reservation_id: int) -> str | None:
        """The idTag of the CSMS's reservation ``reservation_id`` at ``connector``."""
        reservation = self.reservations.get(connector) or self._asked.get(connector)
        return reservation.id_tag if reservation and reservation.id == reservation_id else None

    def refused_by_reservation(self, connector: int, id_tag: str) -> bool:
        """``connector`` is reserved by the CSMS for another token (OCPP 1.6 §5.13: a
        reserved connector is only for the reservation's idTag)."""
        return connector in self.reservations and self.reserved_for(connector, id_tag) is None

    async def remote_start(self, connector: int, id_tag: str) -> bool:
        """RemoteStartTransaction: the CSMS's token authorizes the connector (OCPP 1.6
        AuthorizeRemoteTxRequests false: no Authorize round trip)."""
        manager = self.managers[connector]
        token = {
            "id_token": {"value": id_tag, "type": "Central"},
            "authorization_type": "OCPP",
            "connectors": [manager.config.connector_id],
        }
        return await self.authorize(connector, token, "Accepted")

    async def authorize(self, connector: int, token: Mapping[str, Any], status: str) -> bool:
        """The connector's ``authorize_response`` for ``token`` with the CSMS's verdict
        (an accepted reserved token with the reservation's id)."""
        result: dict[str, Any] = {"authorization_status": status}
        reservation = self.reserved_for(connector, str(token["id_token"]["value"]))
        if reservation is not None and status == "Accepted":
            result["reservation_id"] = reservation.id
        answer = await self._run(
            connector,
            "authorize_response",
            {"provided_token": dict(token), "validation_result": result},
        )
        return answer.ok

    # ------------------------------------------------------------------ reservations

    async def reserve_now(
        self, connector: int, reservation_id: int, id_tag: str, expiry: datetime
    ) -> str:
        """ReserveNow: our kernel's ``reserve``; Accepted, else why not (OCPP 1.6 §5.13,
        2.0.1 H01: Faulted, Unavailable, Occupied, Rejected)."""
        if connector not in self.reports or expiry <= self.clock.now():
            return "Rejected"
        for other, held in list(self.reservations.items()):
            if held.id == reservation_id and other != connector:  # the same id: replaced
                await self.cancel_reservation(reservation_id)
        current = self.reservations.get(connector)
        if current is not None and current.id != reservation_id:
            return "Occupied"
        reservation = Reservation(reservation_id, id_tag, expiry)
        self._asked[connector] = reservation  # the wallbox may mirror it within the command
        try:
            result = await self._run(connector, "reserve", {"reservation_id": reservation_id})
        finally:
            del self._asked[connector]
        if result.ok and result.result is True:
            self.reservations[connector] = reservation
            return "Accepted"
        return self._why_not(connector)

    def _why_not(self, connector: int) -> str:
        status = self.reports[connector].status().status
        if status in (Status.Faulted, Status.Unavailable):
            return status.value
        if self.reports[connector].tx is not None or status in OCCUPIED:
            return "Occupied"
        return "Rejected"

    async def cancel_reservation(self, reservation_id: int) -> bool:
        """CancelReservation: False when no connector holds ``reservation_id``."""
        connector = next((c for c, r in self.reservations.items() if r.id == reservation_id), None)
        if connector is None:
            return False
        del self.reservations[connector]
        result = await self._run(connector, "cancel_reservation", {})
        return result.ok

    async def reservation_over(self, connector: int, used: bool) -> None:
        """The kernel's reservation ended: ``used`` by the reserved user's transaction,
        or otherwise (cancelled here, disabled): the CSMS hears Removed."""
        reservation = self.reservations.pop(connector, None)
        if reservation is not None and not used and self.reservation_ended is not None:
            await self.reservation_ended(reservation, "Removed")

    async def _expire(self) -> None:
        """A reservation past its expiry ends (cancel_reservation; ReservationStatusUpdate
        Expired in 2.0.1)."""
        while True:
            await asyncio.sleep(EXPIRY_CHECK_S)
            now = self.clock.now()
            for connector, reservation in list(self.reservations.items()):
                if reservation.expiry > now:
                    continue
                del self.reservations[connector]
                await self._run(connector, "cancel_reservation", {})
                if self.reservation_ended is not None:
                    await self.reservation_ended(reservation, "Expired")

    def connector_of(self, tx: str) -> int | None:
        """The connector whose open transaction ``tx`` is."""
        return next((c for c, r in self.reports.items() if r.tx == tx), None)

    async def stop_transaction(self, connector: int, reason: str) -> bool:
        """Stop the connector's transaction (Remote, DeAuthorized, UnlockCommand, ...)."""
        result = await self._run(connector, "stop_transaction", {"request": {"reason": reason}})
        return result.ok and bool(result.result)

    async def stop_all(self, reason: str) -> None:
        """Stop every open transaction (a Reset)."""
        for connector, report in self.reports.items():
            if report.tx is not None:
                await self.stop_transaction(connector, reason)

    # ------------------------------------------------------------------ availability

    def connectors(self, connector: int) -> list[int]:
        """The connectors an id names (0: all of them); [] for an unknown one."""
        if connector == 0:
            return list(self.managers)
        return [connector] if connector in self.managers else []

    async def change_availability(self, connector: int, operative: bool) -> str | None:
        """ChangeAvailability: Accepted, Scheduled (a transaction runs: applied at its
        end, OCPP 1.6 §5.2 / 2.0.1 G03.FR.05), Rejected; None for an unknown connector."""
        targets = self.connectors(connector)
        if not targets:
            return None
        answer = "Accepted"
        for target in targets:
            if self.reports[target].tx is not None:
                self._pending_availability[target] = operative
                answer = "Scheduled"
            elif not await self._vote(target, operative):
                answer = "Rejected"
        return answer

    async def transaction_ended(self, connector: int) -> None:
        """A change of availability that waited for this transaction is due."""
        operative = self._pending_availability.pop(connector, None)
        if operative is not None:
            await self._vote(connector, operative)

    async def _vote(self, connector: int, operative: bool) -> bool:
        source = {
            "enable_source": "CSMS",
            "enable_state": "Enable" if operative else "Disable",
            "enable_priority": CSMS_PRIORITY,
        }
        result = await self._run(
            connector, "enable_disable", {"connector_id": 0, "cmd_source": source}
        )
        return result.ok

    # ------------------------------------------------------------------ limits

    async def set_profile(self, new: Profile) -> bool:
        """SetChargingProfile: kept (replacing the one of the same id, OCPP 1.6
        §3.13.2) and the connectors' limits recomputed."""
        if new.connector != 0 and new.connector not in self.managers:
            return False
        self.profiles[new.id] = new
        self._kept()
        return await self.apply_limits()

    async def clear_profiles(self, match: Callable[[Profile], bool]) -> bool:
        """ClearChargingProfile: False when none matched (the CSMS hears Unknown)."""
        gone = [pid for pid, p in self.profiles.items() if match(p)]
        for pid in gone:
            del self.profiles[pid]
        if gone:
            self._kept()
            await self.apply_limits()
        return bool(gone)

    async def apply_limits(self, *, refresh: bool = False) -> bool:
        """Each connector's composite schedule as ``set_external_limits`` (only on
        change, or to move its horizon on); False when a connector did not take it."""
        now = self.clock.now()
        ok = True
        for connector in self.managers:
            schedule = schedule_for(connector, self.profiles.values(), now, SCHEDULE_HORIZON_S)
            applied = self._applied.get(connector)
            if applied is not None and _same(applied, schedule) and not refresh:
                continue
            if connector not in self._applied and not schedule:
                continue  # never limited by us: nothing to lift
            if await self._set_external(connector, schedule):
                self._applied[connector] = schedule
            else:
                ok = False
        return ok

    async def _set_external(self, connector: int, schedule: Schedule) -> bool:
        entries = [
            {
                "timestamp": rfc3339(moment),
                "limits_to_root": {},
                "limits_to_leaves": _limits_req(limit),
            }
            for moment, limit in schedule
        ]
        value = {"schedule_import": entries, "schedule_export": [], "schedule_setpoints": []}
        result = await self._run(connector, "set_external_limits", {"value": value})
        return result.ok

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(LIMIT_REFRESH_S)
            await self.apply_limits(refresh=True)

    # ------------------------------------------------------------------ unlock

    async def unlock(self, connector: int) -> str:
        """UnlockConnector: a running transaction is stopped first (OCPP 1.6 §5.18,
        reason UnlockCommand); Unlocked, UnlockFailed or NotSupported (no lock)."""
        manager = self.managers.get(connector)
        if manager is None or not manager.running:
            return "UnknownConnector"
        if self.reports[connector].tx is not None:
            await self.stop_transaction(connector, "UnlockCommand")
        info = manager.charger_info
        if info is not None and not info.has_lock:
            return "NotSupported"
        result = await self._run(
            connector, "force_unlock", {"connector_id": manager.config.connector_id}
        )
        return "Unlocked" if result.ok and result.result else "UnlockFailed"


def _same(a: Schedule, b: Schedule) -> bool:
    """The same limits from the same times on (the first entry is "now" in both)."""
    if len(a) != len(b):
        return False
    return all(
        x[1] == y[1] and (i == 0 or x[0] == y[0]) for i, (x, y) in enumerate(zip(a, b, strict=True))
    )


def _limits_req(limit: Limit | None) -> dict[str, Any]:
    """A composite limit as EVerest's LimitsReq (source CSMS); None: no limit."""
    req: dict[str, Any] = {}
    if limit is not None and limit.amps is not None:
        req["ac_max_current_A"] = {"value": limit.amps, "source": LIMIT_SOURCE}
    if limit is not None and limit.watts is not None:
        req["total_power_W"] = {"value": limit.watts, "source": LIMIT_SOURCE}
    if limit is not None and limit.phases is not None:
        req["ac_max_phase_count"] = {"value": limit.phases, "source": LIMIT_SOURCE}
    return req
