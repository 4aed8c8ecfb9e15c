"""MajajHong2015 (Brain-Score / BrainIO netCDF) as teacher-ready assemblies.

Reads ``assy_dicarlo_MajajHong2015_public.nc``-style files the way BrainIO
does: open the single data variable, add ``stimulus_id = image_id`` when
missing, merge the stimulus-set CSV on ``stimulus_id`` (the .nc keeps only
``image_id``/``repetition``/``stimulus`` on presentation), average repetitions,
keep the 70-170 ms bin, and expose regions ``V4``/``IT`` and the IT subregions
``pIT``/``cIT``/``aIT``. The returned ``region`` coord holds the requested
endpoint name; the file's own region is kept as ``area``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from neurosage.assembly import AssemblyError, average_repetitions, select_time, validate
from neurosage.core.errors import DataFormatError
from neurosage.data_adapters.stimulus_sets import near_miss, read_stimulus_csv

__all__ = ["load_majajhong2015", "open_brainio_assembly", "merge_stimulus_set", "select_endpoints", "find_brainio_file"]

log = logging.getLogger(__name__)
ENV_VAR = "NEUROSAGE_MAJAJHONG2015"
FILES = {
    ("public", False): "assy_dicarlo_MajajHong2015_public.nc",
    ("private", False): "assy_dicarlo_MajajHong2015_private.nc",
    ("full", False): "assy_dicarlo_MajajHong2015.nc",
    ("public", True): "assy_dicarlo_MajajHong2015_temporal_public.nc",
    ("private", True): "assy_dicarlo_MajajHong2015_temporal_private.nc",
    ("full", True): "assy_dicarlo_MajajHong2015_temporal.nc",
}
STIMULUS_FILES = {"public": "stimulus_hvm-public.csv", "private": "stimulus_hvm-private.csv", "full": "stimulus_hvm.csv"}
LEGACY_STIMULUS_FILES = {"public": "image_dicarlo_hvm-public.csv", "private": "image_dicarlo_hvm-private.csv", "full": "image_dicarlo_hvm.csv"}
REGION_COORDS = ("region", "subregion")


def find_brainio_file(name: str) -> Path | None:
    """Look for ``name`` under ``$BRAINIO_HOME`` (default ``~/.brainio``), as BrainIO caches it."""
    home = Path(os.environ.get("BRAINIO_HOME", Path.home() / ".brainio"))
    if not home.is_dir():
        return None
    return next(iter(sorted(home.rglob(name))), None)


def _other_neurosage_file(ds: xr.Dataset) -> str | None:
    """What a netCDF file neurosage wrote holds, when it is not a recording: RDMs (a teacher's cache, ``neurosage rdm``'s
    output) or a search's trial table (``trials.nc``); None otherwise."""
    dims = {str(d) for d in ds.dims}
    if {"condition_row", "condition_col"} <= dims:
        return "RDMs (dims condition_row x condition_col: a teacher's cached RDMs or neurosage rdm's output)"
    if "trial" in dims and {"genotype", "score"} <= {str(v) for v in ds.data_vars}:
        return "a search's trial table (trials.nc: one row per trial)"
    return None


def _is_hvm_hdf5(path: Path) -> bool:
    """Whether ``path`` is the older HvM release's HDF5 layout (read by :mod:`neurosage.data_adapters.hvm_hdf5`)."""
    try:
        import h5py

        with h5py.File(path, "r") as h5:
            return {"time_averaged", "neural_meta", "image_meta"} <= set(h5.keys())
    except (ImportError, OSError):
        return False


