"""The RDMs behind a model-teacher comparison (``neurosage rdm``): each RDM rank-transformed, and an MDS map of them all.

:func:`rank_percentiles` is rsatoolbox's ``rank_transform`` as percentiles of the upper triangle (what its
``show_rdm`` draws); :func:`rdm_mds` places every teacher endpoint and model layer in 2-D by classical MDS of
1 - Pearson r between their upper triangles. :func:`plot_rdm_figures` writes ``similarity``, ``rdms`` and ``mds``
(PNG + PDF) into one folder.
"""

from __future__ import annotations

import re
from pathlib import Path, PureWindowsPath

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.stats import rankdata

from neurosage.figures.output import new_figure, save_figure
from neurosage.figures.similarity_heatmap import plot_similarity
from neurosage.rsa.rdm import COL, ROW, STACK, align_rdms, upper_triangle

__all__ = ["rank_percentiles", "rdm_mds", "classical_mds", "labelled_layers", "short_title", "draw_rdms", "plot_rdms", "draw_rdm_mds",
           "plot_rdm_mds", "plot_rdm_figures"]

#: Panels per row of the RDM grid.
GRID_COLUMNS = 6
TEACHER_COLOUR, MODEL_CMAP = "#c0392b", "viridis"
#: Width of one 7-point label character and a label's height on the MDS map, in axis fractions (its axes are about 4 inches wide).
CHAR_WIDTH, LABEL_HEIGHT = 0.015, 0.04
#: The most model layers the MDS map names (more are named evenly spaced; the colour gives every layer's place).
MAX_LAYER_LABELS = 12


def rank_percentiles(rdms: xr.DataArray) -> xr.DataArray:
    """Each RDM's dissimilarities as percentiles of its upper triangle (ties averaged; diagonal 0).

    Equals rsatoolbox's ``rank_transform`` (ranks 1..n_pairs) divided by the number of pairs, times 100.
    """
    stack = rdms if STACK in rdms.dims else rdms.expand_dims({STACK: ["rdm"]})
    stack = stack.transpose(STACK, ROW, COL)
    n = stack.sizes[ROW]
    i, j = np.triu_indices(n, k=1)
    ranks = np.stack([rankdata(v, method="average", nan_policy="omit") for v in np.atleast_2d(upper_triangle(stack))])
    out = np.zeros(stack.shape)
    out[:, i, j] = out[:, j, i] = 100.0 * ranks / len(i)
    result = stack.copy(data=out)
    result.attrs = {**stack.attrs, "transform": "rank percentile"}
    return result if STACK in rdms.dims else result.isel({STACK: 0}, drop=True)


def rdm_mds(teacher_rdms: xr.DataArray, model_rdms: xr.DataArray) -> np.ndarray:
    """2-D classical MDS of all teacher then model RDMs, with distance 1 - Pearson r of their upper triangles.

    Returns ``(n_teacher + n_model, 2)`` coordinates; each axis' sign is fixed (its largest coordinate positive).
    """
    teacher, model = align_rdms(teacher_rdms, model_rdms)
    vectors = np.concatenate([np.atleast_2d(upper_triangle(teacher)), np.atleast_2d(upper_triangle(model))])
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(vectors)
    distance = 1.0 - np.nan_to_num(r, nan=0.0)  # a constant RDM correlates with nothing
    np.fill_diagonal(distance, 0.0)
    return classical_mds(distance)


def classical_mds(distance: np.ndarray, n_components: int = 2) -> np.ndarray:
    """Torgerson's classical MDS of a symmetric distance matrix (coordinates padded with 0 beyond its rank)."""
    n = distance.shape[0]
    centre = np.eye(n) - 1.0 / n
    b = -0.5 * centre @ (distance**2) @ centre
    values, vectors = np.linalg.eigh((b + b.T) / 2)
    order = np.argsort(values)[::-1][:n_components]
    coords = vectors[:, order] * np.sqrt(np.clip(values[order], 0.0, None))
    coords *= np.where(coords[np.abs(coords).argmax(axis=0), range(coords.shape[1])] < 0, -1.0, 1.0)
    return np.pad(coords, ((0, 0), (0, n_components - coords.shape[1])))


def short_title(model: str, weights: str, width: int = 48) -> str:
    """``model, weights`` for a figure title: file paths cut to their names, each part at most ``width`` characters."""
    weights = re.sub(r"\S*[/\\]\S*", lambda m: PureWindowsPath(m.group(0)).name, weights)  # either slash
    return f"{_cut(model, width)}, {_cut(weights, width)}"


