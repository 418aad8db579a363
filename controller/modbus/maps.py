"""Device maps: the YAML files in ``modbus_maps/``, their schema and their register codec.

A map is data, not code: transport defaults, word order, and registers keyed by what they
mean to the kernel (``cp_state``, ``max_current``, ``energy_import``...). Adding a device is
adding a file. ``load_map`` validates a file with voluptuous and then checks what a schema
cannot (binding units, access, required bindings), naming the file and the field of any
mistake. ``Register.decode``/``encode`` turn words into values in the binding's canonical
unit (A, V, W, Wh, Hz, s, degC) and back; the driver and the simulator share them.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

import voluptuous as vol
import yaml
from voluptuous.humanize import humanize_error

from ..errors import MapError
from ..everest.errors import ERROR_TYPES
from ..files import load_yaml, read_text

Kind = Literal["charger", "meter"]
Table = Literal["coil", "discrete", "input", "holding"]
Value = float | int | str

WORDS = {
    "uint16": 1,
    "int16": 1,
    "uint32": 2,
    "int32": 2,
    "uint64": 4,
    "int64": 4,
    "float32": 2,
    "float64": 4,
}
TYPES = (*WORDS, "string", "bit")

# Canonical unit per physical quantity, and the factor from each accepted unit to it.
UNIT_FACTORS: dict[str, tuple[str, Decimal]] = {
    "A": ("A", Decimal(1)),
    "mA": ("A", Decimal("0.001")),
    "V": ("V", Decimal(1)),
    "W": ("W", Decimal(1)),
    "kW": ("W", Decimal(1000)),
    "VA": ("W", Decimal(1)),  # apparent power where the device has nothing better
    "Wh": ("Wh", Decimal(1)),
    "kWh": ("Wh", Decimal(1000)),
    "VAh": ("Wh", Decimal(1)),
    "Hz": ("Hz", Decimal(1)),
    "s": ("s", Decimal(1)),
    "ms": ("s", Decimal("0.001")),
    "degC": ("degC", Decimal(1)),
    "%": ("%", Decimal(1)),
}

# What each semantic binding means: its canonical unit (None: no unit), and whether the
# driver reads it, writes it, or both.
_MEASURES = {
    **{f"current_l{n}": "A" for n in (1, 2, 3)},
    **{f"voltage_l{n}": "V" for n in (1, 2, 3)},
    **{f"power_l{n}": "W" for n in (1, 2, 3)},
    "power": "W",
    "energy_import": "Wh",
    "energy_export": "Wh",
    **{f"energy_import_l{n}": "Wh" for n in (1, 2, 3)},
    "frequency": "Hz",
}
CHARGER_BINDINGS: dict[str, tuple[str | None, str]] = {
    **{name: (unit, "r") for name, unit in _MEASURES.items()},
    "cp_state": (None, "r"),
    "plugged": (None, "r"),
    "max_current": ("A", "w"),
    "max_current_readback": ("A", "r"),
    "enable": (None, "w"),
    "relays": (None, "r"),
    "error_code": (None, "r"),
    "pp_ampacity": ("A", "r"),
    "temperature": ("degC", "r"),
    "lock": (None, "w"),
    "lock_state": (None, "r"),
    "remote_lock": (None, "w"),
    "phases": (None, "w"),
    "phases_state": (None, "r"),
    "hw_max_current": ("A", "r"),
    "hw_min_current": ("A", "r"),
    "watchdog_timeout": ("s", "w"),
    "watchdog_timeout_state": ("s", "r"),
    "failsafe_current": ("A", "w"),
    "heartbeat": (None, "w"),
    "session_energy": ("Wh", "r"),
    "serial": (None, "r"),
    "firmware": (None, "r"),
    "model": (None, "r"),
}
METER_BINDINGS: dict[str, tuple[str | None, str]] = {
    **{name: (unit, "r") for name, unit in _MEASURES.items()},
    # Power fed to the grid where the device reports it apart from the power drawn, both
    # unsigned (SMA 30865/30867): the meter's power is ``power`` minus this.
    "power_export": ("W", "r"),
    "serial": (None, "r"),
    "firmware": (None, "r"),
    "model": (None, "r"),
}
REQUIRED = {"charger": ("cp_state", "max_current"), "meter": ("energy_import",)}
# SunSpec: "SunS" at one of these bases, then models (ID, L, L words) up to ID 0xFFFF.
SUNSPEC_BASES = (40000, 0, 50000)
SUNSPEC_MARKER = (0x5375, 0x6E53)
SUNSPEC_END = 0xFFFF
SUNSSF_NOT_IMPLEMENTED = -32768
CP_VALUES = ("A", "A1", "A2", "B", "B1", "B2", "C", "C1", "C2", "D", "D1", "D2", "E", "F")


def _address(value: Any) -> int:
    """An address as written in YAML: 528, 0x0014 (YAML reads both as int)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise vol.Invalid("expected an integer address")
    if not 0 <= value <= 0xFFFF:
        raise vol.Invalid("address must be 0..65535")
    return value


