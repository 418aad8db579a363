"""EVerest board-support types: what the charge controller reports about itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .model import EverestModel, constrained


class CpState(StrEnum):
    """IEC 61851-1 control pilot states as seen by the EVSE."""

    A = "A"  # no EV
    B = "B"  # EV connected, not requesting energy
    C = "C"  # EV requests energy
    D = "D"  # EV requests energy, ventilation required
    E = "E"  # CP shorted / no power
    F = "F"  # EVSE not available (-12 V)

    @property
    def plugged(self) -> bool:
        """An EV is connected (E and F count: the cable is still in)."""
        return self is not CpState.A

    @property
    def requests_power(self) -> bool:
        """The EV asks for energy (C, or D with ventilation)."""
        return self in (CpState.C, CpState.D)


class ConnectorType(StrEnum):
    """Cable or socket on the hardware."""

    IEC62196Type2Cable = "IEC62196Type2Cable"
    IEC62196Type2Socket = "IEC62196Type2Socket"


class Ampacity(StrEnum):
    """Proximity-pilot cable rating of a Type 2 socket."""

    None_ = "None"
    A_13 = "A_13"
    A_20 = "A_20"
    A_32 = "A_32"
    A_63_3ph_70_1ph = "A_63_3ph_70_1ph"

    def limit(self, phases: int) -> float | None:
        """Current the cable can carry, or None when no cable rating applies."""
        return {
            Ampacity.A_13: 13.0,
            Ampacity.A_20: 20.0,
            Ampacity.A_32: 32.0,
            Ampacity.A_63_3ph_70_1ph: 70.0 if phases == 1 else 63.0,
        }.get(self)


@dataclass(frozen=True, kw_only=True)
class HardwareCapabilities(EverestModel):
    """Limits of the AC power path."""

    max_current_A_import: float
    min_current_A_import: float
    max_phase_count_import: int = constrained(range=(1, 3))
    min_phase_count_import: int = constrained(range=(1, 3))
    max_current_A_export: float
    min_current_A_export: float
    max_phase_count_export: int = constrained(range=(1, 3))
    min_phase_count_export: int = constrained(range=(1, 3))
    supports_changing_phases_during_charging: bool
    supports_cp_state_E: bool
    connector_type: ConnectorType
    max_plug_temperature_C: float | None = None


@dataclass(frozen=True, kw_only=True)
class Telemetry(EverestModel):
    """Board telemetry; every field but the plug temperature is required."""

    evse_temperature_C: float
    fan_rpm: float
    supply_voltage_12V: float
    supply_voltage_minus_12V: float
    relais_on: bool
    plug_temperature_C: float | None = None
