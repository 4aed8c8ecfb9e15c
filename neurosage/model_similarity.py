"""Model-teacher RDM similarity: a layers x endpoints table and its heatmap."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr
from torch import nn

from neurosage.rsa import compute_rdms
from neurosage.score import teacher_scores
from neurosage.teachers import FeatureModel, Teacher
from neurosage.train import extract_activations

__all__ = ["model_teacher_similarity", "plot_similarity"]


def model_teacher_similarity(
    model: nn.Module,
    teacher: Teacher,
    layers: Sequence[str],
    *,
    method: str = "pearson",
    max_features: int | None = 4096,
    device: str | None = None,
    seed: int = 0,
) -> xr.DataArray:
    """Similarity of each model layer's RDM with each teacher endpoint (``endpoint x layer``)."""
    extractor = model if hasattr(model, "extract") else FeatureModel(model, layers)
    acts = extract_activations(extractor, teacher.images, layers, device=device, max_features=max_features, seed=seed)
    rdms = compute_rdms(acts, labels=[str(s) for s in teacher.stimulus_ids], device=device)
    return teacher_scores(teacher.rdms, rdms, method).similarity


def plot_similarity(similarity: xr.DataArray, path: str | Path, title: str = "") -> Path:
    """Heatmap of an ``endpoint x layer`` similarity matrix, written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = similarity.transpose("layer", "endpoint").values
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * values.shape[1], 1.0 + 0.35 * values.shape[0]))
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
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
