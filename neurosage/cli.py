"""The ``neurosage`` command line: one subcommand per user task."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from neurosage import __version__, commands
from neurosage.data_adapters.errors import DataFormatError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurosage", description="Brain-guided neural architecture search (TG-SAGE).")
    parser.add_argument("--version", action="version", version=f"neurosage {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in commands.REGISTRY:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose + 1, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.verbose < 2:  # hyperopt logs two INFO lines per TPE suggestion
        logging.getLogger("hyperopt").setLevel(logging.WARNING)
    os.environ.setdefault("MPLBACKEND", "Agg")  # this process draws files, never windows
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except DataFormatError as exc:  # bad or missing data files: one line, no traceback
        print(f"neurosage {args.command}: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
