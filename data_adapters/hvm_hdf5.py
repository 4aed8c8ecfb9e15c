"""The older HvM release ``ventral_neural_data.hdf5`` as an assembly.

Layout (psych253/cs375 notebooks): ``images`` (5760, 256, 256) uint8;
``image_meta/*`` 1-D datasets (``category``, ``object_name``,
``variation_level`` 'V0'/'V3'/'V6', optional ``image_id``, latents);
``neural_meta/{V4_NEURONS, IT_NEURONS, ANIMAL_INFO}``;
``time_averaged/variation_level_{0,3,6}`` (trial, image, neuron) holding the
trials of the images of that variation level, in ``image_meta`` order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurosage.assembly import AssemblyError, average_repetitions, make_assembly, validate
from neurosage.core.errors import DataFormatError
from neurosage.data_adapters.imageset import ImageSet

__all__ = ["load_hvm_hdf5", "load_hvm_images"]

ENV_VAR = "NEUROSAGE_HVM_HDF5"
_META_RENAME = {"category": "category_name", "variation_level": "variation"}


def _open(path: str | os.PathLike | None) -> tuple[Path, Any]:
    """The file's path and the open ``h5py.File``."""
    import h5py

    path = Path(path or os.environ.get(ENV_VAR, "ventral_neural_data.hdf5"))
    if not path.exists():
        raise DataFormatError("file not found", f"pass path= to ventral_neural_data.hdf5 (on the command line "
                              f"--teacher-arg path=FILE) or set ${ENV_VAR}", file=path, field=None)
    if path.is_dir():  # $NEUROSAGE_HVM_HDF5 or path= naming the folder of the file
        inside = sorted(p.name for p in path.glob("*.hdf5")) + sorted(p.name for p in path.glob("*.h5"))
        raise DataFormatError("is a folder, where the HVM HDF5 file goes", f"give the file itself{f', e.g. {path / inside[0]}' if inside else ''}"
                              f" (path=FILE, or ${ENV_VAR}=FILE)", file=path, field=None)
    try:
        return path, h5py.File(path, "r")
    except OSError as exc:
        raise DataFormatError(f"cannot open HDF5 ({exc})", "the file is truncated or not HDF5; download it again", file=path, field=None) from exc


def _require(h5, path: Path, key: str, fix: str):
    if key not in h5:
        if {"presentation", "neuroid"} <= set(h5.keys()) or "_NCProperties" in h5.attrs:  # a netCDF (HDF5 inside): a BrainIO assembly
            raise DataFormatError("this is a netCDF assembly file (a BrainIO/Brain-Score assembly), not the older HvM release's "
                                  "ventral_neural_data.hdf5", "read it with its own loader: --teacher 'brain:MajajHong2015:V4,IT' "
                                  f"--teacher-arg path={path} (or brain:assembly-file:REGIONS; Python: load_neural('MajajHong2015', "
                                  "path=...))", file=path, field=None)
        raise DataFormatError(f"missing (top-level keys: {sorted(h5.keys())})", fix, file=path, field=key)
    return h5[key]


def _decode(values: np.ndarray) -> np.ndarray:
    return np.array([v.decode() if isinstance(v, bytes) else v for v in values]) if values.dtype.kind in "SO" else values


