"""The power-meter port over any map with an ``energy_import`` register.

That is every meter map, and every charger map whose device has a built-in meter (a
wallbox without a separate billing meter uses its own counter). Energy is decoded exactly
(decimal scaling, float32 read as the shortest decimal it stores), and a counter that
goes backwards is held back for one reading: a second reading that confirms it is a
counter reset (a replaced or power-cycled meter), handed on for the kernel to count on from;
one that does not was a garbled reading, and is dropped.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from ..clock import Clock, SystemClock, rfc3339
from ..errors import DeviceError, MeterCounterError
from ..everest import Current, Energy, Frequency, Power, Powermeter, Voltage
from ..everest.powermeter import (
    TransactionRequestStatus,
    TransactionStartResponse,
    TransactionStopResponse,
)
from .device import Block, MappedDevice
from .maps import DeviceMap, Value
from .transport import ModbusBus

_LOGGER = logging.getLogger(__name__)
P = TypeVar("P", Voltage, Current)
_Measurements = tuple[Energy | None, Power | None, Voltage | None, Current | None, Frequency | None]
MAX_UNCONFIRMED = 3  # lower readings in a row that never settle: the counter is implausible
SETTLE_S = 10.0  # how long an implausible counter must then hold still (or rise)
SAMPLE_NAMES = (
    "energy_import",
    "energy_import_l1",
    "energy_import_l2",
    "energy_import_l3",
    "energy_export",
    "power",
    "power_export",
    "power_l1",
    "power_l2",
    "power_l3",
    "voltage_l1",
    "voltage_l2",
    "voltage_l3",
    "current_l1",
    "current_l2",
    "current_l3",
    "frequency",
)


class ModbusMeter:
    """PowerMeterPort over a map."""

    def __init__(
        self,
        device_map: DeviceMap,
        bus: ModbusBus,
        unit: int | None = None,
        clock: Clock | None = None,
        *,
        invert_power: bool | None = None,
    ) -> None:
        """``invert_power`` overrides the map's sign (a connection option: the same meter
        model may be wired the other way round)."""
        if "energy_import" not in device_map.registers and not _has_phase_energies(device_map):
            raise ValueError(f"{device_map.id} has no energy_import register")
        self.device = MappedDevice(
            device_map, bus, device_map.transport.unit if unit is None else unit
        )
        self._clock = clock or SystemClock()
        self._sign = (
            -1.0 if (device_map.invert_power if invert_power is None else invert_power) else 1.0
        )
        self._plan: list[Block] = self.device.plan(self._names())
        self._meter_id: str | None = None
        self._last_energy: float | None = None
        self._suspect: float | None = None  # a lower counter not yet confirmed
        self._backs = 0  # steps back in a row, not yet settled
        self._steady_since: float | None = None  # holding at or above the lower counter
        self._last_measurements: tuple[dict[str, Value | None], _Measurements] | None = None

    @property
    def clock(self) -> Clock:
        """The clock the samples are stamped with."""
        return self._clock

    async def connect(self) -> str | None:
        """Open the bus; the meter id is its serial number where the map has one."""
        await self.device.bus.connect()
        await self._locate()
        await self.device.probe()
        self._plan = self.device.plan(self._names())
        await self._check_meter()
        if self.device.has("serial"):
            serial = (await self.device.read(("serial",))).get("serial")
            self._meter_id = str(serial) if serial else None
        return self._meter_id

    def _names(self) -> tuple[str, ...]:
        """A total energy counter where the device has one, else the phases' sum (Bender
        firmware < 5.22)."""
        if self.device.has("energy_import"):
            return tuple(n for n in SAMPLE_NAMES if not n.startswith("energy_import_l"))
        return SAMPLE_NAMES

    async def _check_meter(self) -> None:
        """A charger without a fitted meter reads "invalid" where the meter would be
        (Bender: 220 = 0xFFFFFFFF): say so once instead of failing every sample."""
        present = [n for n in self.device.map.meter_check if self.device.has(n)]
        if not present:
            return
        if await self.device.read_raw(present[0]) is None:
            raise DeviceError(
                f"{self.device.map.id}: no energy meter fitted ({present[0]} reads invalid); "
                "configure a separate meter"
            )

    async def read(self) -> Powermeter:
        """One sample in EVerest's powermeter form."""
        await self._locate()
        values = await self.device.read_words(self._plan)
        decoded = self.device.decode_all(values)
        energy = _num(decoded.get("energy_import"))
        if energy is None and "energy_import" not in decoded:
            energy = _sum(decoded, "energy_import")
        if energy is None:
            raise DeviceError(f"{self.device.map.id}: energy_import not available")
        energy = self._plausible(energy)
        export, power, voltage, current, frequency = self._measurements(decoded)
        return Powermeter(
            timestamp=rfc3339(self._clock.now()),
            meter_id=self._meter_id,
            energy_Wh_import=Energy(total=energy),
            energy_Wh_export=export,
            power_W=power,
            voltage_V=voltage,
            current_A=current,
            frequency_Hz=frequency,
        )

    def _measurements(self, decoded: dict[str, Value | None]) -> _Measurements:
        """Everything but the import counter; the previous poll's parts while the values
        they come from read the same (a charging EV moves the counter, rarely the rest)."""
        key = {k: v for k, v in decoded.items() if not k.startswith("energy_import")}
        last = self._last_measurements
        if last is not None and last[0] == key:
            return last[1]
        parts = (
            _energy(decoded.get("energy_export")),
            _power(decoded, self._sign),
            _phases(Voltage, decoded, "voltage"),
            _phases(Current, decoded, "current"),
            None
            if _num(decoded.get("frequency")) is None
            else Frequency(L1=_num(decoded["frequency"]) or 0.0),
        )
        self._last_measurements = (key, parts)
        return parts

    def _plausible(self, energy: float) -> float:
        """The counter to report: a lower one only once a second reading confirms it.

        A counter that steps back again and again (``MAX_UNCONFIRMED`` times) is
        implausible: ``MeterCounterError`` until it has held still or risen for
        ``SETTLE_S``."""
        last = self._last_energy
        if last is None or energy >= last:
            return self._accept(energy)
        now = self._clock.monotonic()
        if self._suspect is None or energy < self._suspect:
            _LOGGER.debug("%s: energy counter went back to %s Wh", self.device.map.id, energy)
            self._backs += 1
            self._steady_since = now
        elif self._backs < MAX_UNCONFIRMED:
            return self._accept(energy)  # a reset: the lower counter holds
        elif self._steady_since is not None and now - self._steady_since >= SETTLE_S:
            return self._accept(energy)  # implausible no more
        self._suspect = energy
        if self._backs >= MAX_UNCONFIRMED:
            raise MeterCounterError(
                f"{self.device.map.id}: energy counter implausible: it keeps going back "
                f"({last} Wh, now {energy} Wh)"
            )
        return last  # until confirmed

    def _accept(self, energy: float) -> float:
        self._suspect, self._backs, self._steady_since = None, 0, None
        self._last_energy = energy
        return energy

    async def _locate(self) -> None:
        """A SunSpec meter's registers are where its model is: find it once."""
        if not self.device.located:
            await self.device.locate()
            self._plan = self.device.plan(self._names())

    async def start_transaction(self, transaction_id: str) -> TransactionStartResponse:
        """Plain Modbus meters keep no transactions; the kernel records start/stop values."""
        return TransactionStartResponse(status=TransactionRequestStatus.OK)

    async def stop_transaction(self, transaction_id: str) -> TransactionStopResponse:
        """See ``start_transaction``."""
        return TransactionStopResponse(status=TransactionRequestStatus.OK)

    async def close(self) -> None:
        """Nothing to leave behind on a meter; the bus owner closes the bus."""
        self.device.forget()


