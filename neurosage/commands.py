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
