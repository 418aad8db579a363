"""Energy management: solar-surplus charging and site load sharing, feeding kernel limits."""

from .surplus import Decision, Mode, SiteReading, SurplusController, SurplusSettings

__all__ = ["Decision", "Mode", "SiteReading", "SurplusController", "SurplusSettings"]
