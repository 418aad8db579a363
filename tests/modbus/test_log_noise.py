"""A device that goes silent is reported once when it goes and once when it returns,
however many requests fail meanwhile (pymodbus logs an ERROR and a hex dump per request)."""

from __future__ import annotations

import contextlib
import logging

from pymodbus.exceptions import ModbusException

from tests.modbus.test_faults import until_available

QUIET_LOGGERS = ("asyncio", "controller.simulator")  # the test's own simulator


def lines(caplog) -> list[logging.LogRecord]:
    """Records a user would see at the default level (INFO and above)."""
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.INFO and not r.name.startswith(QUIET_LOGGERS)
    ]


async def test_a_silent_charger_logs_one_line_going_and_one_returning(rig, caplog):
    await rig.start_charging()
    caplog.set_level(logging.INFO)
    caplog.clear()
    rig.simulator.charger.inject_silence(60.0)  # every request times out (0.5 s)
    await rig.advance(3, step=1)
    assert not rig.manager.available
    assert rig.manager._charger.device.bus.failures >= 2
    rig.simulator.charger.clear_faults()
    await until_available(rig)
    messages = [r.getMessage() for r in lines(caplog)]
    assert len(messages) == 2, messages
    assert "charger unreachable" in messages[0]
    assert "charger reachable again" in messages[1]


async def test_pymodbus_records_stay_available_for_debugging(rig, caplog):
    caplog.set_level(logging.DEBUG, logger="pymodbus")
    rig.simulator.charger.inject_silence(60.0)
    await rig.advance(1, step=1)
    rig.simulator.charger.clear_faults()
    pymodbus = [r for r in caplog.records if r.name.startswith("pymodbus")]
    assert pymodbus
    assert {r.levelname for r in pymodbus} == {"DEBUG"}


async def test_another_integrations_pymodbus_records_keep_their_level(rig, caplog):
    """pymodbus has one logger per process: in Home Assistant core's Modbus integration
    shares it with ours, and its users need its warnings. Only our clients' records are
    quieted; a client of its own (core's) to the same silent charger keeps its ERRORs."""
    from pymodbus.client import AsyncModbusTcpClient

    from controller.modbus.transport import _UNIT

    await rig.start_charging()
    caplog.set_level(logging.INFO)
    caplog.clear()
    rig.simulator.charger.inject_silence(60.0)
    foreign = AsyncModbusTcpClient("127.0.0.1", port=rig.simulator.port, timeout=0.3, retries=0)
    try:
        assert await foreign.connect()
        before = len(caplog.records)
        await rig.advance(2, step=1)  # our bus times out meanwhile
        ours = [r for r in caplog.records[before:] if r.name.startswith("pymodbus")]
        with contextlib.suppress(ModbusException):
            await foreign.read_input_registers(5, count=9, **{_UNIT: 1})
    finally:
        foreign.close()
    assert rig.manager._charger.device.bus.failures >= 1
    assert ours == []  # ours went by without a line
    theirs = [r for r in caplog.records if r.name.startswith("pymodbus")]
    assert theirs
    assert {r.levelno for r in theirs} & {logging.WARNING, logging.ERROR}, theirs