def _meaning(value: Any) -> str | int:
    """A mapped meaning; YAML's on/off/yes/no arrive as booleans and must be quoted."""
    if isinstance(value, bool):
        raise vol.Invalid("quote this value: YAML reads on/off/yes/no as true/false")
    if not isinstance(value, (str, int)):
        raise vol.Invalid("expected a string or an integer")
    return value


_KEY = vol.Any(int, str)
_MEANING = _meaning
REGISTER_SCHEMA = vol.Schema(
    {
        vol.Required("table"): vol.In(("coil", "discrete", "input", "holding")),
        vol.Required("address"): _address,
        vol.Optional("type", default="uint16"): vol.In(TYPES),
        vol.Optional("count"): vol.All(int, vol.Range(min=1, max=125)),
        vol.Optional("scale", default=1): vol.All(vol.Coerce(float), vol.NotIn((0.0,))),
        vol.Optional("unit"): vol.In(tuple(UNIT_FACTORS)),
        vol.Optional("access", default="r"): vol.In(("r", "w", "rw")),
        vol.Optional("word_order"): vol.In(("big", "little")),
        vol.Optional("byte_order", default="big"): vol.In(("big", "little")),
        vol.Optional("mask"): vol.All(int, vol.Range(min=1, max=0xFFFFFFFF)),
        vol.Optional("unit_id"): vol.All(int, vol.Range(min=0, max=255)),
        vol.Optional("values"): {_KEY: _MEANING},
        vol.Optional("errors"): {
            _KEY: vol.In(ERROR_TYPES, msg="not an error type of EVerest's errors/*.yaml")
        },
        vol.Optional("invalid"): [int],
        vol.Optional("min"): vol.Coerce(float),
        vol.Optional("max"): vol.Coerce(float),
        vol.Optional("off_value"): int,
        vol.Optional("scale_register"): str,
        vol.Optional("write_fc"): vol.In((6, 16)),
        vol.Optional("read_from"): _address,
        vol.Optional("optional", default=False): bool,
        vol.Optional("recover"): {
            int: vol.Schema({vol.Required("register"): str, vol.Required("value"): int})
        },
        vol.Optional("sample"): int,
        vol.Optional("copies"): vol.All([_address], vol.Length(min=1, max=8)),
        vol.Optional("per_phase_V"): vol.All(vol.Coerce(float), vol.Range(min=100, max=400)),
        vol.Optional("unverified", default=False): bool,
        vol.Optional("note"): str,
    }
)
SPAN_SCHEMA = vol.Schema(
    {
        vol.Required("table"): vol.In(("coil", "discrete", "input", "holding")),
        vol.Required("first"): _address,
        vol.Required("last"): _address,
        vol.Optional("unit_id"): vol.All(int, vol.Range(min=0, max=255)),
        vol.Optional("unverified", default=False): bool,
        vol.Optional("note"): str,
    }
)
VARIANTS_SCHEMA = vol.Schema(
    {
        vol.Required("register"): str,
        vol.Required("raw_at_least"): int,
        vol.Required("below"): str,
        vol.Required("at_least"): str,
        vol.Optional("note"): str,
    }
)
SUNSPEC_SCHEMA = vol.Schema(
    {
        vol.Required("model"): vol.All(int, vol.Range(min=1, max=0xFFFE)),
        vol.Optional("bases", default=list(SUNSPEC_BASES)): vol.All([_address], vol.Length(min=1)),
        vol.Optional("unverified", default=False): bool,
    }
)
TRANSPORT_SCHEMA = vol.Schema(
    {
        vol.Required("kind"): vol.In(("tcp", "rtu_over_tcp", "rtu", "ascii")),
        vol.Optional("port", default=502): vol.All(int, vol.Range(min=1, max=65535)),
        vol.Optional("unit", default=1): vol.All(int, vol.Range(min=0, max=255)),
        vol.Optional("baudrate", default=9600): vol.In(
            (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
        ),
        vol.Optional("parity", default="N"): vol.In(("N", "E", "O")),
        vol.Optional("stopbits", default=1): vol.In((1, 2)),
        vol.Optional("timeout_s", default=1.0): vol.All(
            vol.Coerce(float), vol.Range(min=0.05, max=30)
        ),
        vol.Optional("request_gap_ms", default=0): vol.All(int, vol.Range(min=0, max=5000)),
        vol.Optional("ascii_start", default=":"): vol.In((":", ">")),
        vol.Optional("repeat", default=1): vol.In((1, 2)),
        # Registers one read may ask for, where the device takes fewer than Modbus' 125.
        vol.Optional("max_read", default=125): vol.All(int, vol.Range(min=2, max=125)),
        vol.Optional("unverified", default=False): bool,
        vol.Optional("note"): str,
    }
)
WATCHDOG_SCHEMA = vol.Schema(
    {
        vol.Required("refresh"): vol.In(("traffic", "setpoint", "heartbeat")),
        vol.Optional("timeout_s", default=15): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=3600)
        ),
        vol.Optional("interval_s"): vol.All(vol.Coerce(float), vol.Range(min=0.5, max=3600)),
        vol.Optional("unverified", default=False): bool,
        vol.Optional("note"): str,
    }
)
CAPABILITIES_SCHEMA = vol.Schema(
    {
        vol.Optional("phases", default=3): vol.In((1, 3)),
        vol.Optional("min_current_A", default=6): vol.All(
            vol.Coerce(float), vol.Range(min=0, max=80)
        ),
        vol.Optional("max_current_A", default=16): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=80)
        ),
        vol.Optional("current_step_A", default=1): vol.All(
            vol.Coerce(float), vol.Range(min=0.001, max=1)
        ),
        vol.Optional("supports_cp_state_E", default=False): bool,
        # Capabilities no source confirms (a maximum current assumed for the family).
        vol.Optional("unverified", default=[]): [
            vol.In(("phases", "min_current_A", "max_current_A", "current_step_A"))
        ],
    }
)
MAP_SCHEMA = vol.Schema(
    {
        vol.Required("kind"): vol.In(("charger", "meter")),
        vol.Required("manufacturer"): str,
        vol.Required("model"): str,
        vol.Optional("also"): [str],
        vol.Optional("sources"): [str],
        vol.Optional("notes"): vol.Any(str, [str]),
        vol.Required("transport"): TRANSPORT_SCHEMA,
        vol.Optional("word_order", default="big"): vol.In(("big", "little")),
        vol.Optional("capabilities", default={}): CAPABILITIES_SCHEMA,
        vol.Optional("watchdog"): WATCHDOG_SCHEMA,
        vol.Optional("sunspec"): SUNSPEC_SCHEMA,
        vol.Optional("spans", default=[]): [SPAN_SCHEMA],
        vol.Optional("variants"): VARIANTS_SCHEMA,
        vol.Optional("meter_check"): [str],
        vol.Optional("invert_power", default=False): bool,
        vol.Required("registers"): {str: REGISTER_SCHEMA},
        vol.Optional("init", default=[]): [
            vol.Schema({vol.Required("register"): str, vol.Required("value"): _MEANING})
        ],
    }
)


