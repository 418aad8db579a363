"""A connector over real Modbus TCP on 127.0.0.1 against the project's simulator.

Time is a ManualClock shared by the simulated EV/meter physics and the controller, so an
hour of charging takes a moment and energies are exact; every byte still crosses a real
TCP socket through pymodbus on both sides.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from controller.clock import ManualClock
from controller.config import connector_config, open_connector
from controller.kernel.states import State
from controller.manager import EvseManager, Update
from controller.modbus.maps import load_map
from controller.modbus.transport import BusRegistry
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator
from controller.store import SessionStore


@dataclass
class ModbusRig:
    """Everything a Modbus session test touches."""

    clock: ManualClock
    station: SimulatedStation
    simulator: ModbusSimulator
    manager: EvseManager
    store: SessionStore
    registry: BusRegistry
    updates: list[Update] = field(default_factory=list)

    def events(self) -> list[str]:
        """Session event names so far."""
        return [u.value.event.value for u in self.updates if u.var == "session_event"]

    async def start_charging(self) -> None:
        """Plug in an EV drawing 16 A on 3 phases and let it settle into Charging."""
        self.station.plug_in()
        self.station.draw_power(16.0, 3)
        await self.advance(8, step=1)
        assert self.manager.state is State.Charging, self.events()

    async def advance(self, seconds: float, step: float = 60.0) -> None:
        """Let simulated time pass, polling every ``step`` seconds."""
        remaining = seconds
        while remaining > 1e-9:
            dt = min(step, remaining)
            self.clock.advance(dt)
            remaining -= dt
            await self.manager.poll_now()


async def start_rig(
    tmp_path,
    charger_id: str,
    meter_id: str | None = "eastron_sdm630",
    *,
    framer: str = "socket",
    serial: tuple[str, str] | None = None,
    device: str | None = None,
    without: tuple[str, ...] = (),
    before_start: Callable[[ModbusSimulator], None] | None = None,
    meter_connection: dict | None = None,
    poll_interval: float = 3600.0,
    **extra,
):
    """Simulator + controller, started; the caller stops both (``stop_rig``).

    ``framer="rtu"`` speaks RTU over TCP (an RS-485 gateway); ``serial=(server_tty,
    client_tty)`` serves the charger with RTU (or the map's ASCII) on one end of a pty pair
    instead. ``device`` is the map the simulator serves when it differs from the one the
    controller is configured with (the user picked the wrong map), ``without`` the registers
    its firmware lacks, and ``before_start`` prepares it before the controller connects.
    ``meter_connection`` adds options to the meter's connection (``invert_power``).
    The manager polls by itself every ``poll_interval`` s (an hour: only when asked).
    """
    clock = ManualClock()
    station = SimulatedStation(clock=clock)
    simulator = ModbusSimulator(
        station,
        load_map(device or charger_id),
        load_map(meter_id) if meter_id else None,
        port=0,
        framer=framer,
        without=without,
    )
    if before_start is not None:
        before_start(simulator)
    await simulator.start()
    data = {**simulator.devices(timeout_s=0.5), "free_charging": True, **extra}
    data["charger"]["map"] = charger_id
    if meter_connection:
        data["meter"]["connection"].update(meter_connection)
    if serial is not None:
        await simulator.serve_serial(serial[0], 19200)
        data["charger"]["connection"] = {
            "kind": "ascii" if load_map(charger_id).transport.kind == "ascii" else "rtu",
            "serial_port": serial[1],
            "baudrate": 19200,
            "parity": "N",  # a pty refuses parity settings
            "timeout_s": 0.5,
            "request_gap_ms": 0,
        }
    config = connector_config("garage", data)
    registry = BusRegistry()
    store = SessionStore(tmp_path / "sessions.db")
    manager = open_connector(config, registry, store, clock)
    manager.poll_interval = poll_interval
    rig = ModbusRig(clock, station, simulator, manager, store, registry)
    manager.subscribe(rig.updates.append)
    try:
        await manager.start()
        manager.release_updates()
    except BaseException:
        await stop_rig(rig)
        raise
    return rig


async def stop_rig(rig: ModbusRig) -> None:
    """Stop controller, buses, store and simulator."""
    try:
        await rig.manager.stop()
    finally:
        await rig.registry.close_all()
        rig.store.close()
        await rig.simulator.stop()


@pytest.fixture
async def rig(tmp_path, socket_enabled):
    """Heidelberg Energy Control + SDM630 over Modbus TCP."""
    rig = await start_rig(tmp_path, "heidelberg_energy_control")
    try:
        yield rig
    finally:
        await stop_rig(rig)


@pytest.fixture
def pty_pair(tmp_path):
    """Two linked serial devices, removed again by the test."""
    assert shutil.which("socat"), "socat is installed by scripts/bootstrap"
    server, client = tmp_path / "server.tty", tmp_path / "client.tty"
    proc = subprocess.Popen(
        [
            "socat",
            f"pty,raw,echo=0,link={server}",
            f"pty,raw,echo=0,link={client}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if server.exists() and client.exists():
                break
            proc.poll()
            assert proc.returncode is None, "socat exited"
            time.sleep(0.02)
        yield str(server), str(client)
    finally:
        proc.terminate()
        proc.wait(timeout=5)
