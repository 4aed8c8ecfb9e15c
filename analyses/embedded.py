"""The embedded default: one config, one setup (data splits, teacher, teacher stimuli) for every command.

The demo, ``neurosage search`` and every analysis start from :class:`EmbeddedConfig`
and :func:`embedded_setup`. The default dataset is Fashion-MNIST (Debian's
``dataset-fashion-mnist``), the default teacher a CIFAR-style ResNet trained on
it once and cached in the run folder, whose three stacks are the endpoints
(RDMs averaged over 10 subsamples of 1000 features). Any registered image
dataset and any teacher spec (``net:``, ``brain:``, ``sim:``) can replace them.

The split rule, enforced by :class:`Setup`: every image carries a stimulus id
(``<dataset>-<split>-<index>``); the teacher's stimuli are the first
``n_stimuli`` images of the evaluation split, and they are in neither the
candidates' training set nor the test set used for mature/test accuracy.

- ``train``: ``n_train`` images of the training split, minus the hold-out;
- ``val``: ``n_val`` images held out of the training split (premature P, reranking);
- ``test``: the evaluation split without the teacher's stimuli (mature/test accuracy);
- ``train_full``: the whole training split (the teacher's training data).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurosage.analyses.settings import EmbeddedConfig, SearchOptions
from neurosage.core.atomic import atomic_path
from neurosage.core.errors import ConfigError, DataFormatError, NeurosageError, RunFolderError
from neurosage.core.once import warn_once
from neurosage.core.registry import resolve
from neurosage.data_adapters.images import load_stimulus_images
from neurosage.data_adapters.imageset import ImageSet, shares_a_split
from neurosage.data_adapters.registry import get_entry, load_images, loader_arguments
from neurosage.nets import SKELETONS
from neurosage.nets.models import cifar_resnet, read_weights_info, write_weights_info
from neurosage.nets.skeletons import final_side
from neurosage.rsa.methods import model_rdm_method
from neurosage.rsa.rdm import ROW
from neurosage.rsa.score import check_objective
from neurosage.search import SEARCHERS
from neurosage.search.candidate import CandidateTask
from neurosage.teachers.kinds import check_teacher_kinds, teacher_from_spec
from neurosage.teachers.teacher import Teacher, log_layer_method, network_teacher
from neurosage.training.configs import NetworkConfig, TrainConfig
from neurosage.training.devices import check_device, check_threads
from neurosage.training.evaluation import evaluate
from neurosage.training.loop import train

__all__ = [
    "describe_stimuli", "Setup", "check_config", "load_split", "teacher_stimuli", "SplitRuleError", "embedded_setup", "resnet_teacher",
    "cached_resnet",
    "teacher_weights", "embedded_teacher_accuracy", "DATASET_NORMS", "RESNET_LAYERS",
]

log = logging.getLogger(__name__)

#: Per-dataset input normalisation (mean, std of the training pixels); others get mean 0.5, std 0.25.
DATASET_NORMS: dict[str, dict[str, float]] = {"fashion-mnist": {"mean": 0.286, "std": 0.353}}
_DEFAULT_NORM = {"mean": 0.5, "std": 0.25}
#: The embedded ResNet teacher's endpoints.
RESNET_LAYERS = ["stack1", "stack2", "stack3"]


class SplitRuleError(NeurosageError, ValueError):
    """The teacher's stimuli overlap the training or test images."""


def refuse_shared_stimuli(stimulus_ids: Any, sets: dict[str, ImageSet]) -> None:
    """The split rule on ids: no teacher stimulus may be an image the candidates train or are tested on."""
    stimuli = set(stimulus_ids)
    for name, images in sets.items():
        if images.stimulus_ids is None:
            raise SplitRuleError(f"the {name} set has no stimulus ids, so the split rule cannot be checked", "label its images with stimulus ids",
                                 field=name)
        shared = stimuli.intersection(images.stimulus_ids)
        if shared:
            raise SplitRuleError(
                f"{len(shared)} teacher stimulus image(s) are also in the {name} set (e.g. {[str(x) for x in sorted(shared)[:3]]})",
                "take the teacher's stimuli from images that are neither trained on nor tested on (a dataset with one split, such as "
                "image-folder, cannot give them: use a brain: teacher with its own --teacher-images, or search by P alone with "
                "neurosage search --objective p)", field=name,
            )


