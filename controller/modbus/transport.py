"""The only module that imports pymodbus: buses, requests, timeouts, reconnect.

One ``ModbusBus`` per physical bus (a TCP endpoint or a serial port). Every request on a bus
goes through its lock, so several devices on one RS-485 line (or one TCP gateway) are
serialised, and a failed bus reconnects with capped exponential backoff. Every failure is
turned into ``DeviceError`` / ``ConnectError`` with a message saying what failed where.

pymodbus itself logs an ERROR (with a hex dump) for every request a silent device leaves
unanswered, and a WARNING for every failed connect: thousands of lines an hour. Those
failures reach the manager as ``DeviceError``, which says once that a device went and once
that it returned; so pymodbus' own records are passed on only as DEBUG, and only when the
``pymodbus`` logger is set to debug. Only the records of our own clients and servers: pymodbus
has one logger for the whole process, and in Home Assistant it is shared with core's Modbus
integration, whose users need its warnings. What ours do runs under ``own_pymodbus()``, a
context variable that the transports' callbacks inherit (asyncio copies the context into
every callback and task created meanwhile), so the filter knows whose record it is.

Works on every pymodbus from 3.8.3 to 3.16.x (``manifest.json`` admits that range): Home
Assistant keeps one pymodbus for the whole installation, and its own Modbus integration pins
one (3.8.3 in 2025.4, 3.13.x later), so a pin of our own would be reinstalled over core's at
every start. Of what this module uses only the unit keyword differs in that range: ``slave=``
until 3.9, ``device_id=`` from 3.10 on; it is found once, from the client's signature (framers,
``FramerType``, ``DecodePDU``, ``client.ctx.framer``, the client's arguments, the exceptions and
the ``pymodbus.logging`` logger are the same in all of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from inspect import signature
from typing import Any, Literal

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerAscii
from pymodbus.pdu import DecodePDU

from ..errors import ConnectError, DeviceError

try:  # a serial port that refuses its line settings (parity on a pty, a USB adapter gone)
    from termios import error as _TermiosError

    _SERIAL_SETUP_ERRORS: tuple[type[Exception], ...] = (_TermiosError,)
except ImportError:  # pragma: no cover - Windows has no termios
    _SERIAL_SETUP_ERRORS = ()
_CONNECT_ERRORS: tuple[type[Exception], ...] = (OSError, ModbusException, *_SERIAL_SETUP_ERRORS)

_LOGGER = logging.getLogger(__name__)
_PYMODBUS_LOGGER = "pymodbus.logging"  # the one logger pymodbus logs to

# The request methods' unit keyword: ``slave`` before pymodbus 3.10, ``device_id`` since.
_UNIT = (
    "device_id" if "device_id" in signature(AsyncModbusTcpClient.read_coils).parameters else "slave"
)

Table = Literal["coil", "discrete", "input", "holding"]
Kind = Literal["tcp", "rtu_over_tcp", "rtu", "ascii"]
MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000
ASCII_STARTS = (b":", b">")


class RefusedError(DeviceError):
    """The device answered with a Modbus exception: it is there but refuses this request
    (an address it does not have, a value out of range, a function it does not take)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class TolerantAsciiFramer(FramerAscii):
    """Modbus ASCII that also takes answers starting with ``>`` (ABL eMH), as every ABL
    integration does; requests still start with ``:``."""

    def decode(self, data: bytes) -> tuple[int, int, int, bytes]:
        """Read a ``>`` frame as the ``:`` frame it otherwise is."""
        start = min((i for i in (data.find(c) for c in ASCII_STARTS) if i >= 0), default=-1)
        if start >= 0 and data[start : start + 1] == b">":
            data = data[:start] + b":" + data[start + 1 :]
        return super().decode(data)


class AnsweringAsciiFramer(TolerantAsciiFramer):
    """A device side that answers with ``>`` (the simulator of an ABL eMH)."""

    def encode(self, payload: bytes, device_id: int, _tid: int) -> bytes:
        """The stock frame with ``>`` as its start character."""
        return b">" + super().encode(payload, device_id, _tid)[1:]


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """Where a bus is: Modbus TCP, RTU over TCP (a gateway), or RTU/ASCII on a serial port."""

    kind: Kind = "tcp"
    host: str = "127.0.0.1"
    port: int = 502
    serial_port: str = ""
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    bytesize: int = 8
    timeout_s: float = 1.0
    retries: int = 1

    @property
    def key(self) -> str:
        """Identity of the physical bus: devices with the same key share one bus."""
        if self.kind in ("rtu", "ascii"):
            return f"serial:{self.serial_port}"
        return f"{self.kind}:{self.host}:{self.port}"

    def describe(self) -> str:
        """Human-readable location for error messages."""
        if self.kind in ("rtu", "ascii"):
            return f"{self.serial_port} ({self.kind} {self.baudrate} {self.parity})"
        return f"{self.host}:{self.port} ({self.kind})"