@dataclass(frozen=True, kw_only=True)
class Register:
    """One register binding and how to turn its words into a value and back."""

    name: str
    table: Table
    address: int
    type: str
    count: int  # words (bits for coil/discrete)
    scale: Decimal
    unit: str | None
    access: str
    word_order: str
    byte_order: str
    mask: int | None = None
    unit_id: int | None = None
    values: Mapping[int | float | str, Value] = field(default_factory=dict)
    errors: Mapping[int | float | str, str] = field(default_factory=dict)
    invalid: frozenset[int] = frozenset()
    min: float | None = None
    max: float | None = None
    off_value: int | None = None
    scale_register: str | None = None  # int16 register holding a power-of-ten exponent
    write_fc: int | None = None  # 6 or 16 where the device documents one; else 6 for one word
    read_from: int | None = None  # the device answers it only in a block from here (ABL 0x2E)
    optional: bool = False  # some firmware lacks it: probed at connect, dropped if refused
    recover: Mapping[int, tuple[str, int]] = field(default_factory=dict)
    sample: int | None = None  # a raw value the device reports (served by the simulator)
    # More addresses that take the same words, each written after this one (innogy's
    # per-phase limits 1014/1016 beside 1012): one value, several registers.
    copies: tuple[int, ...] = ()
    # A power limit standing for a current: watts = amps x this voltage x the phases
    # charged (Compleo 0x0100, Delta 1600, as evcc converts with 230 V).
    per_phase_V: float | None = None
    unverified: bool = False

    @property
    def start(self) -> int:
        """Where a read of this register starts."""
        return self.address if self.read_from is None else min(self.read_from, self.address)

    def write_multiple(self) -> bool:
        """Whether a write goes out as FC16 (several words, or the device wants FC16)."""
        return self.count > 1 or self.write_fc == 16

    @property
    def readable(self) -> bool:
        """Whether the device lets us read it back."""
        return "r" in self.access

    @property
    def is_bits(self) -> bool:
        """Coils and discrete inputs hold bits, not words."""
        return self.table in ("coil", "discrete")

    @cached_property
    def factor(self) -> Decimal:
        """Raw number to canonical unit (worked out once: every poll decodes with it)."""
        unit_factor = UNIT_FACTORS[self.unit][1] if self.unit else Decimal(1)
        return self.scale * unit_factor

    @cached_property
    def _unscaled(self) -> bool:
        """Whether the raw number already is the value (factor 1): no decimal arithmetic."""
        return self.factor == 1

    @cached_property
    def _shift(self) -> int | None:
        """The power of ten the factor is (kWh -> Wh: 3, 0.1 A: -1), None for another."""
        sign, digits, exponent = self.factor.normalize().as_tuple()
        return exponent if not sign and digits == (1,) and isinstance(exponent, int) else None

    # ------------------------------------------------------------------ decode

    def raw(self, words: Sequence[int]) -> int | float | str | None:
        """The raw number (or text) in ``words``; None when the device marks it invalid."""
        if self.type == "bit":
            return int(bool(words[0]))
        if self.type == "string":
            return _text(words, self.byte_order)
        ordered = self._ordered(words)
        if self.invalid and _bits(ordered) in self.invalid:
            return None
        number = _unpack(self.type, ordered)
        if isinstance(number, float) and not math.isfinite(number):
            return None
        if self.mask is not None and isinstance(number, int):
            number &= self.mask
        return number

    def decode(self, words: Sequence[int], exponent: int = 0) -> Value | None:
        """The value: a mapped meaning if the register has ``values``, else a number in
        the canonical unit (times 10**``exponent``, the value of a ``scale_register``).
        Raises ValueError for a raw value the map does not know."""
        raw = self.raw(words)
        if raw is None:
            return None
        if self.values:
            if raw in self.values:
                return self.values[raw]
            if raw in self.errors:
                return None
            raise ValueError(f"{self.name}: unexpected raw value {raw!r}")
        if isinstance(raw, str):
            return raw
        if exponent == 0 and self._unscaled:
            # float(Decimal(str(raw))) is raw itself: str gives the shortest decimal that
            # reads back as raw, and a float32's value is already that shortest decimal.
            return int(raw) if self.type == "bit" else float(raw)
        text = repr(raw)
        if self._shift is not None and self.type != "bit" and "e" not in text:
            # A power of ten moves the decimal point: parsing "1234.567e3" rounds the exact
            # product once, as float(Decimal("1234.567") * 1000) does, in a fraction of it.
            return float(f"{text}e{self._shift + exponent}")
        number = Decimal(text).scaleb(exponent) * self.factor
        return int(number) if self.type == "bit" else float(number)

    def error(self, words: Sequence[int]) -> str | None:
        """The EVerest error type the raw value stands for, if the map names one."""
        raw = self.raw(words)
        return self.errors.get(raw) if raw is not None else None

    # ------------------------------------------------------------------ encode

    def encode(self, value: Value, exponent: int = 0) -> list[int]:
        """Words (or bits) for ``value``: a meaning of ``values``, or a canonical number
        (divided by 10**``exponent``, the value of a ``scale_register``)."""
        if self.values and (isinstance(value, str) or value in self.values.values()):
            raw: int | float | str = self.raw_for(value)
        elif isinstance(value, str):
            raw = value
        else:
            self.check_range(float(value))
            exact = (Decimal(str(value)) / self.factor).scaleb(-exponent)
            raw = float(exact) if self.type.startswith("float") else int(exact.to_integral_value())
        return self.encode_raw(raw)

    def check_range(self, value: float) -> None:
        """Refuse a canonical value outside the register's documented ``min``/``max``."""
        unit_factor = float(UNIT_FACTORS[self.unit][1]) if self.unit else 1.0
        low = None if self.min is None else self.min * unit_factor
        high = None if self.max is None else self.max * unit_factor
        if (low is not None and value < low - 1e-9) or (high is not None and value > high + 1e-9):
            raise ValueError(f"{self.name}: {value:g} is outside {low}..{high}")

    def raw_for(self, meaning: Value) -> int | float | str:
        """The first raw value that stands for ``meaning`` (``C`` matches ``C2`` too)."""
        for raw, mapped in self.values.items():
            if mapped == meaning:
                return raw
        for raw, mapped in self.values.items():
            if isinstance(mapped, str) and isinstance(meaning, str) and mapped[:1] == meaning:
                return raw
        raise ValueError(f"{self.name}: no raw value for {meaning!r}")

    def raw_for_error(self, error_type: str) -> int | float | str | None:
        """The raw value that reports ``error_type``, if the map has one."""
        for raw, mapped in self.errors.items():
            if mapped == error_type:
                return raw
        return None

    def encode_raw(self, raw: int | float | str) -> list[int]:
        """Words for a raw number or text."""
        if self.type == "bit":
            return [int(bool(raw))]
        if self.type == "string":
            return _pack_text(str(raw), self.count, self.byte_order)
        words = _pack(self.type, raw)
        return words if self.word_order == "big" else words[::-1]

    def exponent(self, words: Sequence[int]) -> int | None:
        """The power of ten a scale register holds; None for SunSpec's "not implemented"
        (0x8000) or a value the map marks invalid: what depends on it is unknown."""
        raw = self.raw(words)
        if not isinstance(raw, int) or raw == SUNSSF_NOT_IMPLEMENTED:
            return None
        return raw

    def _ordered(self, words: Sequence[int]) -> list[int]:
        return list(words) if self.word_order == "big" else list(words)[::-1]


