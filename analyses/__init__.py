"""One module per paper experiment; each ``run(run_dir, config)`` writes result files into the run folder.

``ANALYSES`` maps the CLI name (``neurosage analyze NAME``) to the module and its config class.
"""

from __future__ import annotations

import importlib

__all__ = ["ANALYSES", "get_analysis"]

ANALYSES = {
    "predictability": ("neurosage.analyses.predictability", "PredictabilityConfig"),
    "search_comparison": ("neurosage.analyses.search_comparison", "SearchComparisonConfig"),
    "cell_search": ("neurosage.analyses.cell_search", "CellSearchConfig"),
    "neuro_search": ("neurosage.analyses.neuro_search", "NeuroSearchConfig"),
}


def get_analysis(name: str):
    """(run function, config class) of an analysis."""
    if name not in ANALYSES:
        raise KeyError(f"unknown analysis {name!r}; available: {sorted(ANALYSES)}")
    module_name, config_name = ANALYSES[name]
    module = importlib.import_module(module_name)
    return module.run, getattr(module, config_name)