_OWN_PYMODBUS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "evse_manager_own_pymodbus", default=False
)


@contextlib.contextmanager
def own_pymodbus() -> Iterator[None]:
    """Marks what pymodbus does inside (and every callback it sets up meanwhile: a
    connection's reads, its timers) as ours, for ``PymodbusQuiet``."""
    token = _OWN_PYMODBUS.set(True)
    try:
        yield
    finally:
        _OWN_PYMODBUS.reset(token)


class PymodbusQuiet(logging.Filter):
    """Demotes our pymodbus clients' and servers' records to DEBUG and drops them unless
    its logger wants DEBUG; anyone else's pass as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep a record of ours only for someone debugging pymodbus, and then as DEBUG."""
        if not _OWN_PYMODBUS.get():
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return True


def quiet_pymodbus() -> None:
    """Install ``PymodbusQuiet`` on pymodbus' logger (once; called at import)."""
    target = logging.getLogger(_PYMODBUS_LOGGER)
    if not any(isinstance(f, PymodbusQuiet) for f in target.filters):
        target.addFilter(PymodbusQuiet())


quiet_pymodbus()


def _client(endpoint: Endpoint) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
    """A pymodbus client that does not reconnect by itself (the bus does, with backoff);
    ASCII takes both start characters (``:`` and ABL's ``>``)."""
    client = _stock_client(endpoint)
    if endpoint.kind == "ascii":
        client.ctx.framer = TolerantAsciiFramer(DecodePDU(False))
    return client


def _stock_client(endpoint: Endpoint) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
    if endpoint.kind in ("rtu", "ascii"):
        return AsyncModbusSerialClient(
            endpoint.serial_port,
            framer=FramerType.RTU if endpoint.kind == "rtu" else FramerType.ASCII,
            baudrate=endpoint.baudrate,
            parity=endpoint.parity,
            stopbits=endpoint.stopbits,
            bytesize=endpoint.bytesize,
            timeout=endpoint.timeout_s,
            retries=endpoint.retries,
            reconnect_delay=0,
        )
    return AsyncModbusTcpClient(
        endpoint.host,
        port=endpoint.port,
        framer=FramerType.SOCKET if endpoint.kind == "tcp" else FramerType.RTU,
        timeout=endpoint.timeout_s,
        retries=endpoint.retries,
        reconnect_delay=0,
    )


