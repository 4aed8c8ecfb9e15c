"""The figures an RSA reader expects of a model-teacher comparison, beside ``neurosage rdm``'s heatmap and RDM-level MDS:

- :func:`plot_sorted_rdms`: each teacher endpoint's RDM and its best model layer's, stimuli sorted by category with the
  category boundaries drawn and the categories named (rank-percentile colours, as rsatoolbox's ``show_rdm``);
- :func:`plot_stimulus_mds`: the stimuli placed by classical MDS of each of those RDMs, coloured by category, with
  Kruskal's stress-1 of the 2-D fit;
- :func:`plot_layer_profile`: every layer's similarity with each endpoint, with its bootstrap interval over stimuli,
  the best layer marked and the endpoint's noise-ceiling band (bars up to :data:`BAR_LAYERS` layers, a line beyond).

Not delegated to ``rsatoolbox.vis``: its ``show_rdm`` labels each stimulus (300 labels are unreadable; the category
boundaries and names are what its users read off), its ``show_MDS`` reports no stress and draws one RDM per figure, and
its ``plot_model_comparison`` needs its own bootstrap and ceiling objects (these figures read the ones neurosage computed,
so the intervals drawn are those reported).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurosage.figures.output import new_figure, save_figure
from neurosage.figures.rdm_plots import classical_mds, labelled_layers, rank_percentiles
from neurosage.rsa.rdm import COL, ROW, STACK, align_rdms

__all__ = ["category_order", "kruskal_stress", "plot_sorted_rdms", "plot_stimulus_mds", "plot_layer_profile", "BAR_LAYERS", "MAX_PANELS"]

#: Layer profiles are bars up to this many layers, a line with markers beyond.
BAR_LAYERS = 12
#: Endpoints drawn in the per-endpoint figures (the first ones; the tables list all).
MAX_PANELS = 4


def category_order(categories: Sequence[Any]) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """The stimulus order grouped by category (stable within a category) and each category's ``(name, start, stop)``."""
    labels = np.asarray([str(c) for c in categories])
    names = list(dict.fromkeys(sorted(labels, key=lambda x: (len(x), x))))  # "2" before "10"
    order = np.concatenate([np.flatnonzero(labels == name) for name in names])
    spans, start = [], 0
    for name in names:
        stop = start + int((labels == name).sum())
        spans.append((name, start, stop))
        start = stop
    return order, spans


def kruskal_stress(distance: np.ndarray, coords: np.ndarray) -> float:
    """Kruskal's stress-1 of an embedding: sqrt(sum (d_ij - e_ij)^2 / sum d_ij^2) over pairs (0 = perfect)."""
    i, j = np.triu_indices(distance.shape[0], k=1)
    embedded = np.linalg.norm(coords[i] - coords[j], axis=1)
    target = distance[i, j]
    return float(np.sqrt(((target - embedded) ** 2).sum() / max((target**2).sum(), 1e-300)))


def _pairs(teacher_rdms: xr.DataArray, model_rdms: xr.DataArray, best_layer: Mapping[str, str]) -> list[tuple[str, xr.DataArray]]:
    """``(title, RDM)`` of the first endpoints and their best layers, in the teacher's stimulus order."""
    teacher, model = align_rdms(teacher_rdms, model_rdms)
    out = []
    for endpoint in [str(e) for e in teacher[STACK].values][:MAX_PANELS]:
        out.append((f"teacher {endpoint}", teacher.sel({STACK: endpoint})))
        layer = best_layer.get(endpoint)
        if layer is not None:
            out.append((f"model {layer} (best for {endpoint})", model.sel({STACK: layer})))
    return out