@dataclass
class Setup:
    """Data splits and teacher of one run; checks the split rule on construction."""

    train: ImageSet
    val: ImageSet
    test: ImageSet
    teacher: Teacher | None
    train_full: ImageSet | None = None

    def __post_init__(self) -> None:
        if self.teacher is None:
            return
        refuse_shared_stimuli(self.teacher.stimulus_ids, {"train": self.train, "test": self.test})
        self._check_pixels()

    def _check_pixels(self) -> None:
        """The split rule on pixels, where ids cannot be trusted (e.g. test files copied over the training files): more than
        1% of the teacher's stimuli identical to images of the train or test set is refused; fewer (exact duplicates some
        datasets hold) are logged."""
        stimuli = getattr(self.teacher, "images", None)
        if stimuli is None or not len(stimuli):
            return
        for name in ("train", "test"):
            same = stimuli.identical_to(getattr(self, name))  # none when stored at another size or channel count
            if shares_a_split(same):
                raise SplitRuleError(f"{int(same.sum())} of the {len(stimuli)} teacher stimuli are pixel-identical to images of the {name} set, "
                                     f"under other ids (e.g. {list(np.asarray(stimuli.stimulus_ids)[same][:3])})",
                                     "check that the dataset's train and test files are not copies of each other", field=name)
            if same.any():
                log.warning("%d teacher stimulus image(s) are pixel-identical to %s images (duplicates in the dataset)", int(same.sum()), name)

    def task(self, network: NetworkConfig, training: TrainConfig, objective: str, alpha: float = 1.0, device=None, threads: int = 1) -> CandidateTask:
        """The candidate evaluation task: train on ``train``, P on ``val``, TG against the teacher, ``threads`` CPU threads each."""
        return CandidateTask(self.train, self.val, network, training, self.teacher, objective=objective, alpha=alpha, device=device, threads=threads)


def load_split(config: EmbeddedConfig, which: str) -> ImageSet:
    """The dataset's ``"train"`` or ``"eval"`` (test or validation) split, normalised, every image labelled."""
    splits = get_entry(config.dataset, "images").meta.get("splits", ("train", "test"))
    split = splits[0] if which == "train" else splits[-1]
    root = {"root": config.data} if config.data else {}
    images = load_images(config.dataset, split, **root, **DATASET_NORMS.get(config.dataset, _DEFAULT_NORM))
    if images.stimulus_ids is None:
        images.stimulus_ids = [f"{config.dataset}-{split}-{i:05d}" for i in range(len(images))]
    return images


#: Teacher stimuli taken from the evaluation split when ``n_stimuli`` is not given.
DEFAULT_STIMULI = 300


def _stimulus_count(config: EmbeddedConfig, evaluation: ImageSet) -> int:
    n = config.n_stimuli if config.n_stimuli is not None else DEFAULT_STIMULI
    if not 3 <= n < len(evaluation):
        raise ConfigError(
            f"n_stimuli{' = ' + str(n) if config.n_stimuli is not None else f' (default {n})'} must be between 3 and {len(evaluation) - 1} "
            f"(the evaluation split has {len(evaluation)} images)",
            "lower n-stimuli (--n-stimuli, or n-stimuli = N in the --config TOML); a brain: teacher takes its own stimuli with "
            "--teacher-images", field="n_stimuli",
        )
    return n


