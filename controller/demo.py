"""The demo: the project's Modbus simulator and the controller, talking real Modbus TCP
over 127.0.0.1, playing one EV session while the session events are printed.

Time is simulated (one ManualClock shared by the EV physics and the controller), so an
hour of charging takes seconds; every register still crosses a real socket through
pymodbus on both sides. The EV follows a car-simulator scenario; the EVSE side (token,
pause by the EVSE, stop) is what an app or Home Assistant would send.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from .clock import ManualClock
from .config import connector_config, open_connector
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
from .manager import EvseManager, Update
from .modbus.maps import load_map
from .modbus.transport import BusRegistry
from .simulation import SimulatedStation
from .simulator import ModbusSimulator, Scenario
from .store import SessionStore

POLL_STEP_S = 5.0  # simulated seconds between polls (the chargers' watchdogs allow 15+)
TOKEN = ProvidedIdToken(
    id_token=IdToken(value="DEADBEEF", type=IdTokenType.ISO14443),
    authorization_type=AuthorizationType.RFID,
)


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
    db: Path | None = None,
    verbose: bool = False,
    out: Callable[[str], None] = print,
    *,
    charger: str = "heidelberg_energy_control",
    meter: str = "eastron_sdm630",
) -> None:
    """Plug in, authorize, charge, EV pause, EVSE pause, resume, stop, unplug."""
    clock = ManualClock()
    station = SimulatedStation(clock=clock)
    simulator = ModbusSimulator(station, load_map(charger), load_map(meter))
    registry = BusRegistry()
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore(db or Path(tmp) / "demo.db")
        await simulator.start()
        out(
            f"simulator: {charger} on 127.0.0.1:{simulator.port}, "
            f"{meter} on 127.0.0.1:{simulator.meter_port}"
        )
        config = connector_config("evse1", simulator.devices())
        manager = open_connector(config, registry, store, clock)
        manager.poll_interval = 3600.0  # the script polls, in simulated time
        manager.subscribe(_printer(verbose, out))
        try:
            await manager.start()
            manager.release_updates()
            await _script(manager, station, clock)
            for record in manager.history(1):
                out(
                    f"session {record.session_id}: {record.energy_Wh / 1000:.2f} kWh in "
                    f"{record.duration_s / 60:.0f} min, stopped: {record.stop_reason.value}"
                )
        finally:
            await manager.stop()
            await registry.close_all()
            store.close()
            await simulator.stop()


async def _script(manager: EvseManager, station: SimulatedStation, clock: ManualClock) -> None:
    async def wait(seconds: float) -> None:
        remaining = seconds
        while remaining > 1e-9:
            step = min(POLL_STEP_S, remaining)
            clock.advance(step)
            remaining -= step
            await manager.poll_now()

    async def ev(script: str) -> None:
        await Scenario(script, station).run(wait)

    await ev("plugin;sleep 1")
    await manager.authorize_response(
        TOKEN, ValidationResult(authorization_status=AuthorizationStatus.Accepted)
    )
    await ev("iec_wait_pwr_ready;draw_power_regulated 16,3;sleep 1800;pause;sleep 300")
    await ev("draw_power_regulated 16,3;sleep 600")
    await manager.pause_charging()
    await wait(300)
    await manager.resume_charging()
    await wait(900)
    await manager.stop_transaction(StopTransactionRequest(reason=StopTransactionReason.Local))
    await ev("sleep 60;unplug;sleep 1")
