"""What breaks on a real device, against the strict simulator over real Modbus (TCP, or
ASCII on a socat pty): each test fails with the driver and maps before issue 11's fixes.

The simulator answers as the real box does (exception 2 for addresses it does not have,
exception 1 for function codes it does not take, exception 3 for values out of range,
ABL's ``>`` answers and sleeping bus, firmware variants, Webasto 5/8, ABL E0, Heidelberg's
remote lock); the facts are from evcc's charger/*.go and the reference tables.
"""

from __future__ import annotations

import asyncio

import pytest
from pymodbus.constants import ExcCodes

from controller.clock import ManualClock
from controller.errors import DeviceError
from controller.kernel.states import State
from controller.modbus.charger import STATUS_NAMES, ModbusCharger
from controller.modbus.maps import load_map
from controller.modbus.meter import ModbusMeter
from controller.modbus.transport import Endpoint, ModbusBus
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator

from .conftest import ModbusRig, start_rig, stop_rig

COMM = "evse_board_support/CommunicationFault"


def error_types(rig: ModbusRig) -> list[str]:
    return [e.type for e in rig.manager.vars()["errors"]]


async def charges(rig: ModbusRig) -> None:
    """After plug-in the box signals at least the EV's 16 A and at most its maximum (the
    current step's rounding aside), and the EV draws its 16 A on three phases: the box is
    controlled."""
    await rig.start_charging()
    await rig.advance(60, step=5)
    assert rig.manager.state is State.Charging, rig.events()
    step = rig.manager._charger.map.capabilities.current_step_A
    top = rig.manager.vars()["hw_capabilities"].max_current_A_import
    assert 16.0 - step <= rig.simulator.charger.setpoint_A <= top
    assert rig.station.phase_currents()[0] == pytest.approx(16.0)
    assert COMM not in error_types(rig)


# ---------------------------------------------------------------------- ABL eMH


async def test_abl_answers_with_gt_over_ascii_and_is_charged(tmp_path, socket_enabled, pty_pair):
    """The eMH answers ``>``...: the stock ASCII framer never reads it."""
    rig = await start_rig(tmp_path, "abl_emh", serial=pty_pair)
    try:
        assert rig.manager._charger.device.bus.endpoint.kind == "ascii"
        await charges(rig)
        # ABL takes FC16 only, and every request went out twice (the first wakes the bus).
        functions = rig.simulator.charger.function_codes
        assert functions[6] == 0
        assert functions[16] >= 2
    finally:
        await stop_rig(rig)
        await asyncio.sleep(0)


async def test_abl_sleeping_bus_is_woken_by_the_first_of_two_requests(tmp_path, socket_enabled):
    """After a pause the first request only wakes the bus: reading once is a fault."""
    rig = await start_rig(tmp_path, "abl_emh")
    try:
        await rig.start_charging()
        await rig.advance(600)  # 60 s between polls: the bus sleeps before each
        assert COMM not in error_types(rig)
        assert rig.manager.state is State.Charging
    finally:
        await stop_rig(rig)


async def test_abl_currents_are_read_from_the_0x2e_status_block():
    charger = ModbusCharger(load_map("abl_emh"), ModbusBus(Endpoint(kind="tcp")))
    blocks = [(b.table, b.address, b.count) for b in charger._status_plan]
    assert ("holding", 0x2E, 5) in blocks


async def test_abl_outlet_disabled_e0_is_cleared(tmp_path, socket_enabled):
    """E0 after a wake-up: evcc writes 0xA1A1 to 0x0005; without that the box never charges."""
    rig = await start_rig(
        tmp_path, "abl_emh", before_start=lambda sim: sim.charger.hold_state(0xE0)
    )
    try:
        await charges(rig)
        assert rig.simulator.charger.words["modify_state"] == [0xA1A1]
    finally:
        await stop_rig(rig)


# ---------------------------------------------------------------------- Bender


def test_bender_measurements_without_a_meter_are_invalid():
    device_map = load_map("bender_cc613")
    for name in ("current_l1", "current_l3", "voltage_l1", "power_l2", "energy_import_l1"):
        assert device_map[name].decode([0xFFFF, 0xFFFF]) is None, name


async def test_bender_without_a_meter_is_not_a_meter(socket_enabled):
    """220 reads 0xFFFFFFFF: the charger's counter cannot meter the session (evcc's check)."""
    station = SimulatedStation(clock=ManualClock())
    simulator = ModbusSimulator(station, load_map("bender_cc613"))
    simulator.charger.metered = False
    await simulator.start()
    bus = ModbusBus(Endpoint(kind="tcp", port=simulator.port, timeout_s=0.5))
    try:
        with pytest.raises(DeviceError, match="no energy meter fitted"):
            await ModbusMeter(load_map("bender_cc613"), bus).connect()
    finally:
        await bus.close()
        await simulator.stop()