def recording_stimuli(config: EmbeddedConfig, shape: tuple[int, int, int]) -> ImageSet:
    """The recording's stimulus images (``teacher_images``, paired through the stimulus CSV; or the ones its file holds, for a dataset
    registered with its own ``stimuli`` loader such as HvM-hdf5), converted to the candidates' input."""
    args = config.teacher_args
    csv = args.get("stimulus_csv") or args.get("stimuli")
    own = own_stimuli_loader(config)
    channels, size, _ = shape
    norm = DATASET_NORMS.get(config.dataset, _DEFAULT_NORM)
    if own is not None:
        dataset = str(config.teacher).split(":")[1]
        if config.teacher_images:
            raise ConfigError(f"{dataset} holds its own stimulus images, so --teacher-images (and a stimulus CSV) are not used",
                              "leave out --teacher-images", field="teacher_images")
        stimuli = resolve(own)(args.get("path"), size=size, channels=channels, mean=norm["mean"], std=norm["std"])
        return stimuli if config.n_stimuli is None else _first(stimuli, config.n_stimuli)
    if not csv:
        import inspect

        recording = str(config.teacher).split(":")[1] if ":" in str(config.teacher) else ""
        try:
            takes = [k for k in ("stimulus_csv", "stimuli") if k in inspect.signature(get_entry(recording, "neural").factory).parameters]
        except Exception:  # noqa: BLE001 - an unknown dataset is refused by name where the teacher is built
            takes = ["stimulus_csv"]
        if not takes:  # its loader takes no CSV: naming one would be refused next
            raise ConfigError(f"teacher_images needs the stimulus CSV that names each image file, and the {recording} loader takes none",
                              "record the recording with npy-csv (responses, stimuli=CSV, neuroids) or as a BrainIO dataset with its "
                              "stimulus CSV (stimulus_csv=), or leave out --teacher-images", field="teacher_args")
        raise ConfigError(
            "teacher_images needs the stimulus CSV that names each image file",
            f"pass it as a loader argument: --teacher-arg {takes[0]}=stimuli.csv ({takes[0]} = ... in the TOML [teacher] table)",
            field="teacher_args",
        )
    if not config.teacher_images:
        raise ConfigError("no teacher_images: the recording's stimulus images are needed here", "pass --teacher-images FOLDER_OR_ZIP",
                          field="teacher_images")
    stimuli = load_stimulus_images(csv, config.teacher_images, size=size, channels=channels, mean=norm["mean"], std=norm["std"])
    return stimuli if config.n_stimuli is None else _first(stimuli, config.n_stimuli)


def _first(stimuli: ImageSet, n: int) -> ImageSet:
    """The first ``n`` of a recording's stimulus set, in its own order."""
    if n > len(stimuli):
        raise ConfigError(f"n-stimuli = {n}, but the recording's stimulus set has {len(stimuli)} images", f"set n-stimuli to at most "
                          f"{len(stimuli)}, or leave it out to use them all", field="n_stimuli")
    return stimuli.subset(range(n))


def own_stimuli_loader(config: EmbeddedConfig) -> str | None:
    """The ``"module:function"`` that loads the teacher's own stimulus images, when the teacher is one ``brain:`` recording whose
    dataset was registered with them (HvM-hdf5) and no stimulus CSV names other images; else None."""
    spec = str(config.teacher or "")
    parts = spec.split(":")
    if "+" in spec or len(parts) < 2 or parts[0] != "brain" or config.teacher_args.get("stimulus_csv") or config.teacher_args.get("stimuli"):
        return None
    try:
        return get_entry(parts[1], "neural").meta.get("stimuli")
    except NeurosageError:  # an unknown dataset is named where the teacher is built
        return None


def describe_stimuli(stimuli: ImageSet, training: ImageSet) -> tuple[str, bool]:
    """How the teacher's stimuli reach the candidates, and whether they differ in kind from the training images
    (colour against grey, or stored at more than twice the training images' side and shrunk to their size)."""
    kind, height, width = stimuli.stored_kind()
    train_kind, train_height, train_width = training.stored_kind()
    channels, side, _ = training.image_shape
    text = (f"{len(stimuli)} {kind} {height}x{width} stimulus images ({stimuli.name}) shown to the candidates as "
            f"{'grey' if channels == 1 else 'colour'} {side}x{side} (the format of {training.name}, {train_kind} {train_height}x{train_width})")
    differs = kind != train_kind or max(height, width) > 2 * max(train_height, train_width)
    return text, differs


def teacher_stimuli(config: EmbeddedConfig) -> ImageSet:
    """The teacher's stimulus images: the first ``n_stimuli`` images of the evaluation split."""
    evaluation = load_split(config, "eval")
    return evaluation.subset(range(_stimulus_count(config, evaluation)))


def _warn_once(config: Any, message: str, *args: object) -> None:
    """A warning about ``config``'s settings, said once for it (the command checks them, then the setup does again)."""
    text = message % args if args else message
    warn_once(log, text, "%s", text, about=config)


