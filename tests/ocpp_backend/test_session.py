"""A full session on the Modbus simulator, as the test CSMS hears it (1.6J and 2.0.1)."""

from __future__ import annotations

import shutil
import ssl
from decimal import Decimal
from pathlib import Path

import pytest

from controller import app as app_module
from controller.clock import ManualClock
from controller.ocpp.backend.client import CsmsClient
from tests.mqtt.conftest import Certificates

from .conftest import PASSWORD, TOKEN, Rig, controller_for, simulator
from .csms import TestCsms


def subsequence(wanted: list[str], seen: list[str]) -> bool:
    it = iter(seen)
    return all(any(s == w for s in it) for w in wanted)


async def test_boot_identifies_the_charger(rig: Rig) -> None:
    boot = rig.csms.of("BootNotification")
    assert len(boot) == 1
    info = rig.manager.charger_info
    assert info is not None
    if rig.csms.version == "1.6":
        assert boot[0]["charge_point_vendor"] == info.vendor[:20]
        assert boot[0]["charge_point_model"] == info.model[:20]
        assert rig.csms.statuses() == ["Available"]
    else:
        assert boot[0]["charging_station"]["vendor_name"] == info.vendor
        assert rig.csms.statuses() == ["Available"]


async def test_full_session_with_exact_meter_values(rig: Rig) -> None:
    await rig.charge()
    energy = await rig.energy_after(1800)
    await rig.unplug()
    await rig.delivered()

    started = rig.events("TransactionStarted")[0].transaction_started
    finished = rig.events("TransactionFinished")[0].transaction_finished
    start_Wh = started.meter_value.energy_Wh_import.total
    stop_Wh = finished.meter_value.energy_Wh_import.total
    assert stop_Wh == energy > start_Wh
    csms = rig.csms
    if csms.version == "1.6":
        assert subsequence(["Available", "Preparing", "Charging", "Available"], csms.statuses()), (
            csms.statuses()
        )
        (start,) = csms.of("StartTransaction")
        (stop,) = csms.of("StopTransaction")
        assert start["id_tag"] == TOKEN
        assert start["meter_start"] == round(start_Wh)
        assert stop["meter_stop"] == round(stop_Wh)
        assert stop["transaction_id"] == csms.last_tx
        assert stop["reason"] == "EVDisconnected"
        end = stop["transaction_data"][0]["sampled_value"]
        register = next(s for s in end if s["measurand"] == "Energy.Active.Import.Register")
        assert Decimal(register["value"]) == Decimal(repr(stop_Wh))
        assert register["unit"] == "Wh"
        actions = [a for a, _ in csms.messages]
        assert actions.index("StartTransaction") < actions.index("StopTransaction")
    else:
        assert subsequence(["Available", "Occupied", "Available"], csms.statuses())
        events = csms.of("TransactionEvent")
        kinds = [e["event_type"] for e in events]
        assert kinds[0] == "Started"
        assert kinds[-1] == "Ended"
        assert set(kinds[1:-1]) <= {"Updated"}
        assert [e["seq_no"] for e in events] == list(range(len(events)))
        tx = {e["transaction_info"]["transaction_id"] for e in events}
        assert tx == {rig.events("TransactionStarted")[0].uuid}
        assert events[0]["id_token"] == {"id_token": TOKEN, "type": "ISO14443"}
        assert events[-1]["transaction_info"]["stopped_reason"] == "EVDisconnected"
        first = _register(events[0])
        last = _register(events[-1])
        assert first == Decimal(repr(start_Wh))
        assert last == Decimal(repr(stop_Wh))
        charging = [e["transaction_info"].get("charging_state") for e in events[1:-1]]
        assert "Charging" in charging


def _register(event: dict) -> Decimal:
    samples = event["meter_value"][0]["sampled_value"]
    value = next(s["value"] for s in samples if s["measurand"] == "Energy.Active.Import.Register")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
async def test_wss_with_password(tmp_path: Path, version: str, socket_enabled: None) -> None:
    """Security profile 2: TLS to a CSMS with a private CA, and Basic auth."""
    certs = Certificates.make(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(certs.server_cert, certs.server_key)
    csms = TestCsms(version, password=PASSWORD, tls=server)
    clock = ManualClock()
    sim = simulator(clock)
    await sim.start()
    await csms.start()
    try:
        extra = {"cafile": str(certs.ca)}
        async with controller_for(tmp_path, sim, csms, clock, **extra) as (c, _):
            client = next(a for a in c.adapters if isinstance(a, CsmsClient))
            assert await client.wait_for(client.delivered), client.last_error
            assert csms.url.startswith("wss://")
            assert len(csms.of("BootNotification")) == 1
    finally:
        await csms.stop()
        await sim.stop()


async def test_a_connector_without_its_devices_is_unavailable(
    tmp_path: Path, version: str, socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "RETRY_MIN_S", 0.05)
    monkeypatch.setattr(app_module, "RETRY_MAX_S", 0.2)
    clock = ManualClock()
    sim = simulator(clock)  # not started yet: the connector's devices do not answer
    csms = TestCsms(version, password=PASSWORD)
    await csms.start()
    try:
        async with controller_for(tmp_path, sim, csms, clock) as (controller, _):
            await csms.wait_for(lambda: csms.statuses() == ["Unavailable"], "Unavailable")
            await sim.start()
            await csms.wait_for(lambda: csms.statuses()[-1:] == ["Available"], "Available")
            assert controller.managers["evse1"].running
    finally:
        await csms.stop()
        await sim.stop()


async def test_heartbeat_at_the_interval_the_csms_gives(rig: Rig) -> None:
    rig.csms.heartbeat_s = 1
    boots = rig.client.boots
    await rig.client.reset("SoftReset")  # a new connection, a new BootNotification answer
    assert await rig.client.wait_for(lambda: rig.client.boots > boots)
    assert rig.client.heartbeat_interval_s == 1
    await rig.csms.wait_for(lambda: bool(rig.csms.of("Heartbeat")), "a heartbeat")
