"""Teachers from command-line specs; endpoints of several specs combine with ``+``.

- ``net:<model>:<layer,...>[:<weights>]``: layers of a network. ``<model>`` is a
  torchvision model name (``resnet18``) or ``cifar_resnet-<n>`` (the paper's
  CIFAR ResNet; ``cifar_resnet-9`` has 54 convs). ``<weights>`` is a state-dict
  file, a torchvision weights name (default for torchvision models: ``DEFAULT``,
  read from the local torch cache, never downloaded) or ``random`` (seeded); the
  images are converted as the weights expect.
- ``brain:<dataset>:<region,...>``: regions of a registered neural dataset (its
  paths from the dataset's environment variables or ``dataset_kwargs``).
- ``sim:<model>:<region=layer,...>[:<weights.pt>]``: a simulated recording of
  network layers (100 sites per region, reliability 0.8, 10 repetitions).

Teacher RDMs are cached in ``cache_dir`` as netCDF, keyed by a hash of their
provenance (:func:`teacher_provenance`: the spec, every loader argument, the
sha256 of every input file, the stimulus ids, pixels and conversion, the seed and
the RDM options), which the cached file stores in its ``provenance`` attribute.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from neurosage.assembly import select_regions
from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments, whole
from neurosage.data_adapters.registry import get_entry, load_neural
from neurosage.data_adapters.simulated import simulate_recording
from neurosage.nets.models import FeatureModel, build_model, model_inputs, read_weights_info
from neurosage.rsa.methods import check_rsa_methods
from neurosage.teachers import TEACHER_KINDS
from neurosage.teachers.controls import control_name
from neurosage.teachers.teacher import Teacher, brain_teacher, network_teacher
from neurosage.training.activations import extract_activations
from neurosage.training.devices import check_device

__all__ = ["check_teacher_kinds", "teacher_provenance", "net_teacher", "recording_teacher", "simulated_teacher", "teacher_from_spec"]


log = logging.getLogger(__name__)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def teacher_provenance(spec: str, stimuli: Any, dataset_kwargs: dict[str, Any], seed: int, rdm_method: str = "correlation",
                       compare_method: str = "pearson") -> dict[str, Any]:
    """Everything a teacher's RDMs depend on: spec, loader arguments, input files' sha256, stimuli, seed, RDM options."""
    check_arguments(teacher_provenance, locals())
    check_teacher_kinds(spec)  # a spec that names no teacher has no provenance
    rdm_method, compare_method = check_rsa_methods(rdm_method, compare_method)  # a misspelt method is never recorded as given
    candidates = [*dataset_kwargs.values(), *spec.replace("+", ":").split(":")]
    files = {str(v): _sha256(Path(v)) for v in candidates if isinstance(v, (str, os.PathLike)) and str(v) and Path(v).is_file()}
    pixels = hashlib.sha256(np.ascontiguousarray(stimuli.images.numpy()).tobytes()).hexdigest()
    conversion = {k: getattr(stimuli, k, None) for k in ("size", "channels")}
    conversion.update(mean=_listed(getattr(stimuli, "_mean", None)), std=_listed(getattr(stimuli, "_std", None)))
    described = {"n": len(stimuli), "ids_sha256": hashlib.sha256(repr(list(stimuli.stimulus_ids)).encode()).hexdigest(),
                 "pixels_sha256": pixels, "conversion": conversion}
    if "control:category" in spec:  # its RDM is made of the labels (only there, so other teachers keep their keys)
        described["labels_sha256"] = hashlib.sha256(np.ascontiguousarray(np.asarray(stimuli.labels.cpu())).tobytes()).hexdigest()
    return {
        "spec": spec, "loader_args": {k: str(v) for k, v in sorted(dataset_kwargs.items())}, "files": files, "seed": seed,
        "stimuli": described,
        "rdm": {"rdm_method": rdm_method, "compare_method": compare_method, "network_layers": "mean of 10 subsamples of 1000 features",
                "recordings": "all sites"},
    }


def _legacy_provenance(provenance: dict[str, Any]) -> dict[str, Any]:
    """``provenance`` as teachers were keyed before the RSA choices were named ``rdm_method``/``compare_method`` there
    (``method``, and ``compare`` only when not Pearson), so their caches are still found."""
    rdm = dict(provenance["rdm"])
    method, compare = rdm.pop("rdm_method"), rdm.pop("compare_method")
    return {**provenance, "rdm": {"method": method, **rdm, **({"compare": compare} if compare != "pearson" else {})}}


def _listed(value: Any) -> Any:
    return None if value is None else [round(float(x), 6) for x in np.asarray(value).ravel()]


def _cache_key(provenance: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(provenance, sort_keys=True).encode()).hexdigest()[:16]




def _fields(spec: str, args: list[str], n_min: int, n_max: int, usage: str) -> list[str]:
    if not n_min <= len(args) <= n_max:
        given = sum(1 for a in args if a.strip())  # a bare 'sim' splits into one empty field
        raise ConfigError(f"teacher spec {spec!r} has {given} field(s) after the kind, and it takes {n_min}" + (f" to {n_max}" if n_max > n_min
                          else ""), f"write it as {usage}", field="teacher")
    empty = [i for i, a in enumerate(args) if not str(a).strip()]
    if empty:
        raise ConfigError(f"teacher spec {spec!r} has an empty field (field {empty[0] + 2}, e.g. a trailing ':')", f"write it as {usage}",
                          field="teacher")
    return args + [None] * (n_max - len(args))  # type: ignore[list-item]


def net_teacher(spec: str, args: list[str], stimuli: Any, *, device: str | None, seed: int, dataset_kwargs: dict[str, Any] | None = None,
                rdm_method: str = "correlation", compare_method: str = "pearson") -> Teacher:
    """Kind ``net``: layers of a network (``dataset_kwargs`` are not used)."""
    name, layers, weights = _fields(spec, args, 2, 3, "net:<model>:<layer,...>[:<weights.pt>]")
    listed = [layer.strip() for layer in layers.split(",")]
    if not all(listed) or len(set(listed)) != len(listed):  # each layer is one endpoint
        problem = "an empty layer name" if not all(listed) else f"layer {next(x for x in listed if listed.count(x) > 1)!r} twice"
        once = ",".join(dict.fromkeys(x for x in listed if x))
        raise ConfigError(f"teacher spec {spec!r} names {problem}", f"list each layer once, e.g. net:{name}:{once}", field="teacher")
    model = build_model(name, weights=weights, in_channels=stimuli.image_shape[0], seed=seed)
    _warn_other_images(weights, stimuli)
    teacher = network_teacher(model, model_inputs(model, stimuli), listed, device=device, seed=seed, rdm_method=rdm_method,
                              compare_method=compare_method)
    teacher.rdms.attrs["weights"] = model.neurosage_weights
    return Teacher(teacher.rdms, stimuli)


def _warn_other_images(weights: str | None, stimuli: Any) -> None:
    """Say when a weights file's record (:func:`~neurosage.nets.models.read_weights_info`) shows it was trained on images of
    another size or number of channels than the stimuli its layers are now shown."""
    info = read_weights_info(weights) if weights and weights.endswith(".pt") else None
    if info is None:
        return
    trained, shown = tuple(info["image_shape"]), tuple(stimuli.image_shape)
    if trained != shown:
        log.warning("the teacher's weights %s were trained on %s images (%s) and are shown %s stimuli here: its layers see images "
                    "unlike those it learned from, so its RDMs say little about what it learned (train a teacher on images of the "
                    "stimuli's size)", weights, _shape_text(trained), info.get("trained_on"), _shape_text(shown))


def _shape_text(shape: tuple) -> str:
    return f"{'grey' if shape[0] == 1 else 'colour'} {shape[1]}x{shape[2]}"


def recording_teacher(spec: str, args: list[str], stimuli: Any, *, device: str | None = None, seed: int = 0, dataset_kwargs: dict[str, Any],
                      rdm_method: str = "correlation", compare_method: str = "pearson") -> Teacher:
    """Kind ``brain``: regions of a registered neural dataset (its RDMs are computed on the CPU; ``device`` is not used)."""
    dataset, regions = _fields(spec, args, 2, 2, "brain:<dataset>:<region,...>")
    if "regions" in dataset_kwargs:
        raise ConfigError(f"the regions come from the teacher spec ({regions!r} in {spec!r}), and a loader argument regions= "
                          f"({dataset_kwargs['regions']!r}) was given too", f"drop --teacher-arg regions (teacher_args) and name the regions in "
                          f"the spec, e.g. brain:{dataset}:{dataset_kwargs['regions']}", field="teacher_args")
    loader = get_entry(dataset, "neural").factory
    trials = {"average": False} if "average" in inspect.signature(loader).parameters and "average" not in dataset_kwargs else {}
    names = _regions_once([r.strip() for r in regions.split(",")], spec, "brain:MajajHong2015:V4,IT")
    recording = load_neural(dataset, regions=tuple(names), **trials, **dataset_kwargs)
    return brain_teacher(recording, stimuli, seed=seed, rdm_method=rdm_method, compare_method=compare_method)  # repetitions kept for the ceilings


def _regions_once(names: list[str], spec: str, example: str) -> list[str]:
    """The region names of a spec, refusing an empty one or one named twice (a dict would keep the last silently)."""
    if not all(names) or len(set(names)) != len(names):
        problem = "an empty region name" if not all(names) else f"region {next(r for r in names if names.count(r) > 1)!r} twice"
        raise ConfigError(f"teacher spec {spec!r} names {problem}", f"list each region once, comma-separated, e.g. {example}", field="teacher")
    return names


def simulated_teacher(spec: str, args: list[str], stimuli: Any, *, device: str | None, seed: int, dataset_kwargs: dict[str, Any] | None = None,
                      rdm_method: str = "correlation", compare_method: str = "pearson") -> Teacher:
    """Kind ``sim``: a simulated recording of network layers (``dataset_kwargs`` are not used)."""
    name, mapping_text, weights = _fields(spec, args, 2, 3, "sim:<model>:<region=layer,...>[:<weights.pt>]")
    pairs = [item.partition("=") for item in mapping_text.split(",")]
    bad = [region for region, eq, layer in pairs if not (eq and region.strip() and layer.strip())]
    if bad:
        raise ConfigError(f"teacher spec {spec!r}: {bad[0]!r} is not REGION=LAYER", "write e.g. sim:resnet18:V4=layer2,IT=layer4", field="teacher")
    regions = _regions_once([region.strip() for region, _, _ in pairs], spec, "sim:resnet18:V4=layer2,IT=layer4")
    mapping = dict(zip(regions, (layer.strip() for _, _, layer in pairs)))
    layers = list(dict.fromkeys(mapping.values()))
    model = build_model(name, weights=weights, in_channels=stimuli.image_shape[0], seed=seed)
    extractor = model if hasattr(model, "extract") else FeatureModel(model, layers)
    acts = select_regions(extract_activations(extractor, model_inputs(model, stimuli), layers, device=device), layers)
    recording = simulate_recording({r: acts[layer].values for r, layer in mapping.items()}, list(stimuli.stimulus_ids), seed=seed)
    return brain_teacher(recording, stimuli, seed=seed, rdm_method=rdm_method, compare_method=compare_method)


#: Built-in teacher kinds that read no loader arguments (``dataset_kwargs``, ``--teacher-arg``).
IGNORE_LOADER_ARGUMENTS = frozenset({"net", "sim", "control"})


def check_teacher_kinds(spec: str) -> list[str]:
    """The kind of each ``+``-joined part of a teacher spec, refusing one that no registry knows (before any work)."""
    kinds = []
    parts = spec.split("+")
    for i, part in enumerate(parts):
        kind = part.strip().partition(":")[0]
        if kind not in TEACHER_KINDS and i and ":" not in part and parts[i - 1].strip().startswith("brain:"):  # V4+IT: regions
            regions = ",".join(p.strip().rpartition(":")[2] if j == 0 else p.strip() for j, p in enumerate(parts[i - 1:i + 1]))
            raise ConfigError(f"{part.strip()!r} in teacher spec {spec!r} is not a teacher: '+' joins whole teachers (each with its "
                              "kind), and the regions of one recording are joined by ','",
                              f"write {parts[i - 1].strip().rpartition(':')[0]}:{regions}", field="teacher")
        if kind not in TEACHER_KINDS:
            raise ConfigError(f"unknown teacher kind {kind!r} in {part.strip()!r}", f"start the spec with one of {[k + ':' for k in TEACHER_KINDS]}",
                              field="teacher")
        if kind == "control":  # the control's name too: 'control:pixel' is no teacher
            control_name(part.strip(), part.strip().split(":")[1:])
        kinds.append(kind)
    return kinds


def _one(spec: str, stimuli: Any, *, device: str | None, seed: int, dataset_kwargs: dict[str, Any], rdm_method: str, compare_method: str) -> Teacher:
    kind, _, rest = spec.partition(":")
    check_teacher_kinds(spec)
    # create() is typed by the registered callable (a TeacherKind); calling it gives the kind's Teacher
    teacher: Any = TEACHER_KINDS.create(kind, spec, rest.split(":"), stimuli, device=device, seed=seed, dataset_kwargs=dataset_kwargs,
                                        rdm_method=rdm_method, compare_method=compare_method)
    got = (teacher.rdm_method, teacher.compare_method)
    if got != (rdm_method, compare_method):  # a plug-in kind that ignores the choices would silently score another way
        raise ConfigError(f"teacher kind {kind!r} built RDMs by {got[0]!r} compared by {got[1]!r}, not the requested {rdm_method!r} / "
                          f"{compare_method!r}", "use the default rdm-method and compare-method with this kind, or make the kind use its "
                          "rdm_method= and compare_method= (neurosage.teachers.TeacherKind)", field="rdm_method")
    return teacher


def teacher_from_spec(
    spec: str,
    stimuli: Any,
    *,
    cache_dir: str | Path | None = None,
    device: str | None = None,
    seed: int = 0,
    dataset_kwargs: dict[str, Any] | None = None,
    rdm_method: str = "correlation",
    compare_method: str = "pearson",
    **unknown: Any,
) -> Teacher:
    """Build (or load from ``cache_dir``) the teacher described by ``spec``; ``+`` combines specs.

    ``rdm_method`` and ``compare_method`` (:mod:`neurosage.rsa.methods`) travel with the teacher and score its candidates.
    A recording loader's own arguments (``responses=``, ``path=``...) go in ``dataset_kwargs``.
    """
    if unknown:
        key = next(iter(unknown))
        recording = isinstance(spec, str) and any(part.strip().startswith("brain:") for part in spec.split("+"))
        if key == "teacher_args":  # compare_model's name for the same thing
            fix = "teacher_from_spec calls the loader's arguments dataset_kwargs: pass dataset_kwargs={...}"
        elif key == "n_stimuli":
            fix = "choose the stimuli before: pass stimuli.subset(range(N)) as the images"
        elif recording:
            fix = f"a recording loader's arguments go in dataset_kwargs, e.g. dataset_kwargs={{{key!r}: ...}}"
        else:
            fix = "teacher_from_spec takes cache_dir, device, seed, dataset_kwargs (a brain: teacher's loader), rdm_method and compare_method"
        raise ConfigError(f"teacher_from_spec() got unknown keyword argument(s) {sorted(unknown)}", fix, field=key)
    seed = whole(seed, "seed", 0, fix="pass seed as a whole number >= 0, e.g. seed=0")
    if stimuli is None:  # every teacher is computed on stimulus images
        raise ConfigError("stimuli is None, and a teacher's RDMs are computed on stimulus images", "pass the stimuli as an ImageSet: "
                          "neurosage.load_stimulus_images(csv, folder), or a subset of a dataset (load_images(...).subset(range(N)))",
                          field="stimuli")
    check_device(device)
    rdm_method, compare_method = check_rsa_methods(rdm_method, compare_method)
    if not isinstance(spec, str):
        joined = "+".join(map(str, spec)) if isinstance(spec, (list, tuple)) else None
        raise ConfigError(f"a teacher spec is one string, got a {type(spec).__name__} {spec!r}"[:200],
                          f"pass {joined!r} (parts joined by '+')" if joined else "pass a spec such as 'control:pixels'", field="teacher")
    if any(not part.strip() for part in spec.split("+")):
        raise ConfigError(f"teacher spec {spec!r} has an empty part" + (" (a '+' with nothing on one side)" if "+" in str(spec) else ""),
                          "write one spec, or specs joined by '+', e.g. brain:MajajHong2015:V4,IT+net:cifar_resnet-1:stack3", field="teacher")
    check_arguments(teacher_from_spec, locals())
    parts = [part.strip() for part in str(spec).split("+")]
    repeated = next((part for part in parts if parts.count(part) > 1), None)
    if repeated is not None:
        raise ConfigError(f"teacher spec {spec!r} names {repeated!r} twice", f"drop the repeated part: {'+'.join(dict.fromkeys(parts))}",
                          field="teacher")
    kinds = {part.partition(":")[0] for part in parts}
    if dataset_kwargs and kinds <= IGNORE_LOADER_ARGUMENTS:  # nothing would read them: a typo'd spec, or arguments meant for a recording
        raise ConfigError(f"loader arguments {sorted(dataset_kwargs)} were given, but teacher {spec!r} has no recording to load "
                          f"({', '.join(sorted(k + ':' for k in kinds))} teachers do not read them)",
                          "drop --teacher-arg (teacher_args), or use a brain: teacher whose loader takes them", field="teacher_args")
    if callable(stimuli) and not hasattr(stimuli, "stimulus_ids"):  # pool.stimuli without its parentheses
        raise ConfigError(f"stimuli is a function ({getattr(stimuli, '__qualname__', stimuli)}), not images", "call it: e.g. pool.stimuli()",
                          field="stimuli")
    if isinstance(stimuli, (str, os.PathLike)):
        raise ConfigError(f"stimuli is the path {str(stimuli)!r}, and teacher_from_spec takes the images themselves",
                          "load them first, e.g. neurosage.data_adapters.load_stimulus_images(csv, folder) (the CSV names each image's "
                          "stimulus_id)", field="stimuli")
    if getattr(stimuli, "stimulus_ids", None) is None:
        raise ConfigError("the teacher's stimulus images have no stimulus ids", "set ImageSet.stimulus_ids (they pair images with recordings)",
                          field="stimulus_ids")
    provenance: dict[str, Any] | None = None
    cache: Path | None = None
    if cache_dir and Path(cache_dir).exists() and not Path(cache_dir).is_dir():
        raise ConfigError("cache_dir is a file, and the teacher's cache is a folder", "give a folder (it is created), e.g. RUN/teacher",
                          file=cache_dir, field="cache_dir")
    if cache_dir:
        provenance = teacher_provenance(spec, stimuli, dataset_kwargs or {}, seed, rdm_method, compare_method)
        cache = Path(cache_dir) / f"teacher-{_cache_key(provenance)}.nc"
        for path in (cache, Path(cache_dir) / f"teacher-{_cache_key(_legacy_provenance(provenance))}.nc"):
            cached = Teacher.load_cached(path, stimuli)
            if cached is not None:
                log.info("teacher %s loaded from cache %s", spec, path)
                return cached
    teachers = [_one(s.strip(), stimuli, device=device, seed=seed, dataset_kwargs=dataset_kwargs or {}, rdm_method=rdm_method,
                     compare_method=compare_method) for s in spec.split("+")]
    teacher = teachers[0]
    for other in teachers[1:]:
        teacher = teacher + other
    if cache is not None:
        teacher.rdms.attrs["provenance"] = json.dumps(provenance, sort_keys=True)
        teacher.save(cache)
    return teacher
