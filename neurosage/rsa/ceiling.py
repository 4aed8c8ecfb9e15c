"""Noise ceilings: what a noise-free model's RDM correlation with a recording can reach.

For each of ``n_splits`` random splits, the repetitions of every stimulus are divided into two
halves; each half is averaged per stimulus, each endpoint's RDM is computed from both halves, and
the two RDMs are correlated. The Spearman-Brown correction ``2r / (1 + r)`` turns that half-data
correlation into the reliability ``R`` of the RDM from all repetitions.

Why the ceiling is ``sqrt(R)`` (the default, ``convention="sqrt"``): write the recorded RDM as a
true RDM plus independent noise, ``D = T + E``. Its reliability is the correlation of two independent
replicates, ``R = var(T) / (var(T) + var(E))``. A noise-free model whose RDM equals ``T`` (up to a
linear map) correlates with ``D`` at ``cov(T, D) / sqrt(var(T) var(D)) = sqrt(var(T) / var(D)) = sqrt(R)``:
the classical correction for attenuation (Spearman 1904) with a perfectly reliable model. Dividing by
``R`` instead overstates a noise-free model's ceiled score by ``1 / sqrt(R)``.

``convention="brainscore"`` follows Brain-Score's RDM benchmarks for comparability: the half RDMs are
compared by Spearman's rank correlation, the ceiling is the corrected consistency ``R`` itself, and a
ceiled score is the raw score divided by it, clipped to [0, 1].

Every ceiling comes with its spread over splits (sd and the 2.5-97.5 percentile interval) and is
estimated on exactly the stimuli given: restrict the recording to the stimuli you score first.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

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
from neurosage.core.validate import check_arguments, choice, finite_number, is_whole_number
from neurosage.rsa.compare import compare_rdms
from neurosage.rsa.methods import COMPARE_METHODS, RDM_METHODS
from neurosage.rsa.rdm import compute_rdm

__all__ = ["CEILING_CONVENTIONS", "Ceiling", "noise_ceilings", "spearman_brown", "ceiled"]

#: How a ceiling is defined: ``"sqrt"`` (what a noise-free model reaches) or ``"brainscore"`` (Brain-Score's consistency).
CEILING_CONVENTIONS = ("sqrt", "brainscore")


def spearman_brown(r: float | np.ndarray, factor: float = 2.0) -> float | np.ndarray:
    """Reliability of ``factor`` times as much data, from the reliability ``r`` of one part.

    ``r`` (a number or an array) lies in [-1, 1] and ``factor`` is a positive number; an ``r`` whose corrected value would
    be infinite (``1 + (factor - 1) r <= 0``) is refused. The formula is applied as Brain-Score applies it; a negative ``r``
    below ``-1 / (2 factor - 1)`` corrects to below -1, which is said in a warning (such an ``r`` means no reliable signal)."""
    check_arguments(spearman_brown, locals())
    factor = finite_number(factor, "factor", "pass how many times as much data, e.g. 2")
    if factor <= 0:
        raise ConfigError(f"factor must be positive, got {factor!r}", "pass how many times as much data, e.g. 2", field="factor")
    if isinstance(r, (str, bytes)) or r is None:
        raise ConfigError(f"r must be a reliability (a number or an array), got {r!r}", "pass a correlation in [-1, 1]", field="r")
    values = np.asarray(r, dtype=float)
    if not np.isfinite(values).all() or (np.abs(values) > 1).any():
        raise ConfigError(f"r must be finite correlations in [-1, 1], got {r!r}", "pass split-half reliabilities (correlations)", field="r")
    denominator = 1 + (factor - 1) * values
    if (denominator <= 0).any():
        raise ConfigError(f"r = {r!r} is too negative to correct by a factor of {factor:g} (1 + (factor - 1) r <= 0)",
                          "a negative split-half reliability means no reliable signal: report it, do not correct it", field="r")
    out = factor * values / denominator
    if (out < -1).any():
        warnings.warn(f"split-half reliability r = {np.round(values[out < -1], 4).tolist()} corrects to below -1 "
                      f"({np.round(out[out < -1], 4).tolist()}): a negative reliability means no reliable signal, and the formula is no "
                      "correlation there", RuntimeWarning, stacklevel=2)
    return float(out) if np.ndim(r) == 0 else out


@dataclass(frozen=True)
class Ceiling:
    """One endpoint's ceiling with its spread over the splits it was estimated from."""

    value: float  # the ceiling (sqrt(R) or R, by ``convention``)
    reliability: float  # R, the Spearman-Brown corrected split-half reliability (mean over splits)
    sd: float  # sd of the ceiling over splits
    lo: float  # 2.5th percentile over splits
    hi: float  # 97.5th percentile over splits
    n_splits: int
    n_stimuli: int
    convention: str = "sqrt"
    compare_method: str = "pearson"  # how the split-half RDMs were compared
    rdm_method: str = "correlation"  # how the split-half RDMs were computed

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> Ceiling:
        """A ceiling from :meth:`to_dict`'s fields; teachers cached before the rename store ``compare``/``method``."""
        renamed = {_RENAMED.get(key, key): value for key, value in fields.items()}
        return cls(**renamed)

    def describe(self) -> str:
        """``0.915 (sd 0.009, 95% of splits 0.897-0.930; 40 stimuli, 10 splits)``."""
        return f"{self.value:.3f} (sd {self.sd:.3f}, 95% of splits {self.lo:.3f}-{self.hi:.3f}; {self.n_stimuli} stimuli, {self.n_splits} splits)"


