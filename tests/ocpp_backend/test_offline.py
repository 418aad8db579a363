"""The CSMS away: transaction messages wait (durably, across a controller restart) and
arrive in order once it is back; the rest is dropped, as EVerest's OCPP queue does.
Also: periodic meter values, a refused token, a refused login."""

from __future__ import annotations

from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

from controller.kernel.states import State
from controller.ocpp.backend import client as client_module

from .conftest import TOKEN, Rig, backend_and_simulator, controller_for, open_rig
from .csms import TestCsms

REGISTER = "Energy.Active.Import.Register"
TX_ACTIONS = ("StartTransaction", "StopTransaction", "MeterValues", "TransactionEvent")


def after_last_boot(csms: TestCsms) -> list[tuple[str, dict[str, Any]]]:
    boots = [i for i, (a, _) in enumerate(csms.messages) if a == "BootNotification"]
    return [m for m in csms.messages[boots[-1] + 1 :] if m[0] != "Heartbeat"]


def registers(action: str, payload: dict[str, Any]) -> list[Decimal]:
    entries = payload.get("meter_value") or payload.get("transaction_data") or []
    return [
        Decimal(str(s["value"]))
        for entry in entries
        for s in entry["sampled_value"]
        if s["measurand"] == REGISTER
    ]


async def test_csms_down_mid_transaction(tmp_path: Path, version: str, socket_enabled: None):
    async with open_rig(tmp_path, version, meter_interval_s=1) as rig:
        await rig.charge()
        await rig.delivered()
        await rig.csms.stop()
        await rig.client.wait_for(lambda: not rig.client.online)
        await rig.energy_after(600)
        outbox = rig.client.outbox
        assert outbox is not None
        await rig.client.wait_for(lambda: outbox.durable >= 2)  # meter values, offline
        await rig.unplug()
        queued = outbox.durable
        assert len(outbox) == queued  # the statuses were not queued while offline
        before = len(rig.csms.messages)

        await rig.csms.start()  # back, on the same port
        await rig.delivered()
        later = after_last_boot(rig.csms)
        assert len(rig.csms.messages) > before
        transactional = [m for m in later if m[0] in TX_ACTIONS]
        assert len(transactional) >= queued
        assert later[: len(transactional)] == transactional  # the backlog first, in order
        stop_Wh = rig.events("TransactionFinished")[0].transaction_finished.meter_value
        final = Decimal(repr(stop_Wh.energy_Wh_import.total))
        values = [v for m in transactional for v in registers(*m)]
        assert values == sorted(values)
        assert values[-1] == final
        if version == "1.6":
            assert transactional[-1][0] == "StopTransaction"
            assert transactional[-1][1]["transaction_id"] == rig.csms.last_tx == 1
            assert {m[1]["transaction_id"] for m in transactional} == {1}
            assert rig.csms.statuses()[-1] == "Available"
        else:
            events = rig.csms.of("TransactionEvent")
            assert [e["seq_no"] for e in events] == list(range(len(events)))
            assert events[-1]["event_type"] == "Ended"
            assert rig.csms.statuses()[-1] == "Available"


async def test_queue_survives_a_controller_restart(
    tmp_path: Path, version: str, socket_enabled: None
):
    async with backend_and_simulator(version) as (clock, sim, csms):
        await csms.stop()  # the port is known; the CSMS is away from the start
        async with controller_for(tmp_path, sim, csms, clock) as (controller, updates):
            rig = Rig(clock, sim, csms, controller, updates)
            await rig.charge()
            await rig.energy_after(900)
            await rig.unplug()
            outbox = rig.client.outbox
            assert outbox is not None
            assert outbox.durable >= 2  # Start and Stop (2.0.1: with the Updated between)
            queued = outbox.durable
            finished = rig.events("TransactionFinished")[0].transaction_finished
            started = rig.events("TransactionStarted")[0].transaction_started
        assert csms.messages == []

        await csms.start()
        async with controller_for(tmp_path, sim, csms, clock) as (controller, updates):
            rig = Rig(clock, sim, csms, controller, updates)
            await rig.delivered()
            transactional = [m for m in csms.messages if m[0] in TX_ACTIONS]
            assert len(transactional) == queued
            first, last = transactional[0][1], transactional[-1][1]
            if version == "1.6":
                assert transactional[0][0] == "StartTransaction"
                assert transactional[-1][0] == "StopTransaction"
                assert first["id_tag"] == TOKEN
                assert first["meter_start"] == round(started.meter_value.energy_Wh_import.total)
                assert last["meter_stop"] == round(finished.meter_value.energy_Wh_import.total)
                # The Stop queued before the CSMS numbered the transaction carries its number.
                assert last["transaction_id"] == csms.last_tx == 1
            else:
                assert first["event_type"] == "Started"
                assert last["event_type"] == "Ended"
                assert [m[1]["seq_no"] for m in transactional] == list(range(queued))
                final = Decimal(repr(finished.meter_value.energy_Wh_import.total))
                assert registers(*transactional[-1])[-1] == final
            assert rig.client.outbox is not None
            assert rig.client.outbox.durable == 0


