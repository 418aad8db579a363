"""Simulated hardware: an EV, a charge controller and a meter, for tests and the demo."""

from .memory import MemoryCharger, MemoryMeter
from .station import SimulatedEV, SimulatedStation

__all__ = ["MemoryCharger", "MemoryMeter", "SimulatedEV", "SimulatedStation"]
