"""Heatmap of an ``endpoint x layer`` model-teacher RDM similarity matrix (``neurosage rdm``)."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from neurosage.figures.output import new_figure, save_figure

__all__ = ["plot_similarity"]


def plot_similarity(similarity: xr.DataArray, path: str | Path, title: str = "") -> Path:
    """Draw ``similarity`` (dims ``endpoint``, ``layer``) as a labelled heatmap; writes ``path`` (PNG) and a PDF beside it."""
    values = similarity.transpose("layer", "endpoint").values
    fig = new_figure(figsize=(1.2 + 1.1 * values.shape[1], 1.0 + 0.35 * values.shape[0]))
    ax = fig.subplots()
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set_xticks(range(values.shape[1]), [str(e) for e in similarity.endpoint.values])
    ax.set_yticks(range(values.shape[0]), [str(x) for x in similarity.layer.values])
    ax.set_xlabel("teacher endpoint")
    ax.set_ylabel("model layer")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", color="w" if values[i, j] < values.mean() else "k", fontsize=8)
    fig.colorbar(image, ax=ax, label=f"RDM similarity ({similarity.attrs.get('method', 'pearson')} r)")
    ax.set_title(title or "model-teacher RDM similarity")
    path = Path(path)
    return save_figure(fig, path.parent, path.stem)[0]
