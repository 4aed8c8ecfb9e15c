"""The demo's picture: what teacher guidance bought (mature accuracy vs training examples) and where the winner matched the teacher."""

from __future__ import annotations

from pathlib import Path

from neurosage.analyses.results import DEMO_CURVES, read_table
from neurosage.figures.output import new_figure, save_figure
from neurosage.figures.similarity_heatmap import best_trial_similarity, draw_similarity

__all__ = ["make", "STYLES"]

#: Label, line style and marker of each demo search.
STYLES = {"p+tg": ("P + alpha TG", "-", "o"), "p": ("P alone", "--", "s")}


def make(run_dir: Path, out_dir: Path, name: str = "demo") -> list[Path]:
    """``<name>.png``: best mature test accuracy so far vs examples spent (both searches), and the P+TG winner's heatmap."""
    curves = read_table(run_dir, DEMO_CURVES)
    fig = new_figure(figsize=(11, 4))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    for method, group in curves.groupby("method", sort=False):
        label, linestyle, marker = STYLES.get(method, (method, "-.", "^"))
        group = group.sort_values("n_samples")
        left.plot(group.cost_examples, 100 * (1 - group.best_mature_error), linestyle=linestyle, marker=marker, label=label)
    left.set_xlabel("training examples spent by the search (cumulative)")
    left.set_ylabel("mature test top-1 (%) of the best\ncandidate so far (by search score)")
    same = curves.pivot(index="n_samples", columns="method", values="best_mature_error").nunique(axis=1).le(1).all()
    left.set_title("search progress (one seed)" + ("; the two searches' best cells coincide" if same else ""), fontsize=10)
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    similarity, best = best_trial_similarity(Path(run_dir) / "search-ptg")
    draw_similarity(right, similarity, f"P+TG winner (trial {best['trial']}): TG {best['TG']:.3f}")
    fig.tight_layout()
    return save_figure(fig, out_dir, name)