def check_config(config: EmbeddedConfig) -> None:
    """Refuse settings that cannot work before any data is loaded or any network trained."""
    # counts and ranges (n_train, n_val, n_stimuli, teacher_depth, budget, ...) were checked by RANGES when the config was made
    # NetworkConfig checks n_cells and filters, CellSpace n_blocks; an unknown space raises UnknownName
    config.network.check_space(config.search_space)
    check_device(config.device)
    loader = inspect.signature(get_entry(config.dataset, "images").factory).parameters.values()
    needs = [p.name for p in loader if p.default is p.empty and p.kind is p.KEYWORD_ONLY and p.name != "root"]
    if needs:  # a dataset read from more than its folder (a recording's stimulus set): --data cannot give it
        raise ConfigError(f"dataset {config.dataset!r} needs {needs}, which --data (one folder) cannot give: it is a recording's stimulus "
                          "set, not a training dataset", "train on an image dataset (neurosage datasets lists them: fashion-mnist, "
                          "image-folder, ...) and give the stimuli to the teacher with --teacher-images FOLDER --teacher-arg "
                          "stimulus_csv=CSV", field="dataset")
    model_rdm_method(config.rdm_method)  # network layers' RDMs are made by it: a method they cannot use is refused before any training
    # teacher arguments or images without a teacher spec: refused by EmbeddedConfig
    kinds = set(check_teacher_kinds(config.teacher)) if config.teacher else set()
    # the embedded teacher's options beside another teacher: refused by EmbeddedConfig
    if config.teacher_images and config.teacher and "brain" not in kinds:  # a recording's stimulus images; other teachers see the data's
        raise ConfigError(f"teacher-images are a recording's stimulus images, and teacher {config.teacher!r} is no recording (a brain: "
                          "teacher): it is shown the first n-stimuli images of the data", "drop --teacher-images (set how many images the "
                          "teacher sees with --n-stimuli)", field="teacher_images")
    for part in (config.teacher or "").split("+"):  # a brain teacher's loader arguments: names, types and the required ones, first
        kind, _, rest = part.strip().partition(":")
        if kind == "brain" and rest:
            dataset = rest.split(":")[0]
            loader_arguments(get_entry(dataset, "neural").factory, {k: v for k, v in dict(config.teacher_args).items() if k != "regions"},
                             dataset)
    if isinstance(config, SearchOptions):
        check_objective(config.objective, config.alpha)
        SEARCHERS.get(config.algo)
        config.premature  # TrainConfig checks the premature budget and bn_recalibration
        slurm_jobs = getattr(config, "slurm_jobs", None)
        if slurm_jobs:  # the candidates run on the Slurm jobs' cores, not this machine's (the site's jobqueue.yaml may set them)
            cores = getattr(config, "slurm_cores", None)
            check_threads(config.candidate_threads, cores, "each Slurm job (--slurm-cores)", warn=cores is not None)
        else:
            check_threads(config.candidate_threads)
        if config.premature_epochs is not None:  # a fraction of an epoch that is less than one batch trains one whole batch
            wanted = config.premature_epochs * config.n_train
            one_step = min(config.batch_size, config.n_train)
            if wanted < one_step / 2:
                _warn_once(config, "premature-epochs %g of n-train %d images is %.3g image(s), less than one batch: every candidate trains 1 step of "
                            "%d images (%.3g epoch), %.0fx what was asked (raise premature-epochs, or give premature-steps)",
                            config.premature_epochs, config.n_train, wanted, one_step, one_step / config.n_train, one_step / wanted)
        batches = -(-config.n_train // max(1, config.batch_size))
        recalibration = getattr(config, "bn_recalibration", None)
        asked = recalibration != type(config).__dataclass_fields__["bn_recalibration"].default if recalibration is not None else False
        if asked and isinstance(recalibration, int) and recalibration > batches:  # BatchNorm statistics from fewer batches than asked
            _warn_once(config, "bn-recalibration = %d batches, but n-train %d in batches of %d holds %d: the BatchNorm statistics are "
                        "recalibrated on those %d (set bn-recalibration to at most %d)", recalibration, config.n_train, config.batch_size,
                        batches, batches, batches)
        if config.batch_size > config.n_train:  # legal (tiny runs), but not what the numbers say: said once, and run.json keeps both
            _warn_once(config, "batch-size %d is more than n-train %d: every batch is the whole training set of %d images (set batch-size to at "
                        "most n-train for batches of the size asked)", config.batch_size, config.n_train, config.n_train)


def embedded_setup(config: EmbeddedConfig, run_dir: str | Path, *, with_teacher: bool = True) -> Setup:
    """Check the settings, load the dataset, split it by the split rule and build (or load from cache) the teacher.

    The teacher is cached in ``<run_dir>/teacher``; ``with_teacher=False`` skips it
    (a search scored by P alone).
    """
    check_config(config)
    run_dir = Path(run_dir)
    train_full, evaluation = load_split(config, "train"), load_split(config, "eval")
    present = np.unique(np.asarray(train_full.labels.cpu() if hasattr(train_full.labels, "cpu") else train_full.labels))
    labels = np.asarray(train_full.labels.cpu() if hasattr(train_full.labels, "cpu") else train_full.labels)
    if (labels < 0).any():  # an unlabelled image (or a negative label in the file) cannot be trained on
        raise ConfigError(f"{int((labels < 0).sum())} training image(s) of {train_full.name} have no class (label {int(labels.min())}, first at "
                          f"index {int(np.argmax(labels < 0))})", "give every training image its class index (0..n_classes-1) in the "
                          "dataset's label file", file=config.data, field="labels")
    if len(present[present >= 0]) < 2:  # one class: every accuracy would be 1 and nothing could be compared
        raise ConfigError(f"the training images of {train_full.name} are of {len(present)} class(es); a search needs at least 2",
                          "give a dataset of several classes (an image folder: one sub-folder per class)", field="data")
    for split, images in (("training", train_full), ("evaluation", evaluation)):  # a blank file trains to chance: say so, not "train longer"
        sample = images.subset(np.unique(np.linspace(0, len(images) - 1, min(len(images), 4096)).astype(int))).images  # spread over the file
        low, high = float(sample.min()), float(sample.max())
        if low == high:
            raise DataFormatError(f"every {split} image of {images.name} looked at ({len(sample)}, spread over the {len(images)}) has the "
                                  f"same value in every pixel ({low:g}): there is nothing to "
                                  "learn or to compare", f"check the {split} image file of the dataset (a blank or zeroed download?); "
                                  "re-extract or reinstall it", file=config.data, field="images")
    side = min(train_full.image_shape[1:])
    last = final_side(config.skeleton, side, config.n_stem_cells)
    if config.search_space.kind != "layers" and last < 2 and config.n_stem_cells and final_side(config.skeleton, side, 0) >= 2:
        most = max(k for k in range(config.n_stem_cells) if final_side(config.skeleton, side, k) >= 2)
        raise ConfigError(f"n-stem-cells = {config.n_stem_cells} reduces {side}-pixel images to {last} pixel(s) before the last stack of "
                          f"skeleton {config.skeleton!r} (each stem reduction cell halves them), so the last cells would see padding, "
                          "not the image", f"give n-stem-cells of at most {most}, or leave it out for the skeleton's own", field="n_stem_cells")
    if config.search_space.kind != "layers" and last < 2:
        raise ConfigError(f"skeleton {config.skeleton!r} reduces {side}-pixel images to {last} pixel(s) before its last stack (it is laid "
                          f"out for {SKELETONS.create(config.skeleton).input_size}-pixel images), "
                          "so the last cells would see padding, not the image", "use --skeleton cifar for small images, or --n-stem-cells 0 "
                          "(drops the stem reduction cells)", field="skeleton")
    own = own_stimuli_loader(config) is not None
    if (config.teacher_images or own) and with_teacher:  # a recording's own stimulus images
        stimuli, n_stimuli = recording_stimuli(config, train_full.image_shape), 0
    else:
        n_stimuli = _stimulus_count(config, evaluation)
        stimuli = evaluation.subset(range(n_stimuli))
    if (config.teacher_images or own) and with_teacher:
        text, differs = describe_stimuli(stimuli, train_full)
        if differs:
            log.warning("the teacher's stimuli differ in kind from the training images: %s; TG compares candidates on images "
                        "unlike those they learn from", text)
        else:
            log.info("teacher stimuli: %s", text)
    rest, val = train_full.split_holdout(config.n_val, seed=config.seed)
    if config.n_train > len(rest):
        raise ConfigError(f"n-train = {config.n_train}, but {train_full.name} holds {len(rest)} training images once n-val = {config.n_val} "
                          "are held out", f"set n-train to at most {len(rest)} (or lower n-val)", field="n_train")
    train, test = rest.subset(range(config.n_train)), evaluation.subset(range(n_stimuli, len(evaluation)))
    shown_stimuli = not config.teacher_images and (not config.teacher or "brain" not in check_teacher_kinds(config.teacher))
    if with_teacher and shown_stimuli:  # a teacher shown these stimuli: the split rule before it is trained (Setup checks it again)
        refuse_shared_stimuli(stimuli.stimulus_ids, {"train": train, "test": test})
    teacher = None
    if with_teacher:
        cache = run_dir / "teacher"
        if config.teacher:
            teacher = teacher_from_spec(
                config.teacher, stimuli, cache_dir=cache, device=config.device, seed=config.seed, dataset_kwargs=dict(config.teacher_args),
                rdm_method=config.rdm_method, compare_method=config.compare_method,
            )
        else:
            teacher = resnet_teacher(train_full, stimuli, cache, epochs=config.teacher_epochs, seed=config.seed, device=config.device,
                                     depth=config.teacher_depth, rdm_method=config.rdm_method, compare_method=config.compare_method)
    if teacher is not None:
        log_layer_method(teacher)
    return Setup(train, val, test, teacher, train_full)


def resnet_teacher(train_set: ImageSet, stimuli: ImageSet, cache_dir: Path, *, epochs: float, seed: int, device=None, depth: int = 1,
                   rdm_method: str = "correlation", compare_method: str = "pearson") -> Teacher:
    """Train (or load from ``cache_dir``) the embedded ResNet teacher (:func:`cifar_resnet` of ``n = depth``, one output per
    class of ``train_set``) and compute its endpoint RDMs.

    The weights are cached as ``teacher-<key>.pt`` beside the RDMs (``teacher-<key>-rdms.nc``);
    the key covers the epochs, the seed, the training set size, the stimulus ids, the depth and the classes; RDMs by another
    ``rdm_method``/``compare_method`` than the default get their own file beside them (the weights are reused).
    """
    weights, rdms_file = _resnet_files(cache_dir, len(train_set), stimuli.stimulus_ids, epochs, seed, depth, train_set.num_classes)
    if (rdm_method, compare_method) != ("correlation", "pearson"):
        rdms_file = rdms_file.with_name(rdms_file.name.replace("-rdms.nc", f"-rdms-{rdm_method}-{compare_method}.nc"))
    recorded = (read_weights_info(weights) or {}).get("epochs") if weights.exists() else None
    if recorded is not None and recorded != epochs:  # the file name is the key of these epochs: its record says others
        raise RunFolderError(f"{weights.name} is the cached teacher of teacher-epochs = {epochs:g} (its name is that key), and its record "
                             f"{weights.with_suffix('.json').name} says {recorded:g} epochs: the record was edited or copied from another teacher",
                             f"restore the record from a copy, or delete the {weights.stem}* files to train the teacher again",
                             file=weights.with_suffix(".json"), field="teacher_epochs")
    cached = Teacher.load_cached(rdms_file, stimuli)
    if cached is not None:
        log.info("teacher loaded from cache %s", rdms_file)
        _warn_at_chance(cached, epochs)
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = cifar_resnet(n=depth, num_classes=train_set.num_classes, in_channels=stimuli.image_shape[0], width=16)
    if weights.exists() and _load_state(net, weights):
        log.info("teacher weights loaded from cache %s", weights)
    else:
        if depth > 18:  # the deepest CIFAR ResNet of He et al. (2016) in common use is ResNet-110 (n = 18)
            log.warning("teacher-depth = %d builds a ResNet-%d: teacher-depth is n, the blocks per stage (6n+2 layers; ResNet-20 is "
                        "n = 3, ResNet-56 n = 9, ResNet-110 n = 18), not the number of layers", depth, 6 * depth + 2)
        log.info("training the ResNet-%d teacher (teacher-depth n = %d) for %s epoch(s) (once; cached in %s)", 6 * depth + 2, depth, epochs,
                 cache_dir)
        result = train(net, train_set, TrainConfig(epochs=epochs, batch_size=128, lr=0.1, weight_decay=5e-4), seed=seed, device=device, progress=True)
        if result.status != "ok":
            raise RuntimeError(f"teacher training failed: {result.error}")
        with atomic_path(weights) as tmp:
            torch.save(net.state_dict(), tmp)
        write_weights_info(weights, trained_on=train_set.name, image_shape=train_set.image_shape, epochs=epochs)
    teacher = network_teacher(net, stimuli, RESNET_LAYERS, subsample_features=1000, n_subsamples=10, seed=seed, device=device,
                              rdm_method=rdm_method, compare_method=compare_method)
    if bool((stimuli.labels >= 0).all()):  # the teacher's own top-1 on its stimuli (labelled, never trained on); none for unlabelled ones
        accuracy = evaluate(net, stimuli, device=device)["top1"]
        teacher.rdms.attrs.update(stimulus_top1=float(accuracy), n_classes=int(train_set.num_classes))
        log.info("the ResNet-%d teacher (%g epoch(s)): top-1 %.3f on its %d stimuli", 6 * depth + 2, epochs, accuracy, len(stimuli))
    _warn_at_chance(teacher, epochs)
    teacher.save(rdms_file)
    return teacher


def _warn_at_chance(teacher: Teacher, epochs: float) -> None:
    """Warn when the teacher's top-1 on its stimuli is not above chance: TG would then measure an untrained network."""
    from neurosage.training.divergence import CHANCE_MIN_STEPS, chance_ending

    top1, classes = teacher.rdms.attrs.get("stimulus_top1"), teacher.rdms.attrs.get("n_classes")
    if top1 is None or classes is None:
        return
    if chance_ending(float(top1), teacher.rdms.sizes[ROW], int(classes), CHANCE_MIN_STEPS):
        log.warning("the teacher is at chance: top-1 %.3f on its %d stimuli (chance %.3f) after teacher-epochs = %g; TG then measures an "
                    "untrained network, not what a teacher learned: train it longer (teacher-epochs, e.g. 1 or more)", float(top1),
                    teacher.rdms.sizes[ROW], 1 / int(classes), epochs)


def cached_resnet(train_set: ImageSet, stimuli: ImageSet, cache_dir: Path, *, epochs: float, seed: int, depth: int = 1) -> torch.nn.Module:
    """The ResNet teacher :func:`resnet_teacher` trained and cached in ``cache_dir`` (its network, e.g. to measure its accuracy)."""
    weights, _ = _resnet_files(cache_dir, len(train_set), stimuli.stimulus_ids, epochs, seed, depth, train_set.num_classes)
    net = cifar_resnet(n=depth, num_classes=train_set.num_classes, in_channels=stimuli.image_shape[0], width=16)
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return net


def _load_state(net: torch.nn.Module, weights: Path) -> bool:
    """Load cached teacher weights into ``net``; False (the teacher is retrained) when the file cannot be read or does not fit."""
    try:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        return True
    except Exception as exc:  # a truncated or foreign file: retrain rather than fail the run
        log.warning("teacher weights %s are unreadable (%s: %s); retraining", weights, type(exc).__name__, exc)
        return False


def _resnet_files(cache_dir: Path, n_train: int, stimulus_ids, epochs: float, seed: int, depth: int, num_classes: int) -> tuple[Path, Path]:
    """The embedded teacher's weights and RDM files; the key covers the epochs, the seed, the training set size, the stimuli,
    the depth and the classes (the last two only where they differ from the first teacher's n = 1 and 10 classes, so its
    caches stay valid)."""
    fields = {"epochs": epochs, "seed": seed, "n": n_train, "stim": list(stimulus_ids)}
    fields.update({k: v for k, v, first in (("depth", depth, 1), ("classes", num_classes, 10)) if v != first})
    key = hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:12]
    return cache_dir / f"teacher-{key}.pt", cache_dir / f"teacher-{key}-rdms.nc"


