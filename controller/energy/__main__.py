"""``python -m controller.energy --config FILE``: the energy manager as its own process.

It decides the limits of connectors served by other controller processes (see
``controller.energy.process``) until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from ..errors import ConfigError
from .process import EnergyProcess, ProcessConfig, load_process_config


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m controller.energy", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="YAML configuration")
    parser.add_argument("--check", action="store_true", help="validate --config and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug log")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_process_config(args.config)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    if args.check:
        names = ", ".join(c.name for c in config.connectors)
        print(f"{args.config}: valid ({names})")
        return 0
    return asyncio.run(_serve(config))


async def _serve(config: ProcessConfig) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    process = EnergyProcess(config)
    try:
        await process.start()
    except Exception as err:
        logging.getLogger(__name__).debug("start failed", exc_info=True)
        print(f"cannot start: {type(err).__name__}: {err}", file=sys.stderr)
        with contextlib.suppress(Exception):
            await process.stop()
        return 1
    try:
        await stop.wait()
    finally:
        await process.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
