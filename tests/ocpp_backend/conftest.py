"""Our controller reporting to a test CSMS: the project's Modbus simulator (a Heidelberg
+ SDM630 over a simulated EV) on 127.0.0.1, the standalone Controller with a ``csms``
section, and the ``ocpp`` package's central system as the backend.

The station and the controller share a ManualClock, so the energy of a session is
whatever time the test lets pass; the connector still polls every 0.1 s of real time
and every wait is event-driven with a bound."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from controller.app import Controller
from controller.clock import ManualClock
from controller.commands import execute
from controller.config import parse_config
from controller.kernel.states import State
from controller.manager import EvseManager, Update
from controller.modbus.maps import load_map
from controller.ocpp.backend.client import CsmsClient
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator
from tests.app.test_controller import until

from .csms import WAIT_S, TestCsms

PASSWORD = "s3cret-pass"
TOKEN = "CAFE0001"


@dataclass
class Rig:
    clock: ManualClock
    sim: ModbusSimulator
    csms: TestCsms
    controller: Controller
    updates: list[Update]

    @property
    def manager(self) -> EvseManager:
        return self.controller.managers["evse1"]

    @property
    def station(self) -> SimulatedStation:
        return self.sim.station

    @property
    def client(self) -> CsmsClient:
        return next(a for a in self.controller.adapters if isinstance(a, CsmsClient))

    def events(self, name: str) -> list[Any]:
        return [
            u.value
            for u in self.updates
            if u.var == "session_event" and u.value.event.value == name
        ]

    async def until(self, predicate: Callable[[], bool], what: str) -> None:
        """Wait for ``predicate``, re-checked on every update of the connector."""
        await until(self.manager, predicate, what)

    async def delivered(self) -> None:
        """Everything queued so far answered by the CSMS."""
        assert await self.client.wait_for(self.client.delivered, WAIT_S), "not delivered"

    async def authorize(self, token: str = TOKEN) -> None:
        """A token accepted by our own authorization (as Home Assistant or MQTT give it)."""
        result = await execute(
            self.manager,
            "authorize_response",
            {
                "provided_token": {
                    "id_token": {"value": token, "type": "ISO14443"},
                    "authorization_type": "RFID",
                },
                "validation_result": {"authorization_status": "Accepted"},
            },
        )
        assert result.ok, result.error

    async def charge(self) -> None:
        """Plug in, authorize, the EV draws 16 A on 3 phases: charging."""
        self.station.plug_in()
        await self.until(
            lambda: self.manager.state is State.WaitingForAuthentication, "auth required"
        )
        await self.authorize()
        self.station.draw_power(16.0, 3)
        await self.until(lambda: self.manager.state is State.Charging, "charging")

    async def energy_after(self, seconds: float) -> float:
        """Let ``seconds`` of charging pass; the register our controller then reads."""
        before = self.register()
        self.clock.advance(seconds)
        await self.until(lambda: self.register() > before, "the meter to count")
        return self.register()

    def register(self) -> float:
        return float(self.manager.vars()["powermeter"].energy_Wh_import.total)

    async def unplug(self) -> None:
        self.station.unplug()
        await self.until(lambda: self.manager.state is State.Idle, "idle")


def config(
    tmp_path: Path,
    sim: ModbusSimulator,
    csms: TestCsms,
    energy: dict[str, Any] | None = None,
    **extra: Any,
) -> Any:
    """The controller's configuration; ``energy``: the connector's energy section, with
    the simulator's meter as the grid meter of the built-in energy manager."""
    connection = {"kind": "tcp", "host": "127.0.0.1", "timeout_s": 0.5, "request_gap_ms": 0}
    section = {
        "url": csms.url,
        "charge_point_id": csms.cp_id,
        "version": csms.version,
        "meter_interval_s": 3600,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
        "response_timeout_s": 5,
        **extra,
    }
    if csms.password is not None:
        section.setdefault("password", csms.password)
    meter = {
        "map": "eastron_sdm630",
        "connection": connection | {"port": sim.meter_port, "unit": sim.meter_unit},
    }
    connector: dict[str, Any] = {
        "charger": {
            "map": "heidelberg_energy_control",
            "connection": connection | {"port": sim.port},
        },
        "meter": meter,
        "poll_interval_s": 0.1,
        "auth_timeout_s": 3600,
    }
    data: dict[str, Any] = {
        "store": str(tmp_path / "sessions.db"),
        "connectors": {"evse1": connector},
        "csms": section,
    }
    if energy is not None:
        connector["energy"] = energy
        data["energy"] = {"grid_meter": meter, "interval_s": 300}  # steps: the test's
    return parse_config(data)


@asynccontextmanager
async def controller_for(
    tmp_path: Path,
    sim: ModbusSimulator,
    csms: TestCsms,
    clock: ManualClock,
    energy: dict[str, Any] | None = None,
    **extra: Any,
) -> AsyncIterator[tuple[Controller, list[Update]]]:
    """A started controller (stopped on exit) and every update it published."""
    controller = Controller(config(tmp_path, sim, csms, energy, **extra), clock)
    updates: list[Update] = []
    await controller.start()
    controller.managers["evse1"].subscribe(updates.append)
    try:
        yield controller, updates
    finally:
        await controller.stop()


@pytest.fixture(params=["1.6", "2.0.1"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def simulator(clock: ManualClock) -> ModbusSimulator:
    """A Heidelberg + SDM630 over a simulated EV on ``clock`` (not started)."""
    station = SimulatedStation(clock=clock)
    return ModbusSimulator(
        station, load_map("heidelberg_energy_control"), load_map("eastron_sdm630")
    )


@asynccontextmanager
async def backend_and_simulator(
    version: str,
) -> AsyncIterator[tuple[ManualClock, ModbusSimulator, TestCsms]]:
    """The simulator and the test CSMS, started (both stopped on exit)."""
    clock = ManualClock()
    sim = simulator(clock)
    csms = TestCsms(version, password=PASSWORD)
    await sim.start()
    await csms.start()
    try:
        yield clock, sim, csms
    finally:
        await csms.stop()
        await sim.stop()


@asynccontextmanager
async def open_rig(
    tmp_path: Path, version: str, energy: dict[str, Any] | None = None, **extra: Any
) -> AsyncIterator[Rig]:
    async with AsyncExitStack() as stack:
        clock, sim, csms = await stack.enter_async_context(backend_and_simulator(version))
        controller, updates = await stack.enter_async_context(
            controller_for(tmp_path, sim, csms, clock, energy, **extra)
        )
        rig = Rig(clock, sim, csms, controller, updates)
        await rig.delivered()
        yield rig


@pytest.fixture
async def rig(tmp_path: Path, version: str, socket_enabled: None) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path, version) as r:
        yield r
