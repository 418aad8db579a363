"""The demo over OCPP: our central system and the simulated OCPP wallbox (1.6J or 2.0.1)
talking over a real WebSocket on 127.0.0.1, one EV session played through our kernel.

As in the Modbus demo, time is simulated (one ManualClock for the EV physics and the
controller), so half an hour of charging takes a moment; every OCPP message still crosses
the socket through the ``ocpp`` package on both sides.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from ..clock import ManualClock
from ..demo import TOKEN, _printer
from ..everest import (
    AuthorizationStatus,
    StopTransactionReason,
    StopTransactionRequest,
    ValidationResult,
)
from ..kernel.machine import KernelConfig
from ..manager import EvseManager
from ..simulation import SimulatedStation
from ..store import SessionStore
from .central import CentralSettings, CentralSystem
from .port import OcppCharger, OcppChargerSettings, OcppMeter
from .simulated import SimulatedWallbox

STEP_S = 30.0  # simulated seconds between the wallbox's reports


async def run_ocpp_demo(
    version: str = "1.6",
    db: Path | None = None,
    verbose: bool = False,
    out: Callable[[str], None] = print,
) -> None:
    """Plug in, authorize (RemoteStart), charge, EVSE pause, resume, stop, unplug."""
    clock = ManualClock()
    station = SimulatedStation(clock=clock)
    central = CentralSystem(CentralSettings(host="127.0.0.1", port=0))
    link = central.register("DEMO-WALLBOX")
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore(db or Path(tmp) / "demo.db")
        await central.start()
        url = f"ws://127.0.0.1:{central.port}/DEMO-WALLBOX"
        out(f"central system: {url} (OCPP {version})")
        box = SimulatedWallbox(station, url, version=version)
        settings = OcppChargerSettings(max_current_A=16.0)
        manager = EvseManager(
            OcppCharger(link, settings),
            OcppMeter(link, settings, clock),
            store,
            KernelConfig(evse_id="DE*EVM*EDEMO*1", max_current_A=16.0),
            clock=clock,
            poll_interval=3600.0,  # the script polls, in simulated time
        )
        manager.subscribe(_printer(verbose, out))
        try:
            await box.connect()
            await central.settle()
            await manager.start()
            manager.release_updates()
            await _script(manager, station, box, central, clock)
            for record in manager.history(1):
                out(
                    f"session {record.session_id}: {record.energy_Wh / 1000:.2f} kWh in "
                    f"{record.duration_s / 60:.0f} min, stopped: {record.stop_reason.value}"
                )
        finally:
            await manager.stop()
            await box.disconnect()
            await central.stop()
            store.close()


async def _script(
    manager: EvseManager,
    station: SimulatedStation,
    box: SimulatedWallbox,
    central: CentralSystem,
    clock: ManualClock,
) -> None:
    async def wait(seconds: float) -> None:
        remaining = seconds
        while remaining > 1e-9:
            step = min(STEP_S, remaining)
            clock.advance(step)
            remaining -= step
            for _ in range(2):  # the wallbox reports, the kernel answers, it follows
                await box.step()
                await central.settle()
                await box.settle()
                await manager.poll_now()

    station.plug_in()
    await wait(1)
    accepted = ValidationResult(authorization_status=AuthorizationStatus.Accepted)
    await manager.authorize_response(TOKEN, accepted)
    await wait(1)
    station.draw_power(16, 3)
    await wait(1800)
    await manager.pause_charging()
    await wait(300)
    await manager.resume_charging()
    await wait(900)
    await manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
    await wait(60)
    station.unplug()
    await wait(1)
