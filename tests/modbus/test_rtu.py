"""The RTU path: RTU framing over TCP (an RS-485 gateway) and RTU on a serial line.

The serial line is a real pty pair made by socat (the edge nothing else can reach without
hardware): pymodbus' serial server on one end, the controller's serial client on the other.
"""

import asyncio

import pytest

from .conftest import start_rig, stop_rig


async def run_session(rig) -> None:
    await rig.start_charging()
    await rig.advance(1800)
    info = rig.manager.vars()["session_info"]
    assert info.energy_Wh == pytest.approx(rig.station.energy_Wh, abs=1.0)
    assert info.energy_Wh > 3000


async def test_session_over_rtu_over_tcp(tmp_path, socket_enabled):
    rig = await start_rig(tmp_path, "heidelberg_energy_control", framer="rtu")
    try:
        await run_session(rig)
    finally:
        await stop_rig(rig)


async def test_session_over_rtu_on_a_serial_line(tmp_path, socket_enabled, pty_pair):
    rig = await start_rig(tmp_path, "heidelberg_energy_control", serial=pty_pair)
    try:
        await run_session(rig)
        assert rig.manager._charger.device.bus.endpoint.kind == "rtu"
    finally:
        await stop_rig(rig)
        await asyncio.sleep(0)


async def test_a_serial_port_refusing_its_settings_is_a_clear_connect_error(tmp_path, pty_pair):
    from controller.errors import ConnectError
    from controller.modbus.transport import Endpoint, ModbusBus

    bus = ModbusBus(Endpoint(kind="rtu", serial_port=pty_pair[1], parity="E", timeout_s=0.2))
    try:
        with pytest.raises(ConnectError, match="cannot connect"):
            await bus.connect()
    finally:
        await bus.close()
