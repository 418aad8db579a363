"""A map-bound device on a bus: coalesced reads, writes only on change, read-back.

``ReadPlan`` groups the registers a poll needs into as few requests as the protocol
allows: same unit id and table, at most 125 words (2000 bits) per request, bridging small
gaps (reading a few unused words is cheaper than another round trip on RS-485). The
``MappedDevice`` remembers what it last wrote so a setpoint that did not change is not
rewritten (EEPROM/flash wear); the memory is forgotten whenever the link fails, because
the device may have restarted and lost it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..errors import DeviceError
from .maps import DeviceMap, Register, Value
from .transport import MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ, ModbusBus

MAX_GAP_WORDS = 8
MAX_GAP_BITS = 64


@dataclass(frozen=True)
class Block:
    """One read request covering one or more registers."""

    unit: int
    table: str
    address: int
    count: int
    registers: tuple[Register, ...]


def plan_reads(registers: Iterable[Register], default_unit: int) -> list[Block]:
    """Coalesce ``registers`` into the fewest read requests."""
    groups: dict[tuple[int, str], list[Register]] = {}
    for reg in registers:
        groups.setdefault(
            (reg.unit_id if reg.unit_id is not None else default_unit, reg.table), []
        ).append(reg)
    blocks: list[Block] = []
    for (unit, table), regs in sorted(groups.items()):
        bits = table in ("coil", "discrete")
        limit = MAX_BITS_PER_READ if bits else MAX_REGISTERS_PER_READ
        gap = MAX_GAP_BITS if bits else MAX_GAP_WORDS
        current: list[Register] = []
        for reg in sorted(regs, key=lambda r: r.address):
            if current:
                start = current[0].address
                end = max(r.address + r.count for r in current)
                if reg.address - end > gap or reg.address + reg.count - start > limit:
                    blocks.append(_block(unit, table, current))
                    current = []
            current.append(reg)
        if current:
            blocks.append(_block(unit, table, current))
    return blocks


def _block(unit: int, table: str, regs: list[Register]) -> Block:
    start = regs[0].address
    end = max(r.address + r.count for r in regs)
    return Block(unit, table, start, end - start, tuple(regs))


class MappedDevice:
    """One device (unit id) of a map on a shared bus."""

    def __init__(self, device_map: DeviceMap, bus: ModbusBus, unit: int) -> None:
        self.map = device_map
        self.bus = bus
        self.unit = unit
        self._written: dict[str, list[int]] = {}
        self.writes = 0

    def has(self, name: str) -> bool:
        """Whether the map binds ``name``."""
        return name in self.map.registers

    def plan(self, names: Iterable[str]) -> list[Block]:
        """The coalesced reads for the bound names among ``names``."""
        regs = [self.map.registers[n] for n in names if n in self.map.registers]
        return plan_reads(regs, self.unit)

    async def read_words(self, blocks: Sequence[Block]) -> dict[str, list[int]]:
        """Execute a plan: the words of each register by name."""
        words: dict[str, list[int]] = {}
        try:
            for block in blocks:
                data = await self.bus.read(block.table, block.address, block.count, block.unit)  # type: ignore[arg-type]
                for reg in block.registers:
                    offset = reg.address - block.address
                    words[reg.name] = data[offset : offset + reg.count]
        except DeviceError:
            self.forget()
            raise
        return words

    async def read(self, names: Iterable[str]) -> dict[str, Value | None]:
        """Read and decode bound names; garbage raises DeviceError naming the register."""
        words = await self.read_words(self.plan(names))
        return {name: self.decode(name, w) for name, w in words.items()}

    def decode(self, name: str, words: Sequence[int]) -> Value | None:
        """Decode one register, turning values the map does not know into DeviceError."""
        try:
            return self.map.registers[name].decode(words)
        except ValueError as err:
            raise DeviceError(f"{self.map.id}: {err} (words {list(words)})") from err

    async def write(self, name: str, value: Value, *, force: bool = False) -> bool:
        """Write ``value`` unless the device already has it; True if a request was sent."""
        reg = self.map.registers[name]
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
                await self.bus.write_coil(reg.address, bool(words[0]), unit)
            else:
                await self.bus.write_registers(reg.address, words, unit)
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

    def forget(self) -> None:
        """Drop the write memory: after a link failure the device state is unknown."""
        self._written.clear()

    def last_written(self) -> Mapping[str, list[int]]:
        """What was last written, by register name."""
        return dict(self._written)
