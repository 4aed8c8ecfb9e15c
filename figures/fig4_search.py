"""Figure 4: best mature error of the current top-k vs samples (left) and vs cost in examples (right)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from figures.output import pyplot, save_figure

SOURCE = "search_comparison/curves.csv"


def available(run_dir: Path) -> bool:
    return (run_dir / SOURCE).exists()


def make(run_dir: Path, out_dir: Path) -> list[Path]:
    curves = pd.read_csv(run_dir / SOURCE)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for method, group in curves.groupby("method"):
        stats = group.groupby("n_samples").agg(mean=("best_mature_error", "mean"), sd=("best_mature_error", "std"), cost=("cost_examples", "mean"))
        for ax, x in zip(axes, (stats.index, stats.cost)):
            ax.plot(x, 100 * stats["mean"], label=method)
            ax.fill_between(x, 100 * (stats["mean"] - stats.sd.fillna(0)), 100 * (stats["mean"] + stats.sd.fillna(0)), alpha=0.15)
    axes[0].set_xlabel("samples")
    axes[1].set_xlabel("cost (training examples, cumulative)")
    axes[0].set_ylabel("best mature error of top-k (%)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(title="search")
    fig.suptitle("Search progress (mean +- sd over seeds)")
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig4_search")
