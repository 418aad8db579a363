"""``python -m controller``: the standalone controller (for now: the simulated demo)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from .demo import run_demo


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m controller", description=__doc__)
    parser.add_argument("--db", type=Path, help="session database (default: temporary)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print full event JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(run_demo(args.db, args.verbose))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
