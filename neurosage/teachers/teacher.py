"""Teachers: named endpoints with RDMs on one stimulus set.

An endpoint is a brain region (from an assembly) or a network layer; both are
just RDMs labelled by ``stimulus_id``, so endpoints from different sources
combine into one teacher. A teacher also carries its stimulus images, which
candidates are shown to compute their own RDMs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn

from neurosage.assembly import (
    REGION,
    STIMULUS_ID,
    average_repetitions,
    regions,
    select_regions,
    validate,
)
from neurosage.core.atomic import atomic_path
from neurosage.core.errors import ConfigError, DataFormatError
from neurosage.core.once import warn_once
from neurosage.core.validate import check_arguments, choice, whole
from neurosage.rsa.ceiling import CEILING_CONVENTIONS, Ceiling, noise_ceilings
from neurosage.rsa.methods import COMPARE_METHODS, RDM_METHODS, check_rsa_methods, model_rdm_method
from neurosage.rsa.rdm import COL, ROW, STACK, check_rdms, compute_rdm, stack_rdms
from neurosage.training.activations import model_rdms
from neurosage.training.configs import RDMOptions

__all__ = ["Teacher", "brain_teacher", "network_teacher", "refuse_degenerate_rdm", "LOW_CEILING", "log_layer_method"]


log = logging.getLogger(__name__)


def log_layer_method(teacher: Teacher) -> None:
    """Say which RDM method network layers use when the teacher's needs repetitions (crossnobis: layers have none, so
    theirs is its ``for_models`` method): a warning when the teacher's own RDMs could not use it either (no repetitions)."""
    check_arguments(log_layer_method, locals())
    layer_method = model_rdm_method(teacher.rdm_method)
    if layer_method != teacher.rdm_method:
        teacher_too = teacher.rdms.attrs.get("method") != teacher.rdm_method
        message = ("rdm-method %s: %s no repetitions, so their RDMs are %s (the RDMs' 'method' attr; 'rdm_method' keeps the method asked)",
                   teacher.rdm_method, "the teacher's and the network layers have" if teacher_too else "network layers have", layer_method)
        if teacher_too:  # once per teacher: network_teacher says it, and the commands that built the teacher would again
            warn_once(log, "layer method", *message, about=teacher.rdms)
        else:
            log.info(*message)