def _cut(text: str, width: int, keep_end: bool = False) -> str:
    """``text`` (whitespace collapsed) in at most ``width`` characters: its start, or its end with ``keep_end``."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    return "..." + text[3 - width:] if keep_end else text[: width - 3] + "..."


def _label(name: str, width: int = 20) -> str:
    """A panel or point label of at most ``width`` characters (long layer names keep their end)."""
    return _cut(name, width, keep_end=True)


def _names(rdms: xr.DataArray) -> list[str]:
    return [str(n) for n in rdms[STACK].values]


def draw_rdms(fig: Figure, teacher_rdms: xr.DataArray, model_rdms: xr.DataArray, title: str = "") -> None:
    """Rank-percentile RDM panels on ``fig``: teacher endpoints in the first rows, model layers from a new row, one colourbar.

    Model RDMs are put in the teacher's stimulus order, so panels compare cell by cell.
    """
    groups = [("teacher", rank_percentiles(teacher_rdms)), ("model", rank_percentiles(align_rdms(teacher_rdms, model_rdms)[1]))]
    ncols = min(GRID_COLUMNS, max(g.sizes[STACK] for _, g in groups))
    nrows = [-(-g.sizes[STACK] // ncols) for _, g in groups]
    grid = fig.add_gridspec(sum(nrows), ncols)
    axes, image, start = [], None, 0
    for (kind, ranks), rows in zip(groups, nrows):
        for k, name in enumerate(_names(ranks)):
            ax = fig.add_subplot(grid[start + k // ncols, k % ncols])
            image = ax.imshow(ranks.isel({STACK: k}).values, cmap="bone_r", vmin=0, vmax=100, interpolation="auto")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{kind}: {_label(name)}", fontsize=7, color=TEACHER_COLOUR if kind == "teacher" else "k")
            axes.append(ax)
        start += rows
    if image is None:  # no panel at all (add_gridspec already refuses that)
        raise ValueError("there are no RDMs to draw")
    fig.colorbar(image, ax=axes, shrink=min(0.8, 2.0 / sum(nrows)), aspect=15, label="dissimilarity (percentile)")
    fig.suptitle(title or "RDMs (rank-transformed)", fontsize=10)


def plot_rdms(teacher_rdms: xr.DataArray, model_rdms: xr.DataArray, path: str | Path, title: str = "") -> list[Path]:
    """Write :func:`draw_rdms` to ``path`` (PNG) and a PDF beside it."""
    ncols = min(GRID_COLUMNS, max(teacher_rdms.sizes[STACK], model_rdms.sizes[STACK]))
    rows = sum(-(-r.sizes[STACK] // ncols) for r in (teacher_rdms, model_rdms))
    fig = new_figure(figsize=(1.0 + 1.7 * ncols, 0.6 + 1.8 * rows), layout="constrained")
    draw_rdms(fig, teacher_rdms, model_rdms, title)
    path = Path(path)
    return save_figure(fig, path.parent, path.stem)


def _spread(points: np.ndarray, widths: np.ndarray, height: float = LABEL_HEIGHT, iterations: int = 300) -> np.ndarray:
    """Lower-left corners of labels (axis-fraction units) beside ``points``, moved apart until no two boxes overlap (or ``iterations``).

    Label ``k`` is a ``widths[k] x height`` box; overlapping boxes are pushed apart vertically (labels are wider than tall).
    """
    labels = points + np.array([0.015, 0.012])
    for _ in range(iterations):
        dx = labels[:, None, 0] - labels[None, :, 0]
        dy = labels[:, None, 1] - labels[None, :, 1]
        reach = np.where(dx >= 0, widths[None, :], widths[:, None])  # the box on the left must end before the other starts
        overlap = (np.abs(dx) < reach) & (np.abs(dy) < height)
        np.fill_diagonal(overlap, False)
        if not overlap.any():
            break
        direction = np.where(dy == 0, np.sign(np.subtract.outer(np.arange(len(labels)), np.arange(len(labels)))), np.sign(dy))
        labels[:, 1] += 0.25 * height * (overlap * direction).sum(axis=1)
    return labels


def labelled_layers(n_layers: int, most: int = MAX_LAYER_LABELS) -> list[int]:
    """Which of ``n_layers`` model layers the MDS map names: all up to ``most``, else evenly spaced ones, first and last included."""
    if n_layers <= most:
        return list(range(n_layers))
    return sorted({int(round(k)) for k in np.linspace(0, n_layers - 1, most)})


def draw_rdm_mds(ax: Axes, teacher_rdms: xr.DataArray, model_rdms: xr.DataArray, title: str = "") -> np.ndarray:
    """Teacher endpoints (red squares) and model layers (circles coloured by order, joined in order) on their 2-D MDS map.

    Every endpoint is named; model layers too, up to :data:`MAX_LAYER_LABELS` (else evenly spaced ones, also on
    the colourbar). Returns the coordinates (teacher endpoints first).
    """
    coords = rdm_mds(teacher_rdms, model_rdms)
    teacher, model = _names(teacher_rdms), _names(model_rdms)
    nt = len(teacher)
    (model_x, model_y), (teacher_x, teacher_y) = coords[nt:].T, coords[:nt].T
    ax.plot(model_x, model_y, color="0.8", lw=0.6, zorder=1)
    depth = ax.scatter(model_x, model_y, c=range(len(model)), cmap=MODEL_CMAP, s=36, zorder=2, label="model layer", edgecolors="k", linewidths=0.4)
    ax.scatter(teacher_x, teacher_y, marker="s", s=64, color=TEACHER_COLOUR, zorder=3, label="teacher endpoint", edgecolors="k", linewidths=0.4)
    span = float(np.ptp(coords, axis=0).max()) or 1.0
    size = 1.45 * span  # one square window, so distances read the same along both axes, with room for labels
    low = (coords.min(axis=0) + coords.max(axis=0)) / 2 - size / 2 + 0.08 * span * np.array([-1.0, 0.0])
    ax.set_xlim(low[0], low[0] + size)
    ax.set_ylim(low[1], low[1] + size)
    shown = list(range(nt)) + [nt + k for k in labelled_layers(len(model))]
    names = [_label((teacher + model)[k]) for k in shown]
    widths = np.array([CHAR_WIDTH * (len(name) + 1) for name in names])
    spots = _spread((coords[shown] - low) / size, widths)
    spots = np.clip(spots, 0.0, np.column_stack([1.0 - widths, np.full(len(shown), 1.0 - LABEL_HEIGHT)]))  # inside the axes
    for k, (lx, ly), name in zip(shown, spots, names):
        ax.annotate(name, coords[k], xytext=(low[0] + lx * size, low[1] + ly * size), fontsize=7, zorder=4,
                    color=TEACHER_COLOUR if k < nt else "k", bbox={"boxstyle": "square,pad=0.05", "fc": "w", "ec": "none", "alpha": 0.7},
                    arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5})
    if len(model) > 1:
        ticks = labelled_layers(len(model))
        bar = ax.figure.colorbar(depth, ax=ax, shrink=0.8, ticks=ticks)
        bar.ax.set_yticklabels([_label(model[k]) for k in ticks], fontsize=7)
        bar.set_label("model layer (in the order given)")
    ax.set_xlabel("MDS 1")
    ax.set_ylabel("MDS 2")
    ax.set_aspect("equal", adjustable="box")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)
    ax.set_title(title or "RDMs by MDS (distance 1 - Pearson r)", fontsize=10)
    return coords


def plot_rdm_mds(teacher_rdms: xr.DataArray, model_rdms: xr.DataArray, path: str | Path, title: str = "") -> list[Path]:
    """Write :func:`draw_rdm_mds` to ``path`` (PNG) and a PDF beside it."""
    fig = new_figure(figsize=(6.0, 5.0), layout="constrained")
    draw_rdm_mds(fig.subplots(), teacher_rdms, model_rdms, title)
    path = Path(path)
    return save_figure(fig, path.parent, path.stem)


def plot_rdm_figures(out: str | Path, teacher_rdms: xr.DataArray, model_rdms: xr.DataArray, similarity: xr.DataArray,
                     title: str) -> list[Path]:
    """``similarity``, ``rdms`` and ``mds`` (PNG + PDF each) in ``out``, titled ``title`` (e.g. :func:`short_title`)."""
    out = Path(out)
    paths = [plot_similarity(similarity, out / "similarity.png", title=f"{title} vs teacher"), out / "similarity.pdf"]
    paths += plot_rdms(teacher_rdms, model_rdms, out / "rdms.png", title=f"RDMs (rank-transformed): {title}")
    paths += plot_rdm_mds(teacher_rdms, model_rdms, out / "mds.png", title=f"RDMs by MDS (1 - Pearson r): {title}")
    return paths
