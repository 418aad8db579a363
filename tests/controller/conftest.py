"""A connector on in-memory simulated hardware with a manual clock: fully deterministic.

The manager's background poll interval is an hour, so nothing happens unless a test calls
``poll()``; time moves only through ``advance()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from controller.clock import ManualClock
from controller.everest import (
    AuthorizationStatus,
    AuthorizationType,
    EnforcedLimits,
    IdToken,
    IdTokenType,
    IntegerWithSource,
    LimitsRes,
    NumberWithSource,
    ProvidedIdToken,
    ValidationResult,
)
from controller.kernel.machine import KernelConfig
from controller.manager import EvseManager, Update
from controller.simulation import MemoryCharger, MemoryMeter, SimulatedStation
from controller.store import SessionStore

TOKEN = ProvidedIdToken(
    id_token=IdToken(value="DEADBEEF", type=IdTokenType.ISO14443),
    authorization_type=AuthorizationType.RFID,
)
ACCEPTED = ValidationResult(authorization_status=AuthorizationStatus.Accepted)


def limits(amps=None, watts=None, phases=None, valid_for=3600):
    return EnforcedLimits(
        uuid="evse_manager",
        valid_for=valid_for,
        limits_root_side=LimitsRes(
            ac_max_current_A=None if amps is None else NumberWithSource(value=amps, source="em"),
            total_power_W=None if watts is None else NumberWithSource(value=watts, source="em"),
            ac_max_phase_count=None
            if phases is None
            else IntegerWithSource(value=phases, source="em"),
        ),
    )


@dataclass
class Rig:
    """Everything a kernel test touches."""

    clock: ManualClock
    station: SimulatedStation
    meter: MemoryMeter
    store: SessionStore
    manager: EvseManager
    updates: list[Update] = field(default_factory=list)

    def events(self) -> list[str]:
        """Session event names so far."""
        return [u.value.event.value for u in self.updates if u.var == "session_event"]

    def take_events(self) -> list[str]:
        """Session event names since the last call."""
        names = self.events()
        self.updates.clear()
        return names

    def last(self, var: str):
        """The last published value of ``var``."""
        return [u.value for u in self.updates if u.var == var][-1]

    def event_payloads(self, name: str) -> list:
        """All SessionEvent objects named ``name``."""
        return [
            u.value
            for u in self.updates
            if u.var == "session_event" and u.value.event.value == name
        ]

    async def poll(self) -> None:
        """One poll + timers, all effects done."""
        await self.manager.poll_now()

    async def advance(self, seconds: float, step: float = 1.0) -> None:
        """Let time pass, polling every ``step`` seconds like the real loop."""
        remaining = seconds
        while remaining > 1e-9:
            dt = min(step, remaining)
            self.clock.advance(dt)
            remaining -= dt
            await self.poll()

    async def authorize(self, token: ProvidedIdToken = TOKEN) -> None:
        """An accepted token."""
        await self.manager.authorize_response(token, ACCEPTED)

    async def start_charging(self) -> None:
        """Plug in, authorize, EV draws 16 A on 3 phases."""
        self.station.plug_in()
        self.station.draw_power(16.0, 3)
        await self.poll()
        await self.authorize()
        await self.poll()


async def make_rig(tmp_path, config: KernelConfig | None = None, **station_args) -> Rig:
    """Build and start a rig; the caller stops it."""
    clock = ManualClock()
    station = SimulatedStation(clock=clock, **station_args)
    meter = MemoryMeter(station)
    store = SessionStore(tmp_path / "sessions.db")
    manager = EvseManager(
        MemoryCharger(station),
        meter,
        store,
        config or KernelConfig(),
        clock=clock,
        poll_interval=3600.0,
    )
    rig = Rig(clock, station, meter, store, manager)
    manager.subscribe(rig.updates.append)
    await manager.start()
    manager.release_updates()
    return rig


@pytest.fixture
async def rig(tmp_path):
    """A started connector with default configuration."""
    rig = await make_rig(tmp_path)
    try:
        yield rig
    finally:
        await rig.manager.stop()
        rig.store.close()


@pytest.fixture
async def rig_with(tmp_path):
    """Build rigs with a given configuration / station; all are stopped at the end."""
    rigs = []

    async def build(config=None, **station_args):
        path = tmp_path / str(len(rigs))
        path.mkdir()
        rig = await make_rig(path, config, **station_args)
        rigs.append(rig)
        return rig

    yield build
    for rig in rigs:
        await rig.manager.stop()
        rig.store.close()