def _num(value: Value | None) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _energy(value: Value | None) -> Energy | None:
    number = _num(value)
    return None if number is None else Energy(total=number)


def _has_phase_energies(device_map: DeviceMap) -> bool:
    return all(f"energy_import_l{n}" in device_map.registers for n in (1, 2, 3))


def _sum(values: dict[str, Value | None], prefix: str) -> float | None:
    """The sum of the three phases' values; None unless all three are known."""
    phases = [_num(values.get(f"{prefix}_l{n}")) for n in (1, 2, 3)]
    if any(p is None for p in phases):
        return None
    return sum(p or 0.0 for p in phases)


def _power(values: dict[str, Value | None], sign: float = 1.0) -> Power | None:
    """``sign`` -1 for a meter that counts export as positive (SolarEdge), so that
    + is import from the grid, as everywhere else. A map with ``power_export`` reports
    the power fed apart: the total is drawn minus fed."""
    phases = [_num(values.get(f"power_l{n}")) for n in (1, 2, 3)]
    total = _num(values.get("power"))
    if total is None and any(p is not None for p in phases):
        total = sum(p or 0.0 for p in phases)
    if total is None:
        return None
    if "power_export" in values:  # drawn and fed apart (SMA): unknown if either is
        fed = _num(values["power_export"])
        if fed is None:
            return None
        total -= fed
    signed = [None if p is None else sign * p + 0.0 for p in phases]
    return Power(total=sign * total + 0.0, L1=signed[0], L2=signed[1], L3=signed[2])


def _phases(kind: type[P], values: dict[str, Value | None], prefix: str) -> P | None:
    l1, l2, l3 = (_num(values.get(f"{prefix}_l{n}")) for n in (1, 2, 3))
    if l1 is None and l2 is None and l3 is None:
        return None
    return kind(L1=l1, L2=l2, L3=l3)
