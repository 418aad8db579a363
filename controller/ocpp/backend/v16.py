"""OCPP 1.6J towards the CSMS: our connectors are the connectors of one charge point.

The CSMS numbers transactions (StartTransaction.conf transactionId); messages queued
before that answer name our session id and get the CSMS's number when they are sent,
as libocpp's message queue does with its transaction id placeholder.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Reason

from ..central import after, now_iso, on
from .base import Answer, Identity, StationSession, clip, known, parse_expiry
from .outbox import Message, Outbox
from .profiles import Profile, profile
from .report import Meter, Report, StatusReport, TxEnded, TxStarted, TxUpdated

_LOGGER = logging.getLogger(__name__)
TX_KEY = "_tx"  # our session id in a queued payload, replaced by the CSMS's number
TRIGGERS = ("BootNotification", "Heartbeat", "StatusNotification", "MeterValues")


def meter_value(meter: Meter, context: str) -> list[dict[str, Any]]:
    """One meterValue entry with every measurand we have (1.6 SampledValue: value is a
    string, so the register is exact)."""
    samples = []
    for measurand, phase, value, unit in meter.samples():
        sample = {"value": value, "context": context, "measurand": measurand, "unit": unit}
        if phase is not None:
            sample["phase"] = phase
        samples.append(sample | {"location": "Outlet"})
    return [{"timestamp": meter.timestamp, "sampled_value": samples}]


class Codec16:
    """OCPP 1.6J messages."""

    subprotocol = "ocpp1.6"

    def connected(self) -> None:
        """A new connection (nothing to forget in 1.6)."""

    def boot(self, identity: Identity) -> Any:
        return call.BootNotification(
            charge_point_vendor=clip(identity.vendor, 20),
            charge_point_model=clip(identity.model, 20),
            charge_point_serial_number=clip(identity.serial, 25),
            firmware_version=clip(identity.firmware, 50),
        )

    def heartbeat(self) -> Any:
        return call.Heartbeat()

    def authorize(self, id_tag: str) -> Any:
        return call.Authorize(id_tag=clip(id_tag, 20))

    def authorization_status(self, result: Any) -> str:
        info = getattr(result, "id_tag_info", None) or {}
        return str(info.get("status", "Invalid"))

    def encode(self, report: Report, outbox: Outbox) -> None:
        match report:
            case StatusReport():
                fields = {
                    "connector_id": report.connector,
                    "error_code": report.error_code,
                    "status": report.status.value,
                    "timestamp": report.timestamp or now_iso(),
                }
                if report.info:
                    fields["info"] = report.info
                outbox.push("StatusNotification", fields, durable=False)
            case TxStarted():
                fields = {
                    "connector_id": report.connector,
                    "id_tag": clip(report.id_tag, 20),
                    "meter_start": report.meter.wh,
                    "timestamp": report.meter.timestamp,
                    TX_KEY: report.tx,
                }
                if report.reservation_id is not None:
                    fields["reservation_id"] = report.reservation_id
                outbox.push("StartTransaction", fields, durable=True)
            case TxUpdated(trigger="MeterValuePeriodic"):
                self.meter_values(report, outbox)
            case TxEnded():
                fields = {
                    "meter_stop": report.meter.wh,
                    "timestamp": report.meter.timestamp,
                    "reason": known(report.reason, Reason, "Other"),
                    "transaction_data": meter_value(report.meter, "Transaction.End"),
                    TX_KEY: report.tx,
                }
                if report.id_tag is not None:
                    fields["id_tag"] = clip(report.id_tag, 20)
                outbox.push("StopTransaction", fields, durable=True)

    def meter_values(self, report: TxUpdated, outbox: Outbox) -> None:
        context = "Sample.Periodic" if report.trigger == "MeterValuePeriodic" else "Trigger"
        fields: dict[str, Any] = {
            "connector_id": report.connector,
            "meter_value": meter_value(report.meter, context),
        }
        if report.tx is not None:
            fields[TX_KEY] = report.tx
        outbox.push("MeterValues", fields, durable=report.tx is not None)

    def prepare(self, message: Message, outbox: Outbox) -> Any:
        fields = dict(message.payload)
        tx = fields.pop(TX_KEY, None)
        if tx is not None and message.action != "StartTransaction":
            number = outbox.load(f"tx:{tx}")
            if number is None:  # its Start never got an answer: nothing to attach it to
                _LOGGER.warning("CSMS: %s of %s dropped: no transaction id", message.action, tx)
                return None
            fields["transaction_id"] = number
        return getattr(call, message.action)(**fields)

    def answered(self, message: Message, result: Any, outbox: Outbox) -> Answer:
        tx = message.payload.get(TX_KEY)
        if message.action == "StartTransaction" and tx is not None:
            outbox.save(f"tx:{tx}", int(result.transaction_id))
            status = self.authorization_status(result)
            # StopTransactionOnInvalidId (default true): a refused token ends it.
            if status != "Accepted":
                return Answer(deauthorize=tx)
        elif message.action == "StopTransaction" and tx is not None:
            outbox.forget(f"tx:{tx}")
        return Answer()

    def our_tx(self, number: int, outbox: Outbox, open_txs: list[str]) -> str | None:
        """Our session id for the CSMS's transaction number."""
        return next((tx for tx in open_txs if outbox.load(f"tx:{tx}") == number), None)


