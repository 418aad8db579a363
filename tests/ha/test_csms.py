"""Reporting to a charging backend from Home Assistant: the options' "Charging backend"
section starts the controller's CSMS client for the entry (the test CSMS of
tests/ocpp_backend, the ``ocpp`` package's server side, on 127.0.0.1)."""

from __future__ import annotations

import pytest
from homeassistant.components.diagnostics import REDACTED
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.evse_manager.controller.kernel.states import State
from tests.ocpp_backend.csms import TestCsms

from .conftest import poll
from .test_config_flow import options_form

PASSWORD = "s3cret-pass"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_options_report_the_charger_to_a_csms(hass, hass_client, loaded, sim, version):
    csms = TestCsms(version, cp_id="GARAGE-1", password=PASSWORD)
    await csms.start()
    try:
        result = await hass.config_entries.options.async_init(loaded.entry_id)
        bad = {"csms_url": "http://nowhere", "csms_charge_point_id": "GARAGE-1"}
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], options_form(free_charging=True, csms=bad)
        )
        assert result["errors"] == {"base": "invalid_csms"}
        section = {
            "csms_url": csms.url,
            "csms_charge_point_id": "GARAGE-1",
            "csms_version": version,
            "csms_password": PASSWORD,
        }
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], options_form(free_charging=True, csms=section)
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert loaded.runtime_data.csms is not None  # reloaded with the client
        await csms.wait_for(lambda: csms.of("BootNotification") != [], "BootNotification")

        # A session in Home Assistant is the CSMS's transaction.
        sim.station.plug_in()
        sim.station.draw_power(16.0, 3)
        await poll(hass, loaded, sim, steps=8)
        assert loaded.runtime_data.manager.state is State.Charging
        started = "StartTransaction" if version == "1.6" else "TransactionEvent"
        await csms.wait_for(lambda: csms.of(started) != [], started)

        # The password is never shown again: an empty field keeps it.
        result = await hass.config_entries.options.async_init(loaded.entry_id)
        kept = {k: v for k, v in section.items() if k != "csms_password"}
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], options_form(free_charging=True, csms=kept)
        )
        assert result["data"]["csms_password"] == PASSWORD
        await hass.async_block_till_done()
        assert csms.refused_logins == 0
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded)
        assert diagnostics["entry"]["options"]["csms_password"] == REDACTED
        assert diagnostics["entry"]["options"]["csms_url"] == REDACTED
    finally:
        await csms.stop()
