"""Every command as a service: results as responses, bad arguments as clear errors."""

from __future__ import annotations

import pytest
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_manager.const import DOMAIN
from custom_components.evse_manager.controller.commands import COMMANDS
from custom_components.evse_manager.controller.kernel.states import State

from .conftest import CHARGER, call, entry_data, poll, set_up

TOKEN = {"id_token": {"value": "DEADBEEF", "type": "ISO14443"}, "authorization_type": "RFID"}


async def charging(hass, entry, sim):
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, entry, sim, steps=8)
    assert entry.runtime_data.manager.state is State.Charging


async def test_every_command_is_a_service(hass, loaded):
    assert set(hass.services.async_services_for_domain(DOMAIN)) == {*COMMANDS, "simulate_ev"}


async def test_get_evse_returns_the_evse(hass, loaded):
    response = await call(hass, loaded, "get_evse", response=True)
    evse = response["result"]
    assert evse["id"] == 1
    assert evse["connectors"][0]["id"] == 1


async def test_pause_resume_stop_during_a_session(hass, loaded, sim):
    await charging(hass, loaded, sim)
    assert await call(hass, loaded, "pause_charging", response=True) == {"result": True}
    await poll(hass, loaded, sim, steps=2)
    assert loaded.runtime_data.manager.state is State.ChargingPausedEVSE
    assert await call(hass, loaded, "resume_charging", response=True) == {"result": True}
    await poll(hass, loaded, sim, steps=4)
    assert loaded.runtime_data.manager.state is State.Charging
    result = await call(hass, loaded, "stop_transaction", True, request={"reason": "Local"})
    assert result == {"result": True}
    await poll(hass, loaded, sim, steps=2)
    assert loaded.runtime_data.manager.state is State.Finished


async def test_enable_disable_and_enforce_limits(hass, loaded, sim, freezer):
    await charging(hass, loaded, sim)
    source = {"enable_source": "FirmwareUpdate", "enable_state": "Disable", "enable_priority": 5}
    result = await call(hass, loaded, "enable_disable", True, connector_id=0, cmd_source=source)
    assert result == {"result": False}
    await poll(hass, loaded, sim, steps=3)
    assert sim.station.power_W() == 0
    source["enable_state"] = "Unassigned"
    await call(hass, loaded, "enable_disable", connector_id=0, cmd_source=source)
    await call(
        hass,
        loaded,
        "enforce_limits",
        value={
            "uuid": "evse_manager",
            "valid_for": 60,
            "limits_root_side": {"ac_max_current_A": {"value": 8, "source": "pv"}},
        },
    )
    freezer.tick(5)  # Charger.cpp: the PWM changes at most every 5 s while charging
    await poll(hass, loaded, sim, steps=6)
    assert sim.simulator.charger.setpoint_A == 8
    assert loaded.runtime_data.manager.state is State.Charging


async def test_authorization_reservation_and_the_rest(hass, loaded, sim):
    assert await call(hass, loaded, "reserve", True, reservation_id=7) == {"result": True}
    await call(hass, loaded, "cancel_reservation")
    await call(
        hass,
        loaded,
        "authorize_response",
        provided_token=TOKEN,
        validation_result={"authorization_status": "Accepted"},
    )
    await call(hass, loaded, "withdraw_authorization")
    # The Heidelberg has a fixed cable, no plug lock: the interface answers false.
    assert await call(hass, loaded, "force_unlock", True, connector_id=1) == {"result": False}
    result = await call(hass, loaded, "external_ready_to_start_charging", True)
    assert result == {"result": False}  # not configured to wait for an external ready
    await call(
        hass,
        loaded,
        "set_plug_and_charge_configuration",
        plug_and_charge_configuration={"pnc_enabled": False},
    )
    result = await call(
        hass,
        loaded,
        "update_allowed_energy_transfer_modes",
        True,
        allowed_energy_transfer_modes=["AC_three_phase_core"],
    )
    assert result == {"result": "NoHlc"}  # basic AC charging: no ISO 15118 session


