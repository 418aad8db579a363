"""OCPP chargers in Home Assistant: the "Charger over OCPP" and "OCPP simulator" config
flow steps, and entries whose connectors are driven over a real WebSocket on 127.0.0.1.

The wallbox is the project's simulated OCPP wallbox (the ``ocpp`` package's client side)
on a ManualClock, so energy is exact; it connects to the central system the entries share
while the entry's setup waits for it, as a real wallbox that keeps reconnecting does.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from websockets.exceptions import InvalidStatus

from custom_components.evse_manager.connector import EvseConnector
from custom_components.evse_manager.const import DOMAIN
from custom_components.evse_manager.controller.catalog import entities
from custom_components.evse_manager.controller.clock import ManualClock
from custom_components.evse_manager.controller.kernel.states import State
from custom_components.evse_manager.controller.ocpp.central import CentralSystem
from custom_components.evse_manager.controller.ocpp.simulated import SimulatedWallbox
from custom_components.evse_manager.controller.simulation import SimulatedStation
from custom_components.evse_manager.controller.simulator import free_port
from custom_components.evse_manager.ocpp import CENTRALS, centrals, stop_centrals
from tests.mqtt.conftest import Certificates

from .conftest import call

HOST = "127.0.0.1"


@pytest.fixture
def no_grace(hass):
    """Central systems stop, and unregistered charge points are refused, at once."""
    centrals(hass).grace_s = 0.0


def ocpp_data(cp_id: str, port: int, **charger) -> dict:
    """Entry data as the OCPP step writes it, listening on 127.0.0.1 only."""
    return {
        "mode": "ocpp",
        "charger": {"kind": "ocpp", "charge_point_id": cp_id, "connector_id": 1, **charger},
        "meter": "charger",
        "ocpp_port": port,
        "ocpp_host": HOST,
    }


def ocpp_entry(cp_id: str, port: int, **charger) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=cp_id,
        unique_id=f"ocpp_{cp_id}_1",
        data=ocpp_data(cp_id, port, **charger),
        options={"poll_interval_s": 60.0},  # the test polls
    )


def wallbox(cp_id: str, port: int, version: str = "1.6", **kw) -> SimulatedWallbox:
    station = SimulatedStation(clock=ManualClock())
    return SimulatedWallbox(station, f"ws://{HOST}:{port}/{cp_id}", version=version, **kw)


def central_of(hass, port: int) -> CentralSystem | None:
    centrals = hass.data.get(CENTRALS)
    return None if centrals is None else centrals.running.get((HOST, port))


async def registered(hass, port: int, cp_id: str) -> CentralSystem:
    """The shared central system once it admits ``cp_id`` (bounded wait for the setup
    running beside the test to get there)."""
    for _ in range(500):
        central = central_of(hass, port)
        if central is not None and cp_id in central.charge_points:
            return central
        await asyncio.sleep(0.01)
    raise AssertionError(f"{cp_id} never registered on port {port}")


async def flow_with_wallbox(hass, result, form: dict, box: SimulatedWallbox):
    """Submit the OCPP step; its entry's setup waits for the wallbox, which connects once
    Home Assistant listens (on every interface: the flow has no host field)."""
    finish = hass.async_create_task(
        hass.config_entries.flow.async_configure(result["flow_id"], form)
    )
    for _ in range(500):
        centrals = hass.data.get(CENTRALS)
        if centrals is not None and ("0.0.0.0", int(form["ocpp_port"])) in centrals.running:
            break
        await asyncio.sleep(0.01)
    await box.connect()
    return await finish


async def set_up_with(hass, entry: MockConfigEntry, box: SimulatedWallbox) -> EvseConnector:
    """Set the entry up while its wallbox connects (the setup waits for it)."""
    entry.add_to_hass(hass)
    setup = hass.async_create_task(hass.config_entries.async_setup(entry.entry_id))
    await registered(hass, int(entry.data["ocpp_port"]), box.cp_id)
    await box.connect()
    assert await setup
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry.runtime_data


async def turn(hass, connector: EvseConnector, box: SimulatedWallbox, seconds: float = 0.0):
    """Move the wallbox's clock, let it report, the kernel poll and the commands land."""
    box.station.clock.advance(seconds)
    for _ in range(3):
        await box.step()
        await connector.ocpp.central.settle()
        await box.settle()
        await connector.manager.poll_now()
        await box.settle()
    await hass.async_block_till_done()