def _bytes(words: Sequence[int]) -> bytes:
    """The words as big-endian bytes, in one ``struct`` call."""
    return _words_struct(len(words)).pack(*[w & 0xFFFF for w in words])


@cache
def _words_struct(count: int) -> struct.Struct:
    return struct.Struct(f">{count}H")


def _bits(words: Sequence[int]) -> int:
    """The register's raw bit pattern as one unsigned number (what ``invalid`` lists)."""
    return int.from_bytes(_bytes(words), "big")


def _unpack(kind: str, words: Sequence[int]) -> int | float:
    data = _bytes(words)
    if kind == "float32":
        return _shortest_float32(data)
    if kind == "float64":
        return float(_FLOAT64.unpack(data)[0])
    return int.from_bytes(data, "big", signed=kind.startswith("int"))


_FLOAT32 = struct.Struct(">f")
_FLOAT64 = struct.Struct(">d")
_SHORTEST_MAX = 4096  # float32 patterns remembered (a meter's values repeat between polls)
_shortest: dict[bytes, float] = {}


def _shortest_float32(data: bytes) -> float:
    """The shortest decimal that is this float32, so 1.2345 kWh reads as 1234.5 Wh, not
    1234.5000505: the meter's value, exact to the precision it has. Remembered per bit
    pattern: most of a meter's registers read the same from one poll to the next."""
    known = _shortest.get(data)
    if known is not None:
        return known
    value = float(_FLOAT32.unpack(data)[0])
    if math.isfinite(value):
        for digits in range(6, 10):
            candidate = float(f"{value:.{digits}g}")
            if _FLOAT32.pack(candidate) == data:
                value = candidate
                break
    if len(_shortest) >= _SHORTEST_MAX:
        _shortest.clear()
    _shortest[data] = value
    return value


