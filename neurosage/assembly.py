"""Neural and network response assemblies in the Brain-Score convention.

An assembly is an :class:`xarray.DataArray` with dims ``presentation x neuroid``
(optionally ``x time_bin``). ``presentation`` carries ``stimulus_id`` (plus any
stimulus metadata such as ``category_name``, ``object_name``, ``repetition``);
``neuroid`` carries ``neuroid_id`` and ``region`` (a brain area such as ``"V4"`` or
a network layer name). ``time_bin`` carries ``time_bin_start``/``time_bin_end``
in milliseconds.

Coordinates are kept flat (plain, non-index coordinates), exactly as BrainIO
stores them in netCDF; :func:`gather_indexes` rebuilds Brain-Score's MultiIndexes
when a user wants ``assembly.sel(region="IT")``. :func:`write_assembly` writes a file
Brain-Score reads as it reads its own: ``image_id`` beside ``stimulus_id`` (BrainIO's
``gather_indexes`` turns a dim's only coord into the dim's index, which loses its name)
and, for activations, ``layer`` beside ``region``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neurosage.core.errors import ConfigError, NeurosageError
from neurosage.core.validate import check_arguments

__all__ = ["netcdf_attr",
    "AssemblyError",
    "make_assembly",
    "validate",
    "average_repetitions",
    "select_time",
    "select_regions",
    "regions",
    "gather_indexes",
    "brainio_coords",
    "write_assembly",
]

log = logging.getLogger(__name__)

PRESENTATION, NEUROID, TIME_BIN = "presentation", "neuroid", "time_bin"
STIMULUS_ID, NEUROID_ID, REGION = "stimulus_id", "neuroid_id", "region"

#: Values along one dim (one per presentation or per neuroid): a list, a tuple or a 1-D array.
Column = Sequence[Any] | np.ndarray


class AssemblyError(NeurosageError, ValueError):
    """An assembly breaks the conventions; ``problems`` lists each problem with its fix."""

    def __init__(self, problems: Sequence[str], source: str | None = None, field: str = "data"):
        self.problems = list(problems)
        self.source = source
        super().__init__("; ".join(self.problems), "fix each problem as it says", file=source, field=field)
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        self.args = (f"invalid assembly{where} ({len(self.problems)} problem(s)):\n{lines}",)  # one line per problem

    def split(self) -> tuple[str, str]:
        """``(problem, fix)``: the problems and their fixes, each joined, for an error with one ``fix:`` clause."""
        pairs = [p.partition("; fix: ") for p in self.problems]
        fixes = list(dict.fromkeys(fix for _, sep, fix in pairs if sep))
        return "; ".join(problem for problem, _, _ in pairs), "; ".join(fixes) or "fix each problem as it says"


def make_assembly(
    values: Any,
    *,
    stimulus_id: Column,
    region: str | Column,
    neuroid_id: Column | None = None,
    presentation_coords: Mapping[str, Column] | None = None,
    neuroid_coords: Mapping[str, Column] | None = None,
    time_bins: Sequence[tuple[float, float]] | None = None,
    name: str | None = None,
    attrs: Mapping[str, Any] | None = None,
    allow_nan: bool = False,
) -> xr.DataArray:
    """Build a validated assembly from an array plus metadata.

    Parameters
    ----------
    values
        Array of shape ``(n_presentations, n_neuroids)`` or
        ``(n_presentations, n_neuroids, n_time_bins)``.
    stimulus_id
        One id per presentation (repeats allowed for repetitions).
    region
        One region name for all neuroids, or one per neuroid.
    neuroid_id
        One id per neuroid; defaults to ``"<region>_<index>"``.
    presentation_coords, neuroid_coords
        Extra metadata per presentation / neuroid (e.g. ``category_name``).
    time_bins
        ``(start_ms, end_ms)`` per time bin, required for 3-D ``values``.
    allow_nan
        Accept NaNs (raw trials to be averaged with :func:`average_repetitions`).

    The assembly carries what Brain-Score reads from the start (:func:`brainio_coords`: ``image_id`` = ``stimulus_id``,
    ``neuroid_num``), so a plain ``.to_netcdf`` is readable by BrainIO too; activations get ``layer`` when written
    (:func:`write_assembly`), from their region as it is then.
    """
    check_arguments(make_assembly, locals())
    values = np.asarray(values)
    if values.ndim not in (2, 3):
        raise AssemblyError(
            [f"values must be 2-D (presentation x neuroid) or 3-D (+ time_bin), got shape {values.shape}; fix: reshape to (presentations, neuroids)"]
        )
    n_pres, n_neur = values.shape[:2]
    def count(column: Any) -> int | None:
        return len(column) if hasattr(column, "__len__") and not isinstance(column, str) else None

    n_ids, per_neuroid = count(stimulus_id), {count(region), count(neuroid_id)}
    if values.ndim == 2 and n_ids == n_neur != n_pres and per_neuroid == {None}:  # the ids fit the columns, and nothing else tells
        raise AssemblyError([f"coord 'stimulus_id' has {n_ids} ids and the values {n_pres} rows (presentations), while their {n_neur} "
                             "columns match the ids: the array may be transposed (neuroids x presentations); fix: pass values.T if the "
                             "rows are neuroids, else give one stimulus_id per row"])
    if values.ndim == 2 and n_ids == n_neur != n_pres and n_pres in per_neuroid:  # neuroids x presentations, by both sides' metadata
        raise AssemblyError([f"values have shape {values.shape} and there are {n_ids} stimulus ids: the array looks transposed (neuroids x "
                             "presentations); fix: pass values.T (rows are presentations, columns neuroids)"])
    regions_ = [region] * n_neur if isinstance(region, str) else list(_column(region, n_neur, REGION, NEUROID))
    if neuroid_id is None:
        neuroid_id = [f"{r}_{i}" for i, r in enumerate(regions_)]
    coords: dict[str, tuple[str, Any]] = {
        STIMULUS_ID: (PRESENTATION, _column(stimulus_id, n_pres, STIMULUS_ID, PRESENTATION)),
        NEUROID_ID: (NEUROID, _column(neuroid_id, n_neur, NEUROID_ID, NEUROID)),
        REGION: (NEUROID, _column(regions_, n_neur, REGION, NEUROID)),
    }
    given = {STIMULUS_ID: "stimulus_id=", NEUROID_ID: "neuroid_id=", REGION: "region=", "time_bin_start": "time_bins=",
             "time_bin_end": "time_bins="}
    for extra, where in ((presentation_coords or {}, "presentation_coords"), (neuroid_coords or {}, "neuroid_coords")):
        twice = next((k for k in extra if k in given), None)
        if twice is not None:  # the mapping's column would silently replace the argument's
            raise AssemblyError([f"coord {twice!r} is given twice, as {given[twice]} and in {where}; fix: give it once (drop it from {where})"])
        given.update(dict.fromkeys(extra, where))
    for key, col in (presentation_coords or {}).items():
        coords[key] = (PRESENTATION, _column(col, n_pres, key, PRESENTATION))
    for key, col in (neuroid_coords or {}).items():
        coords[key] = (NEUROID, _column(col, n_neur, key, NEUROID))
    dims: tuple[str, ...] = (PRESENTATION, NEUROID)
    if values.ndim == 2 and time_bins is not None:  # no time axis: the bins would be dropped
        raise AssemblyError([f"time_bins is given, and the values are 2-D {values.shape} (no time axis); fix: drop time_bins, or give one "
                             "bin's responses as values[..., None] with time_bins=[(start, end)]"])
    if values.ndim == 3:
        if time_bins is None or len(time_bins) != values.shape[2]:
            raise AssemblyError([f"3-D values need {values.shape[2]} (start, end) pairs in time_bins; fix: pass time_bins=[(70, 170), ...]"])
        single = next((b for b in time_bins if not (isinstance(b, (tuple, list, np.ndarray)) and len(b) == 2)), None)
        if single is not None:  # [70, 170] meant as one bin, or bins given by their starts
            raise AssemblyError([f"each time bin is a (start, end) pair in ms, and time_bins holds {single!r}; fix: pass time_bins="
                                 f"[(70, 170), ...] (one pair per bin of the values' last axis)"])
        starts, ends = zip(*time_bins)
        coords["time_bin_start"] = (TIME_BIN, np.asarray(starts))
        coords["time_bin_end"] = (TIME_BIN, np.asarray(ends))
        dims = dims + (TIME_BIN,)
    assembly = xr.DataArray(values, dims=dims, coords=coords, name=name, attrs=dict(attrs or {}))
    # Brain-Score-readable from creation (image_id, neuroid_num); an activations' layer coord is added when written, so it follows
    # its region as it is then
    return brainio_coords(validate(assembly, allow_nan=allow_nan), layer=False)


def _column(values: Column, n: int, key: str, dim: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise AssemblyError([f"coord {key!r} has shape {arr.shape}, but dim {dim!r} has length {n}; fix: give one {key} per {dim}"])
    return arr


def validate(
    assembly: xr.DataArray,
    *,
    source: str | None = None,
    unique_stimuli: bool = False,
    allow_nan: bool = False,
) -> xr.DataArray:
    """Check an assembly against the conventions; return it (``stimulus_id`` as str) or raise.

    Every problem found is listed in one :class:`AssemblyError` with the fix. The one
    normalisation: ``stimulus_id`` values become strings, so ids from files, arrays
    and image sets compare equal everywhere downstream.

    Parameters
    ----------
    assembly
        The assembly to check.
    source
        File or dataset name used in error messages.
    unique_stimuli
        Require one presentation per ``stimulus_id`` (true after averaging repetitions).
    allow_nan
        Accept NaN values (raw recordings with missing trials); inf is never accepted.
    """
    if not isinstance(assembly, xr.DataArray):
        raise AssemblyError([f"expected an xarray.DataArray, got {type(assembly).__name__}; fix: build one with neurosage.assembly.make_assembly"],
                            source)
    check_arguments(validate, locals())
    problems: list[str] = []
    dims = set(assembly.dims)
    if {"condition_row", "condition_col"} <= dims:  # an RDM given where a recording goes
        raise AssemblyError([f"this is an RDM (dims {tuple(map(str, assembly.dims))}), not a recording (presentation x neuroid); fix: give "
                             "the recording the RDM was computed from (RDMs are checked by compare_rdms and align_rdms)"])
    for dim in (PRESENTATION, NEUROID):
        if dim not in dims:
            problems.append(
                f"missing dim {dim!r} (dims are {tuple(assembly.dims)}); "
                f"fix: rename your dims, e.g. assembly.rename({{'image': 'presentation', 'unit': 'neuroid'}})"
            )
    extra = dims - {PRESENTATION, NEUROID, TIME_BIN}
    if extra:
        problems.append(f"unexpected dim(s) {sorted(str(d) for d in extra)}; fix: average or select them away")
    for coord, dim in ((STIMULUS_ID, PRESENTATION), (NEUROID_ID, NEUROID), (REGION, NEUROID)):
        if dim in dims and not _has_coord(assembly, coord, dim):
            problems.append(
                f"missing coord {coord!r} on dim {dim!r}; fix: "
                f"assembly.assign_coords({coord}=({dim!r}, values))"
            )
    if problems:
        raise AssemblyError(problems, source)

    for d in assembly.dims:
        if assembly.sizes[d] == 0:
            problems.append(f"dim {d!r} is empty; fix: check the selection that produced this assembly")
    region = assembly[REGION].values
    empty = [i for i, r in enumerate(region) if r is None or (isinstance(r, float) and np.isnan(r))
             or (isinstance(r, str) and (not r.strip() or r.strip().lower() == "nan"))]
    if empty:
        problems.append(
            f"{len(empty)} neuroid(s) have an empty region (first at index {empty[0]}); "
            "fix: give every neuroid a region name such as 'V4' or a layer name"
        )
    for coord, fix in ((STIMULUS_ID, "give every presentation the id of its image"), (NEUROID_ID, "give every neuroid (site, unit) an id")):
        blank = [i for i, v in enumerate(assembly[coord].values) if _blank(v)]
        if blank:
            problems.append(f"{len(blank)} empty {coord} value(s) (None, NaN or '', first at index {blank[0]}); fix: {fix}")
    problems += _duplicates(assembly, NEUROID_ID, "give every neuroid (site, unit) its own id")
    if TIME_BIN in dims:
        problems += _time_bin_problems(assembly)
    if unique_stimuli:
        problems += _duplicates(assembly, STIMULUS_ID, "call neurosage.assembly.average_repetitions(assembly)")
    problems.extend(_finite_problems(assembly, allow_nan))
    if problems:
        raise AssemblyError(problems, source)
    if assembly[STIMULUS_ID].dtype.kind != "U":
        assembly = assembly.assign_coords({STIMULUS_ID: (PRESENTATION, assembly[STIMULUS_ID].values.astype(str))})
    return assembly


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and not value.strip())


def _time_bin_problems(assembly: xr.DataArray) -> list[str]:
    """Bin edges present, finite and each bin at least 1 ms long with its end after its start."""
    if not all(_has_coord(assembly, c, TIME_BIN) for c in ("time_bin_start", "time_bin_end")):
        return [f"missing coord 'time_bin_start' or 'time_bin_end' on dim {TIME_BIN!r}; fix: add each bin's edges in ms"]
    try:
        starts = np.asarray(assembly["time_bin_start"].values, dtype=float)
        ends = np.asarray(assembly["time_bin_end"].values, dtype=float)
    except (TypeError, ValueError):
        return ["time bin edges are not numbers; fix: give time_bin_start and time_bin_end in ms"]
    bad = np.flatnonzero(~np.isfinite(starts) | ~np.isfinite(ends) | (ends <= starts))
    if not len(bad):
        return []
    i = int(bad[0])
    return [f"{len(bad)} time bin(s) with a missing, reversed or zero-length span, e.g. bin {i}: {starts[i]:g}-{ends[i]:g} ms; "
            "fix: give every bin a start before its end (ms)"]


def _duplicates(assembly: xr.DataArray, coord: str, fix: str) -> list[str]:
    values = pd.Series(assembly[coord].values)
    repeated = values[values.duplicated()].unique()
    return [f"{len(repeated)} duplicate {coord} value(s), e.g. {list(repeated[:3])}; fix: {fix}"] if len(repeated) else []


def _has_coord(assembly: xr.DataArray, coord: str, dim: str) -> bool:
    return coord in assembly.coords and assembly[coord].dims == (dim,)


def _finite_problems(assembly: xr.DataArray, allow_nan: bool) -> list[str]:
    values = np.asarray(assembly.values)
    if not np.issubdtype(values.dtype, np.number):
        return [f"values have non-numeric dtype {values.dtype}; fix: convert to float"]
    if not np.issubdtype(values.dtype, np.floating):
        return []
    if values.size and not np.isfinite(values).any():
        return ["the assembly holds no finite value (every response is NaN or infinite); fix: write the recorded responses into it"]
    problems = []
    bad_kinds = [("inf", np.isinf(values))] + ([] if allow_nan else [("NaN", np.isnan(values))])
    for kind, mask in bad_kinds:
        count = int(mask.sum())
        if not count:
            continue
        axes = tuple(i for i, d in enumerate(assembly.dims) if d != NEUROID)
        per_neuroid = mask.any(axis=axes) if axes else mask
        ids = assembly[NEUROID_ID].values[per_neuroid]
        regs = sorted({str(r) for r in assembly[REGION].values[per_neuroid]})
        problems.append(
            f"{count} {kind} value(s) in {len(ids)} neuroid(s) (e.g. {list(ids[:3])}; regions {regs}); "
            "fix: drop those neuroids, or average repetitions with NaN-aware averaging first"
        )
    return problems


def regions(assembly: xr.DataArray) -> list[str]:
    """Region names in order of first appearance."""
    check_arguments(regions, locals())
    if REGION not in assembly.coords:
        raise AssemblyError([f"the assembly has no {REGION!r} coord along {NEUROID!r} (its coords: {[str(c) for c in assembly.coords]}); "
                             "fix: give each neuroid its region, e.g. assembly.assign_coords(region=('neuroid', names))"])
    return list(dict.fromkeys(str(r) for r in assembly[REGION].values))


def select_regions(
    assembly: xr.DataArray, names: Sequence[str], *, coord: str = REGION
) -> dict[str, xr.DataArray]:
    """Split an assembly into one assembly per region (or subregion) name.

    Raises
    ------
    AssemblyError
        When a requested name is absent, naming the names that exist.
    """
    if isinstance(names, str):  # a list of its letters otherwise
        raise AssemblyError([f"names is the string {names!r}; fix: pass a list of region names, e.g. [{names!r}]"])
    check_arguments(select_regions, locals())
    if not len(names):  # nothing selected is no selection: {} would score nothing without a word
        present = sorted(map(str, set(assembly[coord].values)))[:3] if coord in assembly.coords else ["V4"]
        raise AssemblyError([f"names is empty; fix: name at least one region, e.g. {present}"])
    if coord not in assembly.coords:
        raise AssemblyError([f"no coord {coord!r} on the neuroid dim; available: {list(assembly.coords)}; fix: choose one of those"])
    labels = assembly[coord].values.astype(str)
    available = [str(x) for x in dict.fromkeys(labels)]
    missing = [n for n in names if n not in available]
    if missing:
        raise AssemblyError(
            [f"unknown {coord} {missing}; this assembly has {available}; fix: choose from those"]
        )
    return {n: assembly.isel({NEUROID: np.flatnonzero(labels == n)}) for n in names}


def average_repetitions(assembly: xr.DataArray, *, by: str = STIMULUS_ID) -> xr.DataArray:
    """Average presentations that share a ``stimulus_id``, ignoring NaNs.

    Presentation coords that are constant within every stimulus (category,
    object, ...) are kept; coords that vary (``repetition``, trial ids) are dropped.
    Stimuli keep their order of first appearance. A stimulus whose values are all
    NaN for a neuroid stays NaN there (and :func:`validate` will report it).
    """
    check_arguments(average_repetitions, locals())
    if PRESENTATION not in assembly.dims:
        raise AssemblyError([f"average_repetitions takes a recording (presentation x neuroid), got dims {tuple(map(str, assembly.dims))}"
                             + (" (an RDM)" if "condition_row" in assembly.dims else "") + "; fix: average the recording before its RDM is computed"])
    presentation = [str(n) for n, c in assembly.coords.items() if c.dims == (PRESENTATION,)]
    if by not in assembly.coords or assembly[by].dims != (PRESENTATION,):
        import difflib

        near = difflib.get_close_matches(by, presentation, n=1, cutoff=0.6) or difflib.get_close_matches(by.lower(), presentation, n=1)
        where = (f"{by!r} is a coord along {assembly[by].dims}, not along {PRESENTATION!r}" if by in assembly.coords
                 else f"the assembly has no coord {by!r}")
        raise AssemblyError([f"average_repetitions: by names the presentation coord that repeats for the same stimulus, and {where}; "
                             f"fix: {'by=' + repr(near[0]) if near else 'one of ' + str(presentation)}"
                             + (f" (the presentation coords are {presentation})" if near else "")])
    assembly = assembly.transpose(PRESENTATION, ...)
    codes, uniques = pd.factorize(assembly[by].values, sort=False)
    identity = next((c for c in (STIMULUS_ID, "image_id") if c != by and c in assembly.coords and assembly[c].dims == (PRESENTATION,)),
                    None)  # what names a stimulus: stimulus_id, or BrainIO's image_id when a recording has only that
    if identity is not None:
        mixed = pd.Series(assembly[identity].values).groupby(codes).nunique()
        if (mixed > 1).any():  # by='repetition': each group would average different stimuli, and their ids would be dropped
            value = uniques[int(mixed.idxmax())]
            raise AssemblyError([f"average_repetitions: by={by!r} groups presentations of different stimuli (its value "
                                 f"{getattr(value, 'item', lambda: value)()!r} holds {int(mixed.max())} {identity} values), so their average "
                                 f"would mix them; fix: by names the coord that is the same for every repetition of one stimulus (here "
                                 f"by={identity!r}); a coord that counts repetitions ({by!r}) is dropped by the averaging"])
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    values = np.asarray(assembly.values, dtype=np.float64 if assembly.dtype.kind != "f" else assembly.dtype)
    flat = values[order].reshape(len(order), -1)
    finite = ~np.isnan(flat)
    sums = np.add.reduceat(np.where(finite, flat, 0.0), starts, axis=0)
    counts = np.add.reduceat(finite.astype(np.int64), starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (sums / counts).astype(values.dtype, copy=False)
    means = means.reshape((len(uniques),) + values.shape[1:])

    first = order[starts]
    coords: dict[Hashable, Any] = {}
    for name, coord in assembly.coords.items():
        if coord.dims == (PRESENTATION,):
            col = coord.values
            firsts = col[first]
            if _constant_within_groups(col, codes, firsts):
                coords[name] = (PRESENTATION, firsts)
            else:
                log.debug("average_repetitions drops coord %r: it varies within a stimulus", name)
        elif PRESENTATION not in coord.dims:
            coords[name] = coord
    return xr.DataArray(means, dims=assembly.dims, coords=coords, name=assembly.name, attrs=assembly.attrs)


def _constant_within_groups(col: np.ndarray, codes: np.ndarray, firsts: np.ndarray) -> bool:
    expanded = firsts[codes]
    try:
        same = expanded == col
        if col.dtype.kind == "f":
            same |= np.isnan(expanded) & np.isnan(col)
        return bool(np.all(same))
    except TypeError:
        return all(a == b for a, b in zip(expanded, col))


def select_time(assembly: xr.DataArray, start: float, end: float) -> xr.DataArray:
    """Average the time window ``[start, end]`` ms, weighting every millisecond once, and drop the time dim.

    Bins lying within the window are used. When they do not overlap, their means are weighted by
    their durations. When they overlap (e.g. 20 ms bins stepped by 10 ms), a chain of
    back-to-back bins that covers the same span is used instead, so that no millisecond counts twice;
    overlapping bins with no such chain are refused. With the single 70-170 ms bin of MajajHong2015,
    ``select_time(a, 70, 170)`` just squeezes it.
    """
    check_arguments(select_time, locals())
    if TIME_BIN not in assembly.dims:
        raise AssemblyError([f"no {TIME_BIN!r} dim to select from; fix: none needed, the assembly is already time-averaged"])
    for c in ("time_bin_start", "time_bin_end"):
        if c not in assembly.coords:
            raise AssemblyError([f"missing coord {c!r} on {TIME_BIN!r}; fix: add bin edges in ms"])
    problems = _time_bin_problems(assembly)
    try:
        lo, hi = (float("nan"), float("nan")) if isinstance(start, bool) or isinstance(end, bool) else (float(start), float(end))
    except (TypeError, ValueError):
        lo, hi = float("nan"), float("nan")
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        problems.append(f"window [{start}, {end}] ms is not a finite span with its end after its start; fix: e.g. select_time(a, 70, 170)")
    if problems:
        raise AssemblyError(problems)
    starts = np.asarray(assembly["time_bin_start"].values, dtype=float)
    ends = np.asarray(assembly["time_bin_end"].values, dtype=float)
    start, end = lo, hi
    inside = np.flatnonzero((starts >= start) & (ends <= end))
    if not len(inside):
        bins = list(zip(starts.tolist(), ends.tolist()))
        raise AssemblyError([f"no time bin lies within [{start}, {end}] ms; bins are {bins[:10]}; fix: choose a window that covers whole bins"])
    chosen = _tiling_bins(starts, ends, inside)
    weights = xr.DataArray(ends[chosen] - starts[chosen], dims=TIME_BIN)
    sub = assembly.isel({TIME_BIN: chosen})
    out = sub.weighted(weights).mean(TIME_BIN, skipna=True, keep_attrs=True)
    out = out.drop_vars([c for c in ("time_bin_start", "time_bin_end") if c in out.coords])
    out.attrs["time_window_ms"] = (float(starts[chosen].min()), float(ends[chosen].max()))
    return out


def _tiling_bins(starts: np.ndarray, ends: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Indices of bins among ``inside`` that cover their span with every millisecond exactly once."""
    order = inside[np.lexsort((ends[inside], starts[inside]))]
    if np.all(starts[order][1:] >= ends[order][:-1]):  # no overlap: all of them
        return order
    lo, hi = starts[order].min(), ends[order].max()
    chain, t = [], lo
    while t < hi:
        nxt = [i for i in order if starts[i] == t]
        if not nxt:
            break
        i = max(nxt, key=lambda k: ends[k])
        chain.append(i)
        t = ends[i]
    if t != hi:
        raise AssemblyError([
            f"the time bins in [{lo:g}, {hi:g}] ms overlap and no back-to-back subset of them covers that span, "
            "so averaging them would count some milliseconds twice; fix: choose a window whose edges fall on bin edges "
            "of one back-to-back series (e.g. 70-170 with 20 ms bins every 10 ms), or average the raw bins yourself"
        ])
    return np.asarray(chain)