def state(hass, entry, platform: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{entry.unique_id}_{key}")
    assert entity_id is not None, key
    return hass.states.get(entity_id).state


async def unload(hass, *entries: MockConfigEntry) -> None:
    for entry in entries:
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_full_session_through_an_ocpp_wallbox(hass, socket_enabled, no_grace, version):
    """Plug in, our kernel authorizes (free charging) and starts the OCPP transaction,
    charge ten minutes, stop from Home Assistant, unplug: the same entities as a Modbus
    connector, with the wallbox's energy exactly."""
    port = free_port()
    entry = ocpp_entry("GARAGE", port, password="s3cret-pw")
    box = wallbox("GARAGE", port, version, password="s3cret-pw", model="Pulsar")
    try:
        connector = await set_up_with(hass, entry, box)
        registry = er.async_get(hass)
        assert {
            e.unique_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        } == {f"{entry.unique_id}_{s.key}" for s in entities(values=connector.manager.vars())}
        assert state(hass, entry, "sensor", "state") == "idle"
        box.station.plug_in()
        await turn(hass, connector, box, 1)
        box.station.draw_power(16.0, 3)
        await turn(hass, connector, box, 1)
        assert connector.manager.state is State.Charging
        assert state(hass, entry, "binary_sensor", "charging") == "on"
        assert [a for a, _ in box.received if a.startswith(("RemoteStart", "RequestStart"))]
        for _ in range(20):
            await turn(hass, connector, box, 30)
        energy = float(state(hass, entry, "sensor", "session_energy")) * 1000
        assert energy == pytest.approx(box.sent_energy[-1] - box.sent_energy[0], abs=1)
        assert energy > 1500
        stop = er.async_get(hass).async_get_entity_id("button", DOMAIN, f"{entry.unique_id}_stop")
        await hass.services.async_call("button", "press", {"entity_id": stop}, blocking=True)
        await turn(hass, connector, box, 1)
        assert box.state.transaction_id is None  # RemoteStop reached the wallbox
        box.station.unplug()
        await turn(hass, connector, box, 1)
        assert state(hass, entry, "binary_sensor", "plugged_in") == "off"
        last = float(state(hass, entry, "sensor", "last_session_energy")) * 1000
        assert last == pytest.approx(energy, abs=30)
    finally:
        await unload(hass, entry)
        await box.disconnect()
    assert central_of(hass, port) is None  # the last entry stopped the listener


async def test_two_entries_share_one_listener_and_unload_unregisters(
    hass, socket_enabled, no_grace
):
    port = free_port()
    first, second = ocpp_entry("CP-A", port), ocpp_entry("CP-B", port)
    box_a, box_b = wallbox("CP-A", port), wallbox("CP-B", port)
    try:
        a = await set_up_with(hass, first, box_a)
        b = await set_up_with(hass, second, box_b)
        assert a.ocpp.central is b.ocpp.central
        assert a.ocpp.central.charge_points == {"CP-A": (1,), "CP-B": (1,)}
        await unload(hass, first)
        assert a.ocpp.central.charge_points == {"CP-B": (1,)}
        await box_a.disconnect()
        with pytest.raises(InvalidStatus) as refused:  # an unknown charge point id again
            await box_a.connect()
        assert refused.value.response.status_code == 404
        await turn(hass, b, box_b)
        assert b.manager.faults == {}  # the other wallbox kept its session
        assert state(hass, second, "sensor", "state") == "idle"
        # Reloaded (an options change does this): registered again, the wallbox gets in.
        setup = hass.async_create_task(hass.config_entries.async_setup(first.entry_id))
        await registered(hass, port, "CP-A")
        await box_a.connect()
        assert await setup
        assert first.state is ConfigEntryState.LOADED
    finally:
        await unload(hass, first, second)
        await box_a.disconnect()
        await box_b.disconnect()
    assert central_of(hass, port) is None
    with socket.socket() as sock:  # nothing listens any more (as a server binds it)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))


async def test_a_reload_keeps_the_wallbox_connected(hass, socket_enabled):
    """An options change reloads the entry: unregistered and registered again within the
    grace, the wallbox's WebSocket stays open and the new connector drives it at once."""
    port = free_port()
    entry = ocpp_entry("RELOAD", port)
    box = wallbox("RELOAD", port)
    try:
        old = await set_up_with(hass, entry, box)
        socket_before = box._ws
        hass.config_entries.async_update_entry(
            entry, options={"poll_interval_s": 60.0, "max_current_A": 10.0}
        )
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        new = entry.runtime_data
        assert new is not old
        assert new.ocpp.central is old.ocpp.central
        assert box._ws is socket_before  # never reconnected
        box.station.plug_in()
        box.station.draw_power(16.0, 3)
        await turn(hass, new, box, 1)
        await turn(hass, new, box, 1)
        assert new.manager.state is State.Charging
        assert box.limits()[-1] == 10.0  # the new option reached the wallbox
    finally:
        await unload(hass, entry)
        await box.disconnect()
        await stop_centrals(hass)  # what Home Assistant's shutdown does to the grace
    assert central_of(hass, port) is None


async def test_ocpp_flow_creates_the_entry_and_its_wallbox_connects(hass, socket_enabled, no_grace):
    port = free_port()
    result = await start(hass, "ocpp")
    assert result["type"] is FlowResultType.FORM
    form = {
        "name": "Carport",
        "charge_point_id": " CARPORT-1 ",
        "connector_id": 1,
        "password": "12345678",
        "ocpp_port": port,
    }
    box = wallbox("CARPORT-1", port, password="12345678")
    result = await flow_with_wallbox(hass, result, form, box)
    try:
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {
            "mode": "ocpp",
            "charger": {
                "kind": "ocpp",
                "charge_point_id": "CARPORT-1",
                "connector_id": 1,
                "password": "12345678",
            },
            "meter": "charger",
            "ocpp_port": port,
        }
        entry = result["result"]
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        assert (device.name, device.model) == ("Carport", "OCPP wallbox")  # BootNotification
        again = await start(hass, "ocpp")
        again = await hass.config_entries.flow.async_configure(again["flow_id"], form)
        assert again["reason"] == "already_configured"
        other = await start(hass, "ocpp")  # connector 2 of the same wallbox, other password
        other = await hass.config_entries.flow.async_configure(
            other["flow_id"], {**form, "connector_id": 2, "password": "another-one"}
        )
        assert other["errors"] == {"base": "charge_point_mismatch"}
        # Reconfigure (see test_reconfigure_changes_cards_and_expiry): TLS files checked.
        reconf = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
        )
        assert reconf["step_id"] == "reconfigure_ocpp"
        bad = await hass.config_entries.flow.async_configure(
            reconf["flow_id"], {"ocpp_certfile": "/nope.pem", "reservation_expiry_s": 600}
        )
        assert bad["errors"] == {"base": "invalid_config"}
        assert "TLS files" in bad["description_placeholders"]["error"]
    finally:
        await unload(hass, *hass.config_entries.async_entries(DOMAIN))
        await box.disconnect()