async def test_bender_without_a_meter_charges_with_an_external_one(tmp_path, socket_enabled):
    rig = await start_rig(
        tmp_path, "bender_cc613", before_start=lambda sim: setattr(sim.charger, "metered", False)
    )
    try:
        await charges(rig)
        await rig.advance(1800)
        assert rig.manager.state is State.Charging
    finally:
        await stop_rig(rig)


BENDER_522 = (
    "model",
    "energy_import",
    "power",
    "voltage_l1",
    "voltage_l2",
    "voltage_l3",
    "hw_max_current",
    "session_energy",
)


async def test_bender_before_5_22_is_metered_by_its_phase_energies(tmp_path, socket_enabled):
    """No 218/220/222.. block: sum 200/202/204 instead of a communication fault."""
    rig = await start_rig(tmp_path, "bender_cc613", None, without=BENDER_522)
    try:
        await charges(rig)
        await rig.advance(1800)
        info = rig.manager.vars()["session_info"]
        assert info.energy_Wh == pytest.approx(rig.station.energy_Wh, abs=2.0)
        assert info.energy_Wh > 3000
    finally:
        await stop_rig(rig)


async def test_bender_connect_survives_refused_failsafe_settings(tmp_path, socket_enabled):
    def refuse(sim: ModbusSimulator) -> None:
        sim.charger.inject_exception(
            ["failsafe_current", "watchdog_timeout"], ExcCodes.ILLEGAL_ADDRESS, writes_only=True
        )

    # A failsafe of 6 A differs from the device's 0 A, so the driver tries to write it.
    rig = await start_rig(tmp_path, "bender_cc613", before_start=refuse, failsafe_current_A=6)
    try:
        await charges(rig)
        assert rig.simulator.charger.writes["failsafe_current"] == 0
    finally:
        await stop_rig(rig)


# ---------------------------------------------------------------------- phase switching


async def test_alfen_refusing_phase_switching_is_still_charged(tmp_path, socket_enabled):
    """1215 without "Allow 1- and 3-phased charging" refuses the write."""
    rig = await start_rig(
        tmp_path,
        "alfen_eve",
        before_start=lambda sim: sim.charger.inject_exception(
            ["phases"], ExcCodes.ILLEGAL_VALUE, writes_only=True
        ),
    )
    try:
        await charges(rig)
    finally:
        await stop_rig(rig)


async def test_amperfied_connect_home_has_no_phase_switch(tmp_path, socket_enabled):
    """connect.home/business have no 501: the map does not bind it, so it is never written."""
    rig = await start_rig(tmp_path, "amperfied_connect")
    try:
        await charges(rig)
        info = rig.manager.vars()["hw_capabilities"]
        assert not info.supports_changing_phases_during_charging
        assert rig.manager._charger.device.map.get("phases") is None
    finally:
        await stop_rig(rig)


async def test_amperfied_connect_solar_switches_phases_with_fc16(tmp_path, socket_enabled):
    rig = await start_rig(tmp_path, "amperfied_connect_solar")
    try:
        await charges(rig)
        assert rig.simulator.charger.words["phases"] == [3]
        assert rig.simulator.charger.function_codes[6] == 0
    finally:
        await stop_rig(rig)


# ---------------------------------------------------------------------- Webasto NEXT


def test_webasto_states():
    cp = load_map("webasto_next")["cp_state"]
    assert cp.decode([5]) == "B"  # charge successful, car still attached
    assert cp.decode([8]) == "A"  # reserved, no car
    for raw in (2, 6, 9):
        assert cp.decode([raw]) == "B"


async def test_webasto_completed_charge_is_not_a_communication_fault(tmp_path, socket_enabled):
    rig = await start_rig(tmp_path, "webasto_next")
    try:
        await rig.start_charging()
        rig.simulator.charger.inject_garbage("cp_state", [5])
        await rig.advance(5, step=1)
        assert COMM not in error_types(rig)
        assert rig.manager.state is not State.Charging
    finally:
        await stop_rig(rig)


async def test_webasto_reads_currents_with_fc04_one_register_each():
    charger = ModbusCharger(load_map("webasto_next"), ModbusBus(Endpoint(kind="tcp")))
    blocks = [(b.table, b.address, b.count) for b in charger._status_plan]
    assert ("input", 1008, 1) in blocks
    assert ("input", 1010, 1) in blocks
    assert ("input", 1012, 1) in blocks
    touched = {(t, a + i) for t, a, n in blocks for i in range(n)}
    for address in (1003, 1005, 1007, 1009, 1011):
        assert ("holding", address) not in touched


# ---------------------------------------------------------------------- function codes


