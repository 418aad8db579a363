"""``python -m controller.energy --config FILE``: the energy manager as its own process.

It decides the limits of connectors served by other controller processes (see
``controller.energy.process``) until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..service import check_or_run
from .process import EnergyProcess, load_process_config


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
    return check_or_run(
        args.config,
        load_process_config,
        lambda c: (x.name for x in c.connectors),
        EnergyProcess,
        args.check,
    )


if __name__ == "__main__":
    sys.exit(main())