def load_hvm_hdf5(
    path: str | os.PathLike | None = None,
    *,
    regions: Sequence[str] = ("V4", "IT"),
    variations: Sequence[str] = ("V0", "V3", "V6"),
    average: bool = True,
) -> xr.DataArray:
    """HvM recordings (128 V4 + 168 IT sites) as a ``presentation x neuroid`` assembly.

    Trials of every requested variation level become presentations with a
    ``repetition`` coord; with ``average=True`` they are averaged per image (NaN-aware).
    The HDF5 has no pIT/cIT/aIT labels: use the Brain-Score file for subregions.
    """
    path, h5 = _open(path)
    with h5:
        meta_group = _require(h5, path, "image_meta", "use the original ventral_neural_data.hdf5")
        meta = {k: _decode(np.asarray(meta_group[k])) for k in meta_group}
        if "variation_level" not in meta:
            raise DataFormatError("missing", "use the original ventral_neural_data.hdf5", file=path, field="image_meta/variation_level")
        n_images = len(meta["variation_level"])
        for k, v in meta.items():
            if len(v) != n_images:
                raise DataFormatError(f"length {len(v)} != {n_images}", "use the original file", file=path, field=f"image_meta/{k}")
        nm = _require(h5, path, "neural_meta", "use the original ventral_neural_data.hdf5")
        region_idx = {}
        for region in regions:
            key = f"{region}_NEURONS"
            if key not in nm:
                raise DataFormatError(f"unknown region {region!r} (the file has {sorted(k[:-8] for k in nm if k.endswith('_NEURONS'))})",
                                      "choose V4 and/or IT; for pIT/cIT/aIT use the Brain-Score MajajHong2015 file", file=path,
                                      field=f"neural_meta/{key}")
            region_idx[region] = np.asarray(nm[key], dtype=np.int64)
            if region_idx[region].size and region_idx[region].min() < 0:
                raise DataFormatError(f"negative neuron index {int(region_idx[region].min())}", "neuron indices count from 0; use the original file",
                                      file=path, field=f"neural_meta/{key}")
        neurons = np.concatenate(list(region_idx.values()))
        region_of = np.concatenate([[r] * len(i) for r, i in region_idx.items()])
        animals = _decode(np.asarray(nm["ANIMAL_INFO"])) if "ANIMAL_INFO" in nm else None
        if animals is not None:
            for region, idx in region_idx.items():
                if idx.size and idx.max() >= len(animals):
                    raise DataFormatError(f"neuron index {int(idx.max())} is beyond the {len(animals)} neurons of neural_meta/ANIMAL_INFO",
                                          "use the original file (indices count the recorded neurons from 0)", file=path,
                                          field=f"neural_meta/{region}_NEURONS")
        animal = animals[neurons] if animals is not None else None
        ta = _require(h5, path, "time_averaged", "use the original ventral_neural_data.hdf5")
        blocks: list[np.ndarray] = []  # per variation level: (trials x images, neurons)
        stim_parts: list[np.ndarray] = []  # the image index of each row
        reps: list[np.ndarray] = []  # the trial of each row
        for var in variations:
            key = f"variation_level_{var.lstrip('V')}"
            if key not in ta:
                raise DataFormatError("missing", f"choose variations from {sorted(ta)}", file=path, field=f"time_averaged/{key}")
            data = np.asarray(ta[key], dtype=np.float32)
            images_of = np.flatnonzero(meta["variation_level"] == var)
            if data.ndim != 3 or data.shape[1] != len(images_of) or data.shape[2] <= neurons.max():
                raise DataFormatError(f"shape {data.shape} does not fit {len(images_of)} {var} images and neuron index {neurons.max()}",
                                      "use the original file (trial, image, neuron)", file=path, field=f"time_averaged/{key}")
            n_trials = data.shape[0]
            blocks.append(data[:, :, neurons].reshape(-1, len(neurons)))
            stim_parts.append(np.tile(images_of, n_trials))
            reps.append(np.repeat(np.arange(n_trials), len(images_of)))
    stim_index = np.concatenate(stim_parts)
    ids = meta.get("image_id", np.array([f"hvm_{i:04d}" for i in range(n_images)]))
    pres = {_META_RENAME.get(k, k): v[stim_index] for k, v in meta.items() if k != "image_id"}
    pres["repetition"] = np.concatenate(reps)
    pres["image_index"] = stim_index
    values = np.concatenate(blocks)
    if not average and np.isnan(values).any():
        raise DataFormatError(f"{int(np.isnan(values).sum())} NaN trial value(s)", "load with average=True (NaN-aware averaging)", file=path,
                              field="time_averaged")
    assembly = make_assembly(
        values,
        stimulus_id=ids[stim_index],
        region=region_of,
        neuroid_id=[f"hvm_site_{i:03d}" for i in neurons],
        presentation_coords=pres,
        neuroid_coords={"site_index": neurons, **({"animal": animal} if animal is not None else {})},
        name="HvM",
        attrs={"source": str(path)},
        allow_nan=True,
    )
    if not average:
        return assembly
    try:
        return validate(average_repetitions(assembly), source=str(path), unique_stimuli=True)
    except AssemblyError as exc:
        problem, fix = exc.split()
        raise DataFormatError(problem, fix, file=path, field="time_averaged") from exc


def load_hvm_images(path: str | os.PathLike | None = None, **conversion) -> ImageSet:
    """The 5760 HvM images of the HDF5 (grey, 256x256), with the assembly's stimulus ids."""
    path, h5 = _open(path)
    with h5:
        images = np.asarray(_require(h5, path, "images", "use the original ventral_neural_data.hdf5"))
        meta = h5["image_meta"]
        ids = _decode(np.asarray(meta["image_id"])) if "image_id" in meta else np.array([f"hvm_{i:04d}" for i in range(len(images))])
    if images.ndim != 3:
        raise DataFormatError(f"expected (image, height, width), got {images.shape}", "use the original file", file=path, field="images")
    if images.dtype != np.uint8:
        images = np.clip(images * (255.0 if images.max() <= 1 else 1.0), 0, 255).astype(np.uint8)
    return ImageSet(images[:, None], None, stimulus_ids=ids, name="hvm-hdf5", **conversion)