def _pack(kind: str, raw: int | float | str) -> list[int]:
    size = WORDS[kind] * 2
    if kind.startswith("float"):
        data = struct.pack(">f" if kind == "float32" else ">d", float(raw))
    else:
        number = int(raw)
        signed = kind.startswith("int")
        bits = size * 8
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        number = max(low, min(high, number))
        data = number.to_bytes(size, "big", signed=signed)
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, size, 2)]


def _text(words: Sequence[int], byte_order: str) -> str:
    data = bytearray()
    for w in words:
        pair = (w & 0xFFFF).to_bytes(2, "big")
        data += pair if byte_order == "big" else pair[::-1]
    return data.split(b"\x00", 1)[0].decode("ascii", "replace").strip()


def _pack_text(text: str, count: int, byte_order: str) -> list[int]:
    data = text.encode("ascii", "replace")[: count * 2].ljust(count * 2, b"\x00")
    words = []
    for i in range(0, len(data), 2):
        pair = data[i : i + 2] if byte_order == "big" else data[i : i + 2][::-1]
        words.append(int.from_bytes(pair, "big"))
    return words


# ---------------------------------------------------------------------- maps


@dataclass(frozen=True, kw_only=True)
class Transport:
    """How the device is reached by default (a config can override each field)."""

    kind: str
    port: int
    unit: int
    baudrate: int
    parity: str
    stopbits: int
    timeout_s: float
    request_gap_s: float
    ascii_start: str = ":"  # the start character of the device's ASCII answers
    repeat: int = 1  # send every request this often and use the last answer (ABL)
    max_read: int = 125  # registers per read request the device answers


@dataclass(frozen=True, kw_only=True)
class Watchdog:
    """How the device falls back to its failsafe current, and how we keep it alive."""

    refresh: str  # traffic: any request; setpoint: rewrite max_current; heartbeat: write it
    timeout_s: float
    interval_s: float


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """Electrical limits of the device family (a config may narrow them)."""

    phases: int
    min_current_A: float
    max_current_A: float
    current_step_A: float
    supports_cp_state_E: bool


@dataclass(frozen=True, kw_only=True)
class SunSpec:
    """A SunSpec device: register addresses are offsets from the model's ID register,
    found at connect time by walking the models after the "SunS" marker."""

    model: int
    bases: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class Span:
    """Addresses the device answers (a documented register table) beyond the mapped ones."""

    table: str
    first: int
    last: int
    unit_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Variants:
    """Two firmware variants told apart by one raw register value at connect."""

    register: str
    raw_at_least: int
    below: str
    at_least: str


