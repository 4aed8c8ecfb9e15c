"""Evaluate one candidate: build -> premature training -> P -> activations -> RDMs -> scores.

:func:`evaluate_candidate` is a plain, picklable function of a genotype string
and a :class:`CandidateTask`, so any executor (in-process, Dask) can run it.
It never raises for a bad candidate: failures come back as records with
``status`` ``"failed"`` or ``"diverged"`` and the error.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any, cast

import torch

from neurosage.core.errors import ConfigError
from neurosage.core.once import warn_once
from neurosage.core.seeding import derive_seed
from neurosage.core.validate import check_arguments, check_fields
from neurosage.data_adapters.imageset import ImageSet, shares_a_split
from neurosage.nets.build import build_network
from neurosage.nets.measure import count_flops, count_parameters
from neurosage.rsa.score import check_objective, combined_score
from neurosage.search.weights import state_bytes
from neurosage.spaces import parse_genotype
from neurosage.teachers.scoring import score_model
from neurosage.teachers.teacher import Teacher
from neurosage.training.configs import NetworkConfig, RDMOptions, TrainConfig
from neurosage.training.devices import check_device, check_threads, torch_threads, worker_device
from neurosage.training.divergence import chance_ending
from neurosage.training.evaluation import evaluate, recalibrate_bn
from neurosage.training.loop import train

__all__ = ["CandidateTask", "score_network", "resident_task", "evaluate_candidate"]


log = logging.getLogger(__name__)


@dataclass
class CandidateTask:
    """Everything a worker needs to evaluate candidates (ship it to workers once)."""

    train_set: Any
    val_set: Any
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=0.2))
    teacher: Teacher | None = None
    objective: str = "p+tg"
    alpha: float = 1.0
    compare_method: str | None = None  # default: the teacher's
    rdm: RDMOptions = field(default_factory=RDMOptions)
    layers: tuple[str, ...] | None = None  # default: every cell output (not the stem, not the pooled features)
    device: str | None = None
    eval_batch_size: int = 256
    resident_train: bool = False  # on a GPU: hold the training images there too (not only validation and stimuli)
    threads: int = 1  # torch CPU threads per candidate, the same on every executor (see training.devices.torch_threads)

    def __post_init__(self) -> None:
        check_fields(self)  # each field against its annotation (layers='cell_1' would be its letters)
        for name, data in (("train_set", self.train_set), ("val_set", self.val_set)):
            if type(data).__name__ in ("Tensor", "ndarray"):  # indexable, but each item is an image without its label
                raise ConfigError(f"CandidateTask: {name} is a {type(data).__name__} of images, and it takes a dataset of (image, label) "
                                  "pairs", f"pass an ImageSet (neurosage.ImageSet(images, labels)), or images.subset(...) of one, as {name}",
                                  field=name)
            if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
                raise ConfigError(f"CandidateTask: {name} is a {type(data).__name__}, not a dataset of (image, label) pairs", "pass "
                                  "map-style datasets, e.g. neurosage.ImageSet or neurosage.load_images(...)", field=name)
        self._check_objective()  # when built: evaluate_candidate would otherwise record every candidate failed

    def _check_objective(self) -> None:
        check_objective(self.objective, self.alpha)
        if self.objective == "p+tg" and self.alpha == 0:  # said, not refused (a comparison's alpha grid starts at 0)
            warn_once(log, ("alpha zero",), "alpha = 0: the score P + 0 x TG is P alone, so the teacher's TG is computed for every "
                      "candidate and ranks nothing (objective 'p' skips it; an alpha above 0 weighs it)")
        if self.objective != "p" and self.teacher is None:
            raise ConfigError(f"objective {self.objective!r} needs a teacher", "give a teacher, or use objective 'p'", field="objective")

    @property
    def num_classes(self) -> int:
        return int(self.train_set.num_classes) if hasattr(self.train_set, "num_classes") else int(max(int(y) for _, y in self.train_set)) + 1

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train_set[0][0].shape)

    def check(self) -> None:
        """Refuse settings that cannot work (run by the search before its first trial)."""
        self._check_objective()
        if self.objective != "p+tg" and self.alpha != 1.0:  # said, not refused: a comparison's searches share one alpha
            warn_once(log, ("alpha", self.objective, self.alpha), "alpha = %g weighs TG only in objective p+tg: the objective %r does not "
                      "use it", self.alpha, self.objective)
        if self.objective == "p" and self.teacher is not None:  # said, not refused: P alone scores no RDM
            warn_once(log, ("teacher unused", id(self.teacher)), "objective 'p' scores P alone: the task's teacher is not used (objective "
                      "p+tg or tg uses it)")
        if self.teacher is not None and len(self.teacher.stimulus_ids) < 3:
            raise ConfigError(
                f"the teacher has {len(self.teacher.stimulus_ids)} stimulus image(s); an RDM correlation needs at least 3",
                "use more teacher stimuli (n-stimuli)", field="n_stimuli",
            )
        for name, field_name, data in (("training", "train_set", self.train_set), ("validation", "val_set", self.val_set)):
            if len(data) == 0:
                raise ConfigError(f"the {name} set is empty", "check n-train and n-val against the dataset size", field=name)
        shared = _shared_images(self.val_set, self.train_set)
        if shared:  # P on trained images is a training accuracy, not premature performance
            raise ConfigError(f"{shared} of the {len(self.val_set)} validation images are training images (val_set "
                              f"{'is train_set' if self.val_set is self.train_set else 'overlaps train_set'}): P would be a training "
                              "accuracy", "hold validation images out of training, e.g. imgs.subset(range(n_train)) and imgs.subset("
                              "range(n_train, n_train + n_val))", field="val_set")
        stimuli: Any = getattr(self.teacher, "images", None) if self.objective != "p" else None
        shared = _shared_images(stimuli, self.train_set) if stimuli is not None else 0
        if shared:  # the split rule: TG on trained images measures memory, not what the teacher taught
            raise ConfigError(f"{shared} of the teacher's {len(stimuli)} stimuli are training images (pixel-identical)", "take the "
                              "teacher's stimuli from images the candidates never train on (e.g. the test split)", field="teacher")
        check_device(self.device)
        check_threads(self.threads, warn=False)  # the count is checked here; the cores it shares are where it runs (torch_threads warns)


def _shared_images(images: Any, others: Any) -> int:
    """How many of ``images`` are pixel-identical to images of ``others`` when that is more than 1% of them (a few exact
    duplicates, which some datasets hold, are not counted); 0 when they are not both ImageSets stored alike."""
    if images is others:
        return len(images)
    if not (isinstance(images, ImageSet) and isinstance(others, ImageSet)):
        return 0
    same = images.identical_to(others)
    return int(same.sum()) if shares_a_split(same) else 0


def _nonfinite(net, record: dict[str, Any]) -> str | None:
    """Why a trained candidate's result cannot be trusted (non-finite weights, loss or scores), or None."""
    # detached: torch 2.14's isfinite fails under autograd on a (c, 1, 1, 1) weight in channels_last (a 1x1 conv on grey images)
    bad = [name for name, param in net.named_parameters() if not torch.isfinite(param.detach()).all()]
    if bad:
        return f"{len(bad)} parameter tensor(s) became non-finite after training (e.g. {bad[0]})"
    for key in ("train_loss", "val_loss", "P", "TG", "score"):
        value = record.get(key)
        if value is not None and not math.isfinite(value):
            return f"{key} is {value}"
    return None


