"""The simulator is as strict as the hardware its map describes (issue 11, section 2): the
answers a real box gives to what it does not have, does not take, or refuses."""

from __future__ import annotations

from pymodbus.constants import ExcCodes

from controller.clock import ManualClock
from controller.modbus.maps import load_map
from controller.modbus.transport import AnsweringAsciiFramer, TolerantAsciiFramer
from controller.simulation import SimulatedStation
from controller.simulator.device import SimulatedCharger


def charger(map_id: str, **options) -> SimulatedCharger:
    return SimulatedCharger(load_map(map_id), SimulatedStation(clock=ManualClock()), **options)


def request(sim: SimulatedCharger, fc: int, address: int, count: int = 1, values=None):
    """One request as pymodbus hands it to the device (registers: a scratch image)."""
    registers = [0] * 200
    return sim.handle(
        sim.unit,
        function_code=fc,
        start_address=address,
        address=address,
        count=count,
        registers=registers,
        set_values=values,
    )


def test_an_address_the_device_does_not_have_is_exception_2():
    webasto = charger("webasto_next")
    assert request(webasto, 3, 1000, 1) is None
    assert request(webasto, 3, 1000, 7) is ExcCodes.ILLEGAL_ADDRESS  # 1003, 1005 do not exist
    assert request(webasto, 3, 1008, 1) is ExcCodes.ILLEGAL_ADDRESS  # currents are FC04
    assert request(webasto, 4, 1008, 1) is None
    assert request(webasto, 16, 1003, 1, [1]) is ExcCodes.ILLEGAL_ADDRESS


def test_a_write_to_a_read_only_register_is_exception_2():
    heidelberg = charger("heidelberg_energy_control")
    assert request(heidelberg, 6, 258, 1, [4]) is None  # standby (holding, rw)
    assert request(heidelberg, 6, 260, 1, [1]) is ExcCodes.ILLEGAL_ADDRESS  # not documented


def test_an_undocumented_function_code_is_exception_1():
    assert request(charger("bender_cc613"), 6, 1000, 1, [16]) is ExcCodes.ILLEGAL_FUNCTION
    assert request(charger("bender_cc613"), 16, 1000, 1, [16]) is None
    assert request(charger("webasto_next"), 6, 5004, 1, [16]) is ExcCodes.ILLEGAL_FUNCTION
    assert request(charger("amperfied_connect"), 6, 261, 1, [160]) is ExcCodes.ILLEGAL_FUNCTION
    abl = charger("abl_emh")
    request(abl, 3, 0x04)  # wakes its bus
    assert request(abl, 6, 0x14, 1, [266]) is ExcCodes.ILLEGAL_FUNCTION
    # The Energy Control documents FC06 and takes FC16 (evcc): both.
    assert request(charger("heidelberg_energy_control"), 6, 261, 1, [160]) is None
    assert request(charger("heidelberg_energy_control"), 16, 261, 1, [160]) is None
    # A float32 setpoint must be one FC16 of both words (Alfen).
    assert request(charger("alfen_eve"), 6, 1210, 1, [0x4180]) is ExcCodes.ILLEGAL_ADDRESS


def test_out_of_range_setpoints_are_exception_3():
    heidelberg = charger("heidelberg_energy_control")
    assert request(heidelberg, 16, 261, 1, [500]) is ExcCodes.ILLEGAL_VALUE  # 50 A on 16 A
    assert request(heidelberg, 16, 261, 1, [30]) is ExcCodes.ILLEGAL_VALUE  # 1..59 invalid
    assert heidelberg.setpoint_A == 0.0
    assert request(heidelberg, 16, 261, 1, [0]) is None  # 0 = stop
    assert request(heidelberg, 16, 261, 1, [160]) is None
    assert heidelberg.setpoint_A == 16.0
    webasto = charger("webasto_next")
    assert request(webasto, 16, 5004, 1, [40]) is ExcCodes.ILLEGAL_VALUE  # above the box's 32 A


def test_keep_alive_registers_read_the_devices_values():
    heidelberg = charger("heidelberg_energy_control")
    assert heidelberg.words["watchdog_timeout"] == [15000]  # factory 15 s, in ms
    assert heidelberg.words["failsafe_current"] == [0]
    assert charger("webasto_next").words["watchdog_timeout"] == [30]


def test_firmware_variants_are_served():
    assert charger("phoenix_ev_eth").words["max_current"] == [6]  # whole amperes
    assert charger("wallbe_eco").words["max_current"] == [60]  # 0.1 A
    legacy = charger("bender_cc613", without=("energy_import", "power"))
    assert "energy_import" not in legacy.map.registers
    assert request(legacy, 3, 218, 2) is ExcCodes.ILLEGAL_ADDRESS
    assert request(legacy, 3, 200, 2) is None


def test_held_states_are_left_only_by_the_documented_write():
    abl = charger("abl_emh")
    abl.hold_state(0xE0)
    abl.refresh()
    assert abl.map["cp_state"].decode(abl.words["cp_state"]) == "E"
    request(abl, 3, 0x04)  # wakes its bus
    assert request(abl, 16, 0x05, 1, [0xE0E0]) is None
    assert abl.held_state == 0xE0
    assert request(abl, 16, 0x05, 1, [0xA1A1]) is None
    assert abl.held_state is None
    heidelberg = charger("heidelberg_energy_control")
    heidelberg.hold_state(10)
    assert heidelberg.words["remote_lock"] == [0]  # locked
    assert request(heidelberg, 16, 259, 1, [1]) is None
    assert heidelberg.held_state is None


def test_abl_sleeping_bus_refuses_the_first_request_after_a_pause():
    abl = charger("abl_emh")
    abl.station.clock.advance(10)
    assert request(abl, 3, 0x04, 1) is ExcCodes.DEVICE_BUSY
    assert request(abl, 3, 0x04, 1) is None


def test_abl_frames_start_with_gt_and_the_driver_reads_them():
    server = AnsweringAsciiFramer(None)  # type: ignore[arg-type]
    frame = server.encode(b"\x03\x02\x00\xc2", 1, 0)
    assert frame.startswith(b">")
    client = TolerantAsciiFramer(None)  # type: ignore[arg-type]
    used, device_id, _, pdu = client.decode(frame)
    assert (used, device_id, pdu) == (len(frame), 1, b"\x03\x02\x00\xc2")
    # A stock ':' frame still reads.
    assert client.decode(b":" + frame[1:])[3] == pdu


def test_a_write_only_register_refuses_reads_and_takes_writes():
    """What a map marks ``access: w`` (the sources call it write-only) is not read back from
    the simulator either, so nothing of ours can come to depend on reading it."""
    webasto = charger("webasto_next")
    assert request(webasto, 16, 5004, 1, [16]) is None
    assert request(webasto, 3, 5004, 1) is ExcCodes.ILLEGAL_ADDRESS
    etrel = charger("etrel_inch")
    assert request(etrel, 16, 8, 2, [0x4180, 0]) is None  # 16.0 A, float32
    assert etrel.setpoint_A == 16.0
    assert request(etrel, 3, 8, 2) is ExcCodes.ILLEGAL_ADDRESS
