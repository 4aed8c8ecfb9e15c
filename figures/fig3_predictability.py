"""Figure 3: premature P and P+TG vs mature accuracy (scatter), and each measure's correlation over training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import NullFormatter

from neurosage.analyses.results import (
    PREDICTABILITY_CORRELATIONS,
    PREDICTABILITY_RECORDS,
    read_table,
)
from neurosage.figures.output import new_figure, save_figure


def make(run_dir: Path, out_dir: Path, alpha: float = 1.0) -> list[Path]:
    records = read_table(run_dir, PREDICTABILITY_RECORDS)
    corr = read_table(run_dir, PREDICTABILITY_CORRELATIONS)
    first = records.steps.min()
    early = records[records.steps == first]
    fig = new_figure(figsize=(9, 7))
    for k, (col, label) in enumerate((("P", "premature P (val top-1)"), (None, rf"premature P + {alpha:g} TG"))):
        ax = fig.add_subplot(2, 2, k + 1)
        x = early.P if col else early.P + alpha * early.TG
        ax.scatter(x, early.mature_top1, s=18)
        ax.set_title(f"Pearson r = {np.corrcoef(x, early.mature_top1)[0, 1]:.2f} (n = {len(early)})", fontsize=10)
        ax.set_xlabel(f"{label} at {first} steps")
        ax.set_ylabel("mature test top-1")
        ax.grid(alpha=0.3)
    ax = fig.add_subplot(2, 1, 2)
    measures = ["P", "TG", f"P+{alpha:g}TG"] + sorted(m for m in corr.measure.unique() if m.startswith("S_"))
    for i, m in enumerate(measures):
        g = corr[corr.measure == m].sort_values("steps")
        dodge = 1 + 0.015 * (i - len(measures) / 2)  # keep overlapping error bars apart
        yerr = np.clip([g.pearson - g.pearson_lo, g.pearson_hi - g.pearson], 0, None)
        ax.errorbar(g.steps * dodge, g.pearson, yerr=yerr, marker="o", capsize=3, label=m.replace("S_", "RDM "))
    ax.set_xscale("log")
    ax.set_xticks(sorted(corr.steps.unique()), [str(x) for x in sorted(corr.steps.unique())])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("premature training (SGD steps, log scale)")
    ax.set_ylabel("Pearson r with mature top-1 (95% CI)")
    ax.legend(fontsize=8, ncol=3)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig3_predictability")
