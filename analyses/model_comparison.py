"""Model versus teacher in one call: a model's layers as RDMs on the teacher's stimuli, scored against its endpoints.

:func:`compare_model` takes a network module, a torchvision or project model name, a genotype string, or a search's kept
trial (``run=RUN, trial=N``: the network rebuilt as the search built it, :func:`~neurosage.search.weights.kept_network`),
and a teacher (a :class:`~neurosage.teachers.teacher.Teacher`, or a spec with stimuli). It returns a
:class:`ModelComparison` that saves its files (:meth:`ModelComparison.save`) and draws its figures
(:meth:`ModelComparison.plot`). ``neurosage rdm`` is this call plus the command line.

Examples
--------
>>> import neurosage
>>> result = neurosage.compare_model(run="runs/demo/search-ptg", teacher=teacher)  # doctest: +SKIP
>>> result.tg, result.scores.best_layer  # doctest: +SKIP
>>> result.save("runs/rdm"); result.plot("runs/rdm")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from torch import nn

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments, whole
from neurosage.rsa.rdm import ROW, STACK
from neurosage.rsa.score import TeacherScores
from neurosage.runs.outputs import claim_output_folder
from neurosage.teachers.teacher import Teacher, log_layer_method
from neurosage.training.configs import RDMOptions

__all__ = ["ModelComparison", "compare_model", "GENOTYPE_STARTS", "RDM_OUTPUTS"]

log = logging.getLogger(__name__)

#: How a genotype string starts (a cell genotype or a layer-wise one), as opposed to a model name.
GENOTYPE_STARTS = ("normal:", "layers:")
#: What :meth:`ModelComparison.save` and :meth:`ModelComparison.plot` write (and may overwrite) in a folder.
RDM_OUTPUTS = frozenset({"cache", "teacher_rdms.nc", "model_rdms.nc", "similarity.csv", "scores.csv", "summary.json",
                         *(f"{name}.{ext}" for name in ("similarity", "rdms", "mds", "profile", "sorted_rdms", "stimulus_mds")
                           for ext in ("png", "pdf"))})


@dataclass
class ModelComparison:
    """A model's layers against a teacher's endpoints on the same stimuli.

    Attributes
    ----------
    model, weights
        What was compared: the model's name (or ``<run> trial <N>``) and its weights' description.
    layers
        The model's layers, in order.
    teacher
        The teacher as the model saw it (its stimuli converted as the model's input).
    model_rdms
        The layers' RDMs (``rdm x condition_row x condition_col``).
    scores
        S_i per endpoint (with intervals when bootstrapped), the best layers, TG and the ``endpoint x layer`` similarity.
    info
        Anything else recorded in ``summary.json`` (the teacher spec, the trial).
    """

    model: str
    weights: str
    layers: list[str]
    teacher: Teacher
    model_rdms: xr.DataArray
    scores: TeacherScores
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def similarity(self) -> xr.DataArray:
        """The ``endpoint x layer`` RDM similarity."""
        return self.scores.similarity

    @property
    def tg(self) -> float:
        """TG: the mean over endpoints of the best layer's similarity."""
        return float(self.scores.tg)

    @property
    def identity(self) -> str:
        """What was compared (the model, its weights, the teacher's endpoints and stimuli): an output folder holds one."""
        endpoints = [str(e) for e in self.teacher.rdms[STACK].values]
        return f"{self.model} ({self.weights}) against teacher endpoints {endpoints} on {self.teacher.rdms.sizes[ROW]} stimuli"

    def save(self, out: str | Path) -> list[Path]:
        """Write ``teacher_rdms.nc``, ``model_rdms.nc``, ``similarity.csv``, ``scores.csv`` and ``summary.json`` into ``out``
        (a folder holding another comparison's outputs is refused)."""
        from neurosage.rsa.outputs import write_score_files

        out = check_out(out, create=True, identity=self.identity)
        return write_score_files(out, self.teacher.rdms, self.model_rdms, self.scores, self.teacher.ceiling_details, model=self.model,
                                 weights=self.weights, layers=self.layers, **self.info)

    def plot(self, out: str | Path, title: str | None = None) -> list[Path]:
        """Draw into ``out`` (PNG and PDF each): ``similarity`` (endpoint x layer heatmap), ``rdms`` and ``mds`` (every RDM,
        and the RDMs by MDS), ``profile`` (every layer's similarity with its bootstrap interval and the noise-ceiling band),
        and, when the stimuli have categories, ``sorted_rdms`` and ``stimulus_mds`` (each endpoint and its best layer, stimuli
        sorted and coloured by category; MDS stress-1)."""
        from neurosage.figures.rdm_plots import plot_rdm_figures, short_title
        from neurosage.figures.rdm_readouts import plot_layer_profile, plot_sorted_rdms, plot_stimulus_mds

        out = check_out(out, create=True, identity=self.identity)
        title = title or short_title(self.model, self.weights)
        paths = plot_rdm_figures(out, self.teacher.rdms, self.model_rdms, self.similarity, title)
        paths += plot_layer_profile(self.similarity, self.scores.best_layer, out / "profile.png", layer_intervals=self.scores.layer_intervals,
                                    ceilings=self.teacher.ceiling_details, title=f"{title}: every layer against each endpoint")
        categories = self.categories()
        if categories is None:
            log.info("the stimuli have no categories (labels): no sorted RDMs or stimulus MDS")
            return paths
        paths += plot_sorted_rdms(self.teacher.rdms, self.model_rdms, self.scores.best_layer, categories, out / "sorted_rdms.png",
                                  title=f"{title}: RDMs sorted by category")
        paths += plot_stimulus_mds(self.teacher.rdms, self.model_rdms, self.scores.best_layer, categories, out / "stimulus_mds.png",
                                   title=f"{title}: stimuli by MDS")
        return paths

    def categories(self) -> list[str] | None:
        """The category of each stimulus in the teacher's RDM order (the stimuli's labels, named by their classes), or None
        when the stimuli have no labels or only one category."""
        images = self.teacher.images
        labels = getattr(images, "labels", None)
        if labels is None:
            return None
        values = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels).astype(int)
        if (values < 0).any() or len(np.unique(values)) < 2:
            return None
        classes = getattr(images, "classes", None)
        return [classes[v] if classes and v < len(classes) else str(v) for v in values]


