"""Representational dissimilarity matrices (RDMs) and their comparison.

RDMs are computed with batched matrix products (torch, float64 by default, on
any ``device``) and returned as :class:`xarray.DataArray` objects with dims
``("condition_row", "condition_col")`` labelled by ``stimulus_id`` (or by the
``by=`` descriptor, e.g. ``category_name``). A stack of RDMs adds a leading
``"rdm"`` dim whose coord names the endpoint (a region or layer).

Comparisons (:mod:`neurosage.rsa.compare`) act on upper triangles (diagonal
excluded) after :func:`align_rdms` matched conditions by label, never by
position. :func:`to_rsatoolbox` and
:func:`from_rsatoolbox` convert to and from :class:`rsatoolbox.rdm.RDMs`.

Methods are the entries of :data:`~neurosage.rsa.methods.RDM_METHODS`; the built-ins are defined here:
``correlation`` = 1 - Pearson r between patterns; ``cosine`` = 1 - cosine similarity; ``euclidean`` = Euclidean
distance; ``sqeuclidean`` = squared Euclidean distance divided by the number of features (rsatoolbox's
``"euclidean"``); ``crossnobis`` = rsatoolbox's cross-validated squared Mahalanobis distance (identity noise, divided
by the number of features) over the repetitions of an assembly (:func:`crossnobis_rdm`). A method declared
``needs_repetitions`` gets the trials of an assembly with their folds (:func:`compute_rdm` finds them).
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
import xarray as xr

from neurosage.assembly import (
    NEUROID,
    PRESENTATION,
    STIMULUS_ID,
    TIME_BIN,
    AssemblyError,
    regions,
    select_regions,
)
from neurosage.core.devices import check_device
from neurosage.core.errors import ConfigError, NeurosageError
from neurosage.core.validate import check_arguments, check_choices, whole
from neurosage.rsa.methods import RDM_METHODS, method_function, rdm_method

__all__ = [
    "ROW", "COL", "STACK", "RDMMethod", "RDMAlignmentError", "check_rdms", "compute_rdm", "crossnobis_rdm", "compute_rdms", "stack_rdms",
    "subsample_rdm",
    "draw_subsets", "subset_mean_rdm", "upper_triangle", "align_rdms", "all_finite", "correlation_distance", "cosine_distance", "euclidean_distance",
    "sqeuclidean_distance", "crossnobis_distance", "poisson_distance"]


log = logging.getLogger(__name__)


ROW, COL, STACK = "condition_row", "condition_col", "rdm"


#: A name registered in :data:`~neurosage.rsa.methods.RDM_METHODS` (``"correlation"``, ``"sqeuclidean"``, a plug-in...).
RDMMethod = str


class RDMAlignmentError(NeurosageError, ValueError):
    """Two RDMs do not describe the same conditions (or cannot be compared); the message ends with the fix."""



def check_rdms(rdms: Any, name: str = "rdms") -> xr.DataArray:
    """``rdms`` as an RDM stack (``rdm x condition_row x condition_col``; a single RDM gets a stack dim named ``name``),
    else an :class:`RDMAlignmentError` naming ``name``: not a DataArray (a recording, an array), other dims, not square,
    rows and columns labelled differently, or non-finite dissimilarities."""
    if not isinstance(rdms, xr.DataArray):
        raise RDMAlignmentError(f"{name} is a {type(rdms).__name__}, not an RDM with condition labels",
                                "make RDMs with compute_rdm/compute_rdms (or from_rsatoolbox), or pass a Teacher's .rdms", field=name)
    if set(rdms.dims) not in ({ROW, COL}, {STACK, ROW, COL}):
        hint = " (a recording: make its RDMs with compute_rdms(assembly) first)" if "neuroid" in rdms.dims or "presentation" in rdms.dims else ""
        raise RDMAlignmentError(f"{name} has dims {tuple(rdms.dims)}, not ({ROW!r}, {COL!r}) with an optional {STACK!r}{hint}",
                                "pass RDMs made by compute_rdm/compute_rdms", field=name)
    stack = rdms if STACK in rdms.dims else rdms.expand_dims({STACK: [name]})
    stack = stack.transpose(STACK, ROW, COL)
    rows, cols = (np.asarray(stack[dim].values).astype(str) for dim in (ROW, COL))
    if stack.sizes[ROW] != stack.sizes[COL] or not np.array_equal(rows, cols):
        raise RDMAlignmentError(f"{name} is not square with the same conditions on both axes ({stack.sizes[ROW]} rows, {stack.sizes[COL]} columns)",
                                "pass RDMs made by compute_rdm/compute_rdms", field=name)
    values = stack.values
    if not np.isfinite(values).all():
        raise RDMAlignmentError(f"{name} holds {int((~np.isfinite(values)).sum())} NaN or infinite dissimilarities",
                                "drop the conditions (stimuli) without data before computing the RDMs", field=name)
    return stack


def compute_rdm(
    data: xr.DataArray | np.ndarray | torch.Tensor,
    method: RDMMethod = "correlation",
    *,
    by: str | None = None,
    labels: Sequence[Any] | None = None,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
    nan: Literal["raise", "drop"] = "raise",
) -> xr.DataArray:
    """RDM of a ``presentation x neuroid`` assembly or an ``(n_conditions, n_features)`` array.

    Parameters
    ----------
    data
        An assembly (conditions labelled by ``stimulus_id``) or a 2-D array.
    method
        A name registered in :data:`~neurosage.rsa.methods.RDM_METHODS` (the built-ins are this module's ``*_distance``
        functions), e.g. ``"correlation"``; a method that needs repetitions (crossnobis) takes an assembly with them.
    by
        Presentation coord to average patterns by first (e.g. ``"category_name"``);
        conditions are then the sorted unique values, as in rsatoolbox.
    labels
        Condition labels for array input (default ``0..n-1``).
    dtype, device
        Precision and device of the computation; the result is returned on CPU.
    nan
        ``"raise"`` (default): refuse non-finite values; ``"drop"``: leave out every feature
        (neuroid, unit) with a non-finite value, with a warning.
    """
    check_arguments(compute_rdm, locals())
    check_choices(compute_rdm, locals())
    if device is not None:
        check_device(device)
    if not dtype.is_floating_point:  # torch's "mean(): could not infer output dtype" otherwise
        raise ConfigError(f"dtype {dtype} is not a floating-point type, and an RDM's distances are real numbers", "give dtype=torch.float64 "
                          "(the default) or torch.float32", field="dtype")
    method = rdm_method(method, field="method")
    if RDM_METHODS.get(method).needs_repetitions:
        if by is not None or labels is not None:
            raise ConfigError(f"{method} RDMs are computed per stimulus_id from an assembly's repetitions", "drop by=/labels=", field="method")
        return _trials_rdm(data, method, dtype=dtype, device=device, nan=nan)
    if labels is not None and isinstance(data, xr.DataArray):  # an assembly's conditions are its stimulus_id (or by=): labels were ignored
        raise ConfigError("labels= names the rows of an array, and an assembly's conditions are its stimulus_id", "drop labels= (or give "
                          "by='a presentation coord' to average by it), or pass the plain array (assembly.values) with labels=",
                          field="labels")
    patterns, row_labels, descriptor = _patterns(data, by=by, labels=labels)
    x = _finite_features(_as_tensor(patterns, dtype, device), nan)
    rdm = _rdm_tensor(x, method).cpu().numpy()
    return _wrap(rdm, row_labels, descriptor, method).assign_coords(_condition_coords(data, descriptor) if by is None else {})


def crossnobis_rdm(assembly: xr.DataArray, *, nan: Literal["raise", "drop"] = "raise") -> xr.DataArray:
    """rsatoolbox's crossnobis RDM of an assembly with repetitions (leave-one-repetition-out, identity noise).

    The same as ``compute_rdm(assembly, "crossnobis")``. The folds are the repetitions: the ``repetition`` coord when
    the assembly has one, else the order in which each stimulus recurs; only the first ``m`` repetitions are used, ``m``
    the fewest any stimulus has (at least 2), as for every method that needs repetitions.
    """
    check_arguments(crossnobis_rdm, locals())
    check_choices(crossnobis_rdm, locals())
    return compute_rdm(assembly, "crossnobis", nan=nan)


def _trials_rdm(
    data: xr.DataArray | np.ndarray | torch.Tensor, method: str, *, dtype: torch.dtype, device: str | torch.device | None, nan: str
) -> xr.DataArray:
    """The RDM of an assembly's trials by a method that needs repetitions (crossnobis): its function gets the trials with
    each one's condition and fold.

    The folds are the repetitions: the ``repetition`` coord when the assembly has one, else the order in which each
    stimulus recurs. Every fold must hold every stimulus, so only the first ``m`` repetitions are used, ``m`` the
    fewest any stimulus has (with a warning when trials are left out); at least 2 are needed. Conditions come in
    the order of their first presentation.
    """
    if not isinstance(data, xr.DataArray) or PRESENTATION not in data.dims or STIMULUS_ID not in data.coords:
        raise ConfigError(f"{method} RDMs need an assembly (presentation x neuroid) with repeated stimulus_id presentations",
                          "pass the recording before averaging repetitions, or use rdm-method 'sqeuclidean'", field="method")
    assembly = data
    if TIME_BIN in assembly.dims:
        if assembly.sizes[TIME_BIN] != 1:
            raise AssemblyError([f"assembly has {assembly.sizes[TIME_BIN]} time bins; fix: neurosage.assembly.select_time first"])
        assembly = assembly.squeeze(TIME_BIN, drop=True)
    assembly = assembly.transpose(PRESENTATION, NEUROID)
    ids = pd.Series(np.asarray(assembly[STIMULUS_ID].values).astype(str))
    fold = (pd.Series(np.asarray(assembly["repetition"].values)).groupby(ids).rank(method="dense").to_numpy() - 1
            if "repetition" in assembly.coords else ids.groupby(ids).cumcount().to_numpy())
    counts = pd.Series(fold).groupby(ids).nunique()
    m = int(counts.min())
    if m < 2:
        raise ConfigError(f"{method} needs every stimulus presented at least twice; {int((counts < 2).sum())} stimulus id(s) were presented once "
                          f"(e.g. {counts.index[counts < 2][:3].tolist()})",
                          "load the recording without averaging repetitions, or use rdm-method 'sqeuclidean'", field="repetitions")
    keep = fold < m
    if not keep.all():
        warnings.warn(f"{method}: {int((~keep).sum())} trial(s) beyond the {m} repetitions every stimulus has are left out",
                      RuntimeWarning, stacklevel=3)
    values = _finite_features(torch.as_tensor(np.asarray(assembly.values, dtype=np.float64)[keep]).to(device=device, dtype=dtype), nan)
    order = list(dict.fromkeys(ids[keep]))
    conditions = pd.Categorical(ids[keep], categories=order).codes.astype(np.int64)
    rdm = _checked(method_function(RDM_METHODS, method)(values, conditions=conditions, folds=fold[keep].astype(np.int64)), len(order), method, values)
    return _wrap(rdm.cpu().numpy(), np.asarray(order), STIMULUS_ID, method).assign_attrs(repetitions=m)


def compute_rdms(
    endpoints: xr.DataArray | Mapping[str, xr.DataArray | np.ndarray | torch.Tensor],
    method: RDMMethod = "correlation",
    **kwargs: Any,
) -> xr.DataArray:
    """Stack the RDMs of several endpoints into one ``rdm x row x col`` array.

    ``endpoints`` is an assembly (one RDM per ``region``: brain areas, or the layers
    of an activation assembly) or a mapping of endpoint name to data. All endpoints
    must describe the same conditions; they are aligned by label to the first
    endpoint's order.
    """
    check_arguments(compute_rdms, locals())
    if isinstance(endpoints, xr.DataArray):
        endpoints = select_regions(endpoints, regions(endpoints))
    if not endpoints:
        raise ConfigError("compute_rdms got no endpoint", "pass an assembly with a region coord, or a dict of endpoint -> data", field="endpoints")
    rdms = {name: compute_rdm(d, method, **kwargs) for name, d in endpoints.items()}
    return stack_rdms(rdms)


def stack_rdms(rdms: Mapping[str, xr.DataArray]) -> xr.DataArray:
    """Stack single RDMs (aligned by condition label to the first) along ``"rdm"``."""
    check_arguments(stack_rdms, locals())
    if not rdms:
        raise ConfigError("stack_rdms got no RDMs", "pass a mapping of name -> RDM, e.g. {'V4': rdm_v4, 'IT': rdm_it}", field="rdms")
    names = list(rdms)
    for name in names:  # each value, named by its key (a recording or raw features among them)
        check_rdms(rdms[name], f"rdms[{name!r}]")
        if STACK in rdms[name].dims:
            raise RDMAlignmentError(f"rdms[{name!r}] is already a stack of {rdms[name].sizes[STACK]} RDMs", "pass single RDMs (one "
                                    f"per key, e.g. {{n: stack.sel({STACK}=n) for n in stack['{STACK}'].values}}), or xr.concat the stacks",
                                    field="rdms")
    first = rdms[names[0]]
    try:
        aligned = [first] + [align_rdms(first, rdms[n])[1] for n in names[1:]]
    except RDMAlignmentError as exc:  # align_rdms' fix names its how= option, which stack_rdms does not take
        raise RDMAlignmentError(f"stack_rdms: {exc.problem}", "stack RDMs of the same stimuli (make them from the same stimulus set, or "
                                "align them first with neurosage.rsa.rdm.align_rdms(a, b, how='intersect'))", field="rdms") from None
    stacked = xr.concat(aligned, dim=STACK, coords="minimal", compat="override", join="override")
    return stacked.assign_coords({STACK: names})


def subsample_rdm(
    data: xr.DataArray | np.ndarray | torch.Tensor,
    n_features: int,
    n_subsamples: int = 10,
    method: RDMMethod = "correlation",
    *,
    seed: int | np.random.Generator | None = 0,
    **kwargs: Any,
) -> xr.DataArray:
    """Mean RDM over ``n_subsamples`` random subsets of ``n_features`` features.

    The paper averaged 10 subsamples per teacher layer. When the data has no more
    than ``n_features`` features, the plain RDM is returned.
    """
    check_arguments(subsample_rdm, locals())
    for name, value in (("n_features", n_features), ("n_subsamples", n_subsamples)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}",
                              f"set {name} to e.g. {1000 if name == 'n_features' else 10}", field=name)
    if not isinstance(data, (xr.DataArray, torch.Tensor)):
        data = np.asarray(data)  # a list of patterns reads as an array
    if data.ndim != 2:
        raise ConfigError(f"subsample_rdm takes patterns (conditions x features), got shape {tuple(data.shape)}", "pass a 2-D array, one "
                          "row per condition", field="data")
    total = data.shape[1] if not isinstance(data, xr.DataArray) else data.sizes[NEUROID]
    if total <= n_features:
        return compute_rdm(data, method, **kwargs)
    return subset_mean_rdm(data, draw_subsets(total, n_features, n_subsamples, seed), method, **kwargs)


def draw_subsets(total: int, n_features: int, n_subsamples: int, seed: int | np.random.Generator | None = 0) -> list[np.ndarray]:
    """The ``n_subsamples`` feature subsets :func:`subsample_rdm` draws (each ``n_features`` of ``total``, no repeats)."""
    check_arguments(draw_subsets, locals())
    for name, value in (("total", total), ("n_features", n_features), ("n_subsamples", n_subsamples)):
        whole(value, name, 1)
    if n_features > total:
        raise ConfigError(f"draw_subsets: subsets of {n_features} features cannot be drawn from {total} without repeats",
                          f"give n_features of at most {total} (subsample_rdm uses all features when there are no more than n_features)",
                          field="n_features")
    rng = np.random.default_rng(seed)
    return [rng.choice(total, size=n_features, replace=False) for _ in range(n_subsamples)]


def subset_mean_rdm(
    data: xr.DataArray | np.ndarray | torch.Tensor, subsets: Sequence[np.ndarray], method: RDMMethod = "correlation", **kwargs: Any
) -> xr.DataArray:
    """Mean RDM over the given feature subsets (column indices into ``data``'s features)."""
    check_arguments(subset_mean_rdm, locals())
    method = rdm_method(method, field="method")
    if RDM_METHODS.get(method).needs_repetitions:
        raise ConfigError(f"{method} RDMs come from a recording's repetitions, not from feature subsets of patterns",
                          "use compute_rdm(assembly, method), or neurosage.rsa.methods.model_rdm_method(method) for patterns", field="method")
    patterns, row_labels, descriptor = _patterns(data, by=kwargs.pop("by", None), labels=kwargs.pop("labels", None))
    x = _as_tensor(patterns, kwargs.get("dtype", torch.float64), kwargs.get("device"))
    finite = torch.isfinite(x).all(dim=0)
    _finite_features(x, kwargs.get("nan", "raise"))  # refuses non-finite values unless nan="drop" (then warns)
    acc = torch.zeros(x.shape[0], x.shape[0], dtype=x.dtype, device=x.device)
    if len(subsets) and np.ndim(subsets[0]) == 0:  # one subset of indices, not a list of subsets
        raise ConfigError("subsets is one subset of feature indices, and subset_mean_rdm takes a list of subsets", f"give subsets=[{subsets!r}] "
                          "for one subset, or draw_subsets(n_features_total, n_features, n_subsamples)", field="subsets")
    if not len(subsets):
        raise ConfigError("subset_mean_rdm got no feature subsets", "pass draw_subsets(n_features_total, n_features, n_subsamples)",
                          field="subsets")
    beyond = [int(np.max(s)) for s in subsets if len(s) and (int(np.max(s)) >= x.shape[1] or int(np.min(s)) < 0)]
    if beyond:
        raise ConfigError(f"a feature subset names feature {beyond[0]}, and the data has {x.shape[1]} features (0..{x.shape[1] - 1})",
                          "draw the subsets from the data's own feature count: draw_subsets(data.shape[1], n_features, n_subsamples)",
                          field="subsets")
    repeated = next((i for i, subset in enumerate(subsets) if len(np.unique(np.asarray(subset))) < len(subset)), None)
    if repeated is not None:  # a feature drawn twice weighs double in that subset's RDM
        raise ConfigError(f"feature subset {repeated} names a feature more than once ({np.asarray(subsets[repeated]).tolist()[:10]})",
                          "draw each subset without replacement: draw_subsets(data.shape[1], n_features, n_subsamples)", field="subsets")
    for subset in subsets:
        idx = torch.as_tensor(subset, device=x.device)
        idx = idx[finite[idx]]  # nan="drop": each subset without its non-finite features
        if not len(idx):
            raise AssemblyError([f"a subset of {len(finite)} features holds only non-finite values; fix: drop those features before subsampling"])
        acc += _rdm_tensor(x[:, idx], method)
    rdm = _wrap((acc / len(subsets)).cpu().numpy(), row_labels, descriptor, method)
    rdm.attrs.update(subsample_features=len(subsets[0]), subsamples=len(subsets))
    return rdm


def _patterns(
    data: xr.DataArray | np.ndarray | torch.Tensor, *, by: str | None, labels: Sequence[Any] | None
) -> tuple[Any, np.ndarray, str]:
    """Condition x feature patterns, their labels and the descriptor name (a pandas DataFrame: one row per condition,
    labelled by its index unless ``labels`` are given)."""
    if isinstance(data, torch.Tensor):
        data = data.detach()  # an RDM is a measurement: no gradient flows through it (numpy refuses a tensor that wants one)
    if isinstance(data, pd.DataFrame):
        numeric = data.select_dtypes("number")
        if numeric.shape[1] != data.shape[1]:
            text = [str(c) for c in data.columns if c not in numeric.columns][:3]
            raise ConfigError(f"the DataFrame has non-numeric column(s) {text}", "pass only the feature columns (e.g. df.drop(columns=...)),"
                              " with the condition labels as the index", field="data")
        labels = list(data.index) if labels is None else labels
        data = numeric.to_numpy(dtype=np.float64)
    if isinstance(data, xr.DataArray):
        assembly = data
        if TIME_BIN in assembly.dims:
            if assembly.sizes[TIME_BIN] != 1:
                raise AssemblyError(
                    [f"assembly has {assembly.sizes[TIME_BIN]} time bins; fix: neurosage.assembly.select_time first"]
                )
            assembly = assembly.squeeze(TIME_BIN, drop=True)
        if set(assembly.dims) != {PRESENTATION, NEUROID}:
            raise AssemblyError([f"RDMs need dims (presentation, neuroid), got {assembly.dims}; fix: rename or reduce the other dims"])
        assembly = assembly.transpose(PRESENTATION, NEUROID)
        descriptor = by or STIMULUS_ID
        if descriptor not in assembly.coords:
            raise AssemblyError(
                [f"missing presentation coord {descriptor!r}; fix: add it or choose another 'by'"]
            )
        values = np.asarray(assembly.values)
        row_labels = np.asarray(assembly[descriptor].values)
        if by is None:
            dup = pd.Series(row_labels).duplicated()
            if dup.any():
                raise AssemblyError(
                    [f"{int(dup.sum())} repeated stimulus_id(s); fix: neurosage.assembly.average_repetitions first"]
                )
            return values, row_labels, descriptor
        return (*_average_by(values, row_labels), descriptor)
    if not hasattr(data, "ndim") or not hasattr(data, "shape"):
        raise ConfigError(f"RDMs need an assembly or a 2-D (conditions x features) array, got {type(data).__name__}",
                          "pass np.asarray(responses) with one row per condition", field="data")
    if data.ndim != 2:
        raise ConfigError(f"RDMs need a 2-D (conditions x features) array, got shape {tuple(data.shape)}",
                          "flatten the features: data.reshape(n_conditions, -1)", field="data")
    if data.shape[0] < 2 or data.shape[1] < 1:
        raise ConfigError(f"an RDM needs at least 2 conditions and 1 feature, got shape {tuple(data.shape)}",
                          "pass one row per condition (stimulus) and one column per feature", field="data")
    n = data.shape[0]
    row_labels = np.arange(n) if labels is None else _condition_labels(labels)
    if len(row_labels) != n:
        raise ConfigError(f"{len(row_labels)} labels for {n} conditions", "give one label per row of the data", field="labels")
    if by is not None:  # an array has no coords: by= averages the rows that share a label
        if labels is None:
            raise ConfigError(f"by={by!r} names a coord, and an array has none", "pass labels= (one per row; rows that share a label are "
                              "averaged), or an assembly whose presentations carry that coord", field="by")
        if len(set(np.asarray(row_labels).tolist())) == n:
            warnings.warn(f"by={by!r}: every label is distinct, so no rows were averaged (an array has no coords; by= averages rows that "
                          "share a label)", RuntimeWarning, stacklevel=3)
        return (*_average_by(np.asarray(data), row_labels), "condition")
    repeated = pd.Series(row_labels).duplicated(keep=False)
    if labels is not None and repeated.any():  # two conditions under one name: any later alignment by label is ambiguous
        first = row_labels[int(np.argmax(repeated.to_numpy()))]
        first = first.item() if isinstance(first, np.generic) else first
        rows = [int(i) for i in np.flatnonzero(row_labels == first)]
        raise ConfigError(f"the condition label {first!r} is given to {len(rows)} rows ({rows[:5]}): an RDM's conditions must be distinct, "
                          "or it cannot be aligned with another by label", "give every row its own label, or pass by='condition' to "
                          "average the rows that share a label", field="labels")
    return data, row_labels, "condition"


def _condition_labels(labels: Any) -> np.ndarray:
    """``labels`` as a 1-D array of plain labels (text or numbers, none missing), else one error saying how to make them so."""
    if getattr(labels, "ndim", 1) > 1:
        raise ConfigError(f"labels is a {'x'.join(map(str, labels.shape))} array: condition labels are one per row of the data",
                          "flatten it if it holds one label per condition, e.g. labels=np.ravel(labels)", field="labels")
    items = list(labels.to_flat_index() if isinstance(labels, pd.MultiIndex) else labels)
    compound = next((x for x in items if isinstance(x, (tuple, list, np.ndarray))), None)
    if compound is not None:
        raise ConfigError(f"condition labels must be single values (text or numbers), got {compound!r} (a DataFrame with a MultiIndex, or "
                          "tuples)", "join each into one string, e.g. labels=['-'.join(map(str, t)) for t in ...], or df.reset_index(level=1, "
                          "drop=True) to keep one index level", field="labels")
    missing = [i for i, x in enumerate(items) if x is None or (isinstance(x, float) and np.isnan(x))]
    if missing:
        raise ConfigError(f"{len(missing)} condition label(s) are missing (None or NaN, first at row {missing[0]}): a missing label matches "
                          "nothing, so this RDM could be compared with no other", "give every row a label (e.g. its stimulus id)",
                          field="labels")
    return np.asarray(items)


def all_finite(t: torch.Tensor) -> bool:
    """No NaN or infinity in ``t``: one reduction (a finite sum has none), a full check only when the sum is not finite
    (which a sum of huge finite values can also be)."""
    return bool(torch.isfinite(t.sum())) or bool(torch.isfinite(t).all())


def _finite_features(x: torch.Tensor, nan: str) -> torch.Tensor:
    """``x`` (conditions x features) with only finite values, or an error naming the problem."""
    if all_finite(x):
        return x
    finite = torch.isfinite(x)
    bad = int((~finite.all(dim=0)).sum())
    if nan != "drop":
        raise AssemblyError([
            f"{int((~finite).sum())} non-finite value(s) in {bad} of {x.shape[1]} feature(s); "
            "fix: average repetitions NaN-aware, drop those neuroids, or pass nan='drop'"
        ])
    if bad == x.shape[1]:
        raise AssemblyError([f"every one of the {x.shape[1]} features has a non-finite value; fix: check the data"])
    warnings.warn(f"compute_rdm: dropped {bad} of {x.shape[1]} feature(s) with non-finite values", stacklevel=3)
    return x[:, finite.all(dim=0)]


def _as_tensor(patterns: Any, dtype: torch.dtype, device: str | torch.device | None) -> torch.Tensor:
    if isinstance(patterns, np.ndarray):
        if patterns.dtype.kind not in "biuf":
            raise ConfigError(f"RDMs need numbers, got an array of {patterns.dtype}",
                              "pass the responses as a float array (conditions x features)", field="data")
        patterns = np.ascontiguousarray(patterns)
    return torch.as_tensor(patterns, device=device).to(dtype)


def _average_by(values: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniques, codes = np.unique(labels, return_inverse=True)
    sums = np.zeros((len(uniques), values.shape[1]), dtype=np.float64)
    np.add.at(sums, codes, values)
    return sums / np.bincount(codes)[:, None], uniques


def _power_of_two_scale(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Per-slice power of two near ``max |x|`` along ``dim`` (1 where all zero): dividing by it is exact."""
    peak = x.abs().amax(dim=dim, keepdim=True)
    _, exponent = torch.frexp(torch.where(peak > 0, peak, torch.ones_like(peak)))
    return torch.ldexp(torch.ones_like(peak), exponent.to(peak.dtype))


def _rdm_tensor(x: torch.Tensor, method: str) -> torch.Tensor:
    """Full RDM of condition x feature patterns ``x`` by the registered ``method`` (a resolved name), zero diagonal."""
    return _checked(method_function(RDM_METHODS, method)(x), x.shape[0], method, x)


def _checked(rdm: Any, n: int, method: str, like: torch.Tensor) -> torch.Tensor:
    """A method's result as an ``(n, n)`` tensor on ``like``'s device and dtype, diagonal 0 (a plug-in's shape is checked)."""
    rdm = torch.as_tensor(rdm).to(device=like.device, dtype=like.dtype)
    if tuple(rdm.shape) != (n, n):
        raise ConfigError(f"RDM method {method!r} returned shape {tuple(rdm.shape)} for {n} conditions", "return an (n_conditions, n_conditions) "
                          "matrix (neurosage.rsa.methods.RDMFunction)", field="method")
    if not all_finite(rdm):
        raise ConfigError(f"RDM method {method!r} returned {int((~torch.isfinite(rdm)).sum())} NaN or infinite dissimilarities",
                          "check that the patterns suit the method (e.g. poisson needs non-negative rates), or use another method", field="method")
    return rdm.fill_diagonal_(0.0)


def _angular(x: torch.Tensor, *, centre: bool) -> torch.Tensor:
    """1 - cosine similarity of the rows of ``x`` (centred first: 1 - Pearson r); a constant row is 1 from every other."""
    name = "correlation" if centre else "cosine"
    if centre:
        x = x - x.mean(dim=1, keepdim=True)
    x = x / _power_of_two_scale(x, dim=1)  # exact (a power of two), and keeps 1e200 or 1e-200 patterns from over/underflowing
    norms = torch.linalg.vector_norm(x, dim=1, keepdim=True)
    degenerate = norms.squeeze(1) == 0
    if bool(degenerate.any()):
        warnings.warn(
            f"{int(degenerate.sum())} condition(s) have a constant pattern (zero "
            f"{'variance' if centre else 'norm'}); their {name} distance "
            "to every other condition is set to 1 (no similarity)",
            RuntimeWarning,
            stacklevel=5,
        )
        norms = torch.where(norms == 0, torch.ones_like(norms), norms)
    x = x / norms
    return 1.0 - x @ x.T


def _distances(x: torch.Tensor, *, squared: bool) -> torch.Tensor:
    """Euclidean distances of the rows of ``x``, or squared distances over the number of features (``squared``)."""
    scale = _power_of_two_scale(x.reshape(1, -1), dim=1).reshape(())
    x = x / scale
    sq = (x * x).sum(dim=1, keepdim=True)
    rdm = (sq + sq.T - 2.0 * (x @ x.T)).clamp_min_(0.0)
    rdm = rdm.mul_(scale**2 / x.shape[1]) if squared else rdm.sqrt_().mul_(scale)  # in place: one pass over the matrix
    if not all_finite(rdm):
        raise AssemblyError([f"{'sqeuclidean' if squared else 'euclidean'} distances overflow {x.dtype} (largest |value| about {float(scale):.3g}); "
                             "fix: rescale the data (e.g. divide by its standard deviation) or use dtype=torch.float64"])
    return rdm


def correlation_distance(patterns: torch.Tensor) -> torch.Tensor:
    """RDM method ``correlation``: 1 - Pearson r of every pair of patterns (one matrix product)."""
    return _angular(patterns, centre=True)


def cosine_distance(patterns: torch.Tensor) -> torch.Tensor:
    """RDM method ``cosine``: 1 - cosine similarity of every pair of patterns."""
    return _angular(patterns, centre=False)


def euclidean_distance(patterns: torch.Tensor) -> torch.Tensor:
    """RDM method ``euclidean``: the Euclidean distance of every pair of patterns."""
    return _distances(patterns, squared=False)


def sqeuclidean_distance(patterns: torch.Tensor) -> torch.Tensor:
    """RDM method ``sqeuclidean``: squared Euclidean distance / features (rsatoolbox's ``euclidean``)."""
    return _distances(patterns, squared=True)


def poisson_distance(patterns: torch.Tensor) -> torch.Tensor:
    """RDM method ``poisson``: rsatoolbox's symmetrised KL divergence of Poisson rates with its default prior (rate 1,
    weight 0.1), for spike counts or firing rates; patterns must be non-negative.

    As rsatoolbox's ``calc_rdm_poisson``: rates ``r = (x + 0.1) / 1.1``, ``K = r log(r)^T``,
    ``d_ij = (K_ii + K_jj - K_ij - K_ji) / features``; one matrix product on the patterns' device (equal to rsatoolbox to
    1e-12, ``tests/rsa/test_rdm.py``)."""
    values = patterns.to(torch.float64)
    negative = int((values < 0).sum())
    if negative:
        raise ConfigError(f"poisson RDMs need non-negative patterns (spike counts or rates), got {negative} negative value(s)",
                          "use rdm-method correlation or sqeuclidean for signed data (network layers, z-scored responses)", field="rdm_method")
    prior_rate, prior_weight = 1.0, 0.1
    rates = (values + prior_rate * prior_weight) / (1 + prior_weight)
    kernel = rates @ torch.log(rates).T
    own = torch.diagonal(kernel)
    rdm = (own[None, :] + own[:, None] - kernel - kernel.T) / values.shape[1]
    rdm.fill_diagonal_(0.0)
    return rdm


def crossnobis_distance(patterns: torch.Tensor, *, conditions: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """RDM method ``crossnobis``: rsatoolbox's leave-one-fold-out crossnobis distance (identity noise) of the trials
    ``patterns``, rows and columns in the order of the condition codes ``0..n-1``."""
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    descriptors = {"condition": np.asarray(conditions).astype(str), "fold": np.asarray(folds).astype(str)}  # text: rsatoolbox fills NaN in them
    dataset = Dataset(patterns.detach().cpu().numpy().astype(np.float64), obs_descriptors=descriptors)
    result = calc_rdm(dataset, method="crossnobis", descriptor="condition", cv_descriptor="fold")
    if isinstance(result, list):  # calc_rdm returns a list only for a list of datasets
        raise TypeError(f"rsatoolbox calc_rdm returned {len(result)} RDMs objects for one dataset")
    order = np.argsort(np.asarray(result.pattern_descriptors["condition"]).astype(np.int64))
    return result.get_matrices()[0][np.ix_(order, order)]


def _wrap(rdm: np.ndarray, labels: np.ndarray, descriptor: str, method: str) -> xr.DataArray:
    return xr.DataArray(
        rdm,
        dims=(ROW, COL),
        coords={ROW: labels, COL: labels},
        attrs={"method": method, "descriptor": descriptor},
    )


def _condition_coords(data: Any, descriptor: str) -> dict[str, tuple[str, np.ndarray]]:
    """An assembly's other per-stimulus presentation coords (e.g. ``category_name``, ``image_id``), as coords along the
    RDM's rows: they travel to rsatoolbox as pattern descriptors."""
    if not isinstance(data, xr.DataArray) or PRESENTATION not in data.dims:
        return {}
    out = {}
    for name, coord in data.coords.items():
        if name in (descriptor, PRESENTATION, ROW, COL) or coord.dims != (PRESENTATION,) or coord.dtype.kind not in "biufUSO":
            continue
        values = np.asarray(coord.values)
        out[str(name)] = (ROW, values.astype(str) if values.dtype.kind == "O" else values)
    return out


def upper_triangle(rdms: xr.DataArray | np.ndarray | torch.Tensor) -> np.ndarray:
    """Upper triangles (diagonal excluded) as ``(n_rdms, n_pairs)`` (or ``(n_pairs,)`` for one RDM), row by row; a plain
    array of square matrices (``(..., n, n)``) is read as it is."""
    check_arguments(upper_triangle, locals())
    if isinstance(rdms, (np.ndarray, torch.Tensor)):
        values = np.asarray(rdms.detach().cpu() if isinstance(rdms, torch.Tensor) else rdms)
        if values.ndim < 2 or values.shape[-1] != values.shape[-2]:
            raise RDMAlignmentError(f"rdms is an array of shape {values.shape}, not square matrices (..., n, n)",
                                    "pass RDMs made by compute_rdm/compute_rdms, or an array of square RDMs", field="rdms")
        _refuse_non_rdm(values)
        n = values.shape[-1]
    else:
        if not isinstance(rdms, xr.DataArray) or not {ROW, COL} <= set(rdms.dims):
            check_rdms(rdms)  # names what it is instead
        n = rdms.sizes[ROW]
        values = np.asarray(rdms.transpose(..., ROW, COL).values)
    return np.take(values.reshape(*values.shape[:-2], n * n), _triangle_positions(n), axis=-1)


def _refuse_non_rdm(values: np.ndarray) -> None:
    """Refuse square matrices that are not dissimilarities: asymmetric (the lower triangle, dropped, would differ) or with
    a diagonal that is not 0 (a similarity or correlation matrix, whose triangle is read the wrong way round)."""
    if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        return  # named by the comparisons' own checks
    finite = np.where(np.isfinite(values), values, 0.0).astype(np.float64, copy=False)
    scale = max(float(np.abs(finite).max(initial=0.0)), 1e-300)
    asymmetry = float(np.abs(finite - np.swapaxes(finite, -1, -2)).max(initial=0.0))
    if asymmetry > 1e-6 * scale:
        raise RDMAlignmentError(f"rdms is not symmetric (|A - A.T| up to {asymmetry:.3g}): an RDM's entry (i, j) is its entry (j, i), and "
                                "the lower triangle would be dropped unread", "pass RDMs made by compute_rdm/compute_rdms, or symmetrise "
                                "yours ((A + A.T) / 2) if the asymmetry is noise", field="rdms")
    diagonal = float(np.abs(np.diagonal(finite, axis1=-2, axis2=-1)).max(initial=0.0))
    if diagonal > 1e-6 * scale:
        raise RDMAlignmentError(f"rdms has a diagonal that is not 0 (up to {diagonal:.3g}): a dissimilarity of a stimulus with itself is 0, "
                                "so this looks like a similarity (correlation) matrix", "give dissimilarities, e.g. 1 - r for a correlation "
                                "matrix r, or RDMs made by compute_rdm", field="rdms")


@functools.lru_cache(maxsize=8)
def _triangle_positions(n: int) -> np.ndarray:
    """Flat positions of an ``n x n`` matrix's upper triangle (diagonal excluded), in ``np.triu_indices`` order."""
    i, j = np.triu_indices(n, k=1)
    positions = i * n + j
    positions.flags.writeable = False
    return positions


def align_rdms(
    a: xr.DataArray, b: xr.DataArray, *, how: Literal["strict", "intersect"] = "strict"
) -> tuple[xr.DataArray, xr.DataArray]:
    """Put ``b``'s conditions in ``a``'s order, matching by label.

    ``how="strict"`` raises :class:`RDMAlignmentError` when the label sets differ;
    ``how="intersect"`` keeps the shared labels (in ``a``'s order) with a warning.
    """
    check_arguments(align_rdms, locals())
    check_choices(align_rdms, locals())
    for name, rdm in (("first", a), ("second", b)):
        dims = set(map(str, rdm.dims))
        if not {ROW, COL} <= dims or dims - {ROW, COL, STACK}:
            raise RDMAlignmentError(f"the {name} RDM has dims {tuple(map(str, rdm.dims))}; an RDM has {(ROW, COL)} (and {STACK!r} for a "
                                    "stack)", f"rename them back, e.g. rdm.rename({{'row': {ROW!r}, 'col': {COL!r}}}), or make RDMs with "
                                    "compute_rdm", field="condition labels")
    la, lb = np.asarray(a[ROW].values), np.asarray(b[ROW].values)
    for name, labels in (("first", la), ("second", lb)):
        dup = pd.Series(labels).duplicated()
        if dup.any():
            raise RDMAlignmentError(f"the {name} RDM repeats condition labels, e.g. {labels[dup.values][:3].tolist()}",
                                    "average repetitions first, or give each condition its own label", field="condition labels")
    if len(la) == len(lb) and np.array_equal(la, lb):
        return a, b
    set_b = set(lb.tolist())
    shared = [x for x in la.tolist() if x in set_b]
    if len(shared) != len(la) or len(shared) != len(lb):
        only_a = [x for x in la.tolist() if x not in set_b][:3]
        set_a = set(la.tolist())
        only_b = [x for x in lb.tolist() if x not in set_a][:3]
        msg = (
            f"RDM conditions differ: {len(la)} vs {len(lb)} labels, {len(shared)} shared "
            f"(only in first e.g. {only_a}; only in second e.g. {only_b})"
        )
        kinds = [sorted({type(x).__name__ for x in labels.tolist()}) for labels in (la, lb)]
        if not shared and kinds[0] != kinds[1]:
            raise RDMAlignmentError(f"{msg}: the first RDM's labels are {'/'.join(kinds[0])}, the second's {'/'.join(kinds[1])}",
                                    "label both RDMs with values of one type (e.g. str() of each label) before comparing",
                                    field="condition labels")
        if how != "intersect":
            raise RDMAlignmentError(msg, "use the same stimuli for both, or pass how='intersect'", field="condition labels")
        if len(shared) < 3:
            raise RDMAlignmentError(msg + "; fewer than 3 shared conditions, nothing to compare", "use RDMs of the same stimuli",
                                    field="condition labels")
        warnings.warn(msg + f"; comparing the {len(shared)} shared conditions", RuntimeWarning, stacklevel=2)
    sel = {ROW: shared, COL: shared}
    return a.sel(sel), b.sel(sel)
