"""The demo: one connector on simulated hardware playing a full EV session.

Time is simulated (a ManualClock advanced by the script), so an hour of charging takes a
moment; every session event is printed as it happens, in EVerest's JSON form.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from .clock import ManualClock
from .everest import (
    AuthorizationStatus,
    AuthorizationType,
    IdToken,
    IdTokenType,
    ProvidedIdToken,
    StopTransactionReason,
    StopTransactionRequest,
    ValidationResult,
)
from .kernel.machine import KernelConfig
from .manager import EvseManager, Update
from .simulation import MemoryCharger, MemoryMeter, SimulatedStation
from .store import SessionStore


def _printer(verbose: bool, out: Callable[[str], None]) -> Callable[[Update], None]:
    def show(update: Update) -> None:
        if update.var == "session_event":
            event = update.value
            line = f"{event.timestamp}  {event.event.value}"
            if verbose:
                line += "  " + json.dumps(update.to_json(), sort_keys=True)
            out(line)

    return show


async def run_demo(
    db: Path | None = None, verbose: bool = False, out: Callable[[str], None] = print
) -> None:
    """Plug in, authorize, charge, EV pause, EVSE pause, resume, stop, unplug."""
    clock = ManualClock()
    station = SimulatedStation(clock=clock)
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore(db or Path(tmp) / "demo.db")
        manager = EvseManager(
            MemoryCharger(station), MemoryMeter(station), store, KernelConfig(), clock=clock
        )
        manager.subscribe(_printer(verbose, out))
        await manager.start()
        try:
            await _script(manager, station, clock)
            for record in manager.history(1):
                out(
                    f"session {record.session_id}: {record.energy_Wh / 1000:.2f} kWh in "
                    f"{record.duration_s / 60:.0f} min, stopped: {record.stop_reason.value}"
                )
        finally:
            await manager.stop()
            store.close()


async def _script(manager: EvseManager, station: SimulatedStation, clock: ManualClock) -> None:
    async def wait(seconds: float) -> None:
        for _ in range(int(seconds // 60) or 1):
            clock.advance(min(60.0, seconds))
            await manager.poll_now()

    token = ProvidedIdToken(
        id_token=IdToken(value="DEADBEEF", type=IdTokenType.ISO14443),
        authorization_type=AuthorizationType.RFID,
    )
    station.plug_in()
    await manager.poll_now()
    await manager.authorize_response(
        token, ValidationResult(authorization_status=AuthorizationStatus.Accepted)
    )
    station.draw_power(16.0, 3)
    await manager.poll_now()
    await wait(1800)
    station.pause()
    await wait(300)
    station.resume()
    await wait(600)
    await manager.pause_charging()
    await wait(300)
    await manager.resume_charging()
    await wait(900)
    await manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
    await wait(60)
    station.unplug()
    await manager.poll_now()
