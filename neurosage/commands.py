"""Subcommands of the ``neurosage`` CLI; each registers itself on the parser.

Heavy imports happen inside the command functions, so ``neurosage --help`` is fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

REGISTRY: list[Callable[[argparse._SubParsersAction], None]] = []


def command(register: Callable[[argparse._SubParsersAction], None]) -> Callable[[argparse._SubParsersAction], None]:
    """Add a subcommand registration function to the CLI."""
    REGISTRY.append(register)
    return register


@command
def _datasets(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list registered datasets and what each needs")
    p.add_argument("pattern", nargs="?", default="*", help="glob on dataset names")
    p.set_defaults(func=_run_datasets)


def _run_datasets(args: argparse.Namespace) -> int:
    from data_adapters.registry import list_datasets

    entries = list_datasets(args.pattern)
    if not entries:
        print(f"no dataset matches {args.pattern!r}")
        return 1
    for e in entries:
        print(f"{e.name:16s} [{e.kind}] {e.description}")
        for need in e.needs:
            print(f"{'':19s}needs: {need}")
        if e.citation:
            print(f"{'':19s}cite:  {e.citation}")
    return 0