@dataclass
class Teacher:
    """Endpoint RDMs (``rdm x condition_row x condition_col``) and the stimuli behind them."""

    rdms: xr.DataArray
    images: object | None = None  # an ImageSet whose stimulus_ids label the RDM conditions

    def __post_init__(self) -> None:
        if not isinstance(self.rdms, xr.DataArray):
            raise ConfigError(f"teacher RDMs must be an RDM stack (an xarray DataArray), got {type(self.rdms).__name__}",
                              "make them with compute_rdms (or brain_teacher / network_teacher for recordings and networks)", field="rdms")
        if STACK not in self.rdms.dims:
            raise ConfigError("teacher RDMs need a leading 'rdm' dim naming the endpoints",
                              "stack them with neurosage.rsa.rdm.stack_rdms or compute_rdms", field="rdms")
        if self.rdms.sizes[ROW] < 3:
            raise ConfigError(f"a teacher needs at least 3 stimuli (RDM correlations are undefined below), got {self.rdms.sizes[ROW]}",
                              "use more stimuli", field="n_stimuli")
        self.rdms = self.rdms.assign_coords({ROW: self.rdms[ROW].values.astype(str), COL: self.rdms[COL].values.astype(str)})
        finite = np.isfinite(np.asarray(self.rdms.values, dtype=np.float64))
        if not finite.all():
            endpoint_finite = np.asarray(finite.reshape(finite.shape[0], -1).all(axis=1))
            endpoints = [str(e) for e, ok in zip(self.rdms[STACK].values, endpoint_finite) if not ok]
            raise ConfigError(f"the teacher's RDMs of {endpoints} hold non-finite values", "rebuild the teacher from finite responses "
                              "(a cached teacher is rebuilt when this happens on loading)", field="teacher")
        check_rdms(self.rdms, "rdms")  # square, the same stimuli on both axes
        if "rdm_method" not in self.rdms.attrs:  # hand-stacked RDMs (compute_rdms) say how they were computed in "method"
            self.rdms = self.rdms.assign_attrs(rdm_method=str(self.rdms.attrs.get("method") or "correlation"))
        if "compare_method" not in self.rdms.attrs:
            self.rdms = self.rdms.assign_attrs(compare_method="pearson")
        if self.images is not None and not hasattr(self.images, "stimulus_ids"):  # an array of pixels: no stimulus ids, no scaling
            raise ConfigError(f"images takes an ImageSet (the stimuli, labelled by stimulus id), got {type(self.images).__name__}",
                              "wrap the pixels: neurosage.ImageSet(uint8 images (N, C, H, W), stimulus_ids=list(rdms.condition_row.values))",
                              field="images")
        ids = getattr(self.images, "stimulus_ids", None)
        if self.images is not None and ids is None and len(self.images) != self.rdms.sizes[ROW]:  # type: ignore[arg-type]
            raise ConfigError(f"images holds {len(self.images)} images without stimulus ids, and the teacher's RDMs have "  # type: ignore[arg-type]
                              f"{self.rdms.sizes[ROW]} stimuli", "give the images the teacher was built on, labelled: "
                              "ImageSet(..., stimulus_ids=list(rdms.condition_row.values)), or images=None", field="images")
        if ids is not None and list(ids) != list(self.rdms[ROW].values):
            raise ConfigError("the teacher's images and RDMs list different stimulus ids (or another order)",
                              "give the images the teacher was built on, in its order (Teacher.load(path, images)), or images=None; a "
                              "brain teacher made with brain_teacher(assembly, images) orders its RDMs by the images", field="stimulus_ids")

    @property
    def endpoints(self) -> list[str]:
        return [str(n) for n in self.rdms[STACK].values]

    @property
    def ceilings(self) -> dict[str, float] | None:
        """Noise ceiling per endpoint (recordings with repetitions), or None; see :attr:`ceiling_details`.

        None too when the teacher's comparison is not a correlation (cosine, bures, CKA...): a ceiling is a correlation of
        split-half RDMs, so a score over it would divide unlike measures (the details still describe the recording's reliability).
        """
        text = self.rdms.attrs.get("ceilings")
        divides = self.compare_method in COMPARE_METHODS and COMPARE_METHODS.get(self.compare_method).correlation
        return json.loads(text) if text and divides else None

    @property
    def ceiling_details(self) -> dict[str, Ceiling]:
        """Each ceiled endpoint's :class:`~neurosage.rsa.ceiling.Ceiling`: value, reliability, spread over splits, convention."""
        text = self.rdms.attrs.get("ceiling_details")
        return {name: Ceiling.from_dict(fields) for name, fields in json.loads(text).items()} if text else {}

    @property
    def ceiling_convention(self) -> str:
        """How the ceilings are defined (``"sqrt"`` or ``"brainscore"``, :mod:`neurosage.rsa.ceiling`)."""
        return str(self.rdms.attrs.get("ceiling_convention", "sqrt"))

    @property
    def rdm_method(self) -> str:
        """How the endpoint RDMs were computed (:mod:`neurosage.rsa.methods`); candidates' layers use the same.

        The ``rdm_method`` attr (RDMs stacked by hand, without it, are described by their own ``method`` attr when made)."""
        return str(self.rdms.attrs["rdm_method"])

    @property
    def compare_method(self) -> str:
        """How candidate RDMs are compared with this teacher's (:mod:`neurosage.rsa.methods`): the ``compare_method`` attr."""
        return str(self.rdms.attrs["compare_method"])

    @property
    def stimulus_ids(self) -> np.ndarray:
        return self.rdms[ROW].values

    def __add__(self, other: Teacher) -> Teacher:
        """Combine endpoints of two teachers on the same stimuli (aligned by ``stimulus_id``)."""
        clash = set(self.endpoints) & set(other.endpoints)
        for what in ("rdm_method", "compare_method"):
            if getattr(self, what) != getattr(other, what):
                raise ConfigError(f"the two teachers differ in {what}: {getattr(self, what)!r} and {getattr(other, what)!r}",
                                  f"build both with the same {what.replace('_', '-')}", field=what)
        if clash:
            raise ConfigError(f"endpoint names clash: {sorted(clash)}", "rename one teacher's endpoints", field="endpoints")
        singles = {n: self.rdms.sel({STACK: n}, drop=True) for n in self.endpoints}
        singles.update({n: other.rdms.sel({STACK: n}, drop=True) for n in other.endpoints})
        combined = stack_rdms(singles)
        combined.attrs.update(rdm_method=self.rdm_method, compare_method=self.compare_method)
        mine, theirs = (json.loads(t.rdms.attrs["ceilings"]) if t.rdms.attrs.get("ceilings") else {} for t in (self, other))
        ceilings = {**mine, **theirs}
        if ceilings:
            if mine and theirs and self.ceiling_convention != other.ceiling_convention:
                raise ConfigError("the two teachers' ceilings follow different conventions", "build both with the same ceiling convention",
                                  field="ceiling")
            details = {name: c.to_dict() for name, c in {**self.ceiling_details, **other.ceiling_details}.items()}
            combined.attrs.update(ceilings=json.dumps(ceilings), ceiling_details=json.dumps(details),
                                  ceiling_convention=self.ceiling_convention if mine else other.ceiling_convention)
        return Teacher(combined, self.images)

    def content_hash(self) -> str:
        """Hash of the RDM values and labels (for caching derived results)."""
        h = hashlib.sha256(np.ascontiguousarray(self.rdms.values).tobytes())
        h.update(repr((self.endpoints, list(self.stimulus_ids))).encode())
        return h.hexdigest()[:16]

    def save(self, path: str | Path) -> Path:
        """Write the RDMs to netCDF (``.nc``; images are not stored)."""
        check_arguments(Teacher.save, locals())
        if Path(path).suffix != ".nc":  # netCDF under another name is read as that format by every other tool
            raise ConfigError(f"a teacher is saved as netCDF, and {Path(path).name!r} has the suffix {Path(path).suffix or '(none)'!r}",
                              f"name the file with .nc, e.g. {Path(path).with_suffix('.nc')}", file=path, field="path")
        with atomic_path(path) as tmp:
            self.rdms.astype(np.float64).to_netcdf(tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, images: object | None = None) -> Teacher:
        """The teacher :meth:`save` wrote to ``path``, with ``images`` (the stimuli it was built on, in its order) or none."""
        check_arguments(Teacher.load, locals())
        path = Path(path)
        if path.is_dir():
            saved = sorted(p.name for p in path.glob("*.nc"))
            raise DataFormatError("this is a folder, and a saved teacher is one .nc file" + (f" (it holds {saved[:3]})" if saved else ""),
                                  f"give the file itself, e.g. {path / saved[0]}" if saved else "give the .nc file Teacher.save wrote",
                                  file=path, field="path")
        if not path.is_file():
            raise DataFormatError("no such file", "give the .nc file Teacher.save wrote (a search keeps its teacher in RUN/teacher/*-rdms.nc)",
                                  file=path, field="path")
        try:
            with xr.open_dataarray(path) as opened:
                rdms = opened.load()
        except Exception as exc:  # noqa: BLE001 - whatever the file is, it is not a teacher's
            try:
                with xr.open_dataset(path) as dataset:
                    held = f"it is netCDF holding the variables {sorted(map(str, dataset.data_vars))[:5]}"
            except Exception:  # noqa: BLE001 - not netCDF at all
                held = f"{type(exc).__name__}: {str(exc).split('.')[0][:100]}"
            raise DataFormatError(f"not a teacher's RDM file (a netCDF file written by Teacher.save; {held})", _not_a_teacher_fix(path),
                                  file=path, field="path") from None
        if not {ROW, COL, STACK} <= set(map(str, rdms.dims)):
            raise DataFormatError(f"not a teacher's RDMs: its array has dims {tuple(map(str, rdms.dims))}, and a teacher's has "
                                  f"({STACK}, {ROW}, {COL})", _not_a_teacher_fix(path), file=path, field="path")
        return cls(rdms, images)

    @classmethod
    def load_cached(cls, path: str | Path, images: object | None = None) -> Teacher | None:
        """The teacher cached in ``path``, or None when there is none, its file cannot be read (a truncated write) or its
        teacher cannot teach (non-finite RDMs, other stimuli than ``images``): the caller rebuilds the teacher and the new
        file replaces it. A readable file that is no teacher's is refused; no file is ever removed."""
        check_arguments(Teacher.load_cached, locals())
        path = Path(path)
        if not path.exists():
            return None
        if path.suffix != ".nc" or path.is_dir():  # a cache is a .nc file: anything else was given by mistake, refused by load
            return cls.load(path, images)
        try:
            with xr.open_dataset(path) as opened:
                opened.load()
        except Exception as exc:  # noqa: BLE001 - a truncated or half-written cache: rebuild rather than fail the run
            log.warning("teacher cache %s is unreadable (%s: %s); no teacher is loaded from it (a search or analysis builds the teacher "
                        "again, and the new file replaces it)", path, type(exc).__name__, exc)
            return None
        try:
            return cls.load(path, images)
        except DataFormatError:  # readable, and no teacher's file: given by mistake, never taken for a cache
            raise
        except ConfigError as exc:  # a teacher's file that cannot teach (non-finite RDMs after a crash, other stimuli)
            log.warning("teacher cache %s cannot be used (%s); no teacher is loaded from it (a search or analysis builds the teacher "
                        "again, and the new file replaces it)", path, exc)
            return None


