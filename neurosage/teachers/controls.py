"""Control teachers: what a similarity to a teacher can owe to something the teacher did not learn.

Each is an ordinary :class:`~neurosage.teachers.teacher.Teacher` on the given stimuli, so everything downstream (scores,
caches, ``+``, ``neurosage rdm``) treats it like any teacher:

- :func:`pixel_teacher`: one endpoint ``pixels``, the RDM of the stimuli as the candidates see them (the image set's own
  conversion to float, flattened; every pixel, no subsampling);
- :func:`category_teacher`: one endpoint ``category``, 0 within a category and 1 between (the image set's labels);
- :func:`untrained_teacher`: the teacher's architecture with random weights (seeded), its layers as endpoints, the inputs
  converted as the trained teacher's; call it with several seeds for several draws.

Specs (teacher kind ``control``): ``control:pixels``, ``control:category`` and
``control:untrained:<model>:<layer,...>[:<weights>]`` (the ``net:`` spec of the trained teacher with ``net:`` replaced:
``<weights>`` is the trained teacher's and sets only the input conversion; the weights are random, from the seed).
:func:`controls_for` gives the controls of a teacher spec; :func:`score_model_beyond` scores a model beyond a control
(:mod:`neurosage.rsa.partial`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.nets import MODELS
from neurosage.nets.models import build_model, model_inputs
from neurosage.rsa.methods import check_rsa_methods, model_rdm_method
from neurosage.rsa.partial import partial_method, partial_scores
from neurosage.rsa.rdm import COL, ROW, STACK, compute_rdm, stack_rdms
from neurosage.rsa.score import TeacherScores
from neurosage.teachers.scoring import score_model_rdms
from neurosage.teachers.teacher import Teacher, log_layer_method, network_teacher, refuse_degenerate_rdm
from neurosage.training.configs import RDMOptions

__all__ = ["CONTROLS", "pixel_teacher", "category_teacher", "untrained_teacher", "control_teacher", "controls_for", "score_model_beyond"]

log = logging.getLogger(__name__)

#: The controls a ``control:`` spec can name, with their syntax.
CONTROLS = {"pixels": "control:pixels", "category": "control:category", "untrained": "control:untrained:<model>:<layer,...>[:<weights>]"}


def control_name(spec: str, args: Sequence[str]) -> str:
    """The control a ``control:`` spec names (its first field after the kind), refused by name when it names none."""
    which = args[0] if args else ""
    if which not in CONTROLS:
        joined = "," in spec and any(part.strip().split(":")[0] in ("control", "brain", "net", "sim") for part in spec.split(",")[1:])
        close = [name for name in CONTROLS if which and (name.startswith(which) or which.startswith(name))]
        raise ConfigError(f"teacher spec {spec!r} names no control" + (" (two specs joined by a comma)" if joined else "")
                          + (f" (did you mean {CONTROLS[close[0]]}?)" if close and not joined else ""),
                          f"join teachers with '+': {'+'.join(p.strip() for p in spec.split(','))}" if joined else
                          f"write one of {list(CONTROLS.values())}", field="teacher")
    return which


def _ids(stimuli: Any) -> list[str]:
    from neurosage.data_adapters.imageset import ImageSet

    if not isinstance(stimuli, ImageSet):
        raise ConfigError(f"stimuli must be an ImageSet, got {type(stimuli).__name__}", "wrap the images: ImageSet(uint8 NCHW images, labels, "
                          "stimulus_ids=..., mean=..., std=...)", field="stimuli")
    ids = getattr(stimuli, "stimulus_ids", None)
    if ids is None:
        raise ConfigError("the stimulus images have no stimulus ids", "set ImageSet.stimulus_ids (they label the RDM conditions)",
                          field="stimulus_ids")
    if len(stimuli) < 3:  # a teacher's RDM correlations are undefined below 3 stimuli
        raise ConfigError(f"the stimuli hold {len(stimuli)} image(s), and a teacher needs at least 3", "give the teacher's stimulus images "
                          "(e.g. load_stimulus_images(csv, folder), or a subset of a dataset's images)", field="stimuli")
    return [str(i) for i in ids]


def _single(name: str, rdm: xr.DataArray, stimuli: Any, rdm_method: str, compare_method: str, control: str, **attrs: str) -> Teacher:
    refuse_degenerate_rdm(rdm.values, name, stimuli)
    rdms = stack_rdms({name: rdm})
    rdms.attrs.update(rdm_method=rdm_method, compare_method=compare_method, control=control, **attrs)
    return Teacher(rdms, stimuli)


def pixel_teacher(stimuli: Any, *, rdm_method: str = "correlation", compare_method: str = "pearson", batch_size: int = 256,
                  device: str | torch.device | None = None) -> Teacher:
    """One endpoint ``pixels``: the RDM of the stimuli's pixels as candidates see them (``stimuli``' own conversion to float:
    channels, size, normalisation), flattened, by ``rdm_method`` (a method that needs repetitions uses its ``for_models``
    method, as network layers do); all pixels, not subsampled."""
    check_arguments(pixel_teacher, locals())
    rdm_method, compare_method = check_rsa_methods(rdm_method, compare_method)
    ids = _ids(stimuli)
    pixels = torch.cat([stimuli.batch(range(start, min(start + batch_size, len(stimuli))))[0].reshape(-1, int(np.prod(stimuli.image_shape)))
                        .to(torch.float64).cpu() for start in range(0, len(stimuli), batch_size)])
    rdm = compute_rdm(pixels, model_rdm_method(rdm_method), labels=ids, device=device)
    teacher = _single("pixels", rdm, stimuli, rdm_method, compare_method, "pixels")
    log_layer_method(teacher)  # crossnobis: pixels have no repetitions either, so the RDM is sqeuclidean (said, not only labelled)
    return teacher


def category_teacher(stimuli: Any, *, rdm_method: str = "correlation", compare_method: str = "pearson") -> Teacher:
    """One endpoint ``category``: 0 between stimuli of the same category, 1 between categories (``stimuli.labels``).

    This is the RDM of one-hot category patterns by every built-in RDM method, up to a positive scale that no comparison
    sees; it is labelled with the teacher's ``rdm_method`` (its ``for_models`` method in the ``method`` attr), so Euclidean
    comparisons (CKA) accept it. Stimuli without labels (``-1``), or of one category only, are refused.
    """
    check_arguments(category_teacher, locals())
    rdm_method, compare_method = check_rsa_methods(rdm_method, compare_method)
    ids = _ids(stimuli)
    labels = np.asarray(stimuli.labels.cpu()).astype(np.int64)
    if (labels < 0).any():
        raise ConfigError(f"{int((labels < 0).sum())} of the {len(labels)} stimuli of {getattr(stimuli, 'name', 'the images')} have no "
                          "category label (-1, e.g. an empty category cell of the stimulus CSV); a category control needs "
                          "every stimulus labelled", "fill the empty category cells of the stimulus CSV (in Python: ImageSet(..., "
                          "labels=...)), or leave out control:category", field="labels")
    if len(np.unique(labels)) < 2:
        raise ConfigError(f"all {len(labels)} stimuli are of one category ({int(labels[0])}): the category RDM would be constant",
                          "use stimuli of at least 2 categories, or leave out control:category", field="labels")
    between = (labels[:, None] != labels[None, :]).astype(np.float64)
    rdm = xr.DataArray(between, dims=(ROW, COL), coords={ROW: ids, COL: ids},
                       attrs={"method": model_rdm_method(rdm_method), "descriptor": "stimulus_id"})
    classes = getattr(stimuli, "classes", None)
    return _single("category", rdm, stimuli, rdm_method, compare_method, "category",
                   categories=",".join(classes[i] if classes else str(i) for i in np.unique(labels)))


def untrained_teacher(
    model: str,
    layers: Sequence[str],
    stimuli: Any,
    *,
    seed: int,
    weights: str | None = None,
    rdm_method: str = "correlation",
    compare_method: str = "pearson",
    n_subsamples: int = 10,
    subsample_features: int | None = 1000,
    device: str | torch.device | None = None,
    batch_size: int = 256,
) -> Teacher:
    """The architecture ``model`` (a :func:`~neurosage.nets.models.build_model` name) with random weights drawn from ``seed``,
    its ``layers`` as endpoints: the untrained counterpart of ``net:<model>:<layers>[:<weights>]``.

    ``weights`` names the trained teacher's weights only to convert the inputs as that teacher does (a torchvision weights
    name, default ``DEFAULT`` for a torchvision model: its size, mean and std, from torchvision's metadata, nothing loaded);
    with a weights file, or for a project model, the stimuli are used as the random network's own conversion gives them, as
    ``net:`` does. The RDMs are made as :func:`~neurosage.teachers.teacher.network_teacher`'s (feature subsets drawn from
    ``seed`` too). The ``weights`` attr says ``random weights (seed <seed>)``.
    """
    check_arguments(untrained_teacher, locals())
    if isinstance(layers, str):
        raise ConfigError(f"layers must be a list of layer names, got the string {layers!r}", f"pass {layers.split(',')!r}", field="layers")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"an untrained control needs an integer seed, got {seed!r}", "give seed=0 (and other seeds for more draws)", field="seed")
    _check_weights_name(model, weights)
    net = build_model(model, weights="random", in_channels=stimuli.image_shape[0], seed=int(seed))
    conversion = _trained_conversion(model, weights)
    inputs = stimuli.with_conversion(**conversion) if conversion else model_inputs(net, stimuli)
    teacher = network_teacher(net, inputs, list(layers), n_subsamples=n_subsamples, subsample_features=subsample_features, rdm_method=rdm_method,
                              compare_method=compare_method, device=device, batch_size=batch_size, seed=int(seed))
    teacher.rdms.attrs.update(weights=net.neurosage_weights, control="untrained", model=model)
    return Teacher(teacher.rdms, stimuli)


def _check_weights_name(model: str, weights: str | None) -> None:
    """The trained teacher's ``weights`` as a ``net:`` spec names them: a state-dict file, ``random``, or (torchvision
    models) ``DEFAULT`` or a weights name; anything else (``seed3``: the seed is not given here) is refused."""
    if weights is None or weights == "random" or Path(weights).is_file() or _weights_entry(model, weights) is not None:
        return
    raise ConfigError(f"the untrained control's <weights> field {weights!r} is neither a weights file nor a weights name of {model}",
                      "give the trained teacher's weights (a state-dict file, or a torchvision weights name such as DEFAULT) or leave the field "
                      "out; the random weights come from the teacher seed (seed=, or --seed of a search), not from the spec", field="teacher")


def _weights_entry(model: str, weights: str | None) -> Any:
    """The torchvision weights entry that ``weights`` (None: ``DEFAULT``) names for ``model``; None for a project model, random
    weights or a weights file."""
    if model.partition("-")[0] in MODELS or weights == "random":
        return None
    import torchvision

    enum = torchvision.models.get_model_weights(model)
    choice = weights or "DEFAULT"
    return enum.DEFAULT if choice == "DEFAULT" else enum[choice] if choice in enum.__members__ else None


def _trained_conversion(model: str, weights: str | None) -> dict[str, Any] | None:
    """The input conversion ``build_model(model, weights=weights)`` would give (torchvision weights only), read from metadata."""
    entry = _weights_entry(model, weights)
    if entry is None:
        return None  # a weights file: net: converts nothing for it either
    transform = entry.transforms()
    return {"size": int(transform.crop_size[0]), "channels": 3, "mean": list(transform.mean), "std": list(transform.std)}


def control_teacher(spec: str, args: list[str], stimuli: Any, *, device: str | None = None, seed: int = 0,
                    dataset_kwargs: dict[str, Any] | None = None, rdm_method: str = "correlation", compare_method: str = "pearson") -> Teacher:
    """Kind ``control``: ``control:pixels``, ``control:category`` or ``control:untrained:<model>:<layer,...>[:<weights>]``
    (``dataset_kwargs`` are not used; ``seed`` draws the untrained weights)."""
    which, rest = control_name(spec, args), args[1:]
    if which != "untrained" and rest:
        raise ConfigError(f"teacher spec {spec!r} has fields after {which!r}", f"write it as {CONTROLS[which]}", field="teacher")
    if which == "pixels":
        return pixel_teacher(stimuli, rdm_method=rdm_method, compare_method=compare_method, device=device)
    if which == "category":
        return category_teacher(stimuli, rdm_method=rdm_method, compare_method=compare_method)
    if not 2 <= len(rest) <= 3 or not all(rest[:2]):
        raise ConfigError(f"teacher spec {spec!r} has {len(rest)} field(s) after 'untrained'", f"write it as {CONTROLS['untrained']}",
                          field="teacher")
    layers = [layer.strip() for layer in rest[1].split(",")]
    return untrained_teacher(rest[0], layers, stimuli, seed=seed, weights=rest[2] if len(rest) == 3 else None, rdm_method=rdm_method,
                             compare_method=compare_method, device=device)


def controls_for(
    spec: str,
    stimuli: Any,
    *,
    seeds: Sequence[int] = (0,),
    device: str | None = None,
    rdm_method: str = "correlation",
    compare_method: str = "pearson",
) -> dict[str, Teacher]:
    """The built-in controls of the teacher ``spec`` on ``stimuli``, by name: ``pixels``; ``category`` where every stimulus
    has a label and there are at least 2 categories (else left out, with a log line); and for each ``net:`` part of the spec
    and each seed, ``untrained:<model>:seed<seed>`` (its layers, its inputs' conversion). Brain and simulated parts have no
    architecture of their own to randomise."""
    out = {"pixels": pixel_teacher(stimuli, rdm_method=rdm_method, compare_method=compare_method, device=device)}
    try:
        out["category"] = category_teacher(stimuli, rdm_method=rdm_method, compare_method=compare_method)
    except ConfigError as exc:
        log.info("no category control: %s", exc.problem)
    for part in spec.split("+"):
        kind, _, rest = part.strip().partition(":")
        if kind != "net":
            continue
        fields = rest.split(":")
        if len(fields) not in (2, 3):
            raise ConfigError(f"teacher spec {part!r} has {len(fields)} field(s) after the kind", "write it as net:<model>:<layer,...>[:<weights>]",
                              field="teacher")
        for s in seeds:
            out[f"untrained:{fields[0]}:seed{s}"] = untrained_teacher(
                fields[0], fields[1].split(","), stimuli, seed=s, weights=fields[2] if len(fields) == 3 else None, rdm_method=rdm_method,
                compare_method=compare_method, device=device)
    return out


def score_model_beyond(
    model: nn.Module,
    teacher: Teacher,
    layers: Sequence[str],
    control: Teacher | xr.DataArray,
    *,
    paired: bool | None = None,
    compare_method: str | None = None,
    rdm: RDMOptions | None = None,
    batch_size: int = 256,
    device: str | None = None,
    seed: int = 0,
    n_bootstrap: int = 0,
) -> TeacherScores:
    """:func:`~neurosage.teachers.scoring.score_model` beyond a control: the same layer RDMs (same chain, same options), scored
    by the partial correlation with each endpoint given the control's RDM(s) (:func:`neurosage.rsa.partial.partial_scores`).

    ``control`` is a control :class:`Teacher` (or an RDM / RDM stack) on exactly the teacher's stimuli (matched by
    stimulus_id; others are refused). ``paired``: teacher endpoint ``j`` is made beyond the control endpoint of the same
    name (the untrained network's same layer); default: paired exactly when the control has every one of the teacher's
    endpoints, else all the control's RDMs are partialled out together. The comparison is the teacher's (or
    ``compare_method``), which must be ``pearson`` or ``spearman``. The result has no ceilings.
    """
    check_arguments(score_model_beyond, locals())
    method = partial_method(compare_method or teacher.compare_method)  # refused before any activation is computed
    control_rdms, name = (control.rdms, _describe(control)) if isinstance(control, Teacher) else (control, "control RDM")
    if not isinstance(control_rdms, xr.DataArray):
        raise ConfigError(f"the control is a {type(control).__name__}", "pass a control Teacher (pixel_teacher, category_teacher, "
                          "untrained_teacher) or its .rdms", field="control")
    _refuse_other_images(teacher, control)
    names = [str(n) for n in control_rdms[STACK].values] if STACK in control_rdms.dims else []
    if paired is None:
        paired = set(teacher.endpoints) <= set(names)
    _, rdms = score_model_rdms(model, teacher, layers, compare_method=method, rdm=rdm, batch_size=batch_size, device=device, seed=seed)
    return partial_scores(teacher.rdms, rdms, control_rdms, method, paired=paired, n_bootstrap=n_bootstrap, seed=seed, control_name=name)


def _refuse_other_images(teacher: Teacher, control: Any) -> None:
    """Refuse a control Teacher built on other images under the same stimulus ids (matched by id, it would be a control of
    other stimuli): both keep their images, which are compared pixel by pixel."""
    from neurosage.data_adapters.imageset import ImageSet

    mine, theirs = getattr(teacher, "images", None), getattr(control, "images", None)
    if not (isinstance(mine, ImageSet) and isinstance(theirs, ImageSet)) or mine.stored_shape != theirs.stored_shape:
        return
    if mine.stimulus_ids is None or theirs.stimulus_ids is None or list(mine.stimulus_ids) != list(theirs.stimulus_ids):
        return  # other ids: aligned (or refused) by id
    differ = int((~mine.identical_to(theirs)).sum())
    if differ:
        raise ConfigError(f"the control's images differ from the teacher's under the same stimulus ids ({differ} of {len(mine)} images): "
                          "it was built on other stimuli", "build the control on the teacher's own images (e.g. "
                          "pixel_teacher(teacher.images))", field="control")


def _describe(control: Teacher) -> str:
    kind = control.rdms.attrs.get("control")
    return f"{kind} control ({', '.join(control.endpoints)})" if kind else f"teacher ({', '.join(control.endpoints)})"