async def test_reconfigure_changes_cards_and_expiry(hass, socket_enabled):
    """An OCPP entry's reconfigure step: the cards and the reservation expiry change,
    the rest of the entry (password, charge point) stays; the reload keeps the wallbox
    connected and the new cards work at its reader at once."""
    port = free_port()
    entry = ocpp_entry("RECONF", port, password="12345678")
    box = wallbox("RECONF", port, password="12345678")
    try:
        await set_up_with(hass, entry, box)
        assert entry.runtime_data.manager.token_validator is not None
        assert not entry.runtime_data.manager.token_validator.accepts("CAFE0001")
        reconf = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
        )
        assert reconf["step_id"] == "reconfigure_ocpp"
        done = await hass.config_entries.flow.async_configure(
            reconf["flow_id"], {"id_tags": "cafe0001 BEEF0002", "reservation_expiry_s": 600}
        )
        assert done["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data["auth"] == {"id_tags": ["cafe0001", "BEEF0002"]}
        assert entry.data["charger"]["reservation_expiry_s"] == 600
        assert entry.data["charger"]["password"] == "12345678"  # kept
        assert entry.state is ConfigEntryState.LOADED  # reloaded
        connector = entry.runtime_data
        assert connector.manager._charger.settings.reservation_expiry_s == 600
        box.station.plug_in()
        box.station.draw_power(16.0, 3)
        await turn(hass, connector, box, 1)
        assert connector.manager.state is State.WaitingForAuthentication  # cards: no free
        assert await box.present_card("DEADBEEF") is False
        assert await box.present_card("CAFE0001") is True
        await turn(hass, connector, box, 1)
        await turn(hass, connector, box, 1)
        assert connector.manager.state is State.Charging
        again = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
        )
        shown = {str(k): k.description for k in again["data_schema"].schema}
        assert shown["id_tags"] == {"suggested_value": "cafe0001, BEEF0002"}
    finally:
        await unload(hass, entry)
        await box.disconnect()
        await stop_centrals(hass)


async def test_ocpp_flow_refuses_a_bad_charge_point_id(hass, socket_enabled):
    result = await start(hass, "ocpp")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "X", "charge_point_id": "a/b", "connector_id": 1, "ocpp_port": 8887},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_config"}
    assert "charge_point_id" in result["description_placeholders"]["error"]


