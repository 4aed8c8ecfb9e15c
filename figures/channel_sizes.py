"""The channel search: each group's size over trials (one panel per search), and its table and correlations."""

from __future__ import annotations

from pathlib import Path

from neurosage.analyses.results import (
    CHANNEL_CORRELATIONS,
    CHANNEL_TABLE,
    CHANNEL_TRIALS,
    read_table,
)
from neurosage.figures.output import new_figure, save_figure, save_table

__all__ = ["sizes", "table"]


def sizes(run_dir: Path, out_dir: Path) -> list[Path]:
    trials = read_table(run_dir, CHANNEL_TRIALS)
    searches = list(dict.fromkeys(trials.search))
    fig = new_figure(figsize=(5 * len(searches), 3.8))
    axes = fig.subplots(1, len(searches), sharey=True, squeeze=False)[0]
    for ax, search in zip(axes, searches):
        here = trials[trials.search == search]
        for group, g in here.groupby("group"):
            ax.plot(g.trial, g["size"], marker=".", linewidth=1, label=f"group {group}")
        accuracy = here.drop_duplicates("trial")
        twin = ax.twinx()
        twin.plot(accuracy.trial, 100 * accuracy.test_top1, color="black", linestyle="--", label="test top-1 (%)")
        twin.set_ylabel("test top-1 (%)")
        ax.set_title(f"steered by {search}")
        ax.set_xlabel("trial")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("channels")
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle("Channel sizes per group over trials (dashed: test accuracy, never read by the search)")
    fig.tight_layout()
    return save_figure(fig, out_dir, "channel_sizes")


def table(run_dir: Path, out_dir: Path) -> list[Path]:
    paths = save_table(read_table(run_dir, CHANNEL_TABLE), out_dir, "channel_table",
                       "Channel search: searched networks (from scratch) and a uniform width at equal training budget; test errors (%)")
    return paths + save_table(read_table(run_dir, CHANNEL_CORRELATIONS), out_dir, "channel_correlations",
                              "Correlation of each layer metric (mean over groups) with test accuracy across trials (95% Fisher-z interval)", ".3f")