def _not_a_teacher_fix(path: Path) -> str:
    """Where a teacher's RDMs are, said to someone who gave another file."""
    beside = path.with_name(path.stem + "-rdms.nc")
    if path.suffix == ".pt" and beside.is_file():
        return f"this is the teacher network's weights; its RDMs are beside it: {beside}"
    if path.suffix in (".pt", ".pth"):
        return ("this is a network's weights (torch): load them into a network with neurosage.nets.load_weights, or give the .nc file "
                "Teacher.save wrote (a search keeps its teacher in RUN/teacher/*-rdms.nc)")
    return "give the .nc file Teacher.save wrote (a search keeps its teacher in RUN/teacher/*-rdms.nc)"


def brain_teacher(
    assembly: xr.DataArray,
    images: object | None = None,
    *,
    endpoints: Sequence[str] | None = None,
    rdm_method: str = "correlation",
    compare_method: str = "pearson",
    ceiling_splits: int = 10,
    ceiling: str = "sqrt",
    seed: int = 0,
) -> Teacher:
    """A teacher whose endpoints are the regions of an assembly.

    With ``images``, only the stimuli that have an image are kept, in the images' order, before anything is
    computed. An assembly with repetitions is averaged here, after each endpoint's noise ceiling is estimated
    from its trials on exactly those stimuli (:func:`~neurosage.rsa.ceiling.noise_ceilings`, ``ceiling_splits``
    splits, seeded, by the ``ceiling`` convention); the ceilings and their spread travel with the teacher.
    ``rdm_method`` and ``compare_method`` (:mod:`neurosage.rsa.methods`) travel with the teacher too; a method that
    needs repetitions (crossnobis) is computed from the trials before they are averaged.

    An endpoint that cannot teach is refused with its name: fewer than 2 sites, an RDM that is constant or not
    finite, or a ceiling that is not positive (responses not reliable across repetitions on these stimuli).
    """
    check_arguments(brain_teacher, locals())
    choice(ceiling, "ceiling", CEILING_CONVENTIONS)  # checked first, whether or not the recording has repetitions
    whole(ceiling_splits, "ceiling_splits", 1, fix="use e.g. 10 random split halves")
    if not isinstance(assembly, xr.DataArray):
        raise ConfigError(f"assembly must be a recording (an xarray DataArray presentation x neuroid), got {type(assembly).__name__}",
                          "load it with neurosage.load_neural(...) or build it with neurosage.make_assembly(...)", field="assembly")
    assembly = validate(assembly, allow_nan=True)
    if isinstance(endpoints, str):
        raise ConfigError(f"endpoints must be a list of region names, got the string {endpoints!r}", f"pass {endpoints.split(',')!r}",
                          field="endpoints")
    names = list(endpoints) if endpoints is not None else regions(assembly)
    ids = getattr(images, "stimulus_ids", None)
    if images is not None and ids is None:
        raise ConfigError("the images have no stimulus_ids, so they cannot be paired with the recording's stimuli",
                          "set images.stimulus_ids (one id per image, as the recording's stimulus_id), or load them with their stimulus "
                          "CSV (load_stimulus_images)", field="stimulus_ids")
    if ids is not None:
        recorded = np.asarray(assembly[STIMULUS_ID].values).astype(str)
        missing = sorted(set(map(str, ids)) - set(recorded))
        if missing:
            raise ConfigError(f"{len(missing)} of the {len(ids)} stimulus image(s) of {getattr(images, 'name', 'the images')} have no "
                              f"recording, e.g. {[str(m) for m in missing[:3]]} (the recording's ids look like {[str(r) for r in recorded[:2]]})"
                              + _id_mismatch(missing, recorded),
                              "use the images of the recording's stimulus set, named by the stimulus CSV (on the command line "
                              "--teacher-images FOLDER_OR_ZIP; for neurosage rdm: --stimuli CSV --images FOLDER_OR_ZIP)",
                              field="stimulus_id")
        assembly = assembly.isel(presentation=np.flatnonzero(np.isin(recorded, np.asarray(ids).astype(str))))  # the stimuli scored
    for name, part in select_regions(assembly, names, coord=REGION).items():
        if part.sizes["neuroid"] < 2:
            raise ConfigError(f"endpoint {name!r} has {part.sizes['neuroid']} site(s); its RDM is undefined with fewer than 2",
                              f"drop {name!r} from the teacher's regions", field="endpoints")
    repeated = len(set(assembly[STIMULUS_ID].values)) < assembly.sizes["presentation"]
    rdm_method, compare_method = check_rsa_methods(rdm_method, compare_method)
    ceilings = (noise_ceilings(assembly, names, n_splits=ceiling_splits, seed=seed, convention=ceiling, rdm_method=rdm_method,
                               compare_method=compare_method) if repeated else None)
    if RDM_METHODS.get(rdm_method).needs_repetitions:
        if not repeated:
            raise ConfigError(f"rdm-method {rdm_method!r} needs the recording's repetitions, but every stimulus was presented once (or averaged)",
                              "load the recording with average=False, or use rdm-method 'sqeuclidean'", field="rdm_method")
        rdms = stack_rdms({n: compute_rdm(a, rdm_method) for n, a in select_regions(assembly, names, coord=REGION).items()})
        assembly = validate(average_repetitions(assembly), unique_stimuli=True)
        parts = select_regions(assembly, names, coord=REGION)
    else:
        assembly = validate(average_repetitions(assembly) if repeated else assembly, unique_stimuli=True)
        parts = select_regions(assembly, names, coord=REGION)
        rdms = stack_rdms({n: compute_rdm(a, rdm_method) for n, a in parts.items()})
    rdms.attrs.update(rdm_method=rdm_method, compare_method=compare_method)
    degenerate = [name for name in names if _degenerate(rdms.sel({STACK: name}).values)]
    if len(names) > 1 and len(degenerate) == len(names):  # every endpoint: the recording itself, not one region, is at fault
        source = assembly.attrs.get("source")
        raise DataFormatError(f"every endpoint ({', '.join(names)}) has a constant or non-finite RDM: the recording's responses are "
                              "the same for every stimulus (or not finite)", "check the recording's responses file (all zeros or one value? "
                              "saved before it was filled?)", file=source if isinstance(source, str) else None, field="values")
    for name in names:
        refuse_degenerate_rdm(rdms.sel({STACK: name}).values, name)
    sites = {n: int(a.sizes["neuroid"]) for n, a in parts.items()}
    log.info("brain teacher: %s sites per endpoint, %d stimuli", sites, rdms.sizes[ROW])
    rdms.attrs["sites"] = json.dumps(sites)
    if ceilings is not None:
        for name, c in ceilings.items():
            if not c.value > 0:
                raise ConfigError(
                    f"endpoint {name!r} has noise ceiling {c.value:.3f} on these {c.n_stimuli} stimuli (split-half reliability "
                    f"{c.reliability:.3f}): its responses do not repeat, so no model can be scored against it",
                    f"drop {name!r} from the teacher's regions, or use more stimuli or repetitions", field="endpoints",
                )
            if c.value < LOW_CEILING:
                log.warning("endpoint %s: noise ceiling %s is low; its scores over the ceiling are unstable", name, c.describe())
        log.info("brain teacher noise ceilings (%s): %s", ceiling, {k: c.describe() for k, c in ceilings.items()})
        rdms.attrs.update(ceilings=json.dumps({k: c.value for k, c in ceilings.items()}),
                          ceiling_details=json.dumps({k: c.to_dict() for k, c in ceilings.items()}), ceiling_convention=ceiling)
    if ids is not None:
        rdms = rdms.sel({ROW: list(map(str, ids)), COL: list(map(str, ids))})
    return Teacher(rdms, images)


