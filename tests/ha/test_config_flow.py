"""Config, reconfigure and options flows against the simulator over Modbus TCP."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_manager.const import DOMAIN
from custom_components.evse_manager.controller.kernel.states import State
from custom_components.evse_manager.controller.simulator import free_port

from .conftest import CHARGER, METER, call, poll


def form(sim, **overrides) -> dict:
    values = {
        "name": "Garage",
        "map": CHARGER,
        "kind": "tcp",
        "host": "127.0.0.1",
        "port": sim.simulator.port,
        "meter_map": METER,
        "meter_host": "127.0.0.1",
        "meter_port": sim.simulator.meter_port,
        "meter_unit": sim.simulator.meter_unit,
    }
    values.update(overrides)
    return values


async def start(hass, step: str):
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["modbus", "ocpp", "simulator", "ocpp_simulator"]
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": step})


async def test_modbus_flow_talks_to_the_devices_and_creates_the_entry(hass, sim):
    result = await start(hass, "modbus")
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Garage"
    data = result["data"]
    assert data["charger"] == {
        "map": CHARGER,
        "connection": {"kind": "tcp", "host": "127.0.0.1", "port": sim.simulator.port},
    }
    assert data["meter"]["connection"]["unit"] == sim.simulator.meter_unit
    entry = result["result"]
    assert entry.unique_id == f"{CHARGER}@127.0.0.1:{sim.simulator.port}/default"
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_same_charger_twice_is_already_configured(hass, sim):
    result = await start(hass, "modbus")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    entry = result["result"]
    await hass.async_block_till_done()
    result = await start(hass, "modbus")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unreachable_charger_is_cannot_connect_then_recovers(hass, sim):
    result = await start(hass, "modbus")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(sim, port=free_port())
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    assert "cannot connect" in result["description_placeholders"]["error"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_rtu_without_a_serial_port_is_invalid_config(hass, sim):
    result = await start(hass, "modbus")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(sim, kind="rtu", meter_map="charger")
    )
    assert result["errors"] == {"base": "invalid_config"}
    assert "serial_port" in result["description_placeholders"]["error"]


async def test_a_charger_without_an_energy_counter_needs_a_meter(hass, sim):
    result = await start(hass, "modbus")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(sim, meter_map="charger", map="abl_emh")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_config"}
    assert "no energy counter" in result["description_placeholders"]["error"]


async def test_simulator_flow(hass, socket_enabled):
    result = await start(hass, "simulator")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Try it", "map": "alfen_eve", "meter_map": "abb_b23"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "mode": "simulator",
        "charger": {"map": "alfen_eve"},
        "meter": {"map": "abb_b23"},
    }
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.runtime_data.simulator is not None
    result = await start(hass, "simulator")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Again", "map": "alfen_eve", "meter_map": "abb_b23"}
    )
    assert result["reason"] == "already_configured"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_moves_the_connection(hass, sim, entry):
    entry.add_to_hass(hass)
    entry_unique = f"{CHARGER}@127.0.0.1:{sim.simulator.port}/default"
    hass.config_entries.async_update_entry(entry, unique_id=entry_unique)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(sim, name="Garage 2")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.title == "Garage 2"
    assert entry.data["meter"]["connection"]["port"] == sim.simulator.meter_port
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_to_another_device_is_refused(hass, sim, entry):
    entry.add_to_hass(hass)  # unique id "garage-wallbox" is not this address
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "another_device"


def options_form(**charging) -> dict:
    return {
        "poll_interval_s": 2,
        "min_current_A": 6,
        "max_current_A": 10,
        "phases": "1",
        "free_charging": False,
        "solar": {"grid_power_inverted": False},
        "mqtt": {"mqtt_port": 1883, "mqtt_base_topic": "x", "mqtt_discovery": False},
        "csms": {"csms_version": "1.6"},  # the frontend sends every section
        **charging,
    }


async def test_options_flow_sets_polling_currents_and_phases(hass, loaded):
    result = await hass.config_entries.options.async_init(loaded.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options_form(min_current_A=16)
    )
    assert result["errors"] == {"base": "min_above_max"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], options_form())
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded.options == {
        "poll_interval_s": 2.0,
        "min_current_A": 6.0,
        "max_current_A": 10.0,
        "phases": 1,
        "free_charging": False,
    }
    manager = loaded.runtime_data.manager  # reloaded with the new options
    assert manager.poll_interval == 2.0
    assert manager.config.max_current_A == 10.0


async def test_options_flow_transaction_at_restart(hass, loaded):
    """The connector option transaction_at_restart: "resume" (default, not stored) or
    "finish" (EVerest's cleanup_transactions_on_startup) reaches the kernel."""
    assert loaded.runtime_data.manager.config.transaction_at_restart == "resume"
    result = await hass.config_entries.options.async_init(loaded.entry_id)
    form = options_form(transaction_at_restart="finish")
    result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded.options["transaction_at_restart"] == "finish"
    assert loaded.runtime_data.manager.config.transaction_at_restart == "finish"


async def test_options_flow_solar_and_mqtt_sections(hass, loaded):
    hass.states.async_set("sensor.grid", "0", {"unit_of_measurement": "W"})
    result = await hass.config_entries.options.async_init(loaded.entry_id)
    form = options_form(
        solar={
            "grid_power_entity": "sensor.grid",
            "grid_power_inverted": True,
            "battery_power_entity": "sensor.battery_power",
            "battery_soc_entity": "sensor.battery_soc",
        },
        mqtt={
            "mqtt_host": "127.0.0.1",
            "mqtt_port": 1,
            "mqtt_base_topic": "evse_manager/garage",
            "mqtt_discovery": False,
        },
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["grid_power_entity"] == "sensor.grid"
    assert result["data"]["grid_power_inverted"] is True
    assert result["data"]["battery_power_entity"] == "sensor.battery_power"
    assert result["data"]["battery_soc_entity"] == "sensor.battery_soc"
    assert result["data"]["mqtt_host"] == "127.0.0.1"
    assert result["data"]["mqtt_base_topic"] == "evse_manager/garage"
    await hass.async_block_till_done()
    connector = loaded.runtime_data
    assert connector.energy is not None
    assert connector.bridge is not None  # retrying in the background: nothing listens on 1


def _shown(result: dict, key: str):
    """A field of a shown form: its marker (default, suggested value)."""
    return next(m for m in result["data_schema"].schema if m == key)


async def test_options_flow_sets_cards_then_present_token_decides(hass, sim, loaded):
    """A Modbus entry's RFID cards from the options form (the OCPP field's parser and
    checks) reach the connector's token validator on reload: present_token with a listed
    card starts the charging, an unlisted one is refused. Cards and free charging
    together are refused; a reconfigure keeps the cards; clearing the field removes them."""
    result = await hass.config_entries.options.async_init(loaded.entry_id)
    assert _shown(result, "free_charging").default() is True
    both = options_form(free_charging=True, id_tags="cafe0001, BEEF0002")
    result = await hass.config_entries.options.async_configure(result["flow_id"], both)
    assert result["errors"] == {"base": "free_with_cards"}
    assert _shown(result, "id_tags").description == {"suggested_value": "cafe0001, BEEF0002"}
    long = options_form(id_tags="cafe0001 " + "x" * 40)
    result = await hass.config_entries.options.async_configure(result["flow_id"], long)
    assert result["errors"] == {"base": "invalid_config"}
    assert "RFID cards" in result["description_placeholders"]["error"]
    cards = options_form(id_tags="cafe0001 BEEF0002, cafe0001")
    result = await hass.config_entries.options.async_configure(result["flow_id"], cards)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded.data["auth"] == {"id_tags": ["cafe0001", "BEEF0002"]}
    assert "id_tags" not in loaded.options

    manager = loaded.runtime_data.manager  # reloaded with the cards
    assert manager.config.free_charging is False
    sim.station.plug_in()
    sim.station.draw_power(16.0, 3)
    await poll(hass, loaded, sim, steps=3)
    assert manager.state is State.WaitingForAuthentication
    refused = await call(hass, loaded, "present_token", True, id_token="DEADBEEF")
    assert refused["result"]["authorization_status"] == "Invalid"
    await poll(hass, loaded, sim, steps=2)
    assert manager.state is State.WaitingForAuthentication
    accepted = await call(hass, loaded, "present_token", True, id_token="beef0002")
    assert accepted["result"]["authorization_status"] == "Accepted"
    await poll(hass, loaded, sim, steps=8)
    assert manager.state is State.Charging
    assert sim.station.power_W() > 0

    # Reconfigure (the connection) keeps the cards.
    entry_unique = f"{CHARGER}@127.0.0.1:{sim.simulator.port}/default"
    hass.config_entries.async_update_entry(loaded, unique_id=entry_unique)
    result = await loaded.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form(sim))
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded.data["auth"] == {"id_tags": ["cafe0001", "BEEF0002"]}

    result = await hass.config_entries.options.async_init(loaded.entry_id)
    assert _shown(result, "id_tags").description == {"suggested_value": "cafe0001, BEEF0002"}
    assert _shown(result, "free_charging").default() is False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options_form(id_tags="")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert "auth" not in loaded.data
    assert loaded.runtime_data.manager.token_validator.id_tags == frozenset()


async def test_ocpp_entry_options_have_no_card_field(hass, socket_enabled):
    """An OCPP entry's cards are set in its flow and reconfigure step, not twice."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={"mode": "ocpp", "charger": {"kind": "ocpp", "charge_point_id": "CP"}},
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "id_tags" not in result["data_schema"].schema
    assert "free_charging" in result["data_schema"].schema


async def test_simulator_entry_cannot_be_reconfigured(hass, socket_enabled):
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="s",
        data={"mode": "simulator", "charger": {"map": CHARGER}, "meter": "charger"},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["reason"] == "simulator_not_reconfigurable"


async def test_unique_id_is_the_chargers_serial_when_it_has_one(hass, socket_enabled):
    from custom_components.evse_manager.controller.clock import ManualClock
    from custom_components.evse_manager.controller.modbus.maps import load_map
    from custom_components.evse_manager.controller.simulation import SimulatedStation
    from custom_components.evse_manager.controller.simulator import ModbusSimulator

    simulator = ModbusSimulator(
        SimulatedStation(clock=ManualClock()), load_map("phoenix_ev_eth"), None
    )
    await simulator.start()
    try:
        result = await start(hass, "modbus")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                "name": "Carport",
                "map": "phoenix_ev_eth",
                "kind": "tcp",
                "host": "127.0.0.1",
                "port": simulator.port,
                "meter_map": "charger",
            },
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        # The simulator reports "SIM-<map id>" cut to the register size (12 characters).
        assert result["result"].unique_id == "SIM-phoenix_"
        assert result["data"]["meter"] == "charger"
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)
    finally:
        await simulator.stop()
