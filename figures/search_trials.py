"""A search run folder at a glance: score, P and TG per trial with the best so far, and the best candidate's similarity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from neurosage.analyses.results import SEARCH_TRIALS, read_table
from neurosage.figures.output import new_figure, save_figure
from neurosage.figures.similarity_heatmap import best_trial_similarity, draw_similarity
from neurosage.runs.folder import RunFolder
from neurosage.runs.trials import load_trials

__all__ = ["progress", "best_similarity"]


def progress(run_dir: Path, out_dir: Path) -> list[Path]:
    """``search_progress``: one panel each for the score, P and TG of every trial, with the running best."""
    if RunFolder(run_dir).has_journal():  # the journal is the record; trials.csv is a copy that can be cut short or edited
        trials = load_trials(run_dir).sort_values("tid")
    else:
        trials = read_table(run_dir, SEARCH_TRIALS).sort_values("tid")
    ok = trials[trials.status == "ok"]
    columns = [c for c in ("score", "P", "TG") if c in ok and ok[c].notna().any()]
    fig = new_figure(figsize=(4 * len(columns), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(columns)))
    leader = ok.score.cummax()  # the best trial by score so far: its P and TG, not each column's own maximum
    best_so_far = ok.loc[[ok.index[int(np.argmax(ok.score.values[: i + 1]))] for i in range(len(ok))]] if len(ok) else ok
    for ax, column in zip(axes, columns):
        ax.plot(ok.tid, ok[column], "o", ms=4, alpha=0.7, label="trial")
        values = leader if column == "score" else best_so_far[column].to_numpy()
        ax.step(ok.tid, values, where="post", label="best trial by score so far")
        failed = trials[trials.status != "ok"]
        for tid in failed.tid:
            ax.axvline(tid, color="0.8", lw=0.8, zorder=0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("trial")
        ax.set_ylabel(column)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, title=f"{len(failed)} failed (grey)" if len(failed) else None)
    fig.suptitle(f"{run_dir.name}: {len(trials)} trials, {int(trials.examples.fillna(0).sum())} training examples")
    return save_figure(fig, out_dir, "search_progress")


def best_similarity(run_dir: Path, out_dir: Path) -> list[Path]:
    """``search_best_similarity``: the endpoint x layer RDM similarity of the best trial."""
    similarity, best = best_trial_similarity(run_dir)
    fig = new_figure(figsize=(1.6 + 1.1 * similarity.sizes["endpoint"], 1.4 + 0.35 * similarity.sizes["layer"]))
    draw_similarity(fig.subplots(), similarity, f"best trial {best['trial']}: score {best['score']:.3f}, TG {best['TG']:.3f}")
    return save_figure(fig, out_dir, "search_best_similarity")
