"""Heatmaps of ``endpoint x layer`` model-teacher RDM similarity (``neurosage rdm``, search folders, the demo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from neurosage.analyses.results import SEARCH_TRIALS_NC, ResultMissing
from neurosage.figures.output import new_figure, save_figure

__all__ = ["draw_similarity", "plot_similarity", "best_trial_similarity"]


def draw_similarity(ax: Axes, similarity: xr.DataArray, title: str = "") -> None:
    """Draw ``similarity`` (dims ``endpoint``, ``layer``) on ``ax``: layers as rows, endpoints as columns, values written in."""
    values = similarity.transpose("layer", "endpoint").values
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set_xticks(range(values.shape[1]), [str(e) for e in similarity.endpoint.values])
    ax.set_yticks(range(values.shape[0]), [str(x) for x in similarity.layer.values])
    ax.set_xlabel("teacher endpoint")
    ax.set_ylabel("model layer")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", color="w" if values[i, j] < np.nanmean(values) else "k", fontsize=8)
    ax.figure.colorbar(image, ax=ax, label=f"RDM similarity ({similarity.attrs.get('method', 'pearson')} r)")
    ax.set_title(title or "model-teacher RDM similarity", fontsize=10)


def plot_similarity(similarity: xr.DataArray, path: str | Path, title: str = "") -> Path:
    """Draw ``similarity`` as a labelled heatmap; writes ``path`` (PNG) and a PDF beside it."""
    shape = similarity.sizes
    fig = new_figure(figsize=(1.2 + 1.1 * shape["endpoint"], 1.0 + 0.35 * shape["layer"]))
    draw_similarity(fig.subplots(), similarity, title)
    path = Path(path)
    return save_figure(fig, path.parent, path.stem)[0]


def best_trial_similarity(search_dir: str | Path) -> tuple[xr.DataArray, dict]:
    """The endpoint x layer similarity of a search's best trial (by score) and that trial's scalars."""
    path = Path(search_dir) / SEARCH_TRIALS_NC.path
    if not path.exists():
        raise ResultMissing("the file is missing", SEARCH_TRIALS_NC.fix, file=path)
    with xr.open_dataset(path) as trials:
        if "similarity" not in trials:
            raise ResultMissing("the file has no similarity matrix (a search scored by P alone, or written by an older version)", "run a search with objective tg or p+tg", file=path)
        ok = trials.isel(trial=np.flatnonzero((trials.status.values == "ok") & np.isfinite(trials.score.values)))
        if not ok.sizes["trial"]:
            raise ResultMissing("the file has no successful trial", "fix the error each trial names in trials.csv, then search again", file=path)
        best = ok.isel(trial=int(np.argmax(ok.score.values)))
        scalars = {k: best[k].item() for k in ("score", "P", "TG", "genotype") if k in best}
        return best.similarity.load(), {"trial": int(best.trial), **scalars}
