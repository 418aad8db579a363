"""The controller's Modbus client side alone, for ``test_pymodbus_range``: run as a script in a
venv whose pymodbus differs from the simulator's; prints what it saw as one JSON line.

argv[1] is the entry data (``ModbusSimulator.devices()``) of a simulator that another process
serves with an EV plugged in and drawing; this connects, waits for Charging, writes a lower
current (FC06/FC16 as the map says), reads the meter's power until it shows the lower
current, prints what it saw and waits for a line on stdin (the other side looks at its
charger meanwhile), then stops (the stop writes the safe state).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pymodbus

from controller.clock import SystemClock
from controller.config import connector_config, open_connector
from controller.kernel.states import State
from controller.manager import EvseManager
from controller.modbus.transport import BusRegistry
from controller.store import SessionStore

WAIT_S = 30.0
CURRENT_A = 10.0


async def _until(manager: EvseManager, done: Any) -> bool:
    """Poll until ``done()`` holds (False after WAIT_S)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not done():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.2)
        await manager.poll_now()
    return True


async def _session(manager: EvseManager) -> dict[str, Any]:
    charging = await _until(manager, lambda: manager.state is State.Charging)
    full_W = _power_W(manager)
    kept = await manager.set_max_current(CURRENT_A)
    # The charger lowers its PWM 5 s after the last change; the meter then shows the EV
    # drawing less (about 3 x 10 A x 230 V).
    lowered = await _until(manager, lambda: 0 < _power_W(manager) < full_W - 1000)
    return {
        "pymodbus": pymodbus.__version__,
        "charging": charging,
        "kept_A": kept,
        "full_W": full_W,
        "lowered": lowered,
        "power_W": _power_W(manager),
        "charger_info": manager.charger_info,
    }


def _power_W(manager: EvseManager) -> float:
    """The meter's last total power (0 before any sample)."""
    sample = manager.vars().get("powermeter")
    return sample.power_W.total if sample is not None and sample.power_W is not None else 0.0


async def main(data: dict[str, Any]) -> None:
    """One short session against the simulator."""
    registry = BusRegistry()
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore(Path(tmp) / "sessions.db")
        manager = open_connector(connector_config("garage", data), registry, store, SystemClock())
        manager.poll_interval = 3600.0  # polled only when asked (_until)
        try:
            await manager.start()
            print(json.dumps(await _session(manager), default=str), flush=True)
            await asyncio.to_thread(sys.stdin.readline)
        finally:
            await manager.stop()
            await registry.close_all()
            store.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
