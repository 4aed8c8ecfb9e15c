"""Noise ceilings of a recording's RDMs: split-half reliability, Spearman-Brown corrected.

For each of ``n_splits`` random splits, the repetitions of every stimulus are
divided into two halves; each half is averaged per stimulus, each endpoint's RDM
is computed from both halves, and the two RDMs are correlated (Pearson r of the
upper triangles). The Spearman-Brown correction ``2r / (1 + r)`` turns the half-data
reliability into the reliability of the RDM from all repetitions; the ceiling is
the mean over splits. It estimates how well the recording's own RDM would
correlate with a replicate recording: the best score a model can expect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from neurosage.assembly import (
    PRESENTATION,
    REGION,
    STIMULUS_ID,
    average_repetitions,
    select_regions,
)
from neurosage.core.errors import ConfigError
from neurosage.rsa.compare import compare_rdms
from neurosage.rsa.rdm import compute_rdm

__all__ = ["spearman_brown", "noise_ceilings"]


def spearman_brown(r: float | np.ndarray, factor: float = 2.0) -> float | np.ndarray:
    """Reliability of ``factor`` times as much data, from the reliability ``r`` of one part."""
    return factor * r / (1 + (factor - 1) * r)


def noise_ceilings(
    recording: xr.DataArray, endpoints: list[str] | None = None, *, n_splits: int = 10, seed: int = 0, method: str = "correlation"
) -> dict[str, float]:
    """Split-half, Spearman-Brown corrected reliability of each endpoint's RDM (a recording with repetitions).

    Stimuli with fewer than two repetitions are left out of the estimate.
    """
    ids = np.asarray(recording[STIMULUS_ID].values).astype(str)
    counts = pd.Series(ids).value_counts()
    repeated = counts.index[counts >= 2]
    if len(repeated) < 3:
        raise ConfigError(
            f"a noise ceiling needs at least 3 stimuli with 2 or more repetitions, got {len(repeated)}",
            "load the recording without averaging repetitions (average=False)", field="repetitions",
        )
    recording = recording.isel({PRESENTATION: np.flatnonzero(np.isin(ids, repeated))})
    ids = np.asarray(recording[STIMULUS_ID].values).astype(str)
    names = endpoints if endpoints is not None else list(dict.fromkeys(str(r) for r in recording[REGION].values))
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(n_splits):
        order = pd.Series(rng.random(len(ids))).groupby(ids).rank(method="first").to_numpy()
        size = pd.Series(ids).map(pd.Series(ids).value_counts()).to_numpy()
        first = order <= size // 2
        halves = [average_repetitions(recording.isel({PRESENTATION: np.flatnonzero(mask)})) for mask in (first, ~first)]
        parts = [select_regions(half, names) for half in halves]
        for name in names:
            a, b = (compute_rdm(part[name], method, nan="drop") for part in parts)
            values[name].append(float(spearman_brown(float(compare_rdms(a, b, "pearson")))))
    return {name: float(np.mean(v)) for name, v in values.items()}
