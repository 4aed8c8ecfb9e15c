"""Channel-size search in the style of CONetV2: grow or shrink each channel group over trials, keeping weights.

Trial 0 trains the starting network. After every trial each resizable group gets
a metric ``m`` (the mean over its layers: CONetV2's QC of the producers' output
side and the consumers' input side, or the teacher's RDM similarity of the
producers' outputs), and a momentum ``M_t = gamma M_{t-1} + m_t``.

As in CONetV2, each layer's metric is measured ``metric_points`` times over the trial (CONetV2: at the end of
each of its 2 epochs; here at evenly spaced steps, the last at the trial's end, each after BN recalibration) and
reduced per layer by ``metric_selection`` (CONetV2's ``epoch_selection``, default ``"max"``) before the group mean.

The rule grows a group by about ``1 + m`` in the first trials (``delta = m gamma^t`` for a steady ``m``), so the
metric's *level* sets the growth rate: QC lives around 0.3-0.7, the teacher's RDM similarity around 0.8-0.95.
With ``teacher_scale="qc"`` (default) the teacher metric of every trial is multiplied by the factor that gives its
mean over groups QC's mean over groups on the same network in the same trial (QC measured beside it, reduced the
same way; the factor is recorded as ``metric_scale``): the teacher decides *which* groups grow, QC's level *how much*
the network grows, so a QC- and a teacher-steered search differ only by where they put channels. ``"none"`` uses
raw r. (A factor fixed once at trial 0 was tried first: QC of the barely trained trial-0 network is about 0.09
against 0.3-0.7 later, so it froze the teacher search at 12-14 channels.) The next size
of a group follows one of CONetV2's rules (``docs/reference/conetv2.md`` section 4):

- trial 1: every group grows by ``init_step`` (unconditional, as in CONetV2);
- ``greedy``: ``size * clip(1 + delta, 0.5, 2)`` with ``delta = M_t - M_{t-1}``, rounded to the
  nearest even number and clipped to ``[min_size, max_size]``;
- ``annealing``: as greedy, but with probability ``p = exp(-(1/|delta|)/T)``, where
  ``T = alpha (trials - t) / trials``, ``delta`` becomes ``delta + p`` (CONetV2's code; the
  paper's exact formula is unconfirmed: this is the code's rule, stated as our choice).

The network is resized with its trained weights (:func:`~neurosage.channels.resize.resize_channels`)
and trained again with a fresh optimiser. The chosen sizes are those of the trial, after the fifth,
with the highest mean momentum over groups (CONetV2's model selection).

Each trial is a row of the run folder's journal (sizes, per-group metric and momentum, validation
accuracy, params, FLOPs); the weights, momentum and random state after each trial are saved
atomically in ``channel_state.pt``, so a killed search resumes at the next trial and ends where an
uninterrupted one does. A search is sequential (each trial starts from the last one's weights); run
several searches side by side through any executor (:class:`~neurosage.search.executors.InlineExecutor`, Dask).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from neurosage.channels.groups import ChannelGraph, channel_groups
from neurosage.channels.metrics import layer_quality, teacher_layer_scores
from neurosage.channels.resize import resize_channels
from neurosage.core.atomic import atomic_path
from neurosage.core.errors import ConfigError, RunFolderError
from neurosage.core.seeding import derive_seed
from neurosage.core.validate import KnownFields, check_arguments, check_fields, is_whole_number, whole
from neurosage.nets.measure import count_flops, count_parameters
from neurosage.nets.models import FeatureModel
from neurosage.runs.folder import RunFolder
from neurosage.runs.journal import Journal
from neurosage.runs.provenance import jsonable
from neurosage.training.configs import TrainConfig
from neurosage.training.evaluation import evaluate, recalibrate_bn
from neurosage.training.loop import resolve_steps, train

__all__ = ["SELECTIONS", "ChannelSearchConfig", "ChannelSearchResult", "round_even", "next_sizes", "group_metrics", "layer_metrics",
           "select_over_trial", "measure_points", "run_channel_search", "best_sizes"]


log = logging.getLogger(__name__)



#: How a layer's measurements over a trial become its metric (CONetV2's ``epoch_selection``).
SELECTIONS: dict[str, Callable[[list[float]], float]] = {
    "max": max, "min": min, "last": lambda values: values[-1], "avg": lambda values: float(np.mean(values)),
}


#: The values of :class:`ChannelSearchConfig`'s choices.
Rule = Literal["greedy", "annealing"]
Metric = Literal["qc", "teacher"]
Selection = Literal["max", "last", "avg", "min"]
TeacherScale = Literal["qc", "none"]


@dataclass(frozen=True)
class ChannelSearchConfig(KnownFields):
    """A channel search's rule, metric, budget and bounds (CONetV2's defaults, except where noted)."""

    rule: Rule = "annealing"
    metric: Metric = "qc"
    trials: int = 36
    training: TrainConfig = field(default_factory=lambda: TrainConfig(steps=100))
    gamma: float = 0.8
    init_step: int = 16
    min_size: int = 16
    max_size: int = 256
    factor_bounds: tuple[float, float] = (0.5, 2.0)
    temperature: float = 5.0  # CONetV2's ALPHA
    select_after: int = 5
    seed: int = 0
    metric_points: int = 2
    metric_selection: Selection = "max"
    teacher_scale: TeacherScale = "qc"

    def __post_init__(self) -> None:
        check_fields(self)
        self.check()

    def check(self) -> None:
        """Refuse what no channel search can run, naming the field and the fix (also run when built)."""
        if self.rule not in ("greedy", "annealing"):
            raise ConfigError(f"unknown scaling rule {self.rule!r}", "use 'greedy' or 'annealing'", field="rule")
        if self.metric not in ("qc", "teacher"):
            raise ConfigError(f"unknown layer metric {self.metric!r}", "use 'qc' or 'teacher'", field="metric")
        if not is_whole_number(self.trials) or self.trials < 2:
            raise ConfigError(f"trials must be at least 2, got {self.trials!r}", "use e.g. 36 (CONetV2) or 12 at small scale", field="trials")
        if not isinstance(self.metric_selection, str) or self.metric_selection not in SELECTIONS:
            raise ConfigError(
                f"unknown metric selection {self.metric_selection!r}", f"use one of {', '.join(SELECTIONS)} (CONetV2: max)", field="metric_selection",
            )
        if not isinstance(self.teacher_scale, str) or self.teacher_scale not in ("qc", "none"):
            raise ConfigError(
                f"unknown teacher scale {self.teacher_scale!r}",
                "use 'qc' (the teacher metric at QC's level on the same network, every trial) or 'none'", field="teacher_scale",
            )
        if isinstance(self.metric_points, bool) or not isinstance(self.metric_points, int) or self.metric_points < 1:
            raise ConfigError(
                f"metric_points must be a positive integer, got {self.metric_points!r}", "use e.g. 2 (CONetV2: once per epoch, 2 epochs per trial)",
                field="metric_points",
            )
        for name, low in (("init_step", 0), ("select_after", 0), ("seed", 0), ("min_size", 2), ("max_size", 2)):
            whole(getattr(self, name), name, low)
        if self.select_after > self.trials - 2:  # trials are 0..trials-1: none after select_after, and the last would be chosen
            raise ConfigError(f"select-after = {self.select_after} leaves no trial to choose from (trials are 0..{self.trials - 1}, and the sizes "
                              f"are chosen among trials after select-after)", f"set select-after below {self.trials - 1}, or trials above "
                              f"{self.select_after + 1}", field="select_after")
        bounds = self.factor_bounds
        if isinstance(bounds, (str, bytes)) or not hasattr(bounds, "__len__") or len(bounds) != 2 or not all(
                isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in bounds) or not 0 < bounds[0] <= 1 <= bounds[1]:
            raise ConfigError(f"factor-bounds must be (low, high) with 0 < low <= 1 <= high (a trial's size factor is clipped to them: a "
                              f"group grows up to high, shrinks down to low), got {bounds!r}", "give e.g. factor-bounds = [0.5, 2.0] "
                              "(CONetV2's)", field="factor_bounds")
        if not (isinstance(self.gamma, (int, float)) and 0 <= self.gamma <= 1):
            raise ConfigError(f"gamma is the momentum's decay, from 0 to 1, got {self.gamma!r} (above 1 the momentum grows without bound)",
                              "use e.g. 0.8 (CONetV2)", field="gamma")
        if not 2 <= self.min_size <= self.max_size:
            raise ConfigError(
                f"size bounds [{self.min_size}, {self.max_size}] are not an interval of at least 2", "set 2 <= min-size <= max-size",
                field="min_size",
            )


@dataclass
class ChannelSearchResult:
    """The trials (one row each) and the chosen sizes."""

    run_dir: Path
    trials: list[dict[str, Any]]
    best_sizes: dict[int, int]
    graph: ChannelGraph


def round_even(x: float) -> int:
    """The nearest even integer to a channel count ``x`` >= 0 (CONetV2's ``round_even``)."""
    check_arguments(round_even, locals())
    if x < 0:
        raise ConfigError(f"round_even rounds a channel count, and {x!r} is negative", "pass a size of 0 or more (a layer's channels "
                          "times its factor)", field="x")
    return int(2 * round(x / 2))


def next_sizes(sizes: dict[int, int], delta: dict[int, float], config: ChannelSearchConfig, trial: int, rng: np.random.Generator) -> dict[int, int]:
    """The sizes for trial ``trial`` from the momentum changes ``delta`` of trial ``trial - 1``."""
    check_arguments(next_sizes, locals())
    if not 1 <= trial < config.trials:
        raise ConfigError(f"trial {trial} has no sizes to move to: the search's trials are 0..{config.trials - 1}, and trial 0 trains the "
                          "initial sizes", f"give a trial from 1 to {config.trials - 1}", field="trial")
    if trial > 1 and set(delta) != set(sizes):
        raise ConfigError(f"delta has the groups {sorted(delta)[:6]} and sizes {sorted(sizes)[:6]}: each group's size moves by its own "
                          "change", "give delta for exactly the groups of sizes (the previous trial's momentum changes)", field="delta")
    if trial == 1:
        return {g: min(config.max_size, s + config.init_step) for g, s in sizes.items()}
    lo, hi = config.factor_bounds
    out = {}
    for g, size in sizes.items():
        d = delta[g]
        if config.rule == "annealing" and d != 0:
            temperature = config.temperature * (config.trials - trial) / config.trials
            p = math.exp(-(1 / abs(d)) / temperature) if temperature > 0 else 0.0
            if rng.random() < p:
                d = d + p
        factor = min(hi, max(lo, 1 + d))
        out[g] = min(config.max_size, max(config.min_size, round_even(size * factor)))
    return out


def layer_metrics(model: nn.Module, graph: ChannelGraph, metric: str, teacher=None, *, device=None, seed: int = 0) -> dict[str, float]:
    """Every layer's metric that a group mean reads: ``"<layer>:out"``/``"<layer>:in"`` (QC of a producer's output
    side, of a consumer's input side) or ``"<layer>"`` (the teacher similarity of a producer's output)."""
    modules = dict(model.named_modules())
    if metric == "qc":
        names = {(n, "out") for g in graph.resizable for n in g.producers if hasattr(modules[n], "weight")}
        names |= {(n, "in") for g in graph.resizable for n in g.consumers if hasattr(modules[n], "weight")}
        return {f"{n}:{side}": layer_quality(modules[n].weight)[side].qc for n, side in sorted(names)}
    if teacher is None:
        raise ConfigError("the teacher metric needs a teacher", "give a teacher, or use metric 'qc'", field="metric")
    layers = sorted({n for g in graph.resizable for n in g.producers if hasattr(modules[n], "weight")})
    return teacher_layer_scores(FeatureModel(model, layers), teacher, layers, device=device, seed=seed)


def _group_means(values: dict[str, float], graph: ChannelGraph, metric: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for group in graph.resizable:
        keys = [f"{n}:out" for n in group.producers] + [f"{n}:in" for n in group.consumers] if metric == "qc" else list(group.producers)
        found = [values[k] for k in keys if k in values]
        out[group.id] = float(np.mean(found)) if found else 0.0
    return out


def group_metrics(model: nn.Module, graph: ChannelGraph, metric: str, teacher=None, *, device=None, seed: int = 0) -> dict[int, float]:
    """Each resizable group's metric: the mean of QC over its producers' output side and its consumers' input side,
    or the mean teacher similarity of its producers' outputs."""
    check_arguments(group_metrics, locals())
    return _group_means(layer_metrics(model, graph, metric, teacher, device=device, seed=seed), graph, metric)


def select_over_trial(snapshots: list[dict[str, float]], selection: str) -> dict[str, float]:
    """Each layer's metric over a trial's measurements, reduced by ``selection`` (CONetV2's ``epoch_selection``)."""
    reduce = SELECTIONS[selection]
    return {key: float(reduce([s[key] for s in snapshots])) for key in snapshots[-1]}


def measure_points(total_steps: int, points: int) -> list[int]:
    """The steps before the end of a trial at which the metric is also measured (``points - 1`` evenly spaced)."""
    return sorted({round(total_steps * k / points) for k in range(1, points)} - {0, total_steps})


def run_channel_search(
    run_dir: str | Path, build: Callable[[], nn.Module], train_set, val_set, config: ChannelSearchConfig, *,
    teacher=None, device=None, resume: bool = False, progress: bool = True, settings: dict[str, Any] | None = None,
    observe: Callable[[nn.Module, ChannelGraph], dict[str, Any]] | None = None,
) -> ChannelSearchResult:
    """Run (or resume) a channel search of ``config.trials`` trials of the network ``build()`` returns.

    ``build`` must be deterministic (it is called again on resume to rebuild the graph); the trained weights
    come from the run folder's state. ``observe(model, graph)``, when given, is called after each trial and
    its values are stored in the trial's record (e.g. test accuracy and other metrics, which the search never reads).
    The trial budget is part of the annealing schedule, so a resumed search must keep it.
    """
    check_arguments(run_channel_search, locals())
    config.check()
    steps = resolve_steps(config.training, len(train_set))
    if config.metric_points > steps:
        raise ConfigError(f"metric_points {config.metric_points} is more than the {steps} training steps of a trial",
                          f"use at most {steps} (CONetV2: 2, once per epoch)", field="metric_points")
    if config.metric == "teacher" and teacher is None:
        raise ConfigError("the teacher metric needs a teacher", "give a teacher, or use metric 'qc'", field="metric")
    folder = RunFolder(run_dir)
    if not resume:
        folder.refuse_existing("a channel search", resume_hint="pass resume=True to continue it")
    resolved = jsonable({"channel_search": asdict(config), **(settings or {})})
    if resume:
        folder.refuse_changed_settings(resolved)
    with folder.lock(), folder.session(resolved, seeds={"seed": config.seed}, device=device):
        return _search(folder, build, train_set, val_set, config, teacher, device, progress, observe)


def _search(
    folder: RunFolder, build, train_set, val_set, config: ChannelSearchConfig, teacher, device, progress: bool, observe
) -> ChannelSearchResult:
    from neurosage.core.progress import progress_bar

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build()
    shape = tuple(train_set[0][0].shape)
    graph = channel_groups(model, torch.zeros(1, *shape))
    run_dir = folder.path
    journal = folder.journal()
    state_file = folder.channel_state
    rows = [row["record"] for row in journal.rows()]
    if rows and not state_file.exists():
        raise RunFolderError(f"{run_dir} has {len(rows)} trials in its journal but no {state_file.name}",
                             "start a new run folder (the trained weights of the last trial are gone)", file=run_dir)
    rng = np.random.default_rng(config.seed)
    sizes = {g.id: g.size for g in graph.resizable}
    momentum: dict[int, float] = {g: 0.0 for g in sizes}
    delta: dict[int, float] = {g: 0.0 for g in sizes}
    if state_file.exists():
        state = torch.load(state_file, weights_only=False)
        if state["trial"] == len(rows):  # killed after the state was saved, before its journal row: write the row now
            _journal_row(journal, state["record"])
            rows.append(state["record"])
        if state["trial"] != len(rows) - 1:
            raise RunFolderError(f"{state_file} is of trial {state['trial']}, but the journal has {len(rows)} trials",
                                 "start a new run folder (this one was changed by hand)", file=state_file)
        sizes, momentum, delta = state["sizes"], state["momentum"], state["delta"]
        rng.bit_generator.state = state["rng"]
        model = resize_channels(model, graph, sizes)
        model.load_state_dict(state["weights"])
    start = len(rows)
    bar = progress_bar(total=config.trials, initial=start, desc=f"channels:{config.rule}:{config.metric}", enabled=progress)
    for trial in range(start, config.trials):
        t0 = time.perf_counter()
        if trial > 0:
            previous, sizes = sizes, next_sizes(sizes, delta, config, trial, rng)
            model = resize_channels(model, graph, sizes, current=previous, seed=config.seed * 100_003 + trial)
        snapshots: list[dict[str, float]] = []
        measure_seed = derive_seed(config.seed, trial, 4)

        scaled = config.metric == "teacher" and config.teacher_scale == "qc"
        qc_snapshots: list[dict[str, float]] = []  # QC beside the teacher metric, for its level (teacher_scale="qc")

        def measure(step: int) -> None:  # during the trial (CONetV2: the end of each epoch); BN recalibrated for the teacher metric
            if config.metric == "teacher":
                recalibrate_bn(model, train_set, n_batches=config.training.bn_recalibration, batch_size=config.training.batch_size,
                               seed=derive_seed(measure_seed, step), device=device)
            snapshots.append(layer_metrics(model, graph, config.metric, teacher, device=device, seed=config.seed))
            if scaled:
                qc_snapshots.append(layer_metrics(model, graph, "qc"))

        points = measure_points(resolve_steps(config.training, len(train_set)), config.metric_points)
        result = train(model, train_set, config.training, seed=config.seed * 100_003 + trial, device=device, measure_at=points, measure=measure)
        recalibrate_bn(model, train_set, n_batches=config.training.bn_recalibration, batch_size=config.training.batch_size,
                       seed=derive_seed(config.seed, trial, 2), device=device)  # metrics and accuracy not read through stale statistics
        accuracy = evaluate(model, val_set, device=device)
        snapshots.append(layer_metrics(model.cpu(), graph, config.metric, teacher, device=device, seed=config.seed))
        metrics = _group_means(select_over_trial(snapshots, config.metric_selection), graph, config.metric)
        scale = None
        if scaled:  # the teacher decides which groups grow; QC's level on this network, how much the network grows
            qc_snapshots.append(layer_metrics(model, graph, "qc"))
            qc_level = float(np.mean(list(_group_means(select_over_trial(qc_snapshots, config.metric_selection), graph, "qc").values())))
            level = float(np.mean(list(metrics.values())))
            scale = qc_level / level if level > 0 else 0.0
            if not level > 0:
                log.warning("trial %d: the teacher metric's mean over groups is %.4g (no layer resembles the teacher): it counts as 0 "
                            "this trial (teacher_scale = 'none' uses raw RDM similarity)", trial, level)
            metrics = {g: scale * v for g, v in metrics.items()}
        new_momentum = {g: config.gamma * momentum[g] + metrics[g] for g in sizes}
        delta = {g: new_momentum[g] - momentum[g] for g in sizes}
        momentum = new_momentum
        record = {
            "trial": trial, "status": result.status, "sizes": {str(g): s for g, s in sizes.items()},
            "genotype": "channels: " + " ".join(f"{g}={s}" for g, s in sizes.items()),
            "metric": {str(g): v for g, v in metrics.items()}, "momentum": {str(g): v for g, v in momentum.items()},
            "mean_momentum": float(np.mean(list(momentum.values()))), "mean_metric": float(np.mean(list(metrics.values()))),
            "metric_scale": scale, "metric_points": len(snapshots),
            "val_top1": accuracy["top1"], "params": count_parameters(model), **count_flops(model.cpu(), shape),
            "examples": result.examples, "wall_time": time.perf_counter() - t0,
            **(observe(model, graph) if observe is not None else {}),
        }
        with atomic_path(state_file) as tmp:  # the state first, with its record: a kill at any point loses nothing
            torch.save({"trial": trial, "sizes": sizes, "momentum": momentum, "delta": delta, "rng": rng.bit_generator.state,
                        "weights": model.state_dict(), "record": record}, tmp)
        _journal_row(journal, record)
        rows.append(record)
        bar.update(1)
        bar.set_postfix(val=f"{accuracy['top1']:.3f}", params=record["params"])
        log.info("channel trial %d/%d (%s, %s): sizes %s, val top-1 %.3f, %d params, mean metric %.4f", trial + 1, config.trials,
                 config.rule, config.metric, record["genotype"][10:], accuracy["top1"], record["params"], record["mean_metric"])
    bar.close()
    return ChannelSearchResult(run_dir, rows, best_sizes(rows, config.select_after), graph)


def _journal_row(journal: Journal, record: dict[str, Any]) -> None:
    journal.propose(record["trial"], record["sizes"], record["genotype"], time.time())
    journal.append(record["trial"], record["sizes"], record, -record["mean_momentum"], time.time())


def best_sizes(rows: list[dict[str, Any]], select_after: int) -> dict[int, int]:
    """CONetV2's choice: the sizes of the trial after ``select_after`` with the highest mean momentum (else the last)."""
    eligible = [r for r in rows if r["trial"] > select_after] or rows[-1:]
    best = max(eligible, key=lambda r: r["mean_momentum"])
    return {int(g): int(s) for g, s in best["sizes"].items()}
