"""Tables 1, 2 (with 3) and 4 from a run folder, each beside the paper's published values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neurosage.analyses.results import CELL_TABLE, SEARCH_SUMMARY, TABLE4, read_table
from neurosage.figures.output import save_table
from neurosage.figures.published import TABLES, load_published

__all__ = ["table1", "table2", "table4", "CAPTIONS"]

#: Captions of this run's tables (the published captions name the paper's datasets and run counts).
CAPTIONS = {
    "table1": "Best mature top-1 error (%) among the top-k by search score after the whole budget, mean \u00b1 sd over seeds",
    "table2": "Teacher-guided cell search with top-k reranking; top-1/top-5 test error (%), cost M1*E1 + M2*E2 examples",
    "table4": "Performance-guided (P) vs teacher-guided (P + alpha TG) search; winner of each after reranking, test errors (%)",
}


def _this_run_and_published(name: str, table: pd.DataFrame, out_dir: Path, floatfmt: str = ".3g") -> list[Path]:
    table = table.drop(columns=[c for c in ("genotype",) if c in table])
    paths = save_table(table, out_dir, f"{name}_this_run", f"{CAPTIONS[name]} (this run)", floatfmt)
    return paths + save_table(load_published(name), out_dir, f"{name}_paper", f"{TABLES[name]} (published)")


def table1(run_dir: Path, out_dir: Path) -> list[Path]:
    summary = read_table(run_dir, SEARCH_SUMMARY)
    table = summary.assign(mean_error=100 * summary["mean"], sd_error=100 * summary["std"])[["method", "mean_error", "sd_error", "count"]]
    return _this_run_and_published("table1", table, out_dir, ".2f")


def table2(run_dir: Path, out_dir: Path) -> list[Path]:
    paths = _this_run_and_published("table2", read_table(run_dir, CELL_TABLE), out_dir)
    return paths + save_table(load_published("table3"), out_dir, "table3_paper", f"{TABLES['table3']} (published)")


def table4(run_dir: Path, out_dir: Path) -> list[Path]:
    return _this_run_and_published("table4", read_table(run_dir, TABLE4), out_dir)
