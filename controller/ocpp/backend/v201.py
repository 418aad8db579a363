"""OCPP 2.0.1 towards the CSMS: our connectors are EVSEs (one connector each).

A transaction is ours to number (TransactionEvent transactionId: our session id) and
every event of it carries the next ``seqNo`` (E01.FR.15), kept across restarts.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call, call_result
from ocpp.v201.enums import ReasonEnumType, TriggerReasonEnumType

from ..central import after, now_iso, on
from ..link import Status
from .base import Answer, Identity, StationSession, clip, known, parse_expiry
from .outbox import Message, Outbox
from .profiles import Profile, profile
from .report import Meter, Report, StatusReport, TxEnded, TxStarted, TxUpdated

_LOGGER = logging.getLogger(__name__)
TRIGGERS = ("BootNotification", "Heartbeat", "StatusNotification", "MeterValues")
CONNECTOR_STATUS = {
    Status.Available: "Available",
    Status.Reserved: "Reserved",
    Status.Unavailable: "Unavailable",
    Status.Faulted: "Faulted",
}  # every other 1.6 status is Occupied
CHARGING_STATE = {
    Status.Charging: "Charging",
    Status.SuspendedEV: "SuspendedEV",
    Status.SuspendedEVSE: "SuspendedEVSE",
    Status.Available: "Idle",
}  # every other one: EVConnected
# How our stop reasons start the Ended event (2.0.1 TriggerReasonEnumType).
STOP_TRIGGER = {
    "Remote": "RemoteStop",
    "EVDisconnected": "EVCommunicationLost",
    "Local": "StopAuthorized",
    "DeAuthorized": "Deauthorized",
    "EnergyLimitReached": "EnergyLimitReached",
    "TimeLimitReached": "TimeLimitReached",
    "UnlockCommand": "UnlockCommand",
    "HardReset": "ResetCommand",
    "SoftReset": "ResetCommand",
}
STOP_REASON = {"HardReset": "ImmediateReset", "SoftReset": "ImmediateReset"}
# EVerest IdTokenType values are 2.0.1's IdTokenEnumType.
TOKEN_TYPES = (
    "Central",
    "eMAID",
    "ISO14443",
    "ISO15693",
    "KeyCode",
    "Local",
    "MacAddress",
    "NoAuthorization",
)


def meter_value(meter: Meter, context: str) -> list[dict[str, Any]]:
    """One meterValue entry (2.0.1 SampledValue: value is a number; Wh stay exact)."""
    samples = []
    for measurand, phase, value, unit in meter.samples():
        number = float(value)
        sample = {
            "value": int(number) if number.is_integer() else number,
            "context": context,
            "measurand": measurand,
            "unit_of_measure": {"unit": unit},
        }
        if phase is not None:
            sample["phase"] = phase
        samples.append(sample)
    return [{"timestamp": meter.timestamp, "sampled_value": samples}]


def _token(value: str, kind: str | None) -> dict[str, Any]:
    """An IdTokenType (EVerest's token types are 2.0.1's names)."""
    return {"id_token": clip(value, 36), "type": kind if kind in TOKEN_TYPES else "Local"}


def charging_state(status: Status) -> str:
    return CHARGING_STATE.get(status, "EVConnected")


class Codec201:
    """OCPP 2.0.1 messages."""

    subprotocol = "ocpp2.0.1"

    def __init__(self) -> None:
        self._status: dict[int, str] = {}  # connector status last queued, per EVSE
        self.remote_starts: dict[int, int] = {}  # EVSE -> RequestStart's remoteStartId

    def connected(self) -> None:
        """A new connection: every status is news again."""
        self._status.clear()

    def boot(self, identity: Identity) -> Any:
        station: dict[str, Any] = {
            "vendor_name": clip(identity.vendor, 50),
            "model": clip(identity.model, 20),
        }
        if identity.serial:
            station["serial_number"] = clip(identity.serial, 25)
        if identity.firmware:
            station["firmware_version"] = clip(identity.firmware, 50)
        return call.BootNotification(charging_station=station, reason="PowerUp")

    def heartbeat(self) -> Any:
        return call.Heartbeat()

    def authorize(self, id_tag: str) -> Any:
        return call.Authorize(id_token={"id_token": clip(id_tag, 36), "type": "ISO14443"})

    def authorization_status(self, result: Any) -> str:
        info = getattr(result, "id_token_info", None) or {}
        return str(info.get("status", "Invalid"))

    def encode(self, report: Report, outbox: Outbox) -> None:
        match report:
            case StatusReport():
                status = CONNECTOR_STATUS.get(report.status, "Occupied")
                if self._status.get(report.connector) == status and not report.triggered:
                    return  # Preparing -> Charging is Occupied -> Occupied
                self._status[report.connector] = status
                fields = {
                    "timestamp": report.timestamp or now_iso(),
                    "connector_status": status,
                    "evse_id": report.connector,
                    "connector_id": 1,
                }
                outbox.push("StatusNotification", fields, durable=False)
            case TxStarted():
                event = self._event(outbox, "Started", report.tx, report.connector, report.meter)
                event["trigger_reason"] = "RemoteStart" if report.remote else "Authorized"
                remote_start_id = self.remote_starts.pop(report.connector, None)
                if report.remote and remote_start_id is not None:  # F01.FR.26
                    event["transaction_info"]["remote_start_id"] = remote_start_id
                event["transaction_info"]["charging_state"] = charging_state(report.status)
                event["id_token"] = _token(report.id_tag, report.token_type)
                event["meter_value"] = meter_value(report.meter, "Transaction.Begin")
                if report.reservation_id is not None:
                    event["reservation_id"] = report.reservation_id
                outbox.push("TransactionEvent", event, durable=True)
            case TxUpdated(tx=str()):
                self.meter_values(report, outbox)
            case TxEnded():
                event = self._event(outbox, "Ended", report.tx, report.connector, report.meter)
                event["trigger_reason"] = known(
                    STOP_TRIGGER.get(report.reason, "AbnormalCondition"),
                    TriggerReasonEnumType,
                    "AbnormalCondition",
                )
                reason = STOP_REASON.get(report.reason, report.reason)
                event["transaction_info"]["stopped_reason"] = known(reason, ReasonEnumType, "Other")
                event["meter_value"] = meter_value(report.meter, "Transaction.End")
                if report.id_tag is not None:
                    event["id_token"] = _token(report.id_tag, report.token_type)
                outbox.push("TransactionEvent", event, durable=True)
                outbox.forget(f"seq:{report.tx}")

    def _event(
        self, outbox: Outbox, kind: str, tx: str, connector: int, meter: Meter
    ) -> dict[str, Any]:
        """The fields every TransactionEvent has; the seqNo counted on durably."""
        seq = outbox.load(f"seq:{tx}") or 0
        outbox.save(f"seq:{tx}", seq + 1)
        return {
            "event_type": kind,
            "timestamp": meter.timestamp,
            "seq_no": seq,
            "transaction_info": {"transaction_id": tx},
            "evse": {"id": connector, "connector_id": 1},
        }

    def meter_values(self, report: TxUpdated, outbox: Outbox) -> None:
        if report.tx is None:  # outside a transaction: MeterValues, not queued offline
            fields = {
                "evse_id": report.connector,
                "meter_value": meter_value(report.meter, "Trigger"),
            }
            outbox.push("MeterValues", fields, durable=False)
            return
        event = self._event(outbox, "Updated", report.tx, report.connector, report.meter)
        event["trigger_reason"] = report.trigger
        event["transaction_info"]["charging_state"] = charging_state(report.status)
        context = "Sample.Periodic" if report.trigger == "MeterValuePeriodic" else "Trigger"
        if report.trigger != "ChargingStateChanged":
            event["meter_value"] = meter_value(report.meter, context)
        outbox.push("TransactionEvent", event, durable=True)

    def prepare(self, message: Message, outbox: Outbox) -> Any:
        return getattr(call, message.action)(**message.payload)

    def answered(self, message: Message, result: Any, outbox: Outbox) -> Answer:
        info = getattr(result, "id_token_info", None) or {}
        event = message.payload
        # E05: a token the CSMS refuses ends the transaction (StopTxOnInvalidId).
        refused = info.get("status") not in (None, "Accepted")
        if message.action == "TransactionEvent" and event.get("event_type") != "Ended" and refused:
            return Answer(deauthorize=event["transaction_info"]["transaction_id"])
        return Answer()

    def our_tx(self, transaction_id: Any, outbox: Outbox, open_txs: list[str]) -> str | None:
        return transaction_id if transaction_id in open_txs else None


class Session201(StationSession, ChargePoint201):  # type: ignore[misc]
    """The charging station as the CSMS sees it (OCPP 2.0.1)."""

    version = "2.0.1"

    @on("RequestStartTransaction")
    async def on_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, **kw: Any
    ) -> Any:
        control = self.client.control
        token = id_token.get("id_token") if isinstance(id_token, dict) else None
        connector = control.connector_for_start(kw.get("evse_id"), str(token or ""))
        ok = connector is not None and isinstance(token, str)
        if ok and connector is not None:
            self.client.codec.remote_starts[connector] = remote_start_id  # type: ignore[attr-defined]
        ok = ok and await control.remote_start(connector, token)  # type: ignore[arg-type]
        if ok and connector is not None and isinstance(kw.get("charging_profile"), dict):
            parsed = self._profile(connector, kw["charging_profile"])
            if parsed is not None:
                await control.set_profile(parsed)
        return call_result.RequestStartTransaction(status="Accepted" if ok else "Rejected")

    @on("RequestStopTransaction")
    async def on_request_stop(self, transaction_id: str, **_: Any) -> Any:
        control = self.client.control
        connector = control.connector_of(transaction_id)
        ok = connector is not None and await control.stop_transaction(connector, "Remote")
        return call_result.RequestStopTransaction(status="Accepted" if ok else "Rejected")

    @on("ChangeAvailability")
    async def on_change_availability(self, operational_status: str, **kw: Any) -> Any:
        evse = kw.get("evse") or {}
        operative = operational_status == "Operative"
        answer = await self.client.control.change_availability(evse.get("id", 0), operative)
        return call_result.ChangeAvailability(status=answer or "Rejected")

    @on("SetChargingProfile")
    async def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **_: Any
    ) -> Any:
        parsed = self._profile(evse_id, charging_profile)
        ok = parsed is not None and await self.client.control.set_profile(parsed)
        return call_result.SetChargingProfile(status="Accepted" if ok else "Rejected")

    def _profile(self, connector: int, raw: dict[str, Any]) -> Profile | None:
        schedules = raw.get("charging_schedule") or [{}]
        try:
            return profile(
                raw, connector, schedules[0], raw.get("id"), self.client.control.clock.now()
            )
        except (KeyError, TypeError, ValueError, IndexError) as err:
            _LOGGER.warning("CSMS: charging profile refused: %s", err)
            return None

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(self, **kw: Any) -> Any:
        criteria = kw.get("charging_profile_criteria") or {}

        def match(p: Profile) -> bool:
            return (
                kw.get("charging_profile_id") in (None, p.id)
                and criteria.get("evse_id") in (None, p.connector)
                and criteria.get("charging_profile_purpose") in (None, p.purpose)
                and criteria.get("stack_level") in (None, p.stack_level)
            )

        cleared = await self.client.control.clear_profiles(match)
        return call_result.ClearChargingProfile(status="Accepted" if cleared else "Unknown")

    @on("ReserveNow")
    async def on_reserve_now(
        self, id: int, expiry_date_time: str, id_token: dict[str, Any], **kw: Any
    ) -> Any:
        """ReserveNow (H01): an EVSE, or without evseId the only EVSE there is (a
        reservation for any EVSE of a station with several is Rejected)."""
        control = self.client.control
        evse = kw.get("evse_id")
        if evse is None and len(control.reports) == 1:
            evse = next(iter(control.reports))
        expiry = parse_expiry(expiry_date_time)
        token = id_token.get("id_token") if isinstance(id_token, dict) else None
        if evse is None or expiry is None or not isinstance(token, str):
            return call_result.ReserveNow(status="Rejected")
        answer = await control.reserve_now(evse, id, token, expiry)
        return call_result.ReserveNow(status=answer)

    @on("CancelReservation")
    async def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        cancelled = await self.client.control.cancel_reservation(reservation_id)
        return call_result.CancelReservation(status="Accepted" if cancelled else "Rejected")

    @on("UnlockConnector")
    async def on_unlock_connector(self, evse_id: int, connector_id: int, **_: Any) -> Any:
        answer = await self.client.control.unlock(evse_id)
        if answer == "NotSupported":
            answer = "UnlockFailed"
        return call_result.UnlockConnector(status=answer)

    @on("Reset")
    def on_reset(self, **_: Any) -> Any:
        return call_result.Reset(status="Accepted")

    @after("Reset")
    def after_reset(self, **_: Any) -> None:
        self.later(self.client.reset("HardReset"))

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, **kw: Any) -> Any:
        if requested_message not in TRIGGERS:
            return call_result.TriggerMessage(status="NotImplemented")
        evse = (kw.get("evse") or {}).get("id")
        if evse is not None and evse not in self.client.control.reports:
            return call_result.TriggerMessage(status="Rejected")
        return call_result.TriggerMessage(status="Accepted")

    @after("TriggerMessage")
    def after_trigger_message(self, requested_message: str, **kw: Any) -> None:
        evse = (kw.get("evse") or {}).get("id")
        if requested_message in TRIGGERS and evse in (None, *self.client.control.reports):
            self.later(self.client.trigger(requested_message, evse))

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        values = self.client.variables()
        results = []
        for item in get_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            entry = {"component": item["component"], "variable": item["variable"]}
            if key in values:
                results.append(
                    entry | {"attribute_status": "Accepted", "attribute_value": values[key]}
                )
            else:
                results.append(entry | {"attribute_status": "UnknownVariable"})
        return call_result.GetVariables(get_variable_result=results)

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for item in set_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            status = self.client.set_variable(key, str(item["attribute_value"]))
            results.append(
                {
                    "attribute_status": status,
                    "component": item["component"],
                    "variable": item["variable"],
                }
            )
        return call_result.SetVariables(set_variable_result=results)

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")