def check_out(out: str | Path, *, create: bool = False, identity: str | None = None) -> Path:
    """``out`` as a folder for a comparison's files: a file, another command's output folder, a folder holding files a
    comparison did not write, or (``identity``) another comparison's outputs, is refused (``create``: made and marked)."""
    return claim_output_folder(out, "neurosage rdm", lambda name: name in RDM_OUTPUTS, create=create, identity=identity)


def resolve_model(model: nn.Module | str | None, *, run: str | Path | None = None, trial: int | None = None, weights: str | None = None,
                  in_channels: int = 3) -> tuple[nn.Module, str, str, list[str] | None]:
    """The network to compare, its name, its weights' description and its default layers (None: the caller must name them)."""
    from neurosage.nets.build import build_network
    from neurosage.nets.models import build_model, load_weights

    if run is not None:
        if model is not None or weights is not None:
            raise ConfigError("a search's trial and a model (or weights) were both given", "give run= (and trial=) alone, or a model",
                              field="model")
        from neurosage.search.weights import kept_network

        net = kept_network(run, trial)
        return net, net.neurosage_name, net.neurosage_weights, list(net.neurosage_layers)
    if trial is not None:
        raise ConfigError("trial= was given without run=", "give the search's run folder as run= (neurosage rdm RUN --trial N)", field="trial")
    if isinstance(model, nn.Module):
        if weights is not None:
            raise ConfigError("weights= was given with a module", "load the weights into the module yourself, or give its name", field="weights")
        endpoints = getattr(model, "endpoints", None)
        default = [e for e in endpoints if e not in ("stem", "pool")] if endpoints else None
        name = getattr(model, "neurosage_name", type(model).__name__)
        return model.eval(), str(name), str(getattr(model, "neurosage_weights", "weights as given")), default
    if not isinstance(model, str) or not model:
        raise ConfigError(f"model must be a torch module, a model name or a genotype string, got {type(model).__name__}",
                          "give e.g. 'resnet18', 'cifar_resnet-3', 'layers: ...', a module, or run='RUN' for a search's trial", field="model")
    if model.startswith(GENOTYPE_STARTS):
        net = build_network(model, in_channels=in_channels)
        if weights:
            load_weights(net, weights)
        return net.eval(), model, f"weights from {weights}" if weights else "random weights (seed 0)", [
            e for e in net.endpoints if e not in ("stem", "pool")]
    built = build_model(model, weights=weights, in_channels=in_channels)
    return built, model, str(built.neurosage_weights), None


