"""Tables 1, 2 (with 3) and 4 from a run folder, each beside the paper's published values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neurosage.analyses.results import (
    CELL_TABLE,
    PREDICTABILITY_PAIRED,
    SEARCH_PAIRED,
    SEARCH_SUMMARY,
    TABLE4,
    TABLE4_PAIRED,
    read_table,
)
from neurosage.figures.output import save_table
from neurosage.figures.published import TABLES, load_published

__all__ = ["table1", "table1_layout", "table1_paired", "table2", "table4", "table4_paired", "predictability_paired", "CAPTIONS"]

#: Captions of this run's tables (the published captions name the paper's datasets and run counts).
CAPTIONS = {
    "table1": "Best mature top-1 error (%) among the top-k by search score after the whole budget, mean \u00b1 sd over seeds",
    "table1_ci": "Table 1 with 95% t-intervals over seeds: best mature top-1 error (%) after the whole budget",
    "table2": "Teacher-guided cell search with top-k reranking; top-1/top-5 test error (%), cost M1*E1 + M2*E2 examples",
    "table1_paired": "Each search minus the P-guided search of the same algorithm, space and budget, paired by seed: best mature "
                     "top-1 error difference (negative: better than P), 95% t-interval, p, and the difference detectable with 80% power",
    "predictability_paired": "delta r = r(measure, mature) - r(P, mature) on the same architectures: paired bootstrap 95% interval, "
                             "Williams' p, the effect detectable with 80% power; sd of P and TG and TG's share of the ranking",
    "table4_paired": "Teacher-guided minus performance-guided winner, test error (% points) paired by seed: 95% t-interval, p, "
                     "the difference detectable with 80% power (no interval from one seed)",
    "table4": "Performance-guided (P) vs teacher-guided (P + alpha TG) search; winner of each after reranking, test errors (%)",
}


def _this_run_and_published(name: str, table: pd.DataFrame, out_dir: Path, floatfmt: str = ".3g") -> list[Path]:
    table = table.drop(columns=[c for c in ("genotype",) if c in table])
    paths = save_table(table, out_dir, f"{name}_this_run", f"{CAPTIONS[name]} (this run)", floatfmt)
    return paths + save_table(load_published(name), out_dir, f"{name}_paper", f"{TABLES[name]} (published)")


#: Table 1's rows, in the published order.
TABLE1_ROWS = ("Random", "P", "P+TG")
_ALGORITHM_NAMES = {"rl": "RL", "tpe": "TPE"}


def table1_layout(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 1 as published: rows Random / P / P+TG best error (mean \u00b1 sd, %) and the improvement (P - P+TG),
    one column per algorithm x space x premature budget. ``summary`` has ``algorithm, space, premature, method,
    mean, std`` in %; the random baseline (algorithm ``random``) fills the Random row of every algorithm's column."""
    columns = summary[summary.algorithm.str.lower() != "random"][["algorithm", "space", "premature"]].drop_duplicates()
    table: dict[str, list[str]] = {"": [f"{m} - best error (%)" for m in TABLE1_ROWS] + ["improvement (%)"]}
    for algorithm, space, premature in columns.itertuples(index=False):
        here = summary[(summary.space == space) & (summary.premature == premature)]
        cells, means = [], {}
        for method in TABLE1_ROWS:
            own = "random" if method == "Random" else algorithm
            row = here[(here.method == method) & (here.algorithm.str.lower() == str(own).lower())]
            if len(row):
                means[method] = float(row["mean"].iloc[0])
                sd = row["std"].iloc[0]
                cells.append(f"{means[method]:.1f}\u00b1{sd:.1f}" if pd.notna(sd) else f"{means[method]:.1f}")
            else:
                cells.append("")
        cells.append(f"{means['P'] - means['P+TG']:.1f}" if {"P", "P+TG"} <= set(means) else "")
        table[f"{_ALGORITHM_NAMES.get(algorithm, algorithm)}, {space}, {premature}"] = cells
    return pd.DataFrame(table)


def _published_table1() -> pd.DataFrame:
    """The published Table 1 as a summary (one random baseline per space and budget, as :func:`table1_layout` reads)."""
    published = load_published("table1")
    summary = pd.DataFrame({
        "algorithm": ["random" if m == "Random" else a for a, m in zip(published.algorithm, published.method)],
        "space": published.space, "premature": published.epochs_per_sample.astype(str) + " epochs",
        "method": published.method, "mean": published.mean_error, "std": published.sd_error,
    })
    return summary.drop_duplicates(["algorithm", "space", "premature", "method"])


def table1(run_dir: Path, out_dir: Path) -> list[Path]:
    summary = read_table(run_dir, SEARCH_SUMMARY)
    percent = summary.assign(**{c: 100 * summary[c] for c in ("mean", "std", "ci_lo", "ci_hi")})
    ci = percent[["algorithm", "space", "premature", "method", "count", "mean", "std", "ci_lo", "ci_hi"]]
    return (save_table(table1_layout(percent), out_dir, "table1_this_run", f"{CAPTIONS['table1']} (this run)")
            + save_table(ci, out_dir, "table1_this_run_ci", CAPTIONS["table1_ci"], ".2f")
            + save_table(table1_layout(_published_table1()), out_dir, "table1_paper", f"{TABLES['table1']} (published)"))


def table2(run_dir: Path, out_dir: Path) -> list[Path]:
    paths = _this_run_and_published("table2", read_table(run_dir, CELL_TABLE), out_dir)
    return paths + save_table(load_published("table3"), out_dir, "table3_paper", f"{TABLES['table3']} (published)")


def table4(run_dir: Path, out_dir: Path) -> list[Path]:
    return _this_run_and_published("table4", read_table(run_dir, TABLE4), out_dir)


def table1_paired(run_dir: str | Path, out_dir: Path) -> list[Path]:
    """The search comparison as paired differences over seeds (no conclusion from overlapping marginal intervals)."""
    table = read_table(run_dir, SEARCH_PAIRED)
    return save_table(table, out_dir, "table1_paired", CAPTIONS["table1_paired"], ".3g")


def predictability_paired(run_dir: str | Path, out_dir: Path) -> list[Path]:
    """The predictability analysis' primary test: delta r over P per checkpoint and measure."""
    table = read_table(run_dir, PREDICTABILITY_PAIRED)
    return save_table(table, out_dir, "predictability_paired", CAPTIONS["predictability_paired"], ".3g")


def table4_paired(run_dir: str | Path, out_dir: Path) -> list[Path]:
    """Table 4's comparison as a paired difference over seeds."""
    return save_table(read_table(run_dir, TABLE4_PAIRED), out_dir, "table4_paired", CAPTIONS["table4_paired"], ".3g")