def brainio_coords(assembly: xr.DataArray, *, layer: bool = True) -> xr.DataArray:
    """``assembly`` with what BrainIO and Brain-Score read: ``image_id`` (= ``stimulus_id``) when absent, so that the
    presentation dim has two coords and BrainIO's ``gather_indexes`` keeps ``stimulus_id`` by name (a dim's only coord
    becomes the dim's index); ``neuroid_num`` (the position) when absent, so that ``assembly.sel(region="V4")`` in
    Brain-Score still leaves a MultiIndex; ``layer`` (= ``region``) on activations (an assembly named
    ``"activations"``), as Brain-Score's own activations carry."""
    check_arguments(brainio_coords, locals())
    if PRESENTATION not in assembly.dims or NEUROID not in assembly.dims:  # an RDM or a stack of them: no BrainIO assembly
        what = "an RDM" if "condition_row" in assembly.dims else f"an array of dims {tuple(map(str, assembly.dims))}"
        raise AssemblyError([f"brainio_coords takes a recording or activations (dims presentation x neuroid), got {what}; fix: give the "
                             "assembly itself (RDMs are written with neurosage.rsa.outputs.write_rdms)"])
    if STIMULUS_ID in assembly.coords and "image_id" not in assembly.coords:
        assembly = assembly.assign_coords(image_id=(PRESENTATION, np.asarray(assembly[STIMULUS_ID].values)))
    if NEUROID in assembly.dims and "neuroid_num" not in assembly.coords:
        assembly = assembly.assign_coords(neuroid_num=(NEUROID, np.arange(assembly.sizes[NEUROID])))
    if layer and assembly.name == "activations" and REGION in assembly.coords and "layer" not in assembly.coords:
        assembly = assembly.assign_coords(layer=(NEUROID, np.asarray(assembly[REGION].values)))
    return assembly


