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

from pymodbus import FramerType
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator.simcore import SimCore

from ..modbus.maps import DeviceMap
from ..modbus.transport import AnsweringAsciiFramer, own_pymodbus
from ..simulation import SimulatedStation
from .device import SimulatedCharger, SimulatedDevice

Framer = Literal["socket", "rtu"]
TICK_S = 0.1


BIND_ATTEMPTS = 5


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _KnownUnits(SimCore):
    """The devices of one server, answering only their own unit ids.

    pymodbus falls back to device 0 (or fails with a traceback) for any other unit; a real
    RS-485 gateway answers exception 0x0B (target device failed to respond), which
    pymodbus's server sends for NoSuchIdException. So a wrong unit id fails like it would
    on site instead of reading another unit's registers."""

    def _known(self, device_id: int) -> None:
        if device_id not in self.devices:
            raise NoSuchIdException(f"unit {device_id}")

    async def async_getValues(self, device_id: int, *args: Any, **kwargs: Any) -> Any:
        self._known(device_id)
        return await super().async_getValues(device_id, *args, **kwargs)

    async def async_setValues(self, device_id: int, *args: Any, **kwargs: Any) -> Any:
        self._known(device_id)
        return await super().async_setValues(device_id, *args, **kwargs)


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
                self.device.sim_devices(), framer=self.framer, address=(self.host, self.port)
            )
            self.server.context = _KnownUnits(self.device.sim_devices())
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
            self.device.sim_devices(),
            framer=FramerType.ASCII if ascii_ else FramerType.RTU,
            port=tty,
            baudrate=baudrate,
        )
        self.server.context = _KnownUnits(self.device.sim_devices())
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