#: The fields' names in teacher caches written before they were ``compare_method``/``rdm_method``.
_RENAMED = {"compare": "compare_method", "method": "rdm_method"}


def ceiled(score: float, ceiling: float, convention: str = "sqrt") -> float:
    """A score over its ceiling (NaN for a ceiling <= 0); Brain-Score's convention clips to [0, 1]."""
    choice(convention, "convention", CEILING_CONVENTIONS)
    if not ceiling > 0:
        return float("nan")
    value = score / ceiling
    return float(min(max(value, 0.0), 1.0)) if convention == "brainscore" else float(value)


def noise_ceilings(
    recording: xr.DataArray, endpoints: list[str] | None = None, *, n_splits: int = 10, seed: int = 0, rdm_method: str = "correlation",
    convention: str = "sqrt", compare_method: str = "pearson",
) -> dict[str, Ceiling]:
    """Each endpoint's :class:`Ceiling` from a recording with repetitions (stimuli with fewer than two are left out).

    The half RDMs are computed by ``rdm_method`` (a method that needs repetitions, crossnobis, within each half, which
    then needs 4 repetitions per stimulus) and compared by ``compare_method`` when it is declared a ``correlation``
    (:data:`~neurosage.rsa.methods.COMPARE_METHODS`), else by Pearson (a split-half reliability is a correlation);
    Brain-Score's convention always uses Spearman.
    """
    rdm_method, compare_method = RDM_METHODS.resolve(rdm_method), COMPARE_METHODS.resolve(compare_method)
    if isinstance(endpoints, str):
        raise ConfigError(f"endpoints must be a list of region names, got the string {endpoints!r}", f"pass {endpoints.split(',')!r}",
                          field="endpoints")
    if convention not in CEILING_CONVENTIONS:
        raise ConfigError(f"unknown ceiling convention {convention!r}", f"choose one of {list(CEILING_CONVENTIONS)}", field="ceiling")
    if not is_whole_number(n_splits) or n_splits < 2:
        raise ConfigError(f"a ceiling's spread needs at least 2 splits, got {n_splits!r}", "use e.g. n_splits=10", field="n_splits")
    if not isinstance(recording, xr.DataArray) or STIMULUS_ID not in recording.coords:
        dims = tuple(recording.dims) if isinstance(recording, xr.DataArray) else type(recording).__name__
        raise ConfigError(f"noise_ceilings takes a recording (presentation x neuroid, stimulus_id repeated), got {dims}",
                          "pass the recording before averaging its repetitions (an RDM has none to split)", field="recording")
    check_arguments(noise_ceilings, locals())
    ids = np.asarray(recording[STIMULUS_ID].values).astype(str)
    counts = pd.Series(ids).value_counts()
    repeated = counts.index[counts >= 2]
    if len(repeated) < 3:
        raise ConfigError(
            f"a noise ceiling needs at least 3 stimuli with 2 or more repetitions, got {len(repeated)} ({counts.max() if len(counts) else 0} "
            "presentation(s) at most per stimulus)",
            "if the recording has repetitions, load it without averaging them (average=False); a recording of one presentation per stimulus "
            "has no noise ceiling (a brain teacher built on it scores without one)", field="repetitions",
        )
    recording = recording.isel({PRESENTATION: np.flatnonzero(np.isin(ids, repeated))})
    ids = np.asarray(recording[STIMULUS_ID].values).astype(str)
    names = endpoints if endpoints is not None else list(dict.fromkeys(str(r) for r in recording[REGION].values))
    compare = "spearman" if convention == "brainscore" else (compare_method if COMPARE_METHODS.get(compare_method).correlation else "pearson")
    trials = RDM_METHODS.get(rdm_method).needs_repetitions  # computed within each half from its repetitions
    if trials and int(counts[repeated].min()) < 4:
        raise ConfigError(f"a {rdm_method} noise ceiling computes {rdm_method} RDMs within each half of the repetitions, so every stimulus needs at "
                          f"least 4; some have {int(counts[repeated].min())}", "use rdm-method 'sqeuclidean' for this recording", field="repetitions")
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {name: [] for name in names}
    size = pd.Series(ids).map(pd.Series(ids).value_counts()).to_numpy()
    for _ in range(n_splits):
        order = pd.Series(rng.random(len(ids))).groupby(ids).rank(method="first").to_numpy()
        first = order <= size // 2
        halves = [recording.isel({PRESENTATION: np.flatnonzero(mask)}) for mask in (first, ~first)]
        if not trials:  # a method that needs repetitions (crossnobis) cross-validates over those of each half itself
            halves = [average_repetitions(half) for half in halves]
        parts = [select_regions(half, names) for half in halves]
        for name in names:
            a, b = (compute_rdm(part[name], rdm_method, nan="drop") for part in parts)
            values[name].append(float(spearman_brown(float(compare_rdms(a, b, compare)))))
    out = {}
    for name, reliabilities in values.items():
        r = np.asarray(reliabilities)
        per_split = np.sqrt(np.clip(r, 0, None)) if convention == "sqrt" else r
        reliability = float(np.mean(r))
        value = math.sqrt(reliability) if convention == "sqrt" and reliability > 0 else (reliability if convention == "brainscore" else float("nan"))
        lo, hi = np.percentile(per_split, [2.5, 97.5])
        out[name] = Ceiling(float(value), reliability, float(np.std(per_split, ddof=1)), float(lo), float(hi), n_splits, len(repeated), convention,
                            compare, rdm_method)
    return out