def write_assembly(assembly: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write an assembly (validated) to netCDF as BrainIO does, with :func:`brainio_coords`; atomically.

    Indexes are stored as plain coords, text coords as strings, and attrs netCDF cannot hold (None, mappings,
    lists of text) as JSON text. Brain-Score reads the file with
    ``AssemblyLoader(NeuroidAssembly, path).load()``; neurosage with ``load_assembly_file(path, average=False)``.
    """
    check_arguments(write_assembly, locals())
    from neurosage.core.atomic import atomic_path

    if Path(path).suffix.lower() not in (".nc", ".nc4", ".netcdf", ".h5", ".hdf5"):
        raise ConfigError(f"write_assembly writes netCDF, and {Path(path).name!r} names another format", "give the file a .nc name "
                          "(Brain-Score's format); for a CSV table use assembly.to_dataframe().to_csv(...)", file=path, field="path")
    from neurosage.runs.layout import PROVENANCE_FILE, RUN_FILES

    if Path(path).name in RUN_FILES and (Path(path).parent / PROVENANCE_FILE).is_file():  # e.g. a search's own trials.nc
        raise ConfigError(f"{Path(path).name} is a file of the neurosage run in {Path(path).parent}, which this would overwrite",
                          "write the assembly to a file of another name, or outside the run folder", file=path, field="path")
    assembly = brainio_coords(validate(assembly, allow_nan=True))
    if assembly.indexes:
        assembly = assembly.reset_index(list(assembly.indexes))
    coords = {name: (c.dims, c.values.astype(str) if c.dtype == object else c.values) for name, c in assembly.coords.items()}
    data = xr.DataArray(assembly.values, dims=assembly.dims, coords=coords, name=assembly.name or "data",
                        attrs={k: netcdf_attr(v) for k, v in assembly.attrs.items() if v is not None})
    with atomic_path(path) as tmp:
        data.to_netcdf(tmp)
    return Path(path)


def netcdf_attr(value: Any) -> Any:
    """An attribute as netCDF stores it: numbers and text as they are, booleans as 0/1, anything else as JSON text."""
    import json

    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return value
    return json.dumps(value, default=lambda v: v.tolist() if isinstance(v, (np.ndarray, np.generic)) else str(v))


def gather_indexes(assembly: xr.DataArray) -> xr.DataArray:
    """Rebuild Brain-Score's MultiIndex per dim (as BrainIO's ``gather_indexes`` does)."""
    check_arguments(gather_indexes, locals())
    out = assembly
    for dim in assembly.dims:
        names: Sequence[Hashable] = [n for n, c in assembly.coords.items() if c.dims == (dim,) and n not in assembly.indexes]
        if names:
            out = out.set_index({dim: names}, append=True)
    return out