@dataclass(frozen=True, kw_only=True)
class DeviceMap:
    """One validated map file."""

    id: str
    kind: Kind
    manufacturer: str
    model: str
    also: tuple[str, ...]
    transport: Transport
    capabilities: Capabilities
    watchdog: Watchdog | None
    registers: Mapping[str, Register]
    init: tuple[tuple[str, Value], ...]
    path: str
    sunspec: SunSpec | None = None
    spans: tuple[Span, ...] = ()
    variants: Variants | None = None
    meter_check: tuple[str, ...] = ()
    invert_power: bool = False

    @cached_property
    def addresses(self) -> frozenset[tuple[int | None, str, int]]:
        """Every (unit id or None for the device's own, table, address) the device has: its
        registers and its documented spans. Reads never bridge a gap outside them, and the
        simulator answers exception 2 for anything else."""
        have: set[tuple[int | None, str, int]] = set()
        for reg in self.registers.values():
            for first in (reg.address, *reg.copies):
                have.update((reg.unit_id, reg.table, first + i) for i in range(reg.count))
        for span in self.spans:
            have.update((span.unit_id, span.table, a) for a in range(span.first, span.last + 1))
        return frozenset(have)

    def has_addresses(self, unit_id: int | None, table: str, first: int, count: int) -> bool:
        """Whether the device has every address of ``first``..``first + count - 1``."""
        return all((unit_id, table, a) in self.addresses for a in range(first, first + count))

    def without(self, names: Iterable[str]) -> DeviceMap:
        """A copy without the registers ``names`` (a firmware that lacks them)."""
        drop = set(names)
        registers = {n: r for n, r in self.registers.items() if n not in drop}
        return replace(self, registers=registers)

    @property
    def title(self) -> str:
        """Human name of the device family."""
        return f"{self.manufacturer} {self.model}"

    def get(self, name: str) -> Register | None:
        """The register bound to ``name``, if the device has it."""
        return self.registers.get(name)

    def __getitem__(self, name: str) -> Register:
        return self.registers[name]

    def relocated(self, offset: int) -> DeviceMap:
        """A copy with every address moved by ``offset`` (a SunSpec model's address)."""
        registers = {
            name: replace(reg, address=reg.address + offset) for name, reg in self.registers.items()
        }
        spans = tuple(replace(s, first=s.first + offset, last=s.last + offset) for s in self.spans)
        return replace(self, registers=registers, spans=spans)


def _register(name: str, raw: dict[str, Any], word_order: str) -> Register:
    kind = raw["type"]
    if raw["table"] in ("coil", "discrete"):
        kind = "bit"
    count = raw.get("count") or (1 if kind == "bit" else WORDS.get(kind, 0))
    if kind == "string" and "count" not in raw:
        raise vol.Invalid("a string register needs 'count' (words)", path=[name, "count"])
    if kind in WORDS and "count" in raw and raw["count"] != WORDS[kind]:
        raise vol.Invalid(f"{kind} takes {WORDS[kind]} words", path=[name, "count"])
    return Register(
        name=name,
        table=raw["table"],
        address=raw["address"],
        type=kind,
        count=count,
        scale=Decimal(str(raw["scale"])),
        unit=raw.get("unit"),
        access=raw["access"],
        word_order=raw.get("word_order", word_order),
        byte_order=raw["byte_order"],
        mask=raw.get("mask"),
        unit_id=raw.get("unit_id"),
        values=raw.get("values", {}),
        errors=raw.get("errors", {}),
        invalid=frozenset(raw.get("invalid", ())),
        min=raw.get("min"),
        max=raw.get("max"),
        off_value=raw.get("off_value"),
        scale_register=raw.get("scale_register"),
        write_fc=raw.get("write_fc"),
        read_from=raw.get("read_from"),
        optional=raw["optional"],
        recover={k: (v["register"], v["value"]) for k, v in raw.get("recover", {}).items()},
        sample=raw.get("sample"),
        copies=tuple(raw.get("copies", ())),
        per_phase_V=raw.get("per_phase_V"),
        unverified=raw["unverified"],
    )


def _check_binding(kind: str, reg: Register) -> None:
    bindings = CHARGER_BINDINGS if kind == "charger" else METER_BINDINGS
    path = [reg.name]
    if "w" in reg.access and reg.table in ("input", "discrete"):
        raise vol.Invalid(f"{reg.table} registers cannot be written", path=[*path, "access"])
    if reg.name not in bindings:
        # Device-specific registers (documentation, or targets of ``init`` writes).
        return
    unit, access = bindings[reg.name]
    have = UNIT_FACTORS[reg.unit][0] if reg.unit else None
    if reg.per_phase_V is not None:
        if reg.name != "max_current" or have != "W":
            raise vol.Invalid(
                "per_phase_V makes max_current a power limit: its unit must measure W",
                path=[*path, "per_phase_V"],
            )
        unit = "W"
    if unit is not None and not reg.values and have not in (unit, None):
        raise vol.Invalid(f"unit must measure {unit}, not {reg.unit}", path=[*path, "unit"])
    if access == "w" and "w" not in reg.access:
        raise vol.Invalid("this binding is written: access must be w or rw", path=[*path, "access"])
    if access == "r" and "r" not in reg.access:
        raise vol.Invalid("this binding is read: access must be r or rw", path=[*path, "access"])
    if "w" in reg.access and reg.table in ("input", "discrete"):
        raise vol.Invalid(f"{reg.table} registers cannot be written", path=[*path, "access"])
    if reg.name == "plugged" and set(reg.values.values()) != {"plugged", "unplugged"}:
        raise vol.Invalid(
            "values must map raw values to plugged and unplugged", path=[*path, "values"]
        )
    if reg.name == "cp_state":
        bad = [v for v in reg.values.values() if v not in CP_VALUES]
        if not reg.values or bad:
            raise vol.Invalid(
                f"values must map raw values to {', '.join(CP_VALUES)}", path=[*path, "values"]
            )


