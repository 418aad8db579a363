"""The charger and meter ports implemented in memory over a SimulatedStation.

Used by the unit tests and the demo; the Modbus driver implements the same ports over
real registers. ``station.link_up = False`` makes every call fail like a dead link.
"""

from __future__ import annotations

from ..errors import ConnectError
from ..everest import Powermeter
from ..everest.powermeter import (
    TransactionRequestStatus,
    TransactionStartResponse,
    TransactionStopResponse,
)
from ..ports import ChargerInfo, ChargerOutput, ChargerStatus
from .station import SimulatedStation


class MemoryCharger:
    """ChargeControllerPort over the simulated station."""

    def __init__(self, station: SimulatedStation) -> None:
        self.station = station

    def _check(self) -> None:
        if not self.station.link_up:
            raise ConnectError("simulated charger link down")

    async def connect(self) -> ChargerInfo:
        """Identity and capabilities."""
        self._check()
        return ChargerInfo(
            capabilities=self.station.capabilities,
            has_lock=self.station.has_lock,
            vendor="Simulated",
            model="In-memory charge controller",
            serial="SIM-0001",
            firmware="1.0",
        )

    async def read_status(self) -> ChargerStatus:
        """One poll."""
        self._check()
        return self.station.status()

    async def apply(self, output: ChargerOutput) -> None:
        """Write the output."""
        self._check()
        self.station.apply(output)

    async def close(self) -> None:
        """Nothing to release."""


class MemoryMeter:
    """PowerMeterPort over the simulated station."""

    def __init__(self, station: SimulatedStation, fail_transactions: bool = False) -> None:
        self.station = station
        self.fail_transactions = fail_transactions
        self.transactions: list[tuple[str, str]] = []

    def _check(self) -> None:
        if not self.station.link_up:
            raise ConnectError("simulated meter link down")

    async def connect(self) -> str | None:
        """The meter id."""
        self._check()
        return "SIM-METER-1"

    async def read(self) -> Powermeter:
        """One sample."""
        self._check()
        return self.station.meter_sample()

    async def start_transaction(self, transaction_id: str) -> TransactionStartResponse:
        """Record the start; fails when told to (PowermeterTransactionStartFailed tests)."""
        self._check()
        if self.fail_transactions:
            return TransactionStartResponse(
                status=TransactionRequestStatus.UNEXPECTED_ERROR, error="simulated failure"
            )
        self.transactions.append(("start", transaction_id))
        return TransactionStartResponse(status=TransactionRequestStatus.OK)

    async def stop_transaction(self, transaction_id: str) -> TransactionStopResponse:
        """Record the stop."""
        self._check()
        self.transactions.append(("stop", transaction_id))
        return TransactionStopResponse(status=TransactionRequestStatus.OK)

    async def close(self) -> None:
        """Nothing to release."""