async def test_meter_values_during_the_transaction(
    tmp_path: Path, version: str, socket_enabled: None
):
    async with open_rig(tmp_path, version, meter_interval_s=1) as rig:
        await rig.charge()
        energy = await rig.energy_after(300)
        published = {
            Decimal(repr(u.value.energy_Wh_import.total))
            for u in rig.updates
            if u.var == "powermeter"
        }

        def periodic() -> list[dict[str, Any]]:
            if version == "1.6":
                return rig.csms.of("MeterValues")
            return [
                e
                for e in rig.csms.of("TransactionEvent")
                if e["trigger_reason"] == "MeterValuePeriodic"
            ]

        await rig.csms.wait_for(
            lambda: any(registers("", p) == [Decimal(repr(energy))] for p in periodic()),
            "a periodic sample of the advanced register",
        )
        sample = next(p for p in periodic() if registers("", p) == [Decimal(repr(energy))])
        assert registers("", sample)[0] in published
        values = sample["meter_value"][0]["sampled_value"]
        measurands = {(s["measurand"], s.get("phase")) for s in values}
        assert {("Current.Import", p) for p in ("L1", "L2", "L3")} <= measurands
        assert ("Power.Active.Import", None) in measurands
        if version == "1.6":
            assert sample["transaction_id"] == rig.csms.last_tx
            assert {s["context"] for s in values} == {"Sample.Periodic"}


async def test_token_refused_by_the_csms_stops_the_transaction(
    tmp_path: Path, version: str, socket_enabled: None
):
    async with open_rig(tmp_path, version) as rig:
        rig.csms.refuse.add(TOKEN)
        rig.station.plug_in()
        rig.station.draw_power(16.0, 3)
        await rig.until(lambda: rig.manager.state is State.WaitingForAuthentication, "auth")
        await rig.authorize()
        await rig.until(lambda: rig.manager.state is State.Finished, "deauthorized")
        finished = rig.events("TransactionFinished")[0].transaction_finished
        assert finished.reason.value == "DeAuthorized"
        await rig.delivered()
        if version == "1.6":
            assert rig.csms.of("StopTransaction")[0]["reason"] == "DeAuthorized"
        else:
            ended = rig.csms.of("TransactionEvent")[-1]
            assert ended["transaction_info"]["stopped_reason"] == "DeAuthorized"


async def test_a_presented_token_is_decided_by_the_csms(
    tmp_path: Path, version: str, socket_enabled: None
):
    async with open_rig(tmp_path, version) as rig:
        rig.csms.refuse.add("BADCAFE")
        rig.station.plug_in()
        rig.station.draw_power(16.0, 3)
        await rig.until(lambda: rig.manager.state is State.WaitingForAuthentication, "auth")

        def card(value: str) -> dict[str, Any]:
            return {"id_token": {"value": value, "type": "ISO14443"}, "authorization_type": "RFID"}

        assert await rig.client.present_token(1, card("BADCAFE")) == "Invalid"
        assert rig.manager.state is State.WaitingForAuthentication
        assert await rig.client.present_token(1, card(TOKEN)) == "Accepted"
        await rig.until(lambda: rig.manager.state is State.Charging, "charging")
        asked = rig.csms.of("Authorize")
        if version == "1.6":
            assert [a["id_tag"] for a in asked] == ["BADCAFE", TOKEN]
        else:
            assert [a["id_token"]["id_token"] for a in asked] == ["BADCAFE", TOKEN]
        await rig.delivered()
        assert len(rig.events("TransactionStarted")) == 1


async def test_wrong_password_is_refused_and_reported(
    tmp_path: Path, version: str, socket_enabled: None
):
    async with AsyncExitStack() as stack:
        clock, sim, csms = await stack.enter_async_context(backend_and_simulator(version))
        controller, updates = await stack.enter_async_context(
            controller_for(tmp_path, sim, csms, clock, password="wrong-password")
        )
        rig = Rig(clock, sim, csms, controller, updates)
        await csms.wait_for(lambda: csms.refused_logins >= 2, "refused logins")
        assert await rig.client.wait_for(lambda: rig.client.last_error is not None)
        assert "HTTP 401" in (rig.client.last_error or "")
        assert not rig.client.online
        assert csms.messages == []
        await rig.charge()  # the connector itself is unaffected


async def test_a_transaction_message_refused_with_a_callerror_is_dropped_after_retries(
    tmp_path: Path, version: str, socket_enabled: None, monkeypatch: Any
):
    monkeypatch.setattr(client_module, "RETRY_CALLERROR_S", 0.01)
    async with open_rig(tmp_path, version, transaction_message_attempts=2) as rig:
        action = "StartTransaction" if version == "1.6" else "TransactionEvent"
        rig.csms.fail.add(action)
        await rig.charge()
        await rig.delivered()  # tried twice, then given up: the queue moves on
        assert len(rig.csms.of(action)) >= 2
        rig.csms.fail.clear()
        await rig.unplug()
        await rig.delivered()
        assert rig.manager.running
        assert rig.csms.statuses()[-1] == "Available"
        if version == "1.6":
            # The Stop of a transaction the CSMS never numbered has nothing to name.
            assert rig.csms.of("StopTransaction") == []
        else:
            assert rig.csms.of(action)[-1]["event_type"] == "Ended"