def open_brainio_assembly(path: str | os.PathLike, *, where: str | None = None) -> xr.DataArray:
    """Open a BrainIO netCDF (either writer) as a flat ``presentation x neuroid [x time_bin]`` array (``where``: how the
    caller's users give the file, for the not-found fix)."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError("file not found", where or f"pass path= (on the command line --teacher-arg path=FILE), set ${ENV_VAR}, "
                              "or place it in the BrainIO cache", file=path, field=None)
    try:
        ds = xr.open_dataset(path)
    except Exception as exc:  # netCDF4/h5py raise many types for truncated files
        problem = "the file is empty" if path.stat().st_size == 0 else f"cannot read netCDF ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"
        if path.suffix.lower() in (".csv", ".tsv", ".txt", ".npy", ".npz", ".json", ".xlsx", ".mat", ".pkl"):  # a file the user made
            raise DataFormatError(f"an assembly file is netCDF (or HDF5), and this is a {path.suffix[1:]} file", "responses in a .npy with "
                                  "stimulus and neuroid CSVs are read by npy-csv (brain:npy-csv:REGIONS with responses=, stimuli=, "
                                  "neuroids=); or write an assembly with neurosage.assembly.write_assembly(make_assembly(...), 'x.nc')",
                                  file=path, field=None) from None
        raise DataFormatError(problem, "the file is truncated or not netCDF; download it again", file=path, field=None) from None
    if _is_hvm_hdf5(path):  # the older HvM release: an HDF5 file xarray opens as phony dims
        ds.close()
        raise DataFormatError("this is the older HvM release (ventral_neural_data.hdf5: images, image_meta, neural_meta, time_averaged), "
                              "not a BrainIO assembly netCDF", "read it with its own loader: --teacher 'brain:HvM-hdf5:V4,IT' "
                              f"--teacher-arg path={path} (Python: load_neural('HvM-hdf5', path=...))", file=path, field=None)
    other = _other_neurosage_file(ds)
    if other is not None:
        ds.close()
        raise DataFormatError(f"this file holds {other}, not a recording (an assembly of presentation x neuroid responses)",
                              "give the recording's own file (a Brain-Score/BrainIO assembly netCDF)", file=path, field=None)
    data_vars = list(ds.data_vars)
    if len(data_vars) != 1:
        raise DataFormatError(f"expected exactly one data variable, found {data_vars}", "write one assembly per file (BrainIO spec)", file=path,
                              field="data variables")
    da = ds[data_vars[0]].load()
    da.attrs = {**ds.attrs, **da.attrs}
    ds.close()
    for dim in ("presentation", "neuroid"):
        if dim not in da.dims:
            raise DataFormatError(f"missing dim {dim!r} (dims are {da.dims})", "name the dims presentation (stimuli) and neuroid (sites), "
                                  "e.g. assembly.rename({'stimulus': 'presentation', 'unit': 'neuroid'}) before writing (a Brain-Score "
                                  "assembly file has them)", file=path, field=dim)
    if "stimulus_id" not in da.coords:
        if "image_id" not in da.coords:
            raise DataFormatError("no 'stimulus_id' or 'image_id' coord on presentation", "use a Brain-Score assembly file", file=path,
                                  field="image_id")
        da = da.assign_coords(stimulus_id=("presentation", da["image_id"].values))
    elif "image_id" in da.coords and da["image_id"].dims == da["stimulus_id"].dims:  # Brain-Score names a stimulus twice
        differ = np.asarray(da["image_id"].values).astype(str) != np.asarray(da["stimulus_id"].values).astype(str)
        if differ.any():
            first = int(np.argmax(differ))
            raise DataFormatError(f"the 'stimulus_id' and 'image_id' coords disagree on {int(differ.sum())} of {differ.size} presentations "
                                  f"(first at position {first}: stimulus_id {da['stimulus_id'].values[first]!r}, image_id "
                                  f"{da['image_id'].values[first]!r}), so the responses cannot be paired with their images",
                                  "write one id per presentation in both coords (Brain-Score's image_id = stimulus_id), or drop one",
                                  file=path, field="stimulus_id")
    if "region" not in da.coords and "layer" in da.coords and da["layer"].dims == ("neuroid",):  # Brain-Score's activations
        log.info("%s: no 'region' coord; its 'layer' coord names each neuroid's region (Brain-Score activations)", path)
        da = da.assign_coords(region=("neuroid", da["layer"].values.astype(str)))
    order = ("presentation", "neuroid") + (("time_bin",) if "time_bin" in da.dims else ())
    return da.transpose(*order)


def merge_stimulus_set(assembly: xr.DataArray, csv: str | os.PathLike) -> xr.DataArray:
    """Add the stimulus-set columns as presentation coords, joined on ``stimulus_id``."""
    table = read_stimulus_csv(csv).drop_duplicates("stimulus_id").set_index("stimulus_id")
    ids = assembly["stimulus_id"].values.astype(str)
    missing = np.setdiff1d(np.unique(ids), table.index.values)
    if len(missing):
        raise DataFormatError(f"{len(missing)} stimulus id(s) of the recordings are missing, e.g. {missing[:3].tolist()}"
                              + near_miss(missing, table.index.values), "use the stimulus set that belongs to the assembly (hvm-public for "
                              "the public file), with its ids as the assembly writes them", file=csv, field="stimulus_id")
    rows = table.loc[ids]
    new = {c: ("presentation", rows[c].values) for c in rows.columns if c not in assembly.coords}
    return assembly.assign_coords(new)


def select_endpoints(assembly: xr.DataArray, regions: Sequence[str], *, source: str | None = None) -> xr.DataArray:
    """Keep the neuroids of each requested region or subregion; ``region`` becomes the requested name."""
    missing = [c for c in ("region", "neuroid_id") if c not in assembly.coords]
    if missing:
        neuroid_coords = sorted(str(c) for c, v in assembly.coords.items() if v.dims == ("neuroid",))
        raise DataFormatError(f"the assembly has no {missing[0]!r} coord on its neuroids (it has {neuroid_coords})",
                              f"name the neuroids' {missing[0]} coord {missing[0]!r}, as Brain-Score's assemblies do "
                              f"(e.g. assembly.rename({{'area': 'region'}}) before saving)", file=source, field=missing[0])
    parts = []
    available: list[str] = []
    for name in regions:
        for coord in REGION_COORDS:
            if coord in assembly.coords:
                labels = np.char.strip(assembly[coord].values.astype(str))  # 'V4 ' in a file is V4 (a spec cannot name the space)
                available += [str(x) for x in dict.fromkeys(labels) if x not in available]
                idx = np.flatnonzero(labels == name)
                if len(idx):
                    part = assembly.isel(neuroid=idx)
                    parts.append(part.assign_coords(area=("neuroid", part["region"].values), region=("neuroid", [name] * len(idx))))
                    break
        else:
            raise DataFormatError(f"unknown region {name!r}; the file has {available}", f"choose regions from {available}", file=source,
                                  field="region")
    owners: dict[str, str] = {}
    for name, part in zip(regions, parts):  # IT and aIT both asked for: aIT's sites would be counted twice
        for neuroid in part["neuroid_id"].values.tolist():
            if neuroid in owners and owners[neuroid] != name:
                raise DataFormatError(f"regions {owners[neuroid]!r} and {name!r} share sites (one holds the other: e.g. IT = pIT + aIT), so "
                                      "those sites would be counted twice", "ask for one of them: e.g. V4,IT or V4,pIT,aIT", file=source,
                                      field="region")
            owners[neuroid] = name
    selected = xr.concat(parts, dim="neuroid") if len(parts) > 1 else parts[0]
    kept = set(selected["neuroid_id"].values.tolist())
    left = ~np.isin(assembly["neuroid_id"].values, list(kept))
    if left.any():
        coord = "subregion" if "subregion" in assembly.coords else "region"
        counts = dict(zip(*np.unique(assembly[coord].values[left].astype(str), return_counts=True)))
        log.warning("%s: %d of %d sites left out (not in %s): %s", source or "recording", int(left.sum()), assembly.sizes["neuroid"],
                    list(regions), ", ".join(f"{k} {v}" for k, v in counts.items()))
    return selected


def load_majajhong2015(
    path: str | os.PathLike | None = None,
    *,
    stimulus_csv: str | os.PathLike | None = None,
    variant: str = "public",
    temporal: bool = False,
    regions: Sequence[str] = ("V4", "pIT", "aIT"),
    time_window: tuple[float, float] = (70, 170),
    average: bool = True,
) -> xr.DataArray:
    """MajajHong2015 recordings as a ``presentation x neuroid`` assembly.

    Parameters
    ----------
    path
        The assembly .nc; default ``$NEUROSAGE_MAJAJHONG2015`` or the BrainIO cache.
        Without a path and with ``brainscore_vision`` installed, Brain-Score's
        ``load_dataset`` is used.
    stimulus_csv
        Stimulus-set CSV (``stimulus_hvm-public.csv``); looked up beside the .nc
        and in the BrainIO cache when not given.
    regions
        Regions (``V4``, ``IT``) and/or subregions (``pIT``, ``cIT``, ``aIT``).
    time_window
        Time bins within this window (ms) are averaged (70-170 ms by default).
    average
        Average repetitions per stimulus (NaN-aware).
    """
    key = (variant, temporal)
    if key not in FILES:
        raise DataFormatError(f"unknown variant {variant!r}", "use public, private or full", file=None, field="variant")
    if path is None and os.environ.get(ENV_VAR):
        path = os.environ[ENV_VAR]
    if path is None:
        path = find_brainio_file(FILES[key])
    if path is None:
        assembly = _from_brainscore(variant, temporal)
        source = f"brainscore_vision MajajHong2015.{variant}"
    else:
        assembly = open_brainio_assembly(path)
        source = str(path)
        csv = stimulus_csv or _stimulus_csv_near(Path(path), variant)
        if csv is not None:
            assembly = merge_stimulus_set(assembly, csv)
        else:
            log.warning("no stimulus-set CSV found beside %s for the recording's category/object metadata (they will be missing); give it "
                        "with stimulus_csv= (--teacher-arg stimulus_csv=FILE)", path)
    assembly = select_endpoints(assembly, regions, source=source)
    if "time_bin" in assembly.dims:
        try:
            assembly = select_time(assembly, *time_window)
        except AssemblyError as exc:
            problem, fix = exc.split()
            raise DataFormatError(problem, f"{fix}: time_window=START,END (on the command line --teacher-arg time_window=START,END; "
                                  "neurosage datasets MajajHong2015 shows the loader's arguments)", file=source, field="time_window") from None
    if average:
        assembly = average_repetitions(assembly)
    assembly.attrs.update(identifier=f"MajajHong2015.{variant}", source=source)
    try:
        return validate(assembly, source=source, unique_stimuli=average)
    except AssemblyError as exc:
        problem, fix = exc.split()
        raise DataFormatError(problem, fix, file=source, field="data") from exc


def _stimulus_csv_near(path: Path, variant: str) -> Path | None:
    for name in (STIMULUS_FILES[variant], LEGACY_STIMULUS_FILES[variant]):
        if (path.parent / name).exists():
            return path.parent / name
        found = find_brainio_file(name)
        if found is not None:
            return found
    return None


def _from_brainscore(variant: str, temporal: bool) -> xr.DataArray:
    try:
        import brainscore_vision
    except ImportError:
        raise DataFormatError("MajajHong2015 assembly not found (no path, no $NEUROSAGE_MAJAJHONG2015, nothing in the BrainIO cache)",
                              f"pass path= to {FILES[(variant, temporal)]} (on the command line --teacher-arg path=FILE) "
                              "or install brainscore_vision", file=None, field=None) from None
    ident = "MajajHong2015" + (".temporal" if temporal else "") + ("" if variant == "full" else f".{variant}")
    assembly = brainscore_vision.load_dataset(ident)
    plain = assembly.reset_index(list(assembly.indexes)).coords.items()
    coords = {k: (v.dims, v.values) for k, v in plain if v.dims and len(v.dims) == 1}
    flat = xr.DataArray(assembly.values, dims=assembly.dims, coords=coords, attrs={})
    order = ("presentation", "neuroid") + (("time_bin",) if "time_bin" in flat.dims else ())
    return flat.transpose(*order)
