"""Tables 1-4 from a run folder, each beside the paper's published values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neurosage.figures.output import save_table
from neurosage.figures.published import TABLES, load_published

SOURCES = {
    "table1": "search_comparison/summary.csv",
    "table2": "cell_search/table_cells.csv",
    "table4": "neuro_search/table4.csv",
}

#: Captions of this run's tables (the published captions name the paper's datasets and run counts).
CAPTIONS = {
    "table1": "Best mature top-1 error (%) among the top-k by search score after the whole budget, mean \u00b1 sd over seeds",
    "table2": "Teacher-guided cell search with top-k reranking; top-1/top-5 test error (%), cost M1*E1 + M2*E2 examples",
    "table4": "Performance-guided (P) vs teacher-guided (P + alpha TG) search; winner of each after reranking, test errors (%)",
}


def available(run_dir: Path) -> bool:
    return any((run_dir / s).exists() for s in SOURCES.values())


def _yours(name: str, run_dir: Path) -> pd.DataFrame:
    table = pd.read_csv(run_dir / SOURCES[name])
    if name == "table1":
        table = table.assign(mean_error=100 * table["mean"], sd_error=100 * table["std"])[["method", "mean_error", "sd_error", "count"]]
    return table.drop(columns=[c for c in ("genotype",) if c in table])


def make(run_dir: Path, out_dir: Path) -> list[Path]:
    paths = []
    for name, source in SOURCES.items():
        if not (run_dir / source).exists():
            continue
        paths += save_table(_yours(name, run_dir), out_dir, f"{name}_this_run", f"{CAPTIONS[name]} (this run)", ".2f" if name == "table1" else ".3g")
        paths += save_table(load_published(name), out_dir, f"{name}_paper", f"{TABLES[name]} (published)")
        if name == "table2":
            paths += save_table(load_published("table3"), out_dir, "table3_paper", f"{TABLES['table3']} (published)")
    return paths