def _id_mismatch(missing: Sequence[str], recorded: np.ndarray) -> str:
    """What turns the missing stimulus ids into recorded ones, when one simple change does (spaces, case, leading zeros)."""
    known = set(map(str, recorded))
    for change, what in ((str.strip, "spaces around them"), (str.casefold, "letter case"),
                         (lambda v: v.strip().lstrip("0") or "0", "leading zeros (a spreadsheet program that read the ids as numbers drops them)")):
        normalised = {change(r): r for r in known}
        if all(change(str(m)) in normalised for m in missing):
            return f"; they differ from recorded ids only by {what}: e.g. {str(missing[0])!r} is {normalised[change(str(missing[0]))]!r}"
    return ""


#: Ceilings below this are warned about: a score over such a ceiling moves a lot with noise.
LOW_CEILING = 0.3


def _degenerate(rdm: np.ndarray) -> bool:
    """Whether an RDM cannot be correlated with anything: constant, or not finite."""
    upper = rdm[np.triu_indices(rdm.shape[0], k=1)]
    return not np.isfinite(upper).all() or bool(np.ptp(upper) <= 1e-12 * max(1.0, float(np.abs(upper).max())))


def refuse_degenerate_rdm(rdm: np.ndarray, name: str, images: Any = None) -> None:
    """Refuse a teacher endpoint whose RDM cannot be correlated with anything (constant or not finite), naming it (and
    the stimuli's size when ``images`` are so small that every pattern is nearly the same)."""
    if _degenerate(rdm):
        shape = tuple(getattr(images, "stored_shape", ()) or ())
        tiny = len(shape) == 3 and shape[1] * shape[2] < 4
        cause = (f"the stimulus images are {shape[1]}x{shape[2]} pixel(s) with {shape[0]} channel(s): too few values to tell them apart"
                 if tiny else "constant responses, or too few features")
        raise ConfigError(f"endpoint {name!r} has a constant or non-finite RDM ({cause})",
                          "use stimulus images of a real size (e.g. 28x28 or more)" if tiny else f"drop {name!r} from the teacher",
                          field="endpoints")