@pytest.mark.parametrize(
    ("map_id", "register"),
    [
        ("bender_cc613", "max_current"),
        ("webasto_next", "max_current"),
        ("amperfied_connect", "max_current"),
        ("amperfied_connect_solar", "phases"),
        ("abl_emh", "max_current"),
    ],
)
async def test_documented_function_code_is_used(tmp_path, socket_enabled, map_id, register):
    """These take FC16 only (evcc); the driver used FC06 for any single register."""
    assert load_map(map_id)[register].write_fc == 16
    rig = await start_rig(tmp_path, map_id)
    try:
        await rig.start_charging()
        assert rig.simulator.charger.writes[register] >= 1
        assert COMM not in error_types(rig)
    finally:
        await stop_rig(rig)


# ---------------------------------------------------------------------- Wallbe / Phoenix


@pytest.mark.parametrize(
    ("configured", "device"), [("phoenix_ev_eth", "wallbe_eco"), ("wallbe_eco", "phoenix_ev_eth")]
)
async def test_wallbe_or_phoenix_firmware_is_detected(tmp_path, socket_enabled, configured, device):
    """The wrong map choice was a 10x current error; 528 >= 60 means 0.1 A (evcc)."""
    rig = await start_rig(tmp_path, configured, device=device)
    try:
        assert rig.manager._charger.map.id == device
        await charges(rig)
    finally:
        await stop_rig(rig)


# ---------------------------------------------------------------------- Heidelberg


@pytest.mark.parametrize("map_id", ["heidelberg_energy_control", "amperfied_connect"])
async def test_remote_lock_in_f_is_released(tmp_path, socket_enabled, map_id):
    rig = await start_rig(tmp_path, map_id, before_start=lambda sim: sim.charger.hold_state(10))
    try:
        await charges(rig)
        assert rig.simulator.charger.words["remote_lock"] == [1]
        assert rig.simulator.charger.writes["remote_lock"] == 1
    finally:
        await stop_rig(rig)


# ---------------------------------------------------------------------- installer settings


@pytest.mark.parametrize(
    ("map_id", "settings"),
    [
        ("heidelberg_energy_control", ("watchdog_timeout", "failsafe_current")),
        ("webasto_next", ("watchdog_timeout", "failsafe_current")),
        ("bender_cc613", ("watchdog_timeout", "failsafe_current")),
        ("phoenix_ev_ser", ("enable_source",)),
    ],
)
async def test_installer_settings_are_not_rewritten(tmp_path, socket_enabled, map_id, settings):
    """Retentive registers that already hold what we need are read, not written."""

    def installed(sim: ModbusSimulator) -> None:
        sim.charger.set("enable_source", 3)

    rig = await start_rig(tmp_path, map_id, before_start=installed)
    try:
        await rig.manager.stop()
        await rig.manager.start()  # a second connect
        await charges(rig)
        for name in settings:
            assert rig.simulator.charger.writes[name] == 0, name
    finally:
        await stop_rig(rig)


async def test_a_configured_failsafe_that_differs_is_written(tmp_path, socket_enabled):
    rig = await start_rig(tmp_path, "heidelberg_energy_control", failsafe_current_A=6)
    try:
        assert rig.simulator.charger.writes["failsafe_current"] == 1
        assert rig.simulator.charger.words["failsafe_current"] == [60]
        assert rig.simulator.charger.writes["watchdog_timeout"] == 0
    finally:
        await stop_rig(rig)


async def test_heartbeat_follows_the_timeout_the_device_reports(tmp_path, socket_enabled):
    """Webasto's installer set 2002 to 8 s: beat every 4 s (evcc: timeout / 2), keep 8 s."""

    def short_timeout(sim: ModbusSimulator) -> None:
        sim.charger.watchdog_s = 8.0
        sim.charger.set("watchdog_timeout", 8.0)

    rig = await start_rig(tmp_path, "webasto_next", before_start=short_timeout)
    try:
        await rig.start_charging()
        beats = rig.simulator.charger.writes["heartbeat"]
        for _ in range(30):
            await rig.advance(1, step=1)
            rig.simulator.tick()
            assert not rig.simulator.charger.failsafe_active
        assert rig.simulator.charger.writes["heartbeat"] - beats >= 30 // 4
        assert rig.simulator.charger.writes["watchdog_timeout"] == 0
        assert rig.simulator.charger.words["watchdog_timeout"] == [8]
    finally:
        await stop_rig(rig)


async def test_status_reads_only_touch_documented_addresses():
    """Every map's status plan stays inside what its device has."""
    for map_id in ("webasto_next", "bender_cc613", "alfen_eve", "abl_emh"):
        device_map = load_map(map_id)
        charger = ModbusCharger(device_map, ModbusBus(Endpoint(kind="tcp")))
        for block in charger._status_plan:
            unit = None if block.unit == device_map.transport.unit else block.unit
            assert device_map.has_addresses(unit, block.table, block.address, block.count), (
                map_id,
                block,
            )
    assert STATUS_NAMES
