"""Channel-size search on the embedded default (CONetV2 style): the CONet metric vs the teacher metric vs a uniform width.

A CIFAR-style ResNet (``resnet_blocks`` blocks per stack, every channel group starting at ``start_width``
channels, as CONetV2 starts every conv at 16) is searched twice with the same rule and budget, once steered by CONetV2's QC and once by
the teacher's RDM similarity (the embedded ResNet teacher, or any ``teacher`` spec: a brain can steer
channel sizes). After each trial the test accuracy and *both* metrics are recorded (the search reads
neither the test set nor the other metric; ``n_test_per_trial`` test images per trial), so each metric's
correlation with test accuracy across trials can be measured, as the CONetV2 paper claims for QC. The chosen sizes of each search are then
trained from scratch for ``final_steps``; the uniform-width baseline (every group at ``uniform_width``)
is trained from scratch for the same total number of steps a searched network had (its search trials
plus its final training): equal training budget.

Outputs in ``<run>/channel_search/``: one search folder per metric, ``trials.csv`` (per search, trial and
group: size; per trial: val/test accuracy, both metrics, params, FLOPs), ``table.csv`` (params, mult-adds,
FLOPs, test error of each final network) and ``correlations.csv`` (Pearson and Spearman r with 95%
intervals of each metric with test accuracy across trials).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from scipy import stats

from neurosage.analyses.embedded import embedded_setup
from neurosage.analyses.results import (
    CHANNEL_CORRELATIONS,
    CHANNEL_TABLE,
    CHANNEL_TRIALS,
    write_table,
)
from neurosage.analyses.search_protocol import recorded
from neurosage.analyses.settings import CELL_OPTIONS, EmbeddedConfig
from neurosage.channels.groups import channel_groups
from neurosage.channels.resize import resize_channels
from neurosage.channels.search import (
    ChannelSearchConfig,
    Metric,
    Rule,
    Selection,
    TeacherScale,
    group_metrics,
    run_channel_search,
)
from neurosage.nets.measure import count_flops, count_parameters
from neurosage.nets.models import cifar_resnet
from neurosage.search.executors import executor_for
from neurosage.training.configs import TrainConfig
from neurosage.training.divergence import training_outcome
from neurosage.training.evaluation import evaluate, recalibrate_bn
from neurosage.training.loop import train

__all__ = ["ChannelSearchAnalysisConfig", "run", "correlation_with_ci"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelSearchAnalysisConfig(EmbeddedConfig):
    """Options of the channel-size analysis (small scale on 2 CPU cores by default; CONetV2: 36 trials, sizes 16-256)."""

    UNUSED: ClassVar[dict[str, tuple[str, str]]] = dict.fromkeys(("space", "width_multiplier", *CELL_OPTIONS), (
        "the channel search resizes the channels of a CIFAR ResNet (resnet-blocks, start-width), not a network of a search space",
        "drop {flag}; the ResNet's depth is resnet-blocks, its widths start at start-width"))

    metrics: tuple[Metric, ...] = ("qc", "teacher")
    rule: Rule = "annealing"
    resnet_blocks: int = 1
    start_width: int = 8
    uniform_width: int = 16
    trials: int = 10
    trial_steps: int = 80
    final_steps: int = 400
    batch_size: int = 64
    gamma: float = 0.8
    init_step: int = 4
    min_size: int = 4
    max_size: int = 48
    temperature: float = 5.0
    select_after: int = 3
    n_test_per_trial: int = 2000
    workers: int = 1
    metric_points: int = 2
    metric_selection: Selection = "max"
    teacher_scale: TeacherScale = "qc"

    def search_config(self, metric: Metric) -> ChannelSearchConfig:
        return ChannelSearchConfig(
            rule=self.rule, metric=metric, trials=self.trials, training=TrainConfig(steps=self.trial_steps, batch_size=self.batch_size),
            gamma=self.gamma, init_step=self.init_step, min_size=self.min_size, max_size=self.max_size,
            temperature=self.temperature, select_after=self.select_after, seed=self.seed,
            metric_points=self.metric_points, metric_selection=self.metric_selection, teacher_scale=self.teacher_scale,
        )


def correlation_with_ci(x, y) -> dict[str, float]:
    """Pearson r with a 95% Fisher-z interval and Spearman rho, over the finite pairs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 4 or np.std(x) == 0 or np.std(y) == 0:
        return {"n": n, "pearson": np.nan, "pearson_lo": np.nan, "pearson_hi": np.nan, "spearman": np.nan}
    r = float(stats.pearsonr(x, y)[0])
    z, half = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1.96 / np.sqrt(n - 3)
    return {"n": n, "pearson": r, "pearson_lo": float(np.tanh(z - half)), "pearson_hi": float(np.tanh(z + half)),
            "spearman": float(stats.spearmanr(x, y)[0])}