def score_network(net: torch.nn.Module, task: CandidateTask, *, seed: int = 0) -> dict[str, Any]:
    """P (validation top-1) and, when the task has a teacher and needs it, TG and the similarity matrix.

    The BatchNorm statistics are first recomputed from ``task.training.bn_recalibration`` training batches
    (:func:`~neurosage.training.evaluation.recalibrate_bn`, seeded by ``seed``), so P and TG are not read
    through the stale running statistics of a briefly trained network.
    """
    check_arguments(score_network, locals())
    t1 = time.perf_counter()
    recalibrate_bn(net, task.train_set, n_batches=task.training.bn_recalibration, batch_size=task.training.batch_size,
                   seed=derive_seed(seed, 2), device=task.device)
    acc = evaluate(net, task.val_set, batch_size=task.eval_batch_size, device=task.device)
    out: dict[str, Any] = {"P": acc["top1"], "top5": acc["top5"], "val_loss": acc["loss"], "time_eval": time.perf_counter() - t1}
    if task.teacher is None or task.objective == "p" or not math.isfinite(out["val_loss"]):
        return out  # a blown-up network (non-finite outputs) has no RDMs to compare: it is marked diverged by its val_loss
    t2 = time.perf_counter()
    endpoints: list[str] = list(cast(Any, net).endpoints)  # a cell or layer-wise network's
    layers = list(task.layers or [n for n in endpoints if n not in ("stem", "pool")])
    scores = score_model(
        net, task.teacher, layers, compare_method=task.compare_method, rdm=task.rdm,
        batch_size=task.eval_batch_size, device=task.device, seed=seed,
    )
    out.update(
        TG=scores.tg,
        S=scores.per_endpoint,
        best_layer=scores.best_layer,
        **({"S_ceiled": scores.per_endpoint_ceiled, "TG_ceiled": scores.tg_ceiled} if scores.ceilings else {}),
        similarity=scores.similarity.values.tolist(),
        endpoints=list(scores.per_endpoint),
        layers=[str(x) for x in scores.similarity.layer.values],
        time_rdm=time.perf_counter() - t2,
    )
    return out