def _check_scale_register(reg: Register, registers: Mapping[str, Register]) -> None:
    if reg.scale_register is None:
        return
    path: list[Hashable] = [reg.name, "scale_register"]
    scale = registers.get(reg.scale_register)
    if scale is None:
        raise vol.Invalid(f"unknown register {reg.scale_register!r}", path=path)
    if scale.type != "int16" or scale.values or scale.scale_register is not None:
        raise vol.Invalid(f"{reg.scale_register} must be a plain int16 register", path=path)
    if reg.type not in WORDS or reg.values:
        raise vol.Invalid("only a numeric register can have a scale register", path=path)


def _check_sunspec(kind: str, registers: Mapping[str, Register]) -> None:
    if kind != "meter":
        raise vol.Invalid("only meter maps can use sunspec", path=["sunspec"])
    for reg in registers.values():
        if reg.table != "holding":
            raise vol.Invalid("SunSpec registers are holding registers", path=[reg.name, "table"])


def _check_references(data: dict[str, Any], registers: Mapping[str, Register]) -> None:
    """Names a map uses elsewhere must be its registers; spans must be ordered."""
    for reg in registers.values():
        for raw, (target, _) in reg.recover.items():
            if target not in registers or "w" not in registers[target].access:
                raise vol.Invalid(
                    f"{target!r} is not a writable register", path=[reg.name, "recover", raw]
                )
        if reg.write_fc is not None and reg.table != "holding":
            raise vol.Invalid("only holding registers take FC06/FC16", path=[reg.name, "write_fc"])
        if reg.write_fc == 6 and reg.count > 1:
            raise vol.Invalid("FC06 writes one register", path=[reg.name, "write_fc"])
        if reg.copies and (reg.table != "holding" or "w" not in reg.access):
            raise vol.Invalid("only a written holding register has copies", path=[reg.name])
    _check_copies(registers)
    for i, name in enumerate(data.get("meter_check", ())):
        if name not in registers:
            raise vol.Invalid(f"unknown register {name!r}", path=["meter_check", i])
    if "variants" in data and data["variants"]["register"] not in registers:
        raise vol.Invalid("unknown register", path=["variants", "register"])
    for i, span in enumerate(data["spans"]):
        if span["last"] < span["first"]:
            raise vol.Invalid("last must not be below first", path=["spans", i, "last"])


def _check_copies(registers: Mapping[str, Register]) -> None:
    """A copy's words must not overlap another register or copy (one write each)."""
    taken: dict[tuple[int | None, str, int], str] = {}
    for reg in registers.values():
        for first in (reg.address, *reg.copies):
            for a in range(first, first + reg.count):
                key = (reg.unit_id, reg.table, a)
                if key in taken and (reg.copies or registers[taken[key]].copies):
                    raise vol.Invalid(
                        f"address {a} is also {taken[key]}", path=[reg.name, "copies"]
                    )
                taken[key] = reg.name


def _check_current_range(reg: Register | None, caps: dict[str, Any]) -> None:
    """The capabilities' current range must fit the setpoint register's min/max, else the
    driver would clamp to currents the device refuses."""
    if reg is None or reg.per_phase_V is not None:
        return  # a power limit's range depends on the phases charged
    for key in ("min_current_A", "max_current_A"):
        try:
            reg.check_range(float(caps[key]))
        except ValueError as err:
            raise vol.Invalid(
                f"{key} {caps[key]} does not fit the max_current register: {err}",
                path=["capabilities", key],
            ) from err


