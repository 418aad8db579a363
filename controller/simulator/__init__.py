"""The embedded simulator: any charger map and meter map served over real Modbus,
behaving as the device over a simulated EV (``python -m controller.simulator``)."""

from .device import SimulatedCharger, SimulatedDevice
from .scenarios import Scenario, ScenarioError, Step, parse
from .server import ModbusSimulator, free_port

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
