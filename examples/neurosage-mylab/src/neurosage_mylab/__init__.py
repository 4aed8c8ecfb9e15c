"""My lab's recordings for neurosage: ``load_neural("mylab", folder=..., regions=("V4", "IT"))``.

The folder holds ``responses.npy``, ``stimuli.csv`` and ``neuroids.csv`` (neurosage's npy-csv layout);
the loader accepts ``regions=`` and ``average=`` like every registered neural loader.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["register", "load"]


def load(folder, regions=None, average=True):
    """The recording in ``folder`` as a neurosage assembly (regions selected, repetitions averaged)."""
    from neurosage.data_adapters.generic import load_npy_csv

    folder = Path(folder)
    return load_npy_csv(folder / "responses.npy", folder / "stimuli.csv", folder / "neuroids.csv", regions=regions, average=average)


def register():
    """Entry point: register the dataset (lazily: the loader is named, not imported)."""
    from neurosage.data_adapters.registry import register_neural

    register_neural(
        "mylab", "neurosage_mylab:load", description="My lab's V4/IT recordings (npy + csv)", needs=("folder",),
        citation="Me et al. 2026",
    )