class Session16(StationSession, ChargePoint16):  # type: ignore[misc]
    """The charge point as the CSMS sees it (OCPP 1.6J)."""

    version = "1.6"

    @on("RemoteStartTransaction")
    async def on_remote_start(self, id_tag: str, **kw: Any) -> Any:
        control = self.client.control
        connector = control.connector_for_start(kw.get("connector_id"), id_tag)
        ok = connector is not None and await control.remote_start(connector, id_tag)
        if ok and connector is not None and isinstance(kw.get("charging_profile"), dict):
            parsed = self._profile(connector, kw["charging_profile"])
            if parsed is not None:
                await control.set_profile(parsed)
        return call_result.RemoteStartTransaction(status="Accepted" if ok else "Rejected")

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        control = self.client.control
        open_txs = [r.tx for r in control.reports.values() if r.tx is not None]
        outbox = self.client.outbox
        tx = None if outbox is None else self.client.codec.our_tx(transaction_id, outbox, open_txs)
        connector = control.connector_of(tx) if tx is not None else None
        ok = connector is not None and await control.stop_transaction(connector, "Remote")
        return call_result.RemoteStopTransaction(status="Accepted" if ok else "Rejected")

    @on("ChangeAvailability")
    async def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        answer = await self.client.control.change_availability(connector_id, type == "Operative")
        return call_result.ChangeAvailability(status=answer or "Rejected")

    @on("SetChargingProfile")
    async def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> Any:
        parsed = self._profile(connector_id, cs_charging_profiles)
        ok = parsed is not None and await self.client.control.set_profile(parsed)
        return call_result.SetChargingProfile(status="Accepted" if ok else "Rejected")

    def _profile(self, connector: int, raw: dict[str, Any]) -> Profile | None:
        try:
            return profile(
                raw,
                connector,
                raw.get("charging_schedule") or {},
                raw.get("charging_profile_id"),
                self.client.control.clock.now(),
            )
        except (KeyError, TypeError, ValueError) as err:
            _LOGGER.warning("CSMS: charging profile refused: %s", err)
            return None

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(self, **kw: Any) -> Any:
        def match(p: Profile) -> bool:
            return (
                kw.get("id") in (None, p.id)
                and kw.get("connector_id") in (None, p.connector)
                and kw.get("charging_profile_purpose") in (None, p.purpose)
                and kw.get("stack_level") in (None, p.stack_level)
            )

        cleared = await self.client.control.clear_profiles(match)
        return call_result.ClearChargingProfile(status="Accepted" if cleared else "Unknown")

    @on("ReserveNow")
    async def on_reserve_now(
        self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int, **_: Any
    ) -> Any:
        """ReserveNow (connector 0 is not supported: ReserveConnectorZeroSupported false)."""
        expiry = parse_expiry(expiry_date)
        if connector_id == 0 or expiry is None:
            return call_result.ReserveNow(status="Rejected")
        answer = await self.client.control.reserve_now(connector_id, reservation_id, id_tag, expiry)
        return call_result.ReserveNow(status=answer)

    @on("CancelReservation")
    async def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        cancelled = await self.client.control.cancel_reservation(reservation_id)
        return call_result.CancelReservation(status="Accepted" if cancelled else "Rejected")

    @on("UnlockConnector")
    async def on_unlock_connector(self, connector_id: int, **_: Any) -> Any:
        answer = await self.client.control.unlock(connector_id)
        return call_result.UnlockConnector(
            status="NotSupported" if answer == "UnknownConnector" else answer
        )

    @on("Reset")
    def on_reset(self, **_: Any) -> Any:
        return call_result.Reset(status="Accepted")

    @after("Reset")
    def after_reset(self, **kw: Any) -> None:
        self.later(self.client.reset("HardReset" if kw.get("type") == "Hard" else "SoftReset"))

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, **kw: Any) -> Any:
        if requested_message not in TRIGGERS:
            return call_result.TriggerMessage(status="NotImplemented")
        connector = kw.get("connector_id")
        if connector is not None and connector not in self.client.control.reports:
            return call_result.TriggerMessage(status="Rejected")
        return call_result.TriggerMessage(status="Accepted")

    @after("TriggerMessage")
    def after_trigger_message(self, requested_message: str, **kw: Any) -> None:
        connector = kw.get("connector_id")
        if requested_message in TRIGGERS and connector in (None, *self.client.control.reports):
            self.later(self.client.trigger(requested_message, connector))

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        values = self.client.configuration()
        wanted = key or list(values)
        return call_result.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": k not in self.client.WRITABLE, "value": values[k]}
                for k in wanted
                if k in values
            ],
            unknown_key=[k for k in wanted if k not in values] or None,
        )

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        return call_result.ChangeConfiguration(status=self.client.configure(key, value))

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")