def compare_model(
    model: nn.Module | str | None = None,
    teacher: Teacher | str | None = None,
    stimuli: Any = None,
    *,
    run: str | Path | None = None,
    trial: int | None = None,
    layers: Sequence[str] | None = None,
    weights: str | None = None,
    convert: bool = True,
    n_bootstrap: int | None = None,
    rdm_method: str | None = None,
    compare_method: str | None = None,
    cache_dir: str | Path | None = None,
    teacher_args: dict[str, Any] | None = None,
    rdm: RDMOptions | None = None,
    device: str | None = None,
    seed: int | None = None,
) -> ModelComparison:
    """A model's layers scored against a teacher's endpoints on the teacher's stimuli.

    Parameters
    ----------
    model
        A torch module, a model name (torchvision or ``cifar_resnet-<n>``) or a genotype string; or None with ``run``.
    teacher
        A :class:`~neurosage.teachers.teacher.Teacher`, or a teacher spec (``net:...``, ``brain:...``) built on ``stimuli``.
    stimuli
        The stimulus :class:`~neurosage.data_adapters.imageset.ImageSet` a spec is built on (a Teacher carries its own).
    run, trial
        A search's run folder and one of its kept trials (default its best): the network is rebuilt as the search built it,
        with its weights, and its input conversion.
    layers
        The model's layers (default: every cell or layer of a searched or genotype network; required for a named model).
    weights
        For a name or genotype: a state-dict file, a torchvision weights name or ``"random"``.
    convert
        Show the teacher's stimuli to the model converted as its weights expect (a pretrained model's size, channels and
        normalisation; a search trial's input); False keeps the stimuli's own conversion.
    n_bootstrap
        Bootstrap samples of the stimuli for 95% intervals (default 1000 for the comparisons that offer them, else 0).
    rdm_method, compare_method
        For a teacher given as a spec (default ``"correlation"`` and ``"pearson"``); a Teacher carries its own, and other
        methods given with it are refused.
    cache_dir
        Where a spec's teacher is cached.
    rdm
        How layers become RDMs (feature subsampling); default a search trial's own settings, else :class:`RDMOptions`.
    seed
        Seeds the feature subsets and the bootstrap; default a search trial's own seed (its scores are reproduced), else 0.
    """
    check_arguments(compare_model, locals())
    from neurosage.nets.models import model_inputs
    from neurosage.rsa.methods import COMPARE_METHODS, bootstrap_methods, check_bootstrap, check_rsa_methods
    from neurosage.teachers.kinds import teacher_from_spec
    from neurosage.teachers.scoring import score_model_rdms
    from neurosage.training.devices import check_device

    check_device(device)  # before any model is built or moved
    if seed is not None:
        seed = whole(seed, "seed", 0, fix="pass seed as a whole number >= 0, or leave it out")
    if isinstance(teacher, str):
        if stimuli is None:
            raise ConfigError("a teacher spec needs stimuli to be built on", "pass stimuli=ImageSet(...), or a Teacher", field="stimuli")
        if isinstance(stimuli, (str, Path)):
            raise ConfigError(f"stimuli is the path {str(stimuli)!r}; compare_model takes the images themselves",
                              "load them first, e.g. stimuli=teacher_stimuli(EmbeddedConfig(data=...)) or "
                              "neurosage.data_adapters.load_stimulus_images(csv, folder)", field="stimuli")
        rdm_method, compare_method = check_rsa_methods(rdm_method or "correlation", compare_method or "pearson")
        spec = teacher
        teacher = teacher_from_spec(spec, stimuli, cache_dir=cache_dir, device=device, dataset_kwargs=dict(teacher_args or {}),
                                    rdm_method=rdm_method, compare_method=compare_method)
        info: dict[str, Any] = {"teacher": spec}
    elif isinstance(teacher, Teacher):
        if stimuli is not None:
            raise ConfigError("stimuli were given with a Teacher, which carries its own", "leave out stimuli=", field="stimuli")
        for field, given, own in (("rdm_method", rdm_method, teacher.rdm_method), ("compare_method", compare_method, teacher.compare_method)):
            if given is not None and given != own:  # the teacher's RDMs were made, and are compared, by its own methods
                raise ConfigError(f"{field}={given!r} was given with a Teacher, whose RDMs use {field}={own!r}", f"leave out {field}= (the "
                                  f"Teacher's is used), or build the teacher with {field}={given!r} (teacher_from_spec(..., {field}=...))",
                                  field=field)
        info = {"teacher": str(teacher.rdms.attrs.get("spec") or teacher.rdms.attrs.get("control") or "a Teacher")}
    else:
        raise ConfigError(f"teacher must be a Teacher or a teacher spec, got {type(teacher).__name__}",
                          "give e.g. 'brain:MajajHong2015:V4,IT' with stimuli=, or a Teacher", field="teacher")
    images: Any = teacher.images
    net, name, described, default = resolve_model(model, run=run, trial=trial, weights=weights, in_channels=images.image_shape[0])
    if isinstance(layers, str):
        fix = ("leave layers out (None) for the default layers, or list names" if layers.strip().lower() in ("all", "*", "every")
               else f"pass {layers.split(',')!r}")
        raise ConfigError(f"layers must be a list of layer names, got the string {layers!r}", fix, field="layers")
    if layers is None:
        if default is None:
            raise ConfigError(f"layers are required for {name}", f"list them with: neurosage rdm {name} --list-layers", field="layers")
        layers = default
    layers = list(layers)
    repeated = sorted({layer for layer in layers if layers.count(layer) > 1})
    if repeated or not layers or not all(isinstance(x, str) and x.strip() for x in layers):
        listed = ",".join(dict.fromkeys(str(x).strip() for x in layers if isinstance(x, str) and x.strip()))
        raise ConfigError(f"layers list {repeated[0]!r} twice" if repeated else f"layers must be non-empty names, got {layers!r}" +
                          (" (two commas in a row?)" if "" in [str(x).strip() for x in layers] else ""),
                          f"list each layer once, by its name: {listed or 'e.g. cell_1,cell_2'}", field="layers")
    if n_bootstrap is None:
        n_bootstrap = 1000 if teacher.compare_method in bootstrap_methods() else 0
        if not n_bootstrap:
            log.info("no bootstrap intervals: %s (intervals for %s)", COMPARE_METHODS.get(teacher.compare_method).no_bootstrap,
                     ", ".join(bootstrap_methods()))
    elif n_bootstrap:
        check_bootstrap(teacher.compare_method)
    log_layer_method(teacher)  # network layers have no repetitions: summary.json records both stacks' methods
    record: dict[str, Any] = dict(getattr(net, "neurosage_trial", None) or {})
    if run is not None:  # the search's own subsampling and seed: its scores of the trial are reproduced
        recorded_rdm: dict[str, Any] = dict(getattr(net, "neurosage_rdm", None) or {})
        searched = {k: v for k, v in recorded_rdm.items() if k in ("subsample_features", "n_subsamples")}
        rdm = rdm or RDMOptions(**searched)
        seed = int(record.get("seed", 0)) if seed is None else seed
    expected: Any = model_inputs(net, images)
    shown = Teacher(teacher.rdms, expected) if convert else teacher
    if not convert and expected.image_shape[0] != images.image_shape[0]:  # a network takes its own channel count, nothing else
        raise ConfigError(f"{name} takes {expected.image_shape[0]}-channel images, and the stimuli were converted to "
                          f"{images.image_shape[0]} channel(s)", f"drop --channels (channels= in Python): the stimuli are converted "
                          f"to the network's {expected.image_shape[0]} channel(s) by default", field="channels")
    if not convert and tuple(expected.image_shape) != tuple(images.image_shape):  # --size/--channels other than its training's
        log.warning("%s was trained on %s images and is shown the stimuli as %s (the conversion given): its layers see images unlike its "
                    "training's (summary.json records the input)", name, "x".join(map(str, expected.image_shape)),
                    "x".join(map(str, images.image_shape)))
    info["input_shape"] = list(map(int, (expected if convert else images).image_shape))  # channels, height, width the network was shown
    scores, rdms = score_model_rdms(net, shown, layers, rdm=rdm, device=device, n_bootstrap=n_bootstrap, seed=0 if seed is None else seed)
    if run is not None:
        info.update(run=str(Path(run).resolve()), trial=int(record["tid"]), genotype=str(record["genotype"]))
    return ModelComparison(name, described, layers, shown, rdms, scores, info)