class ModbusBus:
    """One pymodbus client, its lock, and its reconnect policy."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        request_gap_s: float = 0.0,
    ) -> None:
        self.endpoint = endpoint
        self._client = _client(endpoint)
        self._lock = asyncio.Lock()
        self._backoff_min = backoff_min_s
        self._backoff_max = backoff_max_s
        self._backoff = backoff_min_s
        self._retry_at = 0.0
        self._request_gap = request_gap_s
        self.requests = 0
        self.failures = 0

    @property
    def connected(self) -> bool:
        """Whether the client holds an open connection."""
        return bool(self._client.connected)

    async def connect(self) -> None:
        """Open the connection now; raises ConnectError (and schedules the next try)."""
        async with self._lock:
            await self._ensure_connected(force=True)

    async def close(self) -> None:
        """Close the connection."""
        with own_pymodbus():
            self._client.close()

    async def _ensure_connected(self, force: bool = False) -> None:
        if self._client.connected:
            return
        loop = asyncio.get_running_loop()
        if not force and loop.time() < self._retry_at:
            raise ConnectError(f"{self.endpoint.describe()}: not connected (retrying later)")
        ok, reason = False, ""
        try:
            with own_pymodbus():
                ok = await self._client.connect()
        except _CONNECT_ERRORS as err:
            _LOGGER.debug("connect %s failed: %s", self.endpoint.describe(), err)
            reason = f": {err}"
        if not ok:
            self._retry_at = loop.time() + self._backoff * random.uniform(0.8, 1.2)
            self._backoff = min(self._backoff * 2, self._backoff_max)
            raise ConnectError(f"{self.endpoint.describe()}: cannot connect{reason}")
        self._backoff = self._backoff_min

    async def read(self, table: Table, address: int, count: int, unit: int) -> list[int]:
        """Read ``count`` registers (or bits, as 0/1) starting at ``address``."""
        return await self._request(table, address, count, unit)

    async def write_registers(
        self, address: int, values: Sequence[int], unit: int, *, multiple: bool = False
    ) -> None:
        """Write holding registers: FC06 for one register, FC16 for several or where the
        device documents FC16 (``multiple``)."""
        op = "write_multiple" if multiple or len(values) != 1 else "write"
        await self._request(op, address, list(values), unit)

    async def write_coil(self, address: int, value: bool, unit: int) -> None:
        """Write one coil (FC05)."""
        await self._request("write_coil", address, value, unit)

    async def _request(self, op: str, address: int, arg: Any, unit: int) -> list[int]:
        """One request under the bus lock; what it was is put into words only for an
        error (every poll sends requests: nothing is formatted for the ones that work)."""
        async with self._lock:
            if not self._client.connected:
                await self._ensure_connected()
            self.requests += 1
            try:
                with own_pymodbus():
                    response = await self._call(op, address, arg, unit)
            except (TimeoutError, ModbusException, OSError) as err:
                self.failures += 1
                await self.close()
                what = _what(op, address, arg)
                raise DeviceError(f"{self.endpoint.describe()} unit {unit}: {what}: {err}") from err
            except asyncio.CancelledError:
                # The answer to this request may still arrive; a fresh connection keeps it
                # from being taken for the answer to the next request (a stop's safe write).
                await self.close()
                raise
            finally:
                if self._request_gap:
                    await asyncio.sleep(self._request_gap)
            if response.isError():
                self.failures += 1
                what = _what(op, address, arg)
                raise RefusedError(
                    f"{self.endpoint.describe()} unit {unit}: {what}: device answered {response}",
                    int(getattr(response, "exception_code", 0) or 0),
                )
            return _payload(op, response, arg)

    async def _call(self, op: str, address: int, arg: Any, unit: int) -> Any:
        client = self._client
        to: dict[str, Any] = {_UNIT: unit}  # slave= or device_id=, see _UNIT
        if op == "coil":
            return await client.read_coils(address, count=arg, **to)
        if op == "discrete":
            return await client.read_discrete_inputs(address, count=arg, **to)
        if op == "input":
            return await client.read_input_registers(address, count=arg, **to)
        if op == "holding":
            return await client.read_holding_registers(address, count=arg, **to)
        if op == "write_coil":
            return await client.write_coil(address, arg, **to)
        if op == "write":
            return await client.write_register(address, arg[0], **to)
        return await client.write_registers(address, arg, **to)


def _what(op: str, address: int, arg: Any) -> str:
    """A request in words, for its error message."""
    if op in ("coil", "discrete", "input", "holding"):
        return f"read {op} {address}+{arg}"
    return f"write {'coil' if op == 'write_coil' else 'holding'} {address}"


def _payload(op: str, response: Any, arg: Any) -> list[int]:
    if op in ("coil", "discrete"):
        return [int(bit) for bit in response.bits[:arg]]
    if op in ("input", "holding"):
        registers = list(response.registers)
        if len(registers) != arg:
            raise DeviceError(f"expected {arg} registers, got {len(registers)}")
        return registers
    return []


class BusRegistry:
    """Hands out one shared ModbusBus per physical bus (the "one owner per bus" rule)."""

    def __init__(self) -> None:
        self._buses: dict[str, ModbusBus] = {}
        self._users: dict[str, int] = {}

    def acquire(self, endpoint: Endpoint, **options: Any) -> ModbusBus:
        """The bus for ``endpoint``, created on first use."""
        key = endpoint.key
        if key not in self._buses:
            self._buses[key] = ModbusBus(endpoint, **options)
        self._users[key] = self._users.get(key, 0) + 1
        return self._buses[key]

    async def release(self, bus: ModbusBus) -> None:
        """Give a bus back; the last user closes it."""
        key = bus.endpoint.key
        self._users[key] -= 1
        if self._users[key] <= 0:
            del self._users[key]
            await self._buses.pop(key).close()

    async def close_all(self) -> None:
        """Close every bus (shutdown)."""
        buses, self._buses, self._users = list(self._buses.values()), {}, {}
        for bus in buses:
            await bus.close()
