"""The demo's picture: what teacher guidance bought (mature accuracy vs training examples), and where the winner matched the
teacher beside what its controls give (the pixel RDM, the teacher's architecture untrained)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from neurosage.analyses.results import DEMO_CONTROLS, DEMO_CURVES, read_table
from neurosage.figures.output import new_figure, save_figure
from neurosage.figures.similarity_heatmap import best_trial_similarity, draw_similarity, similarity_norm

__all__ = ["make", "STYLES"]

#: Label, line style and marker of each demo search.
STYLES = {"p+tg": ("P + alpha TG", "-", "o"), "p": ("P alone", "--", "s")}


def make(run_dir: Path, out_dir: Path, name: str = "demo") -> list[Path]:
    """``<name>.png``: best mature test accuracy so far vs examples spent (both searches), and the P+TG winner's similarity
    to the teacher, to the teacher's architecture untrained and to the pixels, on one colour scale (runs before the controls
    were recorded: the teacher alone)."""
    curves = read_table(run_dir, DEMO_CURVES)
    panels, best = _panels(Path(run_dir))
    widths = [max(1.0, 0.35 * panel.sizes["endpoint"] + 0.6) for panel in panels.values()]
    fig = new_figure(figsize=(5.5 + 2.2 * sum(widths), 4.2))
    axes = fig.subplots(1, 1 + len(panels), gridspec_kw={"width_ratios": [2.6, *widths]})
    left = axes[0]
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
    norm = similarity_norm(pd.concat([p.to_series() for p in panels.values()]).to_numpy())
    for ax, (title, similarity) in zip(axes[1:], panels.items()):
        draw_similarity(ax, similarity, title, norm=norm, colorbar=ax is axes[-1])
        ax.set_ylabel(f"P+TG winner (trial {best}): layer" if ax is axes[1] else "")
    fig.tight_layout()
    return save_figure(fig, out_dir, name)


def _panels(run_dir: Path) -> tuple[dict[str, xr.DataArray], int]:
    """Panel title -> the P+TG winner's endpoint x layer similarity: to the teacher, then each control (from
    :data:`DEMO_CONTROLS`), or the teacher alone from the search's ``trials.nc``; and the winner's trial."""
    similarity, best = best_trial_similarity(run_dir / "search-ptg")
    if not DEMO_CONTROLS.exists(run_dir):
        return {f"teacher\nTG {best['TG']:.3f}": similarity}, best["trial"]
    table = read_table(run_dir, DEMO_CONTROLS)
    panels = {}
    for teacher, rows in table.groupby("teacher", sort=False):
        panel = rows.set_index(["endpoint", "layer"]).similarity.to_xarray()
        panel = panel.sel(layer=list(dict.fromkeys(rows.layer)), endpoint=list(dict.fromkeys(rows.endpoint)))
        panel.attrs["method"] = similarity.attrs.get("method", "pearson")
        tg = float(panel.max("layer").mean())
        label = "teacher" if teacher == "teacher" else f"control: {str(teacher).split(':seed')[0].replace(':', ' ', 1).replace(':', ' ')}"
        panels[f"{label}\nTG {tg:.3f}"] = panel
    return panels, best["trial"]
