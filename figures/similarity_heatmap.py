"""Heatmaps of ``endpoint x layer`` model-teacher RDM similarity (``neurosage rdm``, search folders, the demo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import CenteredNorm
from matplotlib.image import AxesImage

from neurosage.analyses.results import SEARCH_TRIALS_NC, ResultMissing
from neurosage.figures.output import new_figure, save_figure

__all__ = ["draw_similarity", "plot_similarity", "similarity_norm", "best_trial_similarity"]


def similarity_norm(values: np.ndarray) -> CenteredNorm:
    """A colour scale centred at 0 reaching the largest ``|value|`` (at least 0.05), so the sign reads off the colour."""
    finite = np.abs(values[np.isfinite(values)])
    return CenteredNorm(vcenter=0.0, halfrange=max(float(finite.max()) if finite.size else 1.0, 0.05))


def draw_similarity(ax: Axes, similarity: xr.DataArray, title: str = "", *, norm: CenteredNorm | None = None,
                    colorbar: bool = True) -> AxesImage:
    """Draw ``similarity`` (dims ``endpoint``, ``layer``) on ``ax``: layers as rows, endpoints as columns, values written in.

    The diverging colour scale (``RdBu_r``) is centred at 0 (:func:`similarity_norm`; pass ``norm`` to share one scale
    between panels); returns the image.
    """
    values = similarity.transpose("layer", "endpoint").values
    norm = norm or similarity_norm(values)
    image = ax.imshow(values, cmap="RdBu_r", norm=norm, aspect="auto")
    ax.set_xticks(range(values.shape[1]), [_tick(e) for e in similarity.endpoint.values], rotation=30 if values.shape[1] > 3 else 0,
                  ha="right" if values.shape[1] > 3 else "center")
    ax.set_yticks(range(values.shape[0]), [_tick(x) for x in similarity.layer.values])
    ax.tick_params(labelsize=8 if values.shape[0] <= 20 else 6)
    ax.set_xlabel("teacher endpoint")
    ax.set_ylabel("model layer")
    if values.size <= 400:  # beyond that the numbers are unreadable; the colours say it
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                dark = np.isfinite(values[i, j]) and abs(values[i, j]) > 0.6 * norm.halfrange
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", color="w" if dark else "k", fontsize=8)
    method = str(similarity.attrs.get("method", "pearson"))
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=f"RDM similarity ({method}{' r' if method in ('pearson', 'spearman') else ''})")
    ax.set_title(title or "model-teacher RDM similarity", fontsize=10)
    return image


def _tick(name: object, width: int = 24) -> str:
    """A tick label of at most ``width`` characters (long layer names keep their end)."""
    text = str(name)
    return text if len(text) <= width else "..." + text[-(width - 3):]


def plot_similarity(similarity: xr.DataArray, path: str | Path, title: str = "") -> Path:
    """Draw ``similarity`` as a labelled heatmap; writes ``path`` (PNG) and a PDF beside it."""
    shape = similarity.sizes
    fig = new_figure(figsize=(2.6 + 1.0 * shape["endpoint"], 1.4 + 0.3 * shape["layer"]), layout="constrained")
    draw_similarity(fig.subplots(), similarity, title)
    path = Path(path)
    return save_figure(fig, path.parent, path.stem)[0]


def best_trial_similarity(search_dir: str | Path) -> tuple[xr.DataArray, dict]:
    """The endpoint x layer similarity of a search's best trial (by score) and that trial's scalars."""
    path = Path(search_dir) / SEARCH_TRIALS_NC.path
    if not path.exists():
        raise ResultMissing("the file is missing", SEARCH_TRIALS_NC.fix, file=path)
    try:
        opened = xr.open_dataset(path)
    except (OSError, ValueError) as exc:  # an empty or damaged file
        raise ResultMissing(f"the file cannot be read as netCDF ({type(exc).__name__})", "rebuild it from the journal: neurosage search RUN "
                            "--resume (rewrites trials.csv and trials.nc)", file=path) from None
    with opened as trials:
        if "similarity" not in trials:
            raise ResultMissing("the file has no similarity matrix (a search scored by P alone, or written by an older version)",
                                "run a search with objective tg or p+tg", file=path)
        ok = trials.isel(trial=np.flatnonzero((trials.status.values == "ok") & np.isfinite(trials.score.values)))
        if not ok.sizes["trial"]:
            raise ResultMissing("the file has no successful trial", "fix the error each trial names in trials.csv, then search again", file=path)
        best = ok.isel(trial=int(np.argmax(ok.score.values)))
        scalars = {k: best[k].item() for k in ("score", "P", "TG", "genotype") if k in best}
        similarity = best.similarity.load()
        similarity.attrs.setdefault("method", trials.attrs.get("compare_method", "pearson"))  # files before 2026-12 were all Pearson
        return similarity, {"trial": int(best.trial), **scalars}