def embedded_teacher_accuracy(setup: Setup, config: EmbeddedConfig, run_dir: str | Path) -> float | None:
    """Top-1 of the embedded ResNet teacher on the ``test`` split (None for any other teacher: a recording has no accuracy)."""
    if config.teacher or setup.teacher is None:
        return None
    if setup.train_full is None:  # the teacher's cache key counts the full training set
        raise ValueError("the setup has no train_full (the full training set the teacher was trained on); build it with embedded_setup")
    classes = setup.train_full.num_classes
    weights, _ = _resnet_files(Path(run_dir) / "teacher", len(setup.train_full), setup.teacher.stimulus_ids, config.teacher_epochs, config.seed,
                               config.teacher_depth, classes)
    net = cifar_resnet(n=config.teacher_depth, num_classes=classes, in_channels=setup.train.image_shape[0], width=16)
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return float(evaluate(net, setup.test, device=config.device)["top1"])


def teacher_weights(run_dir: str | Path) -> Path:
    """The cached embedded teacher's weights file in ``run_dir`` (after :func:`embedded_setup`)."""
    found = sorted((Path(run_dir) / "teacher").glob("teacher-*.pt"))
    if not found:
        raise FileNotFoundError(f"no embedded teacher weights in {Path(run_dir) / 'teacher'}; run embedded_setup first")
    return found[0]