def network_teacher(
    model: nn.Module,
    images,
    layers: Sequence[str],
    *,
    n_subsamples: int = 10,
    subsample_features: int | None = 1000,
    rdm_method: str = "correlation",
    compare_method: str = "pearson",
    device: str | torch.device | None = None,
    batch_size: int = 256,
    seed: int = 0,
) -> Teacher:
    """A teacher whose endpoints are layers of a trained network, their RDMs made by :func:`model_rdms`.

    Each endpoint's RDM is the mean over ``n_subsamples`` random subsets of
    ``subsample_features`` features (the paper: 10 subsamples per layer); layer
    ``i`` draws its subsets from ``derive_seed(seed, i)``. ``rdm_method`` and ``compare_method`` (:mod:`neurosage.rsa.methods`)
    travel with the teacher: candidates are scored the same way (a layer has no repetitions, so a method that needs them
    uses its ``for_models`` method here: crossnobis is sqeuclidean).
    """
    check_arguments(network_teacher, locals())
    if isinstance(images, np.ndarray):  # uint8 pixels reached the network unconverted (torch: "expected scalar type Byte")
        raise ConfigError(f"images is a numpy array {images.dtype} {images.shape}, and the network is shown converted images with their ids",
                          "wrap them: neurosage.ImageSet(uint8 images (N, C, H, W), stimulus_ids=[...]) (or load_stimulus_images(csv, "
                          "folder))", field="images")
    rdm_method, compare_method = check_rsa_methods(rdm_method, compare_method)
    rdm = RDMOptions(subsample_features, n_subsamples, rdm_method)
    rdms = model_rdms(model, images, layers, rdm=rdm, batch_size=batch_size, device=device, seed=seed)
    rdms.attrs.update(rdm_method=rdm_method, compare_method=compare_method)
    for name in rdms[STACK].values:
        refuse_degenerate_rdm(rdms.sel({STACK: name}).values, str(name), images)
    teacher = Teacher(rdms, images)
    log_layer_method(teacher)  # crossnobis: said here, not only by the commands that build the teacher
    return teacher
