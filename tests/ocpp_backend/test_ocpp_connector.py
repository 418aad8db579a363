"""An OCPP wallbox connector reported onward: the simulated wallbox drives our kernel
through our central system (tests/ocpp's rig), and the same session reaches the test
CSMS, its exact energy included. Both sides in both versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.everest import StopTransactionReason, StopTransactionRequest
from controller.ocpp.backend.client import CsmsClient
from controller.ocpp.backend.settings import csms_settings
from tests.ocpp.conftest import open_rig
from tests.ocpp.test_session import start_charging

from .csms import TestCsms


@pytest.mark.parametrize("wallbox", ["1.6", "2.0.1"])
async def test_an_ocpp_wallbox_session_reaches_the_csms(
    tmp_path: Path, version: str, wallbox: str, socket_enabled: None
) -> None:
    csms = TestCsms(version)
    await csms.start()
    try:
        async with open_rig(tmp_path, wallbox) as rig:
            settings = csms_settings(
                {"url": csms.url, "charge_point_id": "CP1", "version": version}, ["evse1"]
            )
            client = CsmsClient({"evse1": rig.manager}, settings, tmp_path / "csms.db")
            await client.start()
            try:
                assert await client.wait_for(client.delivered)
                await start_charging(rig)
                await rig.turn(1800)
                stop = StopTransactionRequest(reason=StopTransactionReason.Local)
                await rig.manager.stop_transaction(stop)
                await rig.turn(1)
                rig.station.unplug()
                await rig.turn(1)
                assert await client.wait_for(client.delivered)
            finally:
                await client.stop()
            record = rig.manager.history(1)[0]
    finally:
        await csms.stop()
    boot = csms.of("BootNotification")[0]
    if version == "1.6":
        assert boot["charge_point_serial_number"] == rig.link.identity.serial
        (start,) = csms.of("StartTransaction")
        (stop_tx,) = csms.of("StopTransaction")
        assert start["meter_start"] == record.start_energy_Wh
        assert stop_tx["meter_stop"] == record.stop_energy_Wh
        assert stop_tx["reason"] == "Local"
    else:
        assert boot["charging_station"]["serial_number"] == rig.link.identity.serial
        events = csms.of("TransactionEvent")
        assert events[0]["event_type"] == "Started"
        assert events[-1]["event_type"] == "Ended"
        assert events[-1]["transaction_info"]["transaction_id"] == record.session_id
        first = events[0]["meter_value"][0]["sampled_value"][0]
        last = events[-1]["meter_value"][0]["sampled_value"][0]
        assert first["measurand"] == last["measurand"] == "Energy.Active.Import.Register"
        assert first["value"] == record.start_energy_Wh
        assert last["value"] == record.stop_energy_Wh
