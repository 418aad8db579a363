"""An OCPP connector end to end: our central system on 127.0.0.1, the simulated wallbox
(the ``ocpp`` package's client side) connected to it over a real WebSocket, and our kernel
driving the connector through the OCPP ports. The EV physics and the kernel share a
ManualClock, so energy is exact; ``turn()`` lets the messages a step causes play out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from controller.clock import ManualClock
from controller.kernel.machine import KernelConfig
from controller.manager import EvseManager, Update
from controller.ocpp.central import CentralSettings, CentralSystem
from controller.ocpp.link import ConnectorLink
from controller.ocpp.port import OcppCharger, OcppChargerSettings, OcppMeter
from controller.ocpp.setup import accept_cards
from controller.ocpp.simulated import SimulatedWallbox
from controller.simulation import SimulatedStation
from controller.store import SessionStore


@dataclass
class OcppRig:
    """Everything an OCPP test touches."""

    clock: ManualClock
    station: SimulatedStation
    central: CentralSystem
    link: ConnectorLink
    box: SimulatedWallbox
    manager: EvseManager
    store: SessionStore
    updates: list[Update] = field(default_factory=list)

    def events(self) -> list[str]:
        return [u.value.event.value for u in self.updates if u.var == "session_event"]

    async def turn(self, seconds: float = 0.0, rounds: int = 3) -> None:
        """Move time, let the wallbox report, the kernel poll and the commands land."""
        self.clock.advance(seconds)
        for _ in range(rounds):
            await self.box.step()
            await self.central.settle()
            await self.box.settle()
            await self.manager.poll_now()
            await self.box.settle()


CARD = "CAFE0001"  # the card on the rig's token list (auth.id_tags)
SETTINGS = OcppChargerSettings(
    max_current_A=16.0, connect_timeout_s=5, start_timeout_s=5, boot_wait_s=0.2
)


def make_central(**settings: Any) -> CentralSystem:
    return CentralSystem(
        CentralSettings(
            host="127.0.0.1", port=0, response_timeout_s=5, meter_interval_s=15, **settings
        )
    )


def make_manager(link: ConnectorLink, store: SessionStore, clock: ManualClock) -> EvseManager:
    """Our kernel over the link's OCPP ports, with the rig's card list."""
    manager = EvseManager(
        OcppCharger(link, SETTINGS, clock),
        OcppMeter(link, SETTINGS, clock),
        store,
        KernelConfig(evse_id="DE*EVM*E1", max_current_A=16.0),
        clock=clock,
        poll_interval=3600.0,
    )
    accept_cards(link, manager, (CARD,))
    return manager


@asynccontextmanager
async def restarted(rig: OcppRig) -> AsyncIterator[OcppRig]:
    """The controller restarted mid-session: a new central system and manager on the same
    store; the wallbox (not rebooted) is connected again by the caller."""
    await rig.manager.stop()
    await rig.box.disconnect()
    await rig.central.stop()
    central = make_central()
    link = central.register("CP1", 1, "s3cret")
    await central.start()
    rig.box.url = f"ws://127.0.0.1:{central.port}/CP1"
    manager = make_manager(link, rig.store, rig.clock)
    again = replace(rig, central=central, link=link, manager=manager, updates=[])
    manager.subscribe(again.updates.append)
    try:
        yield again
    finally:
        await manager.stop()
        await rig.box.disconnect()
        await central.stop()


@pytest.fixture(params=["1.6", "2.0.1"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def open_rig(tmp_path: Path, version: str, **central_settings: Any) -> AsyncIterator[OcppRig]:
    """The whole chain, started (``central_settings``: the central system's, beyond the
    rig's); every server and socket closed on exit."""
    clock = ManualClock()
    station = SimulatedStation(clock=clock)
    central = make_central(**central_settings)
    link = central.register("CP1", 1, "s3cret")
    await central.start()
    box = SimulatedWallbox(
        station, f"ws://127.0.0.1:{central.port}/CP1", version=version, password="s3cret"
    )
    store = SessionStore(tmp_path / "s.db")
    manager = make_manager(link, store, clock)
    r = OcppRig(clock, station, central, link, box, manager, store)
    manager.subscribe(r.updates.append)
    try:
        await box.connect()
        await central.settle()
        await box.settle()
        await manager.start()
        manager.release_updates()
        yield r
    finally:
        await manager.stop()
        await box.disconnect()
        await central.stop()
        store.close()


@pytest.fixture
async def rig(tmp_path: Path, version: str, socket_enabled: None) -> AsyncIterator[OcppRig]:
    async with open_rig(tmp_path, version) as r:
        yield r
