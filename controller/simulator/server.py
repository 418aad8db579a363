"""The simulator's Modbus servers: the charger on one TCP port, the meter on another.

Two ports keep unit ids from colliding (a Heidelberg and an SDM630 both default to unit 1)
and let a test cut the charger's link alone. ``cut_link`` stops answering (the server
closes its connections) and ``restore_link`` serves again on the same port. The RTU framer
runs over TCP (an RS-485 gateway) or over a serial device such as a socat pty.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any, Literal

import pymodbus
from pymodbus import FramerType
from pymodbus import exceptions as pymodbus_exceptions  # 3.8 has no NoSuchIdException
from pymodbus.datastore import ModbusServerContext
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from ..modbus.maps import DeviceMap
from ..modbus.transport import AnsweringAsciiFramer, own_pymodbus
from ..simulation import SimulatedStation

# The datastore contract ``_Datastore`` implements (an exception code for an answer) exists
# from pymodbus 3.11 on; 3.8 to 3.10 could answer nothing but "illegal address".
MIN_PYMODBUS = (3, 11)
if tuple(int(part) for part in pymodbus.__version__.split(".")[:2]) < MIN_PYMODBUS:
    raise ImportError(
        f"the simulator needs pymodbus 3.11 or newer (installed: {pymodbus.__version__})"
    )

from .device import SimulatedCharger, SimulatedDevice  # noqa: E402 - after the version check

Framer = Literal["socket", "rtu"]
TICK_S = 0.1


BIND_ATTEMPTS = 5


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _Datastore(ModbusServerContext):
    """A simulated device as pymodbus' datastore, for every pymodbus from 3.11 to 3.16.

    pymodbus 3.13 and newer ask the server's context (``async_getValues(device_id, ...)``),
    3.11 and 3.12 the unit's own (``context[device_id].async_getValues(...)``); both take an
    exception code for an answer. This object is both, over ``SimulatedDevice.request``, so the
    simulator runs on whatever pymodbus is installed (Home Assistant constrains one for every
    integration: 3.11.2 in 2026.2) and needs none of pymodbus' own simulator classes, whose API
    changed with each of those releases. It answers only the unit ids its map uses: pymodbus
    falls back to device 0 (or fails with a traceback) for any other unit; a real RS-485
    gateway answers exception 0x0B (target device failed to respond), which pymodbus's server
    sends for NoSuchIdException, so a wrong unit id fails as it would on site."""

    simdevices: list[Any] = []  # noqa: RUF012 - read by pymodbus' server: none, use this object
    old_simulator = True  # pymodbus 3.16: "a context of its own", taken as it is
    single = False

    def __init__(self, device: SimulatedDevice) -> None:
        self._device = device
        self._units = frozenset(device.units)

    def __bool__(self) -> bool:
        return True

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._units

    def device_ids(self) -> list[int]:
        """The unit ids this device answers."""
        return sorted(self._units)

    def _known(self, device_id: int) -> None:
        if device_id not in self._units:
            raise pymodbus_exceptions.NoSuchIdException(f"unit {device_id}")

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> Any:
        """pymodbus 3.13+: a read (or a write's read-back)."""
        self._known(device_id)
        return await self._device.request(device_id, func_code, address, count, None)

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: Any
    ) -> Any:
        """pymodbus 3.13+: a write."""
        self._known(device_id)
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        return await self._device.request(device_id, func_code, address, len(values), values)

    def __getitem__(self, device_id: int) -> _Unit:
        """pymodbus 3.11-3.12: the unit's own context."""
        self._known(device_id)
        return _Unit(self, device_id)


class _Unit:
    """One unit of a ``_Datastore``, as pymodbus 3.11 and 3.12 ask it."""

    def __init__(self, store: _Datastore, unit: int) -> None:
        self._store, self._unit = store, unit

    async def async_getValues(self, func_code: int, address: int, count: int = 1) -> Any:
        """A read (or a write's read-back)."""
        return await self._store.async_getValues(self._unit, func_code, address, count)

    async def async_setValues(self, func_code: int, address: int, values: Any) -> Any:
        """A write."""
        return await self._store.async_setValues(self._unit, func_code, address, values)


