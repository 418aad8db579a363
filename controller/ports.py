"""The two hardware ports the kernel drives, as typed Protocols.

A charge controller (board support) and a power meter. The Modbus driver, the in-memory
simulator and any future transport implement these; the kernel never sees registers.
The output is level-based: the kernel states the whole desired output every time and the
port writes only what changed, so a missed write is corrected by the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from .everest import Ampacity, CpState, Error, HardwareCapabilities, Powermeter, Telemetry
from .everest.powermeter import TransactionStartResponse, TransactionStopResponse


class CpMode(StrEnum):
    """What the EVSE drives onto the control pilot."""

    PWM = "PWM"  # X2: PWM signalling the allowed current
    X1 = "X1"  # constant +12 V: no charging allowed
    F = "F"  # constant -12 V: EVSE unavailable
    E = "E"  # 0 V: simulate unplug (wake-up)


@dataclass(frozen=True, kw_only=True)
class ChargerOutput:
    """Everything the kernel wants the charge controller to do right now."""

    enabled: bool
    cp: CpMode
    duty_cycle: float  # percent; 100 when not PWM
    current_A: float  # signalled current; 0 unless PWM
    allow_power: bool  # relays may close
    phases: int
    locked: bool
    overcurrent_limit_A: float
    # The kernel's reservation (reserve; negative: a global one): a charger with its own
    # reservation (OCPP ReserveNow) mirrors it, the others ignore it.
    reservation_id: int | None = None

    @property
    def charging_allowed(self) -> bool:
        """Whether this output lets an EV draw current."""
        return self.enabled and self.cp is CpMode.PWM and self.current_A > 0

    @classmethod
    def safe(cls, phases: int = 3) -> ChargerOutput:
        """The output to fall back to when the state is unknown: no charging."""
        return cls(
            enabled=False,
            cp=CpMode.F,
            duty_cycle=100.0,
            current_A=0.0,
            allow_power=False,
            phases=phases,
            locked=False,
            overcurrent_limit_A=0.0,
        )


@dataclass(frozen=True, kw_only=True)
class ChargerStatus:
    """One poll of the charge controller."""

    cp: CpState
    relays_on: bool
    pp_ampacity: Ampacity = Ampacity.None_
    phases_active: int | None = None
    errors: frozenset[Error] = field(default_factory=frozenset)
    telemetry: Telemetry | None = None
    stop_requested: bool = False  # the device's own stop button


@dataclass(frozen=True, kw_only=True)
class ChargerInfo:
    """What the charge controller tells about itself once, at connect."""

    capabilities: HardwareCapabilities
    has_lock: bool = False
    vendor: str = ""
    model: str = ""
    serial: str | None = None
    firmware: str | None = None
    current_step_A: float = 1.0  # setpoint resolution (a Modbus map's capabilities fact)


class ChargeControllerPort(Protocol):
    """Board support: CP, PWM / max current, relays, lock, phases, errors."""

    async def connect(self) -> ChargerInfo:
        """Open the link and read the device's identity and capabilities."""
        ...

    async def read_status(self) -> ChargerStatus:
        """Poll CP state, relays, errors and telemetry. Raises ``DeviceError``."""
        ...

    async def apply(self, output: ChargerOutput) -> None:
        """Make the device follow ``output``, writing only what changed."""
        ...

    async def close(self) -> None:
        """Leave the device in its failsafe state and release the link."""
        ...


class PowerMeterPort(Protocol):
    """The billing meter of this connector."""

    async def connect(self) -> str | None:
        """Open the link; returns the meter id (serial) if known."""
        ...

    async def read(self) -> Powermeter:
        """One sample. Raises ``DeviceError``."""
        ...

    async def start_transaction(self, transaction_id: str) -> TransactionStartResponse:
        """Tell the meter a transaction starts (signed meters); plain meters answer OK."""
        ...

    async def stop_transaction(self, transaction_id: str) -> TransactionStopResponse:
        """Tell the meter the transaction ended."""
        ...

    async def close(self) -> None:
        """Release the link."""
        ...