@pytest.mark.parametrize(
    ("service", "args", "message"),
    [
        ("reserve", {}, "reservation_id"),
        ("reserve", {"reservation_id": "seven"}, "reservation_id"),
        ("stop_transaction", {"request": {"reason": "Because"}}, "reason"),
        ("enable_disable", {"connector_id": -1, "cmd_source": {}}, "connector_id"),
        ("pause_charging", {"extra": 1}, "extra"),
        ("update_allowed_energy_transfer_modes", {"allowed_energy_transfer_modes": []}, "modes"),
    ],
)
async def test_bad_arguments_give_a_translated_error(hass, loaded, service, args, message):
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, loaded, service, **args)
    assert err.value.translation_key == "invalid_arguments"
    assert message in err.value.translation_placeholders["error"]


async def test_unknown_or_unloaded_entry_is_a_clear_error(hass, loaded):
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "pause_charging", {"config_entry_id": "nope"}, blocking=True
        )
    assert err.value.translation_key == "entry_not_found"
    await hass.config_entries.async_unload(loaded.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, loaded, "pause_charging")
    assert err.value.translation_key == "entry_not_loaded"


async def test_simulate_ev_plays_a_scenario_on_a_simulator_entry(hass, socket_enabled):
    import asyncio

    from pytest_homeassistant_custom_component.common import MockConfigEntry

    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Try it",
        unique_id="sim-ev",
        data={"mode": "simulator", "charger": {"map": CHARGER}, "meter": {"map": "eastron_sdm630"}},
        options={"poll_interval_s": 0.2},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    try:
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, entry, "simulate_ev", scenario="plugin;fly")
        assert err.value.translation_key == "invalid_scenario"
        await call(
            hass,
            entry,
            "simulate_ev",
            scenario="plugin;iec_wait_pwr_ready;draw_power_regulated 16,3",
        )
        manager = entry.runtime_data.manager
        for _ in range(100):  # real time: the connector polls every 0.2 s
            if manager.state is State.Charging:
                break
            await asyncio.sleep(0.1)
        assert manager.state is State.Charging
        assert entry.runtime_data.simulator.station.power_W() > 10000
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def test_simulate_ev_needs_a_simulator_entry(hass, loaded):
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, loaded, "simulate_ev", scenario="plugin")
    assert err.value.translation_key == "not_a_simulator"


async def test_present_token_checks_the_cards_then_authorizes(hass, sim):
    """present_token, as a dashboard button calls it: the entry's cards decide (the
    controller's one path, controller.auth.present_token, as MQTT's command), then our
    kernel's authorization starts the charging."""
    data = {**entry_data(sim.simulator), "auth": {"id_tags": ["CAFE0001"]}}
    entry = MockConfigEntry(
        domain=DOMAIN, title="Garage", data=data, options={"poll_interval_s": 60.0}
    )
    await set_up(hass, entry)
    try:
        sim.station.plug_in()
        sim.station.draw_power(16.0, 3)
        await poll(hass, entry, sim, steps=3)
        manager = entry.runtime_data.manager
        assert manager.state is State.WaitingForAuthentication

        refused = await call(hass, entry, "present_token", True, id_token="BADCAFE")
        assert refused["result"]["authorization_status"] == "Invalid"
        await poll(hass, entry, sim, steps=2)
        assert manager.state is State.WaitingForAuthentication

        accepted = await call(hass, entry, "present_token", True, id_token="cafe0001")
        assert accepted["result"]["authorization_status"] == "Accepted"
        await poll(hass, entry, sim, steps=8)
        assert manager.state is State.Charging
        assert sim.station.power_W() > 0

        with pytest.raises(ServiceValidationError):
            await call(hass, entry, "present_token", id_token="x" * 40)
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