class _Served:
    """One device on one listening server."""

    def __init__(self, device: SimulatedDevice, host: str, port: int, framer: Framer) -> None:
        self.device = device
        self.host = host
        self.port = port or free_port(host)
        self._chosen = not port  # a free port picked here may be taken before the bind
        self.framer = FramerType.RTU if framer == "rtu" else FramerType.SOCKET
        self.server: ModbusTcpServer | ModbusSerialServer | None = None

    async def start(self) -> None:
        """Listen; a port this server picked itself that something else took meanwhile
        (another process, or an outgoing connection's ephemeral port) is picked again."""
        for attempt in range(BIND_ATTEMPTS):
            self.server = ModbusTcpServer(
                _Datastore(self.device), framer=self.framer, address=(self.host, self.port)
            )
            try:
                with own_pymodbus():  # its connections' records are ours
                    await self.server.serve_forever(background=True)
                return
            except RuntimeError:  # pymodbus: "Could not start listen"
                if not self._chosen or attempt == BIND_ATTEMPTS - 1:
                    raise
                self.port = free_port(self.host)

    async def start_serial(self, tty: str, baudrate: int) -> None:
        """RTU, or ASCII for a map whose transport is ASCII (answers start with the map's
        ``ascii_start``: ABL's ``>``)."""
        transport = self.device.map.transport
        ascii_ = transport.kind == "ascii"
        self.server = ModbusSerialServer(
            _Datastore(self.device),
            framer=FramerType.ASCII if ascii_ else FramerType.RTU,
            port=tty,
            baudrate=baudrate,
        )
        if ascii_ and transport.ascii_start == ">":
            self.server.framer = AnsweringAsciiFramer
        with own_pymodbus():
            await self.server.serve_forever(background=True)

    async def stop(self) -> None:
        if self.server is not None:
            with own_pymodbus():
                await self.server.shutdown()  # type: ignore[no-untyped-call]
            self.server = None


class ModbusSimulator:
    """A charger (and optionally a meter) from maps, over one SimulatedStation."""

    def __init__(
        self,
        station: SimulatedStation,
        charger_map: DeviceMap,
        meter_map: DeviceMap | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        meter_port: int = 0,
        framer: Framer = "socket",
        without: tuple[str, ...] = (),
    ) -> None:
        self.station = station
        self.charger = SimulatedCharger(charger_map, station, without=without)
        self.meter = None if meter_map is None else SimulatedDevice(meter_map, station)
        self._charger = _Served(self.charger, host, port, framer)
        self._meter = None if self.meter is None else _Served(self.meter, host, meter_port, framer)
        self._ticker: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The charger's TCP port."""
        return self._charger.port

    @property
    def meter_port(self) -> int | None:
        """The meter's TCP port (None without a meter)."""
        return None if self._meter is None else self._meter.port

    @property
    def meter_unit(self) -> int | None:
        """The meter's unit id (its map's default)."""
        return None if self.meter is None else self.meter.unit

    def devices(self, **options: Any) -> dict[str, Any]:
        """The ``charger`` and ``meter`` sections of a connector configuration that reach
        this simulator over loopback Modbus (no gap between requests: the gap protects slow
        RS-485 devices); ``options`` add connection settings such as ``timeout_s``."""
        kind = "rtu_over_tcp" if self._charger.framer is FramerType.RTU else "tcp"
        base = {"kind": kind, "host": self._charger.host, "request_gap_ms": 0, **options}
        charger = {"map": self.charger.map.id, "connection": {**base, "port": self.port}}
        if self.meter is None or self._meter is None:
            return {"charger": charger, "meter": "charger"}
        meter_connection = {**base, "port": self._meter.port, "unit": self.meter.unit}
        return {
            "charger": charger,
            "meter": {"map": self.meter.map.id, "connection": meter_connection},
        }

    async def start(self) -> None:
        """Serve both devices and run the watchdog clock."""
        await self._charger.start()
        if self._meter is not None:
            await self._meter.start()
        self._ticker = asyncio.create_task(self._tick(), name="simulator watchdog")

    async def serve_serial(self, tty: str, baudrate: int = 9600) -> None:
        """Serve the charger on a serial device instead of TCP (RTU, or the map's ASCII)."""
        await self._charger.stop()
        await self._charger.start_serial(tty, baudrate)

    async def stop(self) -> None:
        """Stop everything (held answers are released first)."""
        self.charger.clear_faults()
        if self.meter is not None:
            self.meter.clear_faults()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self._charger.stop()
        if self._meter is not None:
            await self._meter.stop()

    async def cut_link(self) -> None:
        """The charger stops answering (cable pulled)."""
        await self._charger.stop()

    async def restore_link(self) -> None:
        """The charger answers again on the same port."""
        await self._charger.start()

    def tick(self) -> None:
        """Let the charger's watchdog look at the clock now (tests with a ManualClock)."""
        self.charger.tick()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.tick()

    async def __aenter__(self) -> ModbusSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