@recorded("channel_search")
def run(run_dir: str | Path, config: ChannelSearchAnalysisConfig = ChannelSearchAnalysisConfig(), *, client=None) -> pd.DataFrame:
    for metric in config.metrics:  # refuse a bad rule, metric or bound before the teacher is trained
        config.search_config(metric).check()
    run_dir = Path(run_dir)
    out = run_dir / "channel_search"
    setup = embedded_setup(config, run_dir, with_teacher=True)
    shape, classes = setup.train.image_shape, setup.train.num_classes

    def build(width: int = config.start_width) -> torch.nn.Module:
        """The ResNet with every channel group at ``width`` (CONetV2 starts every conv at one size), freshly initialised."""
        net = cifar_resnet(config.resnet_blocks, num_classes=classes, in_channels=shape[0], width=width)
        graph = channel_groups(net, torch.zeros(1, *shape))
        return _reinitialised(resize_channels(net, graph, {g.id: width for g in graph.resizable}), config.seed)

    if config.n_test_per_trial > len(setup.test):  # said, as --n-stimuli beyond a stimulus set is
        log.warning("n-test-per-trial = %d, but the test split has %d images: all %d are used per trial", config.n_test_per_trial,
                    len(setup.test), len(setup.test))
    per_trial_test = setup.test.subset(range(min(config.n_test_per_trial, len(setup.test))))

    def observe(model, graph) -> dict:  # what the search never reads: test accuracy (first n_test_per_trial images) and both metrics
        return {"test_top1": evaluate(model, per_trial_test, device=config.device)["top1"],
                **{f"mean_{m}": float(np.mean(list(group_metrics(model.cpu(), graph, m, setup.teacher, device=config.device,
                                                                  seed=config.seed).values()))) for m in ("qc", "teacher")}}

    settings = {"analysis": {k: v for k, v in asdict(config).items() if k != "workers"}}
    with executor_for(config.workers, client) as executor:  # the searches are independent: one per worker
        futures = {metric: executor.submit(
            run_channel_search, out / metric, build, setup.train, setup.val, config.search_config(metric), teacher=setup.teacher,
            device=config.device, resume=True, settings=settings, observe=observe, progress=config.workers == 1 and client is None,
        ) for metric in config.metrics}
        searches = {metric: future.result() for metric, future in futures.items()}
    trial_rows, size_rows = [], []
    for metric, result in searches.items():
        for r in result.trials:
            trial_rows.append({"search": metric, **{k: r[k] for k in ("trial", "val_top1", "test_top1", "mean_qc", "mean_teacher",
                                                                      "mean_momentum", "params", "macs", "flops")}})
            size_rows += [{"search": metric, "trial": r["trial"], "group": int(g), "size": s} for g, s in r["sizes"].items()]
    trials = pd.DataFrame(trial_rows).merge(pd.DataFrame(size_rows), on=["search", "trial"])
    write_table(run_dir, CHANNEL_TRIALS, trials)
    per_trial = pd.DataFrame(trial_rows)
    write_table(run_dir, CHANNEL_CORRELATIONS, pd.DataFrame([
        {"metric": m, "trials_of": "all searches", **correlation_with_ci(per_trial[f"mean_{m}"], per_trial.test_top1)} for m in ("qc", "teacher")
    ]))
    budget = config.trials * config.trial_steps + config.final_steps
    rows = []
    for metric, result in searches.items():  # the chosen sizes, trained from scratch
        model = _reinitialised(resize_channels(build(), result.graph, result.best_sizes), config.seed)
        rows.append(_final(f"searched ({metric})", model, setup, config, config.final_steps, shape, result.best_sizes))
    rows.append(_final(f"uniform width {config.uniform_width}", build(config.uniform_width), setup, config, budget, shape, None))
    table = pd.DataFrame(rows)
    write_table(run_dir, CHANNEL_TABLE, table)
    return table


def _reinitialised(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """``model`` with every layer's parameters reset as torch initialises them (seeded): trained from scratch."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if reset is not None:
                reset()
    return model


def _final(name: str, model, setup, config: ChannelSearchAnalysisConfig, steps: int, shape, sizes) -> dict:
    training = TrainConfig(steps=steps, batch_size=config.batch_size)
    result = train(model, setup.train, training, seed=config.seed, device=config.device, progress=True)
    recalibrate_bn(model, setup.train, n_batches=training.bn_recalibration, batch_size=training.batch_size, seed=config.seed, device=config.device)
    acc = evaluate(model, setup.test, device=config.device)
    flops = count_flops(model.cpu(), shape)
    status, error = training_outcome(result, acc["top1"], len(setup.test), setup.train.num_classes)
    diverged = status != "ok"  # no accuracy to report: NaN, and the reason
    return {"network": name, "params": count_parameters(model), "macs": flops["macs"], "flops": flops["flops"],
            "top1_error": math.nan if diverged else 100 * (1 - acc["top1"]), "top5_error": math.nan if diverged else 100 * (1 - acc["top5"]),
            "steps": steps, "status": status, "error": error,
            "sizes": " ".join(f"{g}={s}" for g, s in sizes.items()) if sizes else ""}