_resident: tuple[CandidateTask, CandidateTask] | None = None  # (task, its resident copy): one task per process at a time


def resident_task(task: CandidateTask) -> CandidateTask:
    """``task`` with its image sets held on its device (once per process and task): on a GPU the
    validation images, the teacher's stimuli and, with ``resident_train``, the training images live
    there as uint8 and are converted there in batches. On CPU the task itself. A new task replaces
    the previous one's copy, freeing its device memory."""
    check_arguments(resident_task, locals())
    global _resident
    device = worker_device(task.device)
    if device is None or torch.device(device).type == "cpu":
        return task
    if _resident is None or _resident[0] is not task:
        def moved(data):
            return data.to(device) if hasattr(data, "batch") else data

        teacher = task.teacher
        if teacher is not None and teacher.images is not None:
            teacher = Teacher(teacher.rdms, moved(teacher.images))
        _resident = None  # free the previous copy before making the new one
        _resident = task, replace(
            task, device=device, teacher=teacher, val_set=moved(task.val_set),
            train_set=moved(task.train_set) if task.resident_train else task.train_set,
        )
    return _resident[1]


def evaluate_candidate(genotype: str, task: CandidateTask, seed: int = 0, weights_floor: float | None = None) -> dict[str, Any]:
    """Score one candidate; returns a JSON-ready record (never raises for a bad candidate).

    With ``weights_floor`` (a score; ``-inf`` for any), a scored candidate that reaches it also returns its trained
    ``state_dict`` as ``torch.save`` bytes under ``"weights"``, which the driver pops before journaling the record
    (:mod:`neurosage.search.weights`).
    """
    check_arguments(evaluate_candidate, locals())
    t0 = time.perf_counter()
    record: dict[str, Any] = {"genotype": genotype, "seed": seed, "status": "ok", "error": None, "threads": task.threads, "started": time.time(),
                              "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        with torch_threads(task.threads):
            _evaluate(genotype, task, seed, record, weights_floor)
    except Exception as exc:  # a candidate's failure must not stop the search
        log.warning("candidate failed: %s", exc)
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    record["wall_time"] = time.perf_counter() - t0
    return record


def _evaluate(genotype: str, task: CandidateTask, seed: int, record: dict[str, Any], weights_floor: float | None = None) -> None:
    """Build, train and score one candidate into ``record`` (failures of training are recorded, other errors raised);
    its weights too when its score reaches ``weights_floor``."""
    task = resident_task(task)
    record["device"] = str(task.device or "cpu")
    geno = parse_genotype(genotype)
    shape = task.input_shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_network(
            geno, num_classes=task.num_classes, in_channels=shape[0], **task.network.to_dict()
        )
    record["params"] = count_parameters(net)
    record.update(count_flops(net, shape))
    result = train(net, task.train_set, task.training, seed=seed, device=task.device)
    record.update(steps=result.steps, examples=result.examples, train_loss=result.final_loss, time_train=result.wall_time)
    if result.status != "ok":
        record.update(status=result.status, error=result.error)
        return
    problem = _nonfinite(net, record)
    if not problem:
        record.update(score_network(net, task, seed=seed))
        problem = _nonfinite(net, record)  # non-finite outputs (val_loss) leave no TG to combine
    if not problem:  # a long training that ends at chance learned nothing: diverged too
        problem = chance_ending(record["P"], len(task.val_set), task.num_classes, result.steps)
    if not problem:
        record["score"] = combined_score(record["P"], record.get("TG"), task.objective, task.alpha)
        problem = _nonfinite(net, record)
    if problem:  # every stored score is finite: a blown-up network is diverged, not scored
        log.warning("candidate diverged: %s", problem)
        # no accuracy or similarity of a diverged network is a result: none is kept (NaN in the tables; the error says what happened)
        record.update(status="diverged", error=f"diverged: {problem}", score=None, P=None, top5=None, TG=None, TG_ceiled=None, S=None,
                      S_ceiled=None, similarity=None)
    elif weights_floor is not None and record["score"] >= weights_floor:
        record["weights"] = state_bytes(net)  # after scoring: the recalibrated BatchNorm statistics P and TG saw