async def test_ocpp_simulator_mode_charges_an_ev_in_home_assistant(hass, socket_enabled, no_grace):
    """The "OCPP simulator" step: a simulated 2.0.1 wallbox inside Home Assistant, driven
    by the simulate_ev action, charging through our kernel (real time, bounded wait)."""
    result = await start(hass, "ocpp_simulator")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Try OCPP", "ocpp_version": "2.0.1"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"mode": "ocpp_simulator", "ocpp_version": "2.0.1"}
    entry = result["result"]
    await hass.async_block_till_done()
    try:
        assert entry.state is ConfigEntryState.LOADED
        hass.config_entries.async_update_entry(entry, options={"poll_interval_s": 0.2})
        await hass.async_block_till_done()  # reloaded: unregistered and registered again
        assert entry.state is ConfigEntryState.LOADED
        connector = entry.runtime_data
        await call(
            hass,
            entry,
            "simulate_ev",
            scenario="plugin;iec_wait_pwr_ready;draw_power_regulated 16,3",
        )
        for _ in range(150):  # the wallbox reports every second, the connector polls at 0.2 s
            if connector.manager.state is State.Charging:
                break
            await asyncio.sleep(0.1)
        assert connector.manager.state is State.Charging
        assert connector.station.power_W() > 10000
        assert connector.ocpp.wallbox.version == "2.0.1"
    finally:
        await unload(hass, entry)
    assert hass.data[CENTRALS].running == {}


async def start(hass, step: str):
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["menu_options"] == ["modbus", "ocpp", "simulator", "ocpp_simulator"]
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": step})


async def test_a_setup_retry_holds_the_wallbox(hass, socket_enabled, no_grace):
    """The entry is set up before its wallbox connects: not ready, and Home Assistant
    retries it. Meanwhile the listener and the charge point id are held: the wallbox
    connecting between two tries is accepted (not refused with 404) and kept, and the
    next try drives it on that same WebSocket; another entry leaving the port meanwhile
    does not end the hold."""
    port = free_port()
    entry = ocpp_entry("LATE", port)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    # Another entry on the port comes and goes (no grace): the hold outlasts it.
    other, other_box = ocpp_entry("OTHER", port), wallbox("OTHER", port)
    await set_up_with(hass, other, other_box)
    await unload(hass, other)
    await other_box.disconnect()
    box = wallbox("LATE", port)
    try:
        await box.connect()  # accepted: no InvalidStatus
        socket_before = box._ws
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert box._ws is socket_before
        connector = entry.runtime_data
        assert connector.ocpp.link.online
        box.station.plug_in()
        box.station.draw_power(16.0, 3)
        await turn(hass, connector, box, 1)
        await turn(hass, connector, box, 1)
        assert connector.manager.state is State.Charging
    finally:
        await unload(hass, entry)
        await box.disconnect()
        await stop_centrals(hass)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
async def test_ocpp_flow_with_tls_and_cards(hass, socket_enabled, no_grace, tmp_path):
    """The OCPP step with a certificate and key: Home Assistant listens with TLS and the
    wallbox connects over wss://; with RFID cards the connector charges on a listed card
    read at the wallbox (no free charging), an unknown one is refused. Another entry on
    that port without TLS, or unreadable TLS files, are refused by the flow."""
    certs = Certificates.make(tmp_path)
    port = free_port()
    form = {
        "name": "Secure",
        "charge_point_id": "WSS-1",
        "connector_id": 1,
        "ocpp_port": port,
        "ocpp_certfile": str(certs.server_cert),
        "ocpp_keyfile": str(certs.server_key),
        "id_tags": "cafe0001, BEEF0002",
    }
    box = wallbox("WSS-1", port, ssl_context=ssl.create_default_context(cafile=str(certs.ca)))
    box.url = f"wss://{HOST}:{port}/WSS-1"
    result = await flow_with_wallbox(hass, await start(hass, "ocpp"), form, box)
    try:
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["ocpp_certfile"] == str(certs.server_cert)
        assert result["data"]["auth"] == {"id_tags": ["cafe0001", "BEEF0002"]}
        entry = result["result"]
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        connector = entry.runtime_data
        box.station.plug_in()
        box.station.draw_power(16.0, 3)
        await turn(hass, connector, box, 1)
        await turn(hass, connector, box, 1)
        assert connector.manager.state is State.WaitingForAuthentication  # no free charging
        assert await box.present_card("DEADBEEF") is False
        assert await box.present_card("CAFE0001") is True
        await turn(hass, connector, box, 1)
        await turn(hass, connector, box, 1)
        assert connector.manager.state is State.Charging
        plain = await start(hass, "ocpp")
        plain = await hass.config_entries.flow.async_configure(
            plain["flow_id"],
            {**form, "charge_point_id": "PLAIN", "ocpp_certfile": "", "ocpp_keyfile": ""},
        )
        assert plain["errors"] == {"base": "listener_mismatch"}
        bad = await start(hass, "ocpp")
        bad = await hass.config_entries.flow.async_configure(
            bad["flow_id"],
            {**form, "charge_point_id": "BAD", "ocpp_port": free_port(), "ocpp_keyfile": "/nope"},
        )
        assert bad["errors"] == {"base": "invalid_config"}
        assert "TLS files" in bad["description_placeholders"]["error"]
    finally:
        await unload(hass, *hass.config_entries.async_entries(DOMAIN))
        await box.disconnect()
