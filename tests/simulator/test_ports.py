"""A simulator that picks its own port still starts when that port is taken before it binds
(a parallel test, or an outgoing connection's ephemeral port, got there first)."""

from __future__ import annotations

import socket

from pymodbus.client import AsyncModbusTcpClient

from controller.clock import SystemClock
from controller.modbus.maps import load_map
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator


async def test_a_picked_port_taken_before_the_bind_is_picked_again(socket_enabled):
    sim = ModbusSimulator(
        SimulatedStation(clock=SystemClock()),
        load_map("heidelberg_energy_control"),
        load_map("eastron_sdm630"),
    )
    picked = sim.port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", picked))
        squatter.listen()
        await sim.start()
        try:
            assert sim.port != picked
            client = AsyncModbusTcpClient("127.0.0.1", port=sim.port)
            await client.connect()
            try:
                answer = await client.read_input_registers(5, count=1, device_id=1)
                assert not answer.isError()
            finally:
                client.close()
        finally:
            await sim.stop()