def _build(map_id: str, data: dict[str, Any], path: str) -> DeviceMap:
    word_order = data["word_order"]
    registers = {name: _register(name, raw, word_order) for name, raw in data["registers"].items()}
    for reg in registers.values():
        _check_binding(data["kind"], reg)
        _check_scale_register(reg, registers)
    sunspec = data.get("sunspec")
    if sunspec is not None:
        _check_sunspec(data["kind"], registers)
    for name in REQUIRED[data["kind"]]:
        if name not in registers:
            raise vol.Invalid(f"a {data['kind']} map needs a '{name}' register", path=[name])
    _check_references(data, registers)
    init = tuple((w["register"], w["value"]) for w in data["init"])
    for i, (name, value) in enumerate(init):
        if name not in registers:
            raise vol.Invalid(f"unknown register {name!r}", path=["init", i, "register"])
        if "w" not in registers[name].access:
            raise vol.Invalid(f"{name} is not writable", path=["init", i, "register"])
        if isinstance(value, str) and value not in registers[name].values.values():
            raise vol.Invalid(f"{value!r} is not a value of {name}", path=["init", i, "value"])
    watchdog_data = data.get("watchdog")
    if watchdog_data and watchdog_data.get("interval_s", 0) >= watchdog_data["timeout_s"]:
        raise vol.Invalid(
            "interval_s must be shorter than timeout_s", path=["watchdog", "interval_s"]
        )
    transport = data["transport"]
    watchdog = data.get("watchdog")
    caps = {k: v for k, v in data["capabilities"].items() if k != "unverified"}
    _check_current_range(registers.get("max_current"), caps)
    return DeviceMap(
        id=map_id,
        kind=data["kind"],
        manufacturer=data["manufacturer"],
        model=data["model"],
        also=tuple(data.get("also", ())),
        transport=Transport(
            kind=transport["kind"],
            port=transport["port"],
            unit=transport["unit"],
            baudrate=transport["baudrate"],
            parity=transport["parity"],
            stopbits=transport["stopbits"],
            timeout_s=transport["timeout_s"],
            request_gap_s=transport["request_gap_ms"] / 1000,
            ascii_start=transport["ascii_start"],
            repeat=transport["repeat"],
            max_read=transport["max_read"],
        ),
        capabilities=Capabilities(**caps),
        watchdog=None
        if watchdog is None
        else Watchdog(
            refresh=watchdog["refresh"],
            timeout_s=watchdog["timeout_s"],
            interval_s=watchdog.get("interval_s", watchdog["timeout_s"] / 3),
        ),
        registers=registers,
        init=init,
        path=path,
        sunspec=None
        if sunspec is None
        else SunSpec(model=sunspec["model"], bases=tuple(sunspec["bases"])),
        spans=tuple(
            Span(table=s["table"], first=s["first"], last=s["last"], unit_id=s.get("unit_id"))
            for s in data["spans"]
        ),
        variants=None
        if "variants" not in data
        else Variants(
            register=data["variants"]["register"],
            raw_at_least=data["variants"]["raw_at_least"],
            below=data["variants"]["below"],
            at_least=data["variants"]["at_least"],
        ),
        meter_check=tuple(data.get("meter_check", ())),
        invert_power=data["invert_power"],
    )


def parse_map(text: str, *, map_id: str, path: str = "<text>") -> DeviceMap:
    """Validate map text; MapError names ``path`` and the failing field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise MapError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise MapError(f"{path}: a map must be a YAML mapping")
    try:
        validated = MAP_SCHEMA(data)
    except vol.Invalid as err:
        raise MapError(f"{path}: {humanize_error(data, err)}") from err
    try:
        return _build(map_id, validated, path)
    except vol.Invalid as err:
        top = ("init", "watchdog", "sunspec", "spans", "variants", "meter_check")
        where = "registers" if err.path and err.path[0] not in top else ""
        field_path = " > ".join(str(p) for p in ([where] if where else []) + list(err.path))
        raise MapError(f"{path}: {field_path}: {err.msg}") from err


def load_map_file(path: str | Path) -> DeviceMap:
    """Load and validate one map file from anywhere on disk.

    The file is read bounded (regular files only, UTF-8) and must look like a map (a
    mapping with ``kind`` or ``registers``) before any error may quote its content: a
    mistyped path can point at a file of secrets.
    """
    file = Path(path)
    try:
        text = read_text(file)
        data = load_yaml(text, str(file))
    except ValueError as err:
        raise MapError(str(err)) from None
    if not isinstance(data, dict):
        raise MapError(f"{file}: a map must be a YAML mapping")
    if not {"kind", "registers"} & set(data):
        raise MapError(f"{file}: not a device map (a YAML mapping with kind and registers)")
    return parse_map(text, map_id=file.stem[:64], path=str(file))


def available_maps() -> dict[str, str]:
    """Bundled map ids and their ``kind``: what a config (or a config flow) can pick."""
    return {map_id: load_map(map_id).kind for map_id in _bundled_ids()}


# The maps folder beside the controller package: the repository root, site-packages, or the
# Home Assistant integration folder that carries both (see scripts/release).
BUNDLED_MAPS = Path(__file__).parent.parent.parent / "modbus_maps"
MAP_ID = re.compile(r"^[a-z0-9_]{1,64}$")  # a bundled map's file name


def _bundled_ids() -> list[str]:
    return sorted(p.stem for p in BUNDLED_MAPS.glob("*.yaml"))


@cache
def load_map(map_id: str) -> DeviceMap:
    """A bundled map by id (file name without .yaml) or a path to a map file."""
    if map_id.endswith((".yaml", ".yml")) or "/" in map_id:
        return load_map_file(map_id)
    resource = BUNDLED_MAPS / f"{map_id}.yaml"
    if not MAP_ID.match(map_id) or not resource.is_file():
        known = ", ".join(_bundled_ids())
        shown = map_id if len(map_id) <= 64 else map_id[:64] + "..."
        raise MapError(f"unknown device map {shown!r}; bundled maps: {known}")
    return parse_map(
        resource.read_text(encoding="utf-8"), map_id=map_id, path=f"modbus_maps/{map_id}.yaml"
    )
