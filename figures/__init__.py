"""One module per paper figure/table; each reads only result files of a run folder.

:func:`make_all` regenerates everything the run folder has data for, into ``<run>/figures/``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["MODULES", "make_all"]

MODULES = ("neurosage.figures.fig2_alpha", "neurosage.figures.fig3_predictability", "neurosage.figures.fig4_search", "neurosage.figures.tables")


def make_all(run_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, list[Path]]:
    """Run every figure module whose inputs exist; returns written paths per module."""
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir else run_dir / "figures"
    written = {}
    for name in MODULES:
        module = importlib.import_module(name)
        if module.available(run_dir):
            written[name] = module.make(run_dir, out)
    return written
