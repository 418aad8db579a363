"""Energy management: solar-surplus charging and site load sharing, feeding kernel limits."""

from .manager import (
    ConnectorControl,
    EnergyManager,
    GridReading,
    GridSource,
    MeterGridSource,
    PushedGridSource,
    SiteSettings,
)
from .site import Demand, share
from .surplus import Decision, Mode, SiteReading, SurplusController, SurplusSettings

__all__ = [
    "ConnectorControl",
    "Decision",
    "Demand",
    "EnergyManager",
    "GridReading",
    "GridSource",
    "MeterGridSource",
    "Mode",
    "PushedGridSource",
    "SiteReading",
    "SiteSettings",
    "SurplusController",
    "SurplusSettings",
    "share",
]
