"""The embedded simulator: any charger map and meter map served over real Modbus,
behaving as the device over a simulated EV (``python -m controller.simulator``).

The Modbus side (``ModbusSimulator``, the devices) needs pymodbus 3.11 or newer and is
imported on first use: the scenarios need no pymodbus, so the Home Assistant integration
(``simulate_ev``, OCPP simulator) loads on the older pymodbus another integration may have
installed (``controller.modbus.transport``'s docstring says why that happens).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .scenarios import Scenario, ScenarioError, Step, parse

if TYPE_CHECKING:
    from .device import SimulatedCharger, SimulatedDevice
    from .server import ModbusSimulator, free_port

_LAZY = {
    "ModbusSimulator": ".server",
    "free_port": ".server",
    "SimulatedCharger": ".device",
    "SimulatedDevice": ".device",
}

__all__ = [
    "ModbusSimulator",
    "Scenario",
    "ScenarioError",
    "SimulatedCharger",
    "SimulatedDevice",
    "Step",
    "free_port",
    "parse",
]


def __getattr__(name: str) -> Any:
    """The Modbus side, imported when first asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_LAZY[name], __name__), name)
