"""``python -m controller``: the standalone controller.

With ``--config FILE`` it runs the configured connectors (and MQTT/HTTP if configured)
until interrupted. Without a config it is the demo: it starts the Modbus simulator on
127.0.0.1, connects the controller to it over real Modbus TCP and plays an EV session,
printing the session events as they happen.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from .app import Controller
from .config import load_config
from .service import check_or_run


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m controller", description=__doc__)
    parser.add_argument("--config", type=Path, help="YAML configuration (see README)")
    parser.add_argument("--check", action="store_true", help="validate --config and exit")
    parser.add_argument("--db", type=Path, help="demo session database (default: temporary)")
    parser.add_argument("--charger", default="heidelberg_energy_control", help="demo charger map")
    parser.add_argument("--meter", default="eastron_sdm630", help="demo meter map")
    parser.add_argument(
        "--ocpp", choices=("1.6", "2.0.1"), help="demo over OCPP with a simulated OCPP wallbox"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="full event JSON, debug log")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("pymodbus").setLevel(logging.WARNING)
        for name in ("ocpp", "websockets"):  # every OCPP message at INFO
            logging.getLogger(name).setLevel(logging.WARNING)
        logging.getLogger("controller.http.api.access").setLevel(logging.WARNING)
    if args.config is None and args.ocpp is not None:
        from .ocpp.demo import run_ocpp_demo  # noqa: PLC0415 - the ocpp package only here

        asyncio.run(run_ocpp_demo(args.ocpp, args.db, args.verbose))
        return 0
    if args.config is None:
        # Only the demo needs the simulator (pymodbus' server) and its EV: a controller
        # run does not pay for importing them.
        from .demo import run_demo  # noqa: PLC0415

        asyncio.run(run_demo(args.db, args.verbose, charger=args.charger, meter=args.meter))
        return 0
    return check_or_run(
        args.config, load_config, lambda c: (x.name for x in c.connectors), Controller, args.check
    )


if __name__ == "__main__":
    raise SystemExit(main())
