"""A device map served as a Modbus device over the simulated EV, charge point and meter.

Semantics come only from the map's binding names, never from the device: writes to
``max_current``/``enable``/``phases``/``lock``/``heartbeat``/``watchdog_timeout``/
``failsafe_current`` drive the ``SimulatedStation``; reads of ``cp_state``, currents,
energy... are encoded from the station just before they are answered. So every map in
``modbus_maps/`` gets a simulator for free, and a map that disagrees with the driver shows
up in tests. Fault injection (Modbus exceptions, garbage words) exercises the driver's
error paths.

A SunSpec map is served as a SunSpec device: the "SunS" marker at its first base, an
all-zero common model, the map's model, and the end marker; its registers are relocated to
the model. Registers with a ``scale_register`` are encoded with a fixed scale factor per
unit (``SCALE_FACTORS``) that is served in that register.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from pymodbus.constants import ExcCodes

from ..everest import CpState
from ..kernel.pwm import duty_cycle
from ..modbus.maps import (
    SUNSPEC_END,
    SUNSPEC_MARKER,
    UNIT_FACTORS,
    DeviceMap,
    Register,
    Value,
)
from ..ports import ChargerOutput, CpMode
from ..simulation import SimulatedStation

_LOGGER = logging.getLogger(__name__)
SIM_FIRMWARE = "evse_manager-sim 0.1.0"
SIM_REVISION = 100
TABLE_OF_FC = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 3: "holding", 4: "input"}
TABLE_OF_FC.update({6: "holding", 16: "holding", 22: "holding", 23: "holding"})
# A write's answer is read back through the same hook (FC05/06 echo it): only these read.
READ_FCS = (1, 2, 3, 4)
MEASUREMENTS = (
    "current_l1",
    "current_l2",
    "current_l3",
    "voltage_l1",
    "voltage_l2",
    "voltage_l3",
    "power",
    "power_l1",
    "power_l2",
    "power_l3",
    "power_export",
    "energy_import",
    "energy_export",
    "frequency",
)
# Scale factors (powers of ten) the simulator serves, by canonical unit of the value.
SCALE_FACTORS = {"A": -2, "V": -1, "Hz": -2, "W": 0, "Wh": 0}
WAKE_AFTER_IDLE_S = 2.0
SUNSPEC_COMMON_LENGTH = 65  # common model 1, served as zeros
SUNSPEC_MODEL_LENGTHS = {201: 105, 203: 105, 211: 124, 213: 124}


def sunspec_layout(device_map: DeviceMap) -> tuple[DeviceMap, dict[str, list[int]]]:
    """The map relocated to where the simulated device keeps its model, plus the fixed
    SunSpec words (marker, model headers, end marker) as extra read-only registers."""
    sunspec = device_map.sunspec
    if sunspec is None:
        raise ValueError(f"{device_map.id} is not a SunSpec map")
    base = sunspec.bases[0]
    model_at = base + 2 + 2 + SUNSPEC_COMMON_LENGTH
    length = SUNSPEC_MODEL_LENGTHS.get(
        sunspec.model, max(r.address + r.count for r in device_map.registers.values()) - 2
    )
    fixed = {
        "sunspec_marker": (base, list(SUNSPEC_MARKER)),
        "sunspec_common": (base + 2, [1, SUNSPEC_COMMON_LENGTH]),
        "sunspec_model": (model_at, [sunspec.model, length]),
        "sunspec_end": (model_at + 2 + length, [SUNSPEC_END, 0]),
    }
    relocated = device_map.relocated(model_at)
    registers = dict(relocated.registers)
    for name, (address, words) in fixed.items():
        registers[name] = Register(
            name=name,
            table="holding",
            address=address,
            type="uint32",
            count=len(words),
            scale=Decimal(1),
            unit=None,
            access="r",
            word_order="big",
            byte_order="big",
        )
    return replace(relocated, registers=registers), {n: w for n, (_, w) in fixed.items()}


def _thirds(energy: float) -> dict[str, float]:
    """Per-phase counters that sum to the total (a meter that only counts per phase)."""
    third = float(round(energy / 3))
    return {
        "energy_import_l1": third,
        "energy_import_l2": third,
        "energy_import_l3": energy - 2 * third,
    }


def _with_copies(device_map: DeviceMap) -> DeviceMap:
    """Each address a register's value is copied to (innogy 1014/1016 beside 1012) as a
    register of its own, ``<name>@<address>``: the device takes, refuses and stores each
    write on its own, as it would any register."""
    registers = dict(device_map.registers)
    for reg in device_map.registers.values():
        for address in reg.copies:
            name = f"{reg.name}@{address}"
            registers[name] = replace(reg, name=name, address=address, copies=())
    return replace(device_map, registers=registers)


def _binding(name: str) -> str:
    """The binding a register (or one of its copies) stands for."""
    return name.partition("@")[0]


class SimulatedDevice:
    """Registers of one map, answered from a SimulatedStation (a meter as it is)."""

    def __init__(
        self,
        device_map: DeviceMap,
        station: SimulatedStation,
        unit: int | None = None,
        *,
        without: Iterable[str] = (),
    ) -> None:
        # A firmware that lacks ``without``; every copy address its own register.
        self.map = _with_copies(device_map.without(without))
        self.station = station
        self.unit = device_map.transport.unit if unit is None else unit
        self.words: dict[str, list[int]] = {}
        if device_map.sunspec is not None:
            self.map, fixed = sunspec_layout(device_map)
            self.words.update(fixed)
        for reg in self.map.registers.values():
            if reg.sample is not None:  # what the device reports (KEBA's product code)
                self.words[reg.name] = reg.encode_raw(reg.sample)
        self.exponents: dict[str, int] = {}
        for reg in self.map.registers.values():
            if reg.scale_register is not None and reg.scale_register not in self.exponents:
                canonical = UNIT_FACTORS[reg.unit][0] if reg.unit else ""
                exponent = SCALE_FACTORS.get(canonical, 0)
                self.exponents[reg.scale_register] = exponent
                self.words[reg.scale_register] = self.map[reg.scale_register].encode_raw(exponent)
        self._exceptions: dict[str, ExcCodes] = {}
        self._write_exceptions: dict[str, ExcCodes] = {}
        self.metered = True  # False: a charger without a meter (measurements read invalid)
        self._garbage: dict[str, list[int]] = {}
        self.silence_s = 0.0  # answer only after this long (a device that stopped talking)
        self._speak = asyncio.Event()  # ends a silence early (clear_faults, shutdown)
        self.requests = 0
        self.writes: Counter[str] = Counter()  # accepted writes by register (EEPROM wear)
        self.function_codes: Counter[int] = Counter()
        self._last_request = -math.inf
        # What each read costs at a thousand devices per process: the registers a request
        # spans, found once per span, and a register's words encoded only when its value
        # changed (voltage, serial and most currents do not) — the same answers, a third
        # of the CPU (benchmarks/scale.py runs a thousand chargers and meters on one core).
        self._spans: dict[tuple[int, str, int, int, int], list[Register] | None] = {}
        self._encoded: dict[str, tuple[Value, int, list[int]]] = {}
        self._images: dict[tuple[int, str], tuple[int, list[int]] | None] = {}

    # ------------------------------------------------------------------ faults

    def inject_exception(
        self,
        names: Iterable[str] | None = None,
        code: ExcCodes = ExcCodes.DEVICE_FAILURE,
        *,
        writes_only: bool = False,
    ) -> None:
        """Answer requests touching ``names`` (all registers if None) with ``code``; with
        ``writes_only`` reads still work (a setting the device refuses to change)."""
        for name in self.map.registers if names is None else names:
            (self._write_exceptions if writes_only else self._exceptions)[name] = code

    def inject_garbage(self, name: str, words: list[int]) -> None:
        """Serve ``words`` for register ``name`` instead of the truth."""
        self._garbage[name] = list(words)

    def inject_silence(self, seconds: float = 5.0) -> None:
        """Hold every answer for ``seconds``: the client's request timeout fires."""
        self.silence_s = seconds
        self._speak = asyncio.Event()

    def clear_faults(self) -> None:
        """Back to normal answers (held answers go out now)."""
        self._exceptions.clear()
        self._write_exceptions.clear()
        self._garbage.clear()
        self.silence_s = 0.0
        self._speak.set()

    # ------------------------------------------------------------------ pymodbus

    @property
    def units(self) -> list[int]:
        """The unit ids the map uses: the device's own and any a register names."""
        return sorted({self._unit_of(r) for r in self.map.registers.values()})

    def _unit_of(self, reg: Register) -> int:
        return reg.unit_id if reg.unit_id is not None else self.unit

    def _image(self, unit: int, table: str) -> tuple[int, list[int]] | None:
        """A scratch image of the unit's table that ``handle`` serves into: one block from the
        lowest to the highest address the map's registers and spans name (coils and discrete
        inputs as 16-bit words, the first address then counted in words); None: the map has
        no such table on that unit."""
        key = (unit, table)
        if key not in self._images:
            own = None if unit == self.unit else unit
            regs = [
                r
                for r in self.map.registers.values()
                if r.table == table and self._unit_of(r) == unit
            ]
            spans = [sp for sp in self.map.spans if sp.table == table and sp.unit_id == own]
            if not regs:
                self._images[key] = None
            else:
                start = min([r.address for r in regs] + [sp.first for sp in spans])
                end = max([r.address + r.count for r in regs] + [sp.last + 1 for sp in spans])
                if table in ("coil", "discrete"):
                    start, end = start // 16, (end + 15) // 16
                self._images[key] = (start, [0] * (end - start))
        return self._images[key]

    async def request(
        self, unit: int, function_code: int, address: int, count: int, values: list[Any] | None
    ) -> list[int] | list[bool] | ExcCodes | None:
        """One request as pymodbus' datastore asks it (any pymodbus from 3.11 on): the values
        read (None for a write taken), or the exception the device answers."""
        if self.silence_s:
            await self._hold()
        table = TABLE_OF_FC.get(function_code)
        image = None if table is None else self._image(unit, table)
        if table is None or image is None:
            return ExcCodes.ILLEGAL_FUNCTION if table is None else ExcCodes.ILLEGAL_ADDRESS
        start, registers = image
        refused = self.handle(
            unit,
            function_code=function_code,
            start_address=start,
            address=address,
            count=count,
            registers=registers,
            set_values=values,
        )
        if refused is not None or values is not None:
            return refused
        if table in ("coil", "discrete"):
            return [
                bool(registers[a // 16 - start] >> (a % 16) & 1)
                for a in range(address, address + count)
            ]
        return registers[address - start : address - start + count]

    async def _hold(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.silence_s):
                await self._speak.wait()

    def handle(
        self,
        unit: int,
        *,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: Any,
    ) -> ExcCodes | None:
        """One request: strictness (addresses, function codes, values), faults, then writes
        or a fresh image of what is read."""
        self.requests += 1
        self.function_codes[function_code] += 1
        table = TABLE_OF_FC.get(function_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if self._sleeping():
            return ExcCodes.DEVICE_BUSY
        values = None
        if set_values is not None:
            values = [
                int(v) for v in (set_values if isinstance(set_values, list) else [set_values])
            ]
        bits = table in ("coil", "discrete")
        if values is None and not bits and count > self.map.transport.max_read:
            return ExcCodes.ILLEGAL_VALUE  # more registers than the device answers at once
        span = len(values) if values is not None else (1 if bits else count)
        touched = self._span(unit, table, address, count, span)
        if touched is None:
            return ExcCodes.ILLEGAL_ADDRESS
        for reg in touched:
            if reg.name in self._exceptions:
                return self._exceptions[reg.name]
            if values is not None and reg.name in self._write_exceptions:
                return self._write_exceptions[reg.name]
        self.on_request()
        if values is not None:
            return self._write_all(function_code, touched, address, values)
        if function_code in READ_FCS and any("r" not in reg.access for reg in touched):
            return ExcCodes.ILLEGAL_ADDRESS  # a write-only register (the map's access: w)
        self.refresh()
        for reg in touched:
            self._serve(reg, start_address, registers)
        return None

    def _span(
        self, unit: int, table: str, address: int, count: int, span: int
    ) -> list[Register] | None:
        """The registers a request touches, None when the device lacks one of its
        addresses (asked once per distinct request: a poll repeats the same few)."""
        key = (unit, table, address, count, span)
        if key not in self._spans:
            own = None if unit == self.unit else unit
            if not self.map.has_addresses(own, table, address, max(span, 1)):
                self._spans[key] = None
            else:
                self._spans[key] = [
                    r
                    for r in self.map.registers.values()
                    if r.table == table
                    and self._unit_of(r) == unit
                    and r.address < address + max(count, 1)
                    and address < r.address + r.count
                ]
        return self._spans[key]

    def _sleeping(self) -> bool:
        """A device whose bus sleeps when idle (ABL eMH: the map's ``repeat``) refuses the
        first request after a pause; the real one may not answer it at all, the simulator
        answers "busy" at once so that tests need not wait for a timeout."""
        now = self.station.clock.monotonic()
        idle = now - self._last_request
        self._last_request = now
        return self.map.transport.repeat > 1 and idle > WAKE_AFTER_IDLE_S

    def _write_all(
        self, function_code: int, touched: list[Register], address: int, values: list[int]
    ) -> ExcCodes | None:
        """Whole registers only, each with a function code the device documents."""
        for reg in touched:
            offset = reg.address - address
            if offset < 0 or offset + reg.count > len(values) or "w" not in reg.access:
                return ExcCodes.ILLEGAL_ADDRESS
            if function_code == 6 and (reg.count > 1 or reg.write_fc == 16):
                return ExcCodes.ILLEGAL_FUNCTION
            if function_code == 16 and reg.write_fc == 6:
                return ExcCodes.ILLEGAL_FUNCTION
        if not touched:
            return ExcCodes.ILLEGAL_ADDRESS
        for reg in touched:
            offset = reg.address - address
            result = self._write(reg, values[offset : offset + reg.count])
            if result is not None:
                return result
        return None

    def _write(self, reg: Register, words: list[int]) -> ExcCodes | None:
        try:
            value = reg.decode(words)
            if isinstance(value, (int, float)) and reg.raw(words) != reg.off_value:
                reg.check_range(float(value))
                self.check_value(reg, float(value))
        except ValueError:
            return ExcCodes.ILLEGAL_VALUE
        self.words[reg.name] = words
        self.writes[reg.name] += 1
        self.on_write(reg, words, value)
        return None

    def check_value(self, reg: Register, value: float) -> None:
        """ValueError for a value this device refuses beyond the register's range."""

    def _serve(self, reg: Register, start_address: int, registers: list[int]) -> None:
        words = self._garbage.get(reg.name) or self.words.get(reg.name)
        if words is None:
            return
        if reg.table in ("coil", "discrete"):
            index, bit = reg.address // 16 - start_address, reg.address % 16
            if words[0]:
                registers[index] |= 1 << bit
            else:
                registers[index] &= ~(1 << bit)
            return
        offset = reg.address - start_address
        registers[offset : offset + reg.count] = words

    # ------------------------------------------------------------------ behaviour

    def on_request(self) -> None:
        """Any request arrived (a charger's watchdog hook)."""

    def on_write(self, reg: Register, words: list[int], value: Value | None) -> None:
        """A register was written (a meter ignores it)."""

    def refresh(self) -> None:
        """Encode what the station measures now into the readable registers."""
        self.station.advance()  # the energy counted up to now (no whole meter sample)
        energy = self.station.energy_Wh
        l1, l2, l3 = self.station.phase_currents()
        v = self.station.voltage_V
        values: dict[str, float] = {
            "current_l1": l1,
            "current_l2": l2,
            "current_l3": l3,
            "voltage_l1": v,
            "voltage_l2": v,
            "voltage_l3": v,
            "power": l1 * v + l2 * v + l3 * v,
            "power_l1": l1 * v,
            "power_l2": l2 * v,
            "power_l3": l3 * v,
            "power_export": 0.0,  # the station only draws
            "energy_import": energy,
            **_thirds(energy),
            "energy_export": 0.0,
            "frequency": 50.0,
        }
        if self.map.invert_power:  # the device counts export as positive (SolarEdge)
            for name in ("power", "power_l1", "power_l2", "power_l3"):
                values[name] = -values[name]
        for name, number in values.items():
            self.set(name, number)
        if not self.metered:
            self._unmetered()
        self.set("serial", f"SIM-{self.map.id}"[:32])
        self.set("model", f"SIM-{self.map.id}"[:32])
        firmware = self.map.get("firmware")
        if firmware is not None:
            # A string register gets a version string; a numeric one (a revision number,
            # like Heidelberg's) the simulator's revision.
            self.set("firmware", SIM_FIRMWARE if firmware.type == "string" else SIM_REVISION)

    def _unmetered(self) -> None:
        """No meter fitted: every measurement reads the map's invalid pattern."""
        for name in (*MEASUREMENTS, "energy_import_l1", "energy_import_l2", "energy_import_l3"):
            reg = self.map.get(name)
            if reg is not None and reg.invalid:
                pattern = min(reg.invalid)
                data = pattern.to_bytes(reg.count * 2, "big")
                words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
                self.words[name] = words if reg.word_order == "big" else words[::-1]

    def set(self, name: str, value: Value) -> None:
        """Store ``value`` as the words of register ``name`` if the map has it."""
        reg = self.map.get(name)
        if reg is None:
            return
        exponent = 0 if reg.scale_register is None else self.exponents[reg.scale_register]
        cached = self._encoded.get(name)
        if (
            cached is not None
            and cached[2] is self.words.get(name)  # nothing else wrote these words since
            and cached[:2] == (value, exponent)
            and type(cached[0]) is type(value)
        ):
            return
        try:
            words = reg.encode(value, exponent)
        except (ValueError, OverflowError):
            _LOGGER.debug("%s: %s cannot represent %r", self.map.id, name, value)
            return
        self.words[name] = words
        self._encoded[name] = (value, exponent, words)


class SimulatedCharger(SimulatedDevice):
    """A wallbox: setpoint/enable writes drive the station; a watchdog falls back to the
    failsafe current when the controller goes quiet."""

    def __init__(
        self,
        device_map: DeviceMap,
        station: SimulatedStation,
        unit: int | None = None,
        *,
        without: Iterable[str] = (),
    ) -> None:
        super().__init__(device_map, station, unit, without=without)
        device_map = self.map
        caps = device_map.capabilities
        self.setpoint_A = 0.0
        self.enabled = device_map.get("enable") is None
        self.phases = caps.phases
        self.locked = False
        watchdog = device_map.watchdog
        self.watchdog_s = watchdog.timeout_s if watchdog else 0.0
        self.failsafe_A = 0.0
        self.failsafe_active = False
        self._refreshed = station.clock.monotonic()
        self.held_state: int | None = None  # a cp_state raw value the box stays in
        reg = device_map["max_current"]
        # Power-up value: "off", else the minimum current (Phoenix 6 = 6 A, Wallbe 60 = 6 A).
        self.limits: dict[str, float] = {}  # the current each setpoint register allows
        for name in self._setpoint_names():
            self.words[name] = (
                reg.encode_raw(reg.off_value)
                if reg.off_value is not None
                else reg.encode(self._raw_amps(reg, caps.min_current_A))
            )
            self.limits[name] = 0.0
        # The installer's settings, as the device reports them before anyone writes.
        self.set("watchdog_timeout", self.watchdog_s)
        failsafe = device_map.get("failsafe_current")
        if failsafe is not None and failsafe.off_value is not None:
            self.words["failsafe_current"] = failsafe.encode_raw(failsafe.off_value)  # 0 A
        else:
            self.set("failsafe_current", self.failsafe_A)
        self._drive()

    def hold_state(self, raw: int) -> None:
        """Stay in the cp_state ``raw`` (ABL E0 "outlet disabled", Heidelberg F with the
        remote lock engaged) until the write the map's ``recover`` names arrives; the
        recover register reads as not yet written."""
        self.held_state = raw
        target = self.map["cp_state"].recover.get(raw)
        if target is not None:
            name, value = target
            self.words[name] = self.map[name].encode_raw(0 if value != 0 else 1)
        self._drive()

    def _setpoint_names(self) -> list[str]:
        return [n for n in self.map.registers if _binding(n) == "max_current"]

    def _amps(self, reg: Register, value: float) -> float:
        """The current a setpoint value signals: a power limit (Compleo, Delta) over the
        phases the box charges on."""
        if reg.per_phase_V is None:
            return value
        return value / (reg.per_phase_V * self.phases)

    def _raw_amps(self, reg: Register, amps: float) -> float:
        """The setpoint value for ``amps`` (the inverse of ``_amps``)."""
        return amps if reg.per_phase_V is None else amps * reg.per_phase_V * self.phases

    def _min_amps(self) -> float:
        """The least current the box charges with: its minimum, or - for a power limit -
        the minimum less one register step (evcc writes 4100 W for 6 A on a 100 W box)."""
        reg = self.map["max_current"]
        low = self.map.capabilities.min_current_A
        if reg.per_phase_V is None:
            return low
        return low - float(reg.factor) / (reg.per_phase_V * self.phases)

    def check_value(self, reg: Register, value: float) -> None:
        """A setpoint above the box's maximum is refused (exception 3), as a real box
        does, instead of being signalled to the EV."""
        amps = self._amps(reg, value)
        if (
            _binding(reg.name) == "max_current"
            and amps > self.map.capabilities.max_current_A + 1e-9
        ):
            raise ValueError(f"{amps} A above {self.map.capabilities.max_current_A} A")

    # ------------------------------------------------------------------ writes

    def on_write(self, reg: Register, words: list[int], value: Value | None) -> None:
        """Apply a write to the device state and the station."""
        name = _binding(reg.name)
        held = self.map["cp_state"].recover.get(self.held_state or -1)
        if held is not None and held == (name, reg.raw(words)):
            self.held_state = None
        if name == "max_current":
            off = reg.off_value is not None and reg.raw(words) == reg.off_value
            amps = 0.0 if off or not isinstance(value, (int, float)) else float(value)
            # Every per-phase limit bounds the current (innogy 1012/1014/1016).
            self.limits[reg.name] = self._amps(reg, amps)
            self.setpoint_A = min(self.limits.values())
            self._refresh_watchdog("setpoint")
        elif name == "enable":
            self.enabled = value == "enabled"
        elif name == "phases" and isinstance(value, (int, float)):
            self.phases = int(value)
        elif name == "lock":
            self.locked = value == "locked"
        elif name == "heartbeat":
            self._refresh_watchdog("heartbeat")
            if reg.unit is not None and isinstance(value, (int, float)):
                self.watchdog_s = float(value)  # KEBA 5018: the timeout, restarted
            self.words[name] = reg.encode_raw(0)  # the device acknowledges by clearing it
        elif name == "watchdog_timeout" and isinstance(value, (int, float)):
            self.watchdog_s = float(value)
        elif name == "failsafe_current" and isinstance(value, (int, float)):
            self.failsafe_A = float(value)
        self._drive()

    def on_request(self) -> None:
        """Traffic keeps a traffic watchdog alive; then check for expiry."""
        self._refresh_watchdog("traffic")
        self.tick()

    def _refresh_watchdog(self, kind: str) -> None:
        watchdog = self.map.watchdog
        if watchdog is not None and watchdog.refresh == kind:
            self._refreshed = self.station.clock.monotonic()
            if self.failsafe_active:
                self.failsafe_active = False
                self._drive()

    def tick(self) -> None:
        """Check the watchdog against the station's clock."""
        if self.map.watchdog is None or self.watchdog_s <= 0 or self.failsafe_active:
            return
        if self.station.clock.monotonic() - self._refreshed > self.watchdog_s:
            _LOGGER.info(
                "%s: watchdog expired, failsafe current %.1f A", self.map.id, self.failsafe_A
            )
            self.failsafe_active = True
            self._drive()

    def _drive(self) -> None:
        amps = self.failsafe_A if self.failsafe_active else self.setpoint_A
        allowed = (
            self.enabled
            and self.held_state is None
            and not self.station.board_errors  # a faulted controller opens its relays
            and amps >= self._min_amps() - 1e-9
        )
        amps = max(amps, self.map.capabilities.min_current_A) if allowed else amps
        self.station.apply(
            ChargerOutput(
                enabled=allowed,
                cp=CpMode.PWM if allowed else CpMode.X1,
                duty_cycle=duty_cycle(amps) if allowed else 100.0,
                current_A=amps if allowed else 0.0,
                allow_power=allowed,
                phases=self.phases,
                locked=self.locked,
                overcurrent_limit_A=amps + 2.0 if allowed else 0.0,
            )
        )

    # ------------------------------------------------------------------ reads

    def refresh(self) -> None:
        """Measurements plus CP state, relays, errors and identity."""
        self._drive()  # a board error that appeared or cleared since the last request
        super().refresh()
        self._cp_state()
        self._error_code()
        relays = self.phases if self.station.relays_on() else 0
        self.set("relays", relays)
        self.set("phases_state", self.phases)
        self.set("plugged", "unplugged" if self.station.cp_state() is CpState.A else "plugged")
        self.set("watchdog_timeout_state", self.watchdog_s)
        self.set("lock_state", "locked" if self.locked else "unlocked")
        self.set("pp_ampacity", 32.0)
        self.set("temperature", 25.0)
        self.set("hw_max_current", self.map.capabilities.max_current_A)
        self.set("hw_min_current", self.map.capabilities.min_current_A)
        self.set("max_current_readback", self.setpoint_A)
        self.set("session_energy", self.station.energy_Wh)

    def _cp_state(self) -> None:
        reg = self.map["cp_state"]
        cp = self.station.cp_state()
        pwm = self.station.output.cp is CpMode.PWM and self.station.output.enabled
        raw: Any = self.held_state if self.held_state is not None else self._error_raw(reg)
        if raw is None:
            for meaning in (f"{cp.value}{2 if pwm else 1}", cp.value):
                try:
                    raw = reg.raw_for(meaning)
                    break
                except ValueError:
                    continue
        if raw is None and cp is not CpState.A:
            raw = reg.raw_for("F") if "F" in [str(v)[:1] for v in reg.values.values()] else None
        if raw is None and cp is CpState.A and "plugged" in self.map.registers:
            # A device that tells "no car" by its plug register shows a charging state
            # without a car: not ready (B1) or ready (B2), whichever it has.
            raw = next(iter(reg.values))
        if raw is not None:
            self.words["cp_state"] = reg.encode_raw(raw)

    def _error_code(self) -> None:
        reg = self.map.get("error_code")
        if reg is None:
            return
        raw = self._error_raw(reg)
        self.words["error_code"] = reg.encode_raw(raw if raw is not None else 0)

    def _error_raw(self, reg: Register) -> Any:
        """The raw value that reports the station's error; a device without a code for
        this particular error shows its generic error value (Heidelberg's 11)."""
        for error in self.station.board_errors:
            raw = reg.raw_for_error(error.type)
            if raw is not None:
                return raw
        if self.station.board_errors and reg.errors:
            return next(iter(reg.errors))
        return None
