"""A map-bound device on a bus: coalesced reads, writes only on change, read-back.

``plan_reads`` groups the registers a poll needs into as few requests as the protocol
allows: same unit id and table, at most 125 words (2000 bits) per request - fewer where
the map says the device answers fewer (``transport.max_read``) - bridging gaps the device
has every address of. On a serial line (and an RTU gateway) only small gaps are bridged: a
word costs 2 bytes on the wire, a request about 10 words' worth of framing and silence.
Over Modbus TCP a word costs next to nothing against a round trip, so any gap inside one
request's reach is read through. The
``MappedDevice`` remembers what it last wrote so a setpoint that did not change is not
rewritten (EEPROM/flash wear); the memory is forgotten whenever the link fails, because
the device may have restarted and lost it.

A SunSpec map's addresses are offsets from its model: ``locate`` finds the model (the
"SunS" marker at one of the map's bases, then the chain of models) and relocates the map.
A register with a ``scale_register`` is read together with it and scaled by 10**value.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..errors import ConnectError, DeviceError
from .maps import SUNSPEC_END, SUNSPEC_MARKER, DeviceMap, Register, Value
from .transport import (
    MAX_BITS_PER_READ,
    MAX_REGISTERS_PER_READ,
    ModbusBus,
    RefusedError,
    Table,
)

T = TypeVar("T")

MAX_GAP_WORDS = 8
MAX_GAP_BITS = 64


@dataclass(frozen=True)
class Block:
    """One read request covering one or more registers."""

    unit: int
    table: Table
    address: int
    count: int
    registers: tuple[Register, ...]


def plan_reads(
    registers: Iterable[Register],
    default_unit: int,
    device_map: DeviceMap | None = None,
    *,
    max_gap_words: int = MAX_GAP_WORDS,
) -> list[Block]:
    """Coalesce ``registers`` into the fewest read requests. With ``device_map`` a gap is
    bridged only where the device has every address of it (a real device answers
    exception 2 for a read that touches an address it does not have), and no request asks
    for more registers than the device answers."""
    max_words = MAX_REGISTERS_PER_READ if device_map is None else device_map.transport.max_read
    groups: dict[tuple[int, Table], list[Register]] = {}
    for reg in registers:
        groups.setdefault(
            (reg.unit_id if reg.unit_id is not None else default_unit, reg.table), []
        ).append(reg)
    blocks: list[Block] = []
    for (unit, table), regs in sorted(groups.items()):
        bits = table in ("coil", "discrete")
        limit = MAX_BITS_PER_READ if bits else max_words
        gap = MAX_GAP_BITS if bits else max_gap_words
        current: list[Register] = []
        for reg in sorted(regs, key=lambda r: r.start):
            if current:
                start = min(r.start for r in current)
                end = max(r.address + r.count for r in current)
                bridgeable = reg.start <= end or (
                    device_map is None
                    or device_map.has_addresses(reg.unit_id, table, end, reg.start - end)
                )
                too_far = reg.start - end > gap or reg.address + reg.count - start > limit
                if too_far or not bridgeable:
                    blocks.append(_block(unit, table, current))
                    current = []
            current.append(reg)
        if current:
            blocks.append(_block(unit, table, current))
    return blocks


def _block(unit: int, table: Table, regs: list[Register]) -> Block:
    start = min(r.start for r in regs)
    end = max(r.address + r.count for r in regs)
    return Block(unit, table, start, end - start, tuple(regs))


class MappedDevice:
    """One device (unit id) of a map on a shared bus."""

    def __init__(self, device_map: DeviceMap, bus: ModbusBus, unit: int) -> None:
        self.map = device_map
        self.layout = device_map  # as written: SunSpec addresses are model offsets
        self.bus = bus
        self.unit = unit
        self.located = device_map.sunspec is None
        self._written: dict[str, list[int]] = {}
        # Per register the words last decoded and what they gave: a register that reads
        # as it did at the previous poll is not decoded again (no work without a change).
        self._decoded: dict[str, tuple[Register, list[int], int, Value | None]] = {}
        self.writes = 0

    def has(self, name: str) -> bool:
        """Whether the map binds ``name``."""
        return name in self.map.registers

    async def locate(self) -> None:
        """Find a SunSpec map's model and relocate the map there (once; a no-op for
        other maps). DeviceError if the device has no marker or not the model."""
        sunspec = self.layout.sunspec
        if self.located or sunspec is None:
            return
        address = await self._find_model(sunspec.model, sunspec.bases)
        self.map = self.layout.relocated(address)
        self.located = True

    async def _find_model(self, model: int, bases: Sequence[int]) -> int:
        where = f"{self.layout.id}: SunSpec model {model}"
        for base in bases:
            try:
                marker = await self.bus.read("holding", base, 2, self.unit)
            except ConnectError:
                raise
            except DeviceError:
                continue  # no such address on this device: try the next base
            if tuple(marker) != SUNSPEC_MARKER:
                continue
            address = base + 2
            while address + 2 <= 0x10000:
                model_id, length = await self.bus.read("holding", address, 2, self.unit)
                if model_id == model:
                    return address
                if model_id == SUNSPEC_END:
                    break
                address += 2 + length
            raise DeviceError(f"{where} not found at unit {self.unit} (base {base})")
        bases_text = ", ".join(str(b) for b in bases)
        raise DeviceError(f"{where} not found at unit {self.unit}: no SunS marker at {bases_text}")

    def plan(self, names: Iterable[str]) -> list[Block]:
        """The coalesced reads for the bound names among ``names`` (with the scale
        registers they need)."""
        regs = [self.map.registers[n] for n in names if n in self.map.registers]
        scales = {r.scale_register for r in regs if r.scale_register is not None}
        regs += [self.map.registers[n] for n in sorted(scales - {r.name for r in regs})]
        return plan_reads(regs, self.unit, self.map, max_gap_words=self._max_gap_words())

    def _max_gap_words(self) -> int:
        """How many unused words a read may bridge on this bus (see the module docstring)."""
        if self.bus.endpoint.kind == "tcp":
            return MAX_REGISTERS_PER_READ
        return MAX_GAP_WORDS

    async def _repeated(self, call: Callable[[], Awaitable[T]]) -> T:
        """Send a request the map's ``repeat`` times and use the last answer: a device
        whose first request only wakes its bus (ABL eMH) loses or refuses that one."""
        for _ in range(self.map.transport.repeat - 1):
            try:
                await call()
            except ConnectError:
                raise
            except DeviceError:
                pass  # the wake-up request: its answer does not count
        return await call()

    async def probe(self) -> list[str]:
        """Read every ``optional`` register once; drop those the device refuses (a
        firmware without them). The names dropped."""
        missing = []
        for reg in [r for r in self.map.registers.values() if r.optional and r.readable]:
            unit = reg.unit_id if reg.unit_id is not None else self.unit
            try:
                await self._repeated(
                    lambda reg=reg, unit=unit: self.bus.read(  # type: ignore[misc]
                        reg.table, reg.address, reg.count, unit
                    )
                )
            except RefusedError:
                missing.append(reg.name)
        if missing:
            self.map = self.map.without(missing)
        return missing

    async def read_raw(self, name: str) -> int | float | str | None:
        """One register's raw value, read on its own."""
        reg = self.map.registers[name]
        words = (await self.read_words(plan_reads([reg], self.unit)))[name]
        return reg.raw(words)

    async def read_words(self, blocks: Sequence[Block]) -> dict[str, list[int]]:
        """Execute a plan: the words of each register by name."""
        words: dict[str, list[int]] = {}
        repeat = self.map.transport.repeat > 1
        try:
            for block in blocks:
                if repeat:
                    data = await self._repeated(
                        lambda block=block: self.bus.read(  # type: ignore[misc]
                            block.table,
                            block.address,
                            block.count,
                            block.unit,
                        )
                    )
                else:  # most devices: one request, no wrapper around it
                    data = await self.bus.read(block.table, block.address, block.count, block.unit)
                for reg in block.registers:
                    offset = reg.address - block.address
                    words[reg.name] = data[offset : offset + reg.count]
        except DeviceError:
            self.forget()
            raise
        return words

    async def read(self, names: Iterable[str]) -> dict[str, Value | None]:
        """Read and decode bound names; garbage raises DeviceError naming the register."""
        wanted = list(names)
        words = await self.read_words(self.plan(wanted))
        decoded = self.decode_all(words)
        return {name: value for name, value in decoded.items() if name in wanted}

    def decode_all(self, words: Mapping[str, Sequence[int]]) -> dict[str, Value | None]:
        """Decode what ``read_words`` returned, applying scale registers."""
        return {name: self.decode(name, w, words) for name, w in words.items()}

    def decode(
        self,
        name: str,
        words: Sequence[int],
        context: Mapping[str, Sequence[int]] | None = None,
    ) -> Value | None:
        """Decode one register, turning values the map does not know into DeviceError.
        A register with a scale register takes its words from ``context``; a scale
        factor that is not implemented (or not read) makes the value None."""
        reg = self.map.registers[name]
        exponent = 0
        if reg.scale_register is not None:
            scale_words = (context or {}).get(reg.scale_register)
            scale = self.map.registers[reg.scale_register]
            found = None if scale_words is None else scale.exponent(scale_words)
            if found is None:
                return None
            exponent = found
        last = self._decoded.get(name)
        if last is not None and last[0] is reg and last[2] == exponent and last[1] == words:
            return last[3]
        try:
            value = reg.decode(words, exponent)
        except ValueError as err:
            raise DeviceError(f"{self.map.id}: {err} (words {list(words)})") from err
        self._decoded[name] = (reg, list(words), exponent, value)
        return value

    async def write(self, name: str, value: Value, *, force: bool = False) -> bool:
        """Write ``value`` unless the device already has it; True if a request was sent."""
        reg = self.map.registers[name]
        if reg.scale_register is not None:
            raise DeviceError(f"{self.map.id}: {name} has a scale register: not writable")
        words = reg.encode(value)
        return await self.write_words(reg, words, force=force)

    async def write_raw(self, name: str, raw: int, *, force: bool = False) -> bool:
        """Write a raw register value (``off_value``, ``init`` values)."""
        reg = self.map.registers[name]
        return await self.write_words(reg, reg.encode_raw(raw), force=force)

    async def write_words(self, reg: Register, words: list[int], *, force: bool = False) -> bool:
        """Send the words if they differ from what we last wrote (or ``force``)."""
        if not force and self._written.get(reg.name) == words:
            return False
        unit = reg.unit_id if reg.unit_id is not None else self.unit
        try:
            if reg.table == "coil":
                await self._repeated(lambda: self.bus.write_coil(reg.address, bool(words[0]), unit))
            else:
                for address in (reg.address, *reg.copies):  # innogy: one current, 3 phases
                    await self._repeated(
                        lambda address=address: self.bus.write_registers(  # type: ignore[misc]
                            address, words, unit, multiple=reg.write_multiple()
                        )
                    )
        except DeviceError:
            self.forget()
            raise
        self._written[reg.name] = words
        self.writes += 1
        return True

    async def verify(self, name: str) -> None:
        """Read the last write of ``name`` back; DeviceError if the device did not take it."""
        reg = self.map.registers[name]
        written = self._written.get(name)
        if not reg.readable or written is None:
            return
        got = (await self.read_words(plan_reads([reg], self.unit)))[name]
        if got != written:
            self._written.pop(name, None)
            raise DeviceError(
                f"{self.map.id}: {name} reads back {self.decode(name, got)!r}, "
                f"wrote {self.decode(name, written)!r}"
            )

    def remember(self, name: str, words: list[int]) -> None:
        """The device already holds ``words`` in ``name`` (read back): no need to write."""
        self._written[name] = list(words)

    def forget_one(self, name: str) -> None:
        """The device may have changed ``name`` by itself: write it again next time."""
        self._written.pop(name, None)

    def forget(self) -> None:
        """Drop the write memory: after a link failure the device state is unknown."""
        self._written.clear()

    def last_written(self) -> Mapping[str, list[int]]:
        """What was last written, by register name."""
        return dict(self._written)
