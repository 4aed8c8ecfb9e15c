"""The ``neurosage`` command line: one subcommand per user task.

Logging: warnings and errors by default (with concise progress bars), ``-q`` errors
only, ``-v`` progress messages (INFO), ``-vv`` everything (DEBUG) and full
tracebacks. The chatty loggers of hyperopt, Dask and PIL stay at WARNING unless ``-vv``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from neurosage import __version__, commands
from neurosage.data_adapters.errors import DataFormatError
from neurosage.provenance import COMMAND_LINE

#: Third-party loggers that speak at INFO on every call (hyperopt: two lines per TPE suggestion).
QUIET_LOGGERS = ("hyperopt", "distributed", "dask", "PIL", "matplotlib", "fsspec", "h5py")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurosage", description="Brain-guided neural architecture search (TG-SAGE).")
    parser.add_argument("--version", action="version", version=f"neurosage {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-v progress messages, -vv debug and tracebacks)")
    parser.add_argument("-q", "--quiet", action="store_true", help="errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in commands.REGISTRY:
        register(sub)
    return parser


def configure_logging(verbose: int, quiet: bool = False) -> int:
    """Set the root level from ``-q``/``-v``/``-vv`` and quiet third-party loggers unless ``-vv``; returns the level."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose >= 2 else max(level, logging.WARNING))
    if verbose < 2:  # Dask worker processes read their logging level from the environment
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    return level


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    COMMAND_LINE.set(["neurosage", *argv])
    configure_logging(args.verbose, args.quiet)
    os.environ.setdefault("MPLBACKEND", "Agg")  # this process draws files, never windows
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except DataFormatError as exc:  # bad or missing data files: one line, no traceback
        if args.verbose >= 2:
            traceback.print_exc()
        print(f"neurosage {args.command}: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