def plot_sorted_rdms(teacher_rdms: xr.DataArray, model_rdms: xr.DataArray, best_layer: Mapping[str, str], categories: Sequence[Any],
                     path: str | Path, title: str = "") -> list[Path]:
    """Each endpoint's RDM beside its best layer's, stimuli sorted by category, boundaries and category names drawn."""
    pairs = _pairs(teacher_rdms, model_rdms, best_layer)
    order, spans = category_order(categories)
    ncols = 2
    nrows = -(-len(pairs) // ncols)
    fig = new_figure(figsize=(2.2 + 3.4 * ncols, 0.8 + 3.2 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    image = None
    for ax, (name, rdm) in zip(axes, pairs):
        ranks = rank_percentiles(rdm).transpose(ROW, COL).values[np.ix_(order, order)]
        image = ax.imshow(ranks, cmap="bone_r", vmin=0, vmax=100, interpolation="nearest")
        for _, start, _ in spans[1:]:
            ax.axhline(start - 0.5, color="#c0392b", lw=0.6)
            ax.axvline(start - 0.5, color="#c0392b", lw=0.6)
        centres = [(start + stop - 1) / 2 for _, start, stop in spans]
        short = [name[:10] for name, _, _ in spans]
        ax.set_xticks(centres, short, rotation=90, fontsize=6)
        ax.set_yticks(centres, short, fontsize=6)
        ax.tick_params(length=0)
        ax.set_title(name, fontsize=8)
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=list(axes[: len(pairs)]), shrink=0.7, label="dissimilarity (percentile)")
    fig.suptitle(title or "RDMs sorted by category (boundaries in red)", fontsize=10)
    path = Path(path)
    return save_figure(fig, path.parent, path.stem)


def plot_stimulus_mds(teacher_rdms: xr.DataArray, model_rdms: xr.DataArray, best_layer: Mapping[str, str], categories: Sequence[Any],
                      path: str | Path, title: str = "") -> list[Path]:
    """The stimuli by classical MDS of each endpoint's RDM and its best layer's, coloured by category, stress-1 in each title."""
    pairs = _pairs(teacher_rdms, model_rdms, best_layer)
    labels = np.asarray([str(c) for c in categories])
    names = list(dict.fromkeys(sorted(labels, key=lambda x: (len(x), x))))
    ncols = 2
    nrows = -(-len(pairs) // ncols)
    fig = new_figure(figsize=(1.8 + 3.6 * ncols, 0.8 + 3.3 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, (name, rdm) in zip(axes, pairs):
        distance = np.asarray(rdm.transpose(ROW, COL).values, dtype=float)
        coords = classical_mds(distance)
        for k, category in enumerate(names):
            pick = labels == category
            ax.scatter(coords[pick, 0], coords[pick, 1], s=9, color=f"C{k % 10}", label=category[:14], edgecolors="none", alpha=0.85)
        ax.set_title(f"{name}\nstress-1 = {kruskal_stress(distance, coords):.2f}", fontsize=8)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    handles, texts = axes[0].get_legend_handles_labels()
    fig.legend(handles, texts, fontsize=7, loc="outside right center", title="category", title_fontsize=7, markerscale=1.5)
    fig.suptitle(title or "stimuli by classical MDS of each RDM", fontsize=10)
    path = Path(path)
    return save_figure(fig, path.parent, path.stem)


def plot_layer_profile(similarity: xr.DataArray, best_layer: Mapping[str, str], path: str | Path, *,
                       layer_intervals: xr.DataArray | None = None, ceilings: Mapping[str, Any] | None = None, title: str = "") -> list[Path]:
    """Each endpoint's similarity with every layer (95% bootstrap interval over stimuli when computed), the best layer
    marked, and the endpoint's noise-ceiling band (its 2.5-97.5% range over splits) when it has one in the same comparison."""
    endpoints = [str(e) for e in similarity.endpoint.values][:MAX_PANELS]
    layers = [str(x) for x in similarity.layer.values]
    method = str(similarity.attrs.get("method", "pearson"))
    fig = new_figure(figsize=(max(6.0, 2.4 + min(0.3 * len(layers), 10.0)), 1.2 + 2.1 * len(endpoints)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(endpoints), 1, sharex=True, squeeze=False)).ravel()
    x = np.arange(len(layers))
    for ax, endpoint in zip(axes, endpoints):
        values = similarity.sel(endpoint=endpoint).transpose("layer").values
        best = layers.index(best_layer[endpoint]) if endpoint in best_layer else int(np.nanargmax(values))
        colours = ["#c0392b" if k == best else "#7f8c8d" for k in range(len(layers))]
        error = None
        if layer_intervals is not None:
            bounds = layer_intervals.sel(endpoint=endpoint).transpose("layer", "bound").values
            error = np.vstack([values - bounds[:, 0], bounds[:, 1] - values]).clip(min=0)
        if len(layers) <= BAR_LAYERS:
            ax.bar(x, values, color=colours, yerr=error, capsize=2, error_kw={"lw": 0.8})
        else:
            ax.plot(x, values, color="#7f8c8d", lw=1, marker="o", ms=2.5)
            if error is not None:
                ax.fill_between(x, values - error[0], values + error[1], color="#7f8c8d", alpha=0.25, lw=0)
            ax.plot(x[best], values[best], marker="*", ms=10, color="#c0392b", ls="none")
        ceiling = (ceilings or {}).get(endpoint)
        if ceiling is not None and getattr(ceiling, "compare_method", method) == method:
            ax.axhspan(ceiling.lo, ceiling.hi, color="#2980b9", alpha=0.15, lw=0)
            ax.axhline(ceiling.value, color="#2980b9", lw=1, label=f"noise ceiling {ceiling.value:.2f}")
            ax.legend(fontsize=7, loc="lower right")
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylabel(f"{endpoint}\n{method}", fontsize=8)
        ax.set_title(f"{endpoint}: best layer {layers[best]} ({values[best]:.3f})", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    ticks = labelled_layers(len(layers), most=24)
    axes[-1].set_xticks(ticks, [layers[k][-14:] for k in ticks], rotation=60, ha="right", fontsize=7)
    axes[-1].set_xlabel("model layer (in order)")
    intervals = "95% bootstrap intervals over stimuli" if layer_intervals is not None else "no intervals (run with --bootstrap)"
    fig.suptitle(title or f"similarity of every layer with each endpoint; {intervals}", fontsize=9)
    path = Path(path)
    return save_figure(fig, path.parent, path.stem)
