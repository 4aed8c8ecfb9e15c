"""Figure 2: correlation of P + alpha * TG with mature accuracy as a function of alpha, per premature checkpoint."""

from __future__ import annotations

from pathlib import Path

from matplotlib.ticker import NullFormatter

from neurosage.analyses.results import PREDICTABILITY_CORRELATIONS, read_table
from neurosage.figures.output import new_figure, save_figure


def make(run_dir: Path, out_dir: Path) -> list[Path]:
    corr = read_table(run_dir, PREDICTABILITY_CORRELATIONS)
    combined = corr[corr.alpha.notna()]
    fig = new_figure(figsize=(5, 3.6))
    ax = fig.subplots()
    for steps, group in combined.groupby("steps"):
        group = group.sort_values("alpha")
        ax.plot(group.alpha, group.pearson, marker="o", label=f"{steps} steps")
        ax.fill_between(group.alpha, group.pearson_lo, group.pearson_hi, alpha=0.15)
    ax.set_xscale("symlog", linthresh=0.25)
    alphas = sorted(combined.alpha.unique())
    ax.set_xticks(alphas, [f"{a:g}" for a in alphas])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(r"TG weight $\alpha$")
    ax.set_ylabel("Pearson r with mature top-1\n(band: 95% bootstrap CI)")
    ax.set_title(r"P + $\alpha$ TG as predictor of mature accuracy")
    ax.legend(title="premature training", fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, out_dir, "fig2_alpha")
