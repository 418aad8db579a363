"""``python -m controller.simulator``: serve a charger map (and a meter map) over Modbus.

Point a controller (``python -m controller --config ...``) or any Modbus tool at the
printed ports. ``--scenario`` plays an EV script in real time, for example
``"sleep 2;plugin;iec_wait_pwr_ready;draw_power_regulated 16,3;sleep 600;unplug"``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from ..clock import SystemClock
from ..errors import ConfigError, MapError
from ..modbus.maps import available_maps, load_map
from ..simulation import SimulatedStation
from .scenarios import Scenario, ScenarioError, Step

try:
    from .server import ModbusSimulator
except ImportError as err:  # a pymodbus older than the simulator takes (see server.py)
    sys.exit(f"error: {err}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m controller.simulator", description=__doc__)
    parser.add_argument("--charger", default="heidelberg_energy_control", help="charger map id")
    parser.add_argument("--meter", default="eastron_sdm630", help="meter map id, or 'none'")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5020, help="charger TCP port (0 = any)")
    parser.add_argument("--meter-port", type=int, default=5021, help="meter TCP port (0 = any)")
    parser.add_argument("--framer", choices=("socket", "rtu"), default="socket")
    parser.add_argument("--serial", help="serve the charger with RTU on this serial device")
    parser.add_argument("--baudrate", type=int, default=9600)
    parser.add_argument("--scenario", help="EV script (car simulator commands)")
    parser.add_argument("--list", action="store_true", help="list the device maps and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until interrupted."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.list:
        for map_id, kind in sorted(available_maps().items()):
            print(f"{kind:8} {map_id}")
        return 0
    try:
        charger = load_map(args.charger)
        meter = None if args.meter == "none" else load_map(args.meter)
        scenario = Scenario(args.scenario or "", SimulatedStation(clock=SystemClock()))
    except (ConfigError, MapError, ScenarioError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    simulator = ModbusSimulator(
        scenario.station,
        charger,
        meter,
        host=args.host,
        port=args.port,
        meter_port=args.meter_port,
        framer=args.framer,
    )
    asyncio.run(_serve(simulator, scenario, args.serial, args.baudrate))
    return 0


async def _serve(
    simulator: ModbusSimulator, scenario: Scenario, serial: str | None, baudrate: int
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with simulator:
        if serial:
            await simulator.serve_serial(serial, baudrate)
            print(
                f"charger {simulator.charger.map.id}: "
                f"{'ASCII' if simulator.charger.map.transport.kind == 'ascii' else 'RTU'} on "
                f"{serial} at {baudrate} Bd",
                flush=True,
            )
        else:
            print(f"charger {simulator.charger.map.id}: {simulator.port}", flush=True)
        if simulator.meter is not None:
            print(f"meter {simulator.meter.map.id}: {simulator.meter_port}", flush=True)
        player = asyncio.create_task(_play(scenario))
        await stop.wait()
        player.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await player


async def _play(scenario: Scenario) -> None:
    def show(step: Step) -> None:
        logging.info("EV: %s", step)

    try:
        await scenario.run(asyncio.sleep, on_step=show)
    except ScenarioError as err:
        logging.error("scenario: %s", err)


if __name__ == "__main__":
    raise SystemExit(main())
