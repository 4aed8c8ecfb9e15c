"""Figure 4: best mature error of the current top-k vs samples (left) and vs cost in examples (right).

One row of panels per search algorithm and space (the paper's Figure 4 is its RL row); in each,
the random baseline, P and P+TG, one line style per premature budget, mean and sd over seeds.
"""

from __future__ import annotations

from pathlib import Path

from neurosage.analyses.results import SEARCH_CURVES, read_table
from neurosage.figures.output import new_figure, save_figure
from neurosage.runs.folder import RunFolder

#: Marker per method, line style per premature budget, so that curves which coincide stay visible.
MARKERS = {"Random": "^", "P": "o", "P+TG": "s"}
LINESTYLES = ("-", "--", ":", "-.")


def make(run_dir: Path, out_dir: Path) -> list[Path]:
    curves = read_table(run_dir, SEARCH_CURVES)
    k = RunFolder(run_dir / "search_comparison").settings().get("top_k", "k")
    rows = curves[curves.algorithm != "random"][["algorithm", "space"]].drop_duplicates().itertuples(index=False)
    rows = list(rows) or list(curves[["algorithm", "space"]].drop_duplicates().itertuples(index=False))
    budgets = list(dict.fromkeys(curves.premature))
    fig = new_figure(figsize=(10, 3.6 * len(rows)))
    axes = fig.subplots(len(rows), 2, sharey="row", squeeze=False)
    for (algorithm, space), (ax_samples, ax_cost) in zip(rows, axes):
        here = curves[(curves.space == space) & curves.algorithm.isin([algorithm, "random"])]
        for i, ((method, premature), group) in enumerate(here.groupby(["method", "premature"], sort=False)):
            stats = group.groupby("n_samples").agg(mean=("best_mature_error", "mean"), sd=("best_mature_error", "std"),
                                                   cost=("cost_examples", "mean"))
            style = dict(linestyle=LINESTYLES[budgets.index(premature) % len(LINESTYLES)], marker=MARKERS.get(method, "D"), markersize=4)
            for ax, x in ((ax_samples, stats.index), (ax_cost, stats.cost)):
                line, = ax.plot(x, 100 * stats["mean"], label=f"{method} ({premature})", zorder=3 - 0.1 * i, **style)
                spread = stats.sd.fillna(0)
                ax.fill_between(x, 100 * (stats["mean"] - spread), 100 * (stats["mean"] + spread), color=line.get_color(), alpha=0.12)
        ax_samples.set_ylabel(f"{algorithm.upper()}, {space}\nbest mature error of top-{k} (%)")
        for ax in (ax_samples, ax_cost):
            ax.grid(alpha=0.3)
        if len(budgets) > 1:  # budgets 10x apart (the paper's 2 and 20 epochs) share the cost axis on a log scale
            ax_cost.set_xscale("log")
        ax_samples.legend(title="search score", fontsize=8)
    axes[-1][0].set_xlabel("samples")
    axes[-1][1].set_xlabel("cost (training examples, cumulative)")
    n_seeds = curves.groupby(["algorithm", "space", "method", "premature"]).seed.nunique().max()
    fig.suptitle(f"Search progress (mean \u00b1 sd over {n_seeds} seeds; top-{k} by search score)")
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig4_search")
