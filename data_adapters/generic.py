"""Bring your own recordings: convention-following netCDF/HDF5 assemblies, or .npy + .csv.

A netCDF (or netCDF4/HDF5 ``.h5``) file holds one data variable with dims
``presentation x neuroid [x time_bin]`` and coords ``stimulus_id`` (presentation),
``neuroid_id`` and ``region`` (neuroid), as written by xarray or BrainIO
(:func:`neurosage.assembly.write_assembly` writes them). Brain-Score's model activations carry
``layer`` instead of ``region``: the layer is taken as the region.

The plain pair is ``responses.npy`` of shape ``(n_presentations, n_neuroids)``,
``stimuli.csv`` with one row per presentation (column ``stimulus_id``, optional
``repetition``, ``category_name``...), and ``neuroids.csv`` with one row per
neuroid (columns ``neuroid_id``, ``region``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurosage.assembly import AssemblyError, average_repetitions, make_assembly, validate
from neurosage.core.errors import DataFormatError
from neurosage.data_adapters.majajhong2015 import open_brainio_assembly, select_endpoints
from neurosage.data_adapters.stimulus_sets import read_csv_table

__all__ = ["load_assembly_file", "load_npy_csv"]


def load_assembly_file(path: str | os.PathLike, *, regions: Sequence[str] | None = None, average: bool = True) -> xr.DataArray:
    """A convention-following assembly file (netCDF or HDF5), validated, repetitions averaged.

    ``regions`` keeps the neuroids of those regions (or subregions), naming what is left out.
    """
    assembly = open_brainio_assembly(path, where="check the path given as path= (on the command line --teacher-arg path=FILE)")
    if regions is not None:
        assembly = select_endpoints(assembly, regions, source=str(path))
    try:
        validate(assembly, source=str(path), allow_nan=True)
        return validate(average_repetitions(assembly) if average else assembly, source=str(path), unique_stimuli=average)
    except AssemblyError as exc:
        problem, fix = exc.split()  # one fix: clause (each problem names its own fix)
        raise DataFormatError(problem, f"{fix} (README, 'Bring your own recordings')", file=path, field="assembly") from exc


_NPY_MAGIC = b"\x93NUMPY"
#: The column that names each CSV argument's table.
_CSV_KEYS = {"stimuli": "stimulus_id", "neuroids": "neuroid_id"}


def _refuse_swapped_files(files: dict[str, str | os.PathLike]) -> None:
    """Refuse a file given for another argument of :func:`load_npy_csv`, judged by its content, not its name: a CSV where
    the ``.npy`` responses go, an array where a CSV goes, the neuroids table given as the stimuli or the other way round."""
    for name, path in files.items():
        head = Path(path).read_bytes()[:4096]
        first = head.decode("utf-8-sig", errors="replace").splitlines()[0].split(",") if head.strip() else []
        kind = "responses" if head.startswith(_NPY_MAGIC) else next((n for n, key in _CSV_KEYS.items() if key in map(str.strip, first)), None)
        wants = "the .npy array of responses" if name == "responses" else f"the CSV with a {_CSV_KEYS[name]!r} column"
        if kind is not None and kind != name:
            raise DataFormatError(f"the file given as {name} looks like the {kind} file", f"give {name}= {wants} (were {name} and {kind} "
                                  "swapped?)", file=path, field=name)
        if name == "responses" and head and kind is None and not str(path).lower().endswith(".npz"):
            raise DataFormatError(f"the file given as responses is not a .npy array (it starts {head[:24]!r})", f"give responses= {wants}, "
                                  "saved with numpy.save(path, array) (presentations x neuroids)", file=path, field="responses")


def load_npy_csv(
    responses: str | os.PathLike,
    stimuli: str | os.PathLike,
    neuroids: str | os.PathLike,
    *,
    regions: Sequence[str] | None = None,
    average: bool = True,
) -> xr.DataArray:
    """An assembly from ``responses.npy`` + ``stimuli.csv`` + ``neuroids.csv`` (``regions``: keep only those)."""
    for path in (responses, stimuli, neuroids):
        if not os.path.isfile(path):
            raise DataFormatError("file not found", "check the path (responses .npy, stimuli .csv, neuroids .csv)", file=path, field=None)
    _refuse_swapped_files({"responses": responses, "stimuli": stimuli, "neuroids": neuroids})
    if str(responses).lower().endswith(".npz"):
        raise DataFormatError("an .npz archive, not one .npy array", "save the responses with np.save(path, array) (one array, "
                              "presentations x neuroids)", file=responses, field="responses")
    try:
        values = np.load(responses, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty or truncated file
        pickled = "allow_pickle" in str(exc)
        raise DataFormatError(f"cannot read .npy ({exc})", "save the responses as numbers: numpy.save(path, np.asarray(array, dtype=float))"
                              if pickled else "save with numpy.save(path, array)", file=responses, field=None) from exc
    if values.dtype.kind not in "fiu":  # True/False (a thresholded recording), text: no response rates
        raise DataFormatError(f"the responses are {values.dtype} values, not numbers (e.g. {values.ravel()[:3].tolist()})", "save the "
                              "recorded responses (rates or counts) as numbers: numpy.save(path, np.asarray(array, dtype=float))",
                              file=responses, field="responses")
    stim = read_csv_table(stimuli, {"stimulus_id": str}, "stimulus_id,...")
    neur = read_csv_table(neuroids, {"neuroid_id": str, "region": str}, "neuroid_id,region,...")
    for table, path, column in ((stim, stimuli, "stimulus_id"), (neur, neuroids, "neuroid_id"), (neur, neuroids, "region")):
        if column not in table:
            raise DataFormatError(f"missing column (columns: {list(table.columns)})", f"add a {column!r} column", file=path, field=column)
    if values.ndim != 2 or values.shape != (len(stim), len(neur)):
        raise DataFormatError(f"responses have shape {values.shape}, stimuli.csv has {len(stim)} rows and neuroids.csv {len(neur)}",
                              "responses must be (rows of stimuli.csv, rows of neuroids.csv)", file=responses, field="shape")
    for column in ("neuroid_id", "region"):  # ' V4' and 'V4' are one region (a CSV written with spaces after its commas)
        neur[column] = neur[column].where(neur[column].isna(), neur[column].astype(str).str.strip())
    duplicated = neur["neuroid_id"].duplicated(keep=False)
    if duplicated.any():
        rows = (np.flatnonzero(duplicated) + 2).tolist()
        raise DataFormatError(f"neuroid_id {neur['neuroid_id'][duplicated].iloc[0]!r} is given to more than one neuroid (rows {rows[:5]})",
                              "give every neuroid its own id", file=neuroids, field="neuroid_id")
    if values.dtype.kind == "f" and values.size and not np.isfinite(values).any():
        raise DataFormatError("the file holds no finite value (every response is NaN or infinite)", "write the recorded responses into it",
                              file=responses, field="values")
    for column in ("neuroid_id", "region"):
        empty = neur[column].isna() | (neur[column].astype(str).str.strip() == "")
        if empty.any():
            rows = (np.flatnonzero(empty) + 2).tolist()
            raise DataFormatError(f"empty value in row(s) {rows[:5]}", f"give every neuroid a {column}", file=neuroids, field=column)
    nan_rows = stim["stimulus_id"].isna()
    if nan_rows.any():
        raise DataFormatError(f"{int(nan_rows.sum())} empty value(s)", "give every presentation a stimulus_id", file=stimuli, field="stimulus_id")
    n_nan = int(np.isnan(values).sum()) if values.dtype.kind == "f" else 0
    if n_nan and not average:
        raise DataFormatError(f"{n_nan} NaN value(s)", "pass average=True (on the command line --teacher-arg average=true) for NaN-aware "
                              "repetition averaging, or fill/drop them", file=responses,
                              field="values")
    if n_nan and average:  # NaN-aware averaging fills a stimulus only when one of its repetitions was recorded
        recorded = pd.DataFrame(~np.isnan(values)).groupby(stim["stimulus_id"].astype(str).values).any()
        empty = np.flatnonzero(~recorded.all(axis=0).to_numpy())
        if len(empty):
            ids = neur["neuroid_id"].astype(str).values[empty].tolist()
            raise DataFormatError(f"{len(empty)} neuroid(s) have no recorded value for some stimulus in any repetition (e.g. {ids[:3]}), so "
                                  "averaging leaves NaN", f"delete those neuroids' rows from {Path(neuroids).name} and their columns from "
                                  f"{Path(responses).name}, or record those stimuli", file=responses, field="values")
    try:
        assembly = make_assembly(
            values if values.dtype.kind == "f" else values.astype(np.float64),
            stimulus_id=stim["stimulus_id"].astype(str).values,
            region=neur["region"].astype(str).values,
            neuroid_id=neur["neuroid_id"].astype(str).values,
            presentation_coords={c: stim[c].values for c in stim.columns if c != "stimulus_id"},
            neuroid_coords={c: neur[c].values for c in neur.columns if c not in ("neuroid_id", "region")},
            allow_nan=True,
        )
        if regions is not None:
            assembly = select_endpoints(assembly, regions, source=str(neuroids))
        return validate(average_repetitions(assembly), source=str(responses), unique_stimuli=True) if average else assembly
    except AssemblyError as exc:
        problem, fix = exc.split()
        raise DataFormatError(problem, fix, file=responses, field="values") from exc


