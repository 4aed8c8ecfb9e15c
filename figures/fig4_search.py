"""Figure 4: best mature error of the current top-k vs samples (left) and vs cost in examples (right)."""

from __future__ import annotations

from pathlib import Path


from neurosage.analyses.results import SEARCH_CURVES, read_table
from neurosage.figures.output import new_figure, save_figure
from neurosage.provenance import read_settings

#: Line style and marker per method, so that curves which coincide (shared start-up samples) stay visible.
STYLES = {"random": (":", "^"), "P": ("-", "o"), "P+TG": ("--", "s")}


def make(run_dir: Path, out_dir: Path) -> list[Path]:
    curves = read_table(run_dir, SEARCH_CURVES)
    k = read_settings(run_dir / "search_comparison").get("top_k", "k")
    fig = new_figure(figsize=(10, 3.8))
    axes = fig.subplots(1, 2, sharey=True)
    for i, (method, group) in enumerate(curves.groupby("method")):
        linestyle, marker = STYLES.get(method, ("-.", "D"))
        stats = group.groupby("n_samples").agg(mean=("best_mature_error", "mean"), sd=("best_mature_error", "std"), cost=("cost_examples", "mean"))
        for ax, x in zip(axes, (stats.index, stats.cost)):
            line, = ax.plot(x, 100 * stats["mean"], linestyle=linestyle, marker=marker, markersize=4 + 1.5 * i, label=method, zorder=3 - 0.1 * i)
            ax.fill_between(x, 100 * (stats["mean"] - stats.sd.fillna(0)), 100 * (stats["mean"] + stats.sd.fillna(0)), color=line.get_color(), alpha=0.12)
    axes[0].set_xlabel("samples")
    axes[1].set_xlabel("cost (training examples, cumulative)")
    axes[0].set_ylabel(f"best mature error of top-{k} (%)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(title="search")
    n_seeds = curves.groupby("method").seed.nunique().max()
    fig.suptitle(f"Search progress (mean \u00b1 sd over {n_seeds} seeds; top-{k} by search score)")
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig4_search")
