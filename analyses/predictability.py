"""Predictability of mature accuracy from premature scores (paper section 4.1, Figures 2 and 3).

A pool of sampled architectures is trained in segments (constant learning
rate); at each premature checkpoint P, every teacher endpoint's score S_i and
TG are measured, and after ``mature_steps`` the mature top-1 accuracy. The
correlations (Pearson and Spearman, with percentile bootstrap confidence
intervals over architectures) of P, S_i, TG and P + alpha * TG with mature
accuracy are written for every checkpoint and alpha.

Outputs in ``<run>/predictability/``: ``records.csv`` (one row per architecture
and checkpoint), ``correlations.csv``, ``run.json`` and ``pool/`` (one file per
trained architecture: a rerun, or a larger ``n_architectures``, trains only the
architectures not yet there; other training options are refused).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from neurosage.analyses.embedded import Setup, embedded_setup, embedded_teacher_accuracy
from neurosage.analyses.results import (
    PREDICTABILITY_ARCHITECTURES,
    PREDICTABILITY_CORRELATIONS,
    PREDICTABILITY_PAIRED,
    PREDICTABILITY_RECORDS,
    write_table,
)
from neurosage.analyses.search_protocol import recorded
from neurosage.analyses.settings import EmbeddedConfig
from neurosage.core.atomic import write_json
from neurosage.core.errors import ConfigError
from neurosage.core.seeding import derive_seed
from neurosage.nets.build import build_network
from neurosage.nets.measure import count_parameters
from neurosage.search.candidate import score_network
from neurosage.search.executors import executor_for
from neurosage.spaces import parse_genotype
from neurosage.stats import compare_correlations, correlation
from neurosage.training.configs import Schedule, TrainConfig
from neurosage.training.devices import check_threads, torch_threads, worker_device
from neurosage.training.divergence import DivergenceWatch, training_outcome
from neurosage.training.evaluation import evaluate, recalibrate_bn
from neurosage.training.loop import TrainResult, train

__all__ = ["PredictabilityConfig", "run", "correlations", "bootstrap_ci", "paired_comparisons", "tg_weight"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictabilityConfig(EmbeddedConfig):
    """The pool (size, architectures), one training run per architecture with its premature checkpoints and mature
    length, the reliability check, the analysis (alphas, bootstrap) and the pool's workers."""

    #: architectures in the pool (a larger number on the same run folder trains only the new ones)
    n_architectures: int = 12
    #: premature checkpoints: SGD steps of the run at which P, S_i and TG are measured
    checkpoints: tuple[int, ...] = (10, 30, 60)
    #: SGD steps of each architecture's one training run; its end is the mature accuracy (test split)
    mature_steps: int = 200
    #: peak learning rate
    lr: float = 0.05
    #: learning-rate schedule over the whole run (cosine decays to 0 at mature-steps; constant keeps lr)
    schedule: Schedule = "cosine"
    #: training batch size
    batch_size: int = 64
    #: architectures (the first ones) trained to maturity a second time, from another seed: mature accuracy's reliability
    repeat_mature: int = 0
    #: pre-registered: with a between-seed correlation of mature accuracy below this, no conclusion is drawn
    min_reliability: float = 0.7
    #: architectures trained at once (more than 1 starts a Dask LocalCluster of one-thread processes)
    workers: int = 1
    #: torch CPU threads per architecture (the same with any number of workers, so records do not depend on them)
    candidate_threads: int = 1
    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    n_bootstrap: int = 1000
    #: TG's weight in the paired comparisons (the paper's alpha = 1; Figure 2 sweeps ``alphas``)
    alpha: float = 1.0
    #: training batches whose statistics replace the BatchNorm running statistics before each measurement (0: off)
    bn_recalibration: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        steps = self.mature_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise ConfigError(f"mature_steps must be an integer of at least 2, got {steps!r}", "set mature-steps to e.g. 200", field="mature_steps")
        bad = [k for k in self.checkpoints if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < steps]
        if not self.checkpoints or bad or len(set(self.checkpoints)) != len(self.checkpoints):
            raise ConfigError(f"checkpoints must be distinct steps from 1 to mature_steps - 1 = {steps - 1}, got {list(self.checkpoints)}",
                              "set checkpoints to e.g. [10, 20, 40] with mature-steps above the largest", field="checkpoints")
        if isinstance(self.n_architectures, int) and self.n_architectures < 3:  # RANGES checked it is a count
            raise ConfigError(f"n-architectures = {self.n_architectures}: a correlation with mature accuracy over fewer than 3 architectures "
                              "is undefined (1) or always +-1 (2), so every table would be empty or meaningless",
                              "set n-architectures to at least 5 (the paired comparisons need 5; 12 or more give intervals that say "
                              "something)", field="n_architectures")
        # TrainConfig checks the schedule and bn_recalibration; RANGES (super().__post_init__) the counts and min_reliability
        TrainConfig(steps=steps, batch_size=self.batch_size, lr=self.lr, schedule=self.schedule, bn_recalibration=self.bn_recalibration)
        check_threads(self.candidate_threads)


def bootstrap_ci(x: np.ndarray, y: np.ndarray, stat, n: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat(x, y)`` resampling pairs."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n, len(x)))
    values = np.array([stat(x[i], y[i]) for i in idx])
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    lo, hi = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def correlations(records: pd.DataFrame, alphas: tuple[float, ...], n_bootstrap: int, seed: int) -> pd.DataFrame:
    """Correlation of every premature measure with mature accuracy, per checkpoint."""
    endpoint_cols = [c for c in records.columns if c.startswith("S_")]
    rows = []
    for steps, group in records.groupby("steps"):
        mature = group.mature_top1.to_numpy()
        measures = {"P": (group.P.to_numpy(), np.nan), "TG": (group.TG.to_numpy(), np.nan)}
        measures.update({c: (group[c].to_numpy(), np.nan) for c in endpoint_cols})
        measures.update({f"P+{a:g}TG": ((group.P + a * group.TG).to_numpy(), a) for a in alphas})
        for name, (values, alpha) in measures.items():
            row = {"steps": steps, "measure": name, "alpha": alpha, "n": len(values)}
            for stat_name in ("pearson", "spearman"):
                stat = functools.partial(correlation, method=stat_name)
                row[stat_name] = stat(values, mature)
                row[f"{stat_name}_lo"], row[f"{stat_name}_hi"] = bootstrap_ci(values, mature, stat, n_bootstrap, seed)
            rows.append(row)
    return pd.DataFrame(rows)


def tg_weight(p: np.ndarray, tg: np.ndarray, alpha: float) -> float:
    """TG's share of the spread of P + alpha TG across candidates: ``alpha sd(TG) / (sd(P) + alpha sd(TG))``.

    Near 0 the combined score ranks candidates by P alone whatever the teacher says; 0.5 weighs both equally.
    """
    sp, st = float(np.std(p, ddof=1)), float(np.std(tg, ddof=1))
    return alpha * st / (sp + alpha * st) if sp + alpha * st > 0 else float("nan")


def _z(x: pd.Series) -> pd.Series:
    sd = x.std(ddof=1)
    return (x - x.mean()) / sd if sd > 0 else x * 0.0


def paired_comparisons(records: pd.DataFrame, alpha: float, n_bootstrap: int, seed: int) -> pd.DataFrame:
    """Each premature measure against P on the same architectures, per checkpoint (the primary test of section 4.1).

    Measures: the paper's ``P + alpha TG``, the standardised ``z(P) + alpha z(TG)``, TG alone and each endpoint's S_i
    alone. Each row: delta r = r(measure, mature) - r(P, mature), its paired bootstrap interval, Williams' p and the
    effect detectable with 80% power at this n, for Pearson and Spearman, with the spread of P and TG.
    """
    rows = []
    for steps, group in records.groupby("steps"):
        if len(group) < 5:
            log.warning("checkpoint %s: %d architectures, too few for paired comparisons", steps, len(group))
            continue
        mature, p = group.mature_top1.to_numpy(), group.P.to_numpy()
        measures = {f"P+{alpha:g}TG": (group.P + alpha * group.TG).to_numpy(),
                    f"z(P)+{alpha:g}z(TG)": (_z(group.P) + alpha * _z(group.TG)).to_numpy(), "TG": group.TG.to_numpy()}
        measures.update({c: group[c].to_numpy() for c in group.columns if c.startswith("S_")})
        spread = {"sd_P": float(np.std(p, ddof=1)), "sd_TG": float(np.std(group.TG, ddof=1)), "tg_weight": tg_weight(p, group.TG.to_numpy(), alpha)}
        for name, values in measures.items():
            for method in ("pearson", "spearman"):
                try:
                    found = {k: v for k, v in compare_correlations(values, p, mature, method=method, n_bootstrap=n_bootstrap,
                                                                   seed=seed).to_dict().items() if k != "test"}
                except ConfigError as exc:  # undefined on these architectures (the measure ranks them as P does): NaN, said
                    log.warning("checkpoint %s, %s against P (%s): no comparison on these %d architectures: %s; more architectures "
                                "(n-architectures) or checkpoints further apart may separate them", steps, name, method, len(group),
                                exc.problem)
                    found = {"n": len(group), **dict.fromkeys(("estimate", "lo", "hi", "p", "detectable"), float("nan"))}
                rows.append({"steps": steps, "measure": name, "baseline": "P", "method": method, **found, **spread})
    return pd.DataFrame(rows, columns=list(PREDICTABILITY_PAIRED.columns))


#: Options that change what one architecture's records are; a cached pool must agree on all of them.
_POOL_KEYS = ("dataset", "data", "teacher", "teacher_epochs", "teacher_depth", "space", "n_blocks", "filters", "n_cells", "width_multiplier",
              "n_train", "n_val", "n_stimuli", "checkpoints", "mature_steps", "lr", "schedule", "batch_size", "seed", "bn_recalibration",
              "candidate_threads")
#: How a pool's architectures are trained: 2 = one run per architecture, measured at its checkpoints (1: separate
#: constant-lr segments with a fresh optimiser each, before the sound-instrument protocol; such pools are refused).
_PROTOCOL = 2


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _pool_cache(out: Path, config: PredictabilityConfig) -> Path:
    """The per-architecture cache folder, checked against the options that produced it."""
    folder = out / "pool"
    signature = {k: _listed(v) for k, v in asdict(config).items() if k in _POOL_KEYS}
    signature["protocol"] = _PROTOCOL
    stamp = folder / "pool.json"
    if stamp.exists():
        cached = json.loads(stamp.read_text())
        if cached.get("protocol", 1) != _PROTOCOL:
            raise ConfigError(f"{stamp}: the cached pool was trained by an older protocol (separate constant-lr segments)",
                              f"use a new --run-dir, or delete {folder}", file=stamp, field="protocol")
        defaults = {f.name: f.default for f in fields(PredictabilityConfig)}  # a key newer than the stamp: its default made the pool
        changed = sorted(k for k in _POOL_KEYS if _listed(cached.get(k, defaults[k])) != signature[k])
        if changed:
            raise ConfigError(
                f"{stamp}: the cached pool was trained with other {changed} ({ {k: cached.get(k) for k in changed} })",
                f"use a new --run-dir or delete {folder}", file=stamp, field=changed[0],
            )
    else:
        write_json(stamp, signature)
    return folder


@dataclass
class _PoolData:
    """What a worker needs to train architectures: the splits and the candidate task (shipped once)."""

    train: Any
    val: Any
    test: Any
    task: Any
    num_classes: int
    in_channels: int


def _measured_run(net, data: _PoolData, config: PredictabilityConfig, seed: int, measure_at: list[int], measure) -> TrainResult:
    """One training run of ``mature_steps`` with the config's schedule, calling ``measure(k)`` after step k of ``measure_at``."""
    training = TrainConfig(steps=config.mature_steps, batch_size=config.batch_size, lr=config.lr, schedule=config.schedule)
    return train(net, data.train, training, seed=seed, device=config.device, measure_at=measure_at, measure=measure)


def _recalibrated_accuracy(net, data: _PoolData, dataset, config: PredictabilityConfig, seed: int) -> float:
    recalibrate_bn(net, data.train, n_batches=config.bn_recalibration, batch_size=config.batch_size, seed=seed, device=config.device)
    return float(evaluate(net, dataset, device=config.device)["top1"])


def _network(genotype, data: _PoolData, config: PredictabilityConfig, seed: int):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_network(genotype, num_classes=data.num_classes, in_channels=data.in_channels, **config.network.to_dict())


def _on_this_worker(data: _PoolData, config: PredictabilityConfig) -> tuple[_PoolData, PredictabilityConfig]:
    """The data and config with this process's device: on a worker of a several-GPU machine, its own GPU."""
    device = worker_device(config.device)
    if device == config.device:
        return data, config
    return replace(data, task=replace(data.task, device=device)), replace(config, device=device)


def _architecture(arch: int, data: _PoolData, config: PredictabilityConfig) -> dict:
    """Train one sampled architecture once to maturity, measuring P, S_i and TG at each premature checkpoint on the way,
    the validation accuracy at 90% of training and at the end (the plateau) and the mature test accuracy."""
    data, config = _on_this_worker(data, config)
    genotype = config.search_space.sample(np.random.default_rng([config.seed, arch]))
    net = _network(genotype, data, config, derive_seed(config.seed, arch))
    plateau_step = max(1, round(0.9 * config.mature_steps))
    rows, plateau, t_measure = [], {}, 0.0

    def measure(step: int) -> None:
        nonlocal t_measure
        t0 = time.perf_counter()
        if step in config.checkpoints:
            scores = score_network(net, data.task, seed=config.seed)
            rows.append({"arch": arch, "genotype": str(genotype), "steps": step, "epochs": step * config.batch_size / len(data.train),
                         "P": scores["P"], "TG": scores["TG"], **{f"S_{e}": v for e, v in scores["S"].items()}})
        if step == plateau_step:
            plateau["mature_val_90"] = _recalibrated_accuracy(net, data, data.val, config, derive_seed(config.seed, arch, 0))
        t_measure += time.perf_counter() - t0

    with torch_threads(config.candidate_threads):
        t0 = time.perf_counter()
        result = _measured_run(net, data, config, derive_seed(config.seed, arch, 1), sorted({*config.checkpoints, plateau_step}), measure)
        if result.status != "ok":
            return {"arch": arch, "genotype": str(genotype), "status": result.status, "error": result.error, "rows": []}
        mature_val = _recalibrated_accuracy(net, data, data.val, config, derive_seed(config.seed, arch, 0))
        mature = float(evaluate(net, data.test, device=config.device)["top1"])
        seconds = time.perf_counter() - t0
    status, error = training_outcome(result, mature, len(data.test), data.train.num_classes)
    if status != "ok":  # ended at chance: no target to predict
        return {"arch": arch, "genotype": str(genotype), "status": status, "error": error, "rows": []}
    summary = {"arch": arch, "genotype": str(genotype), "params": count_parameters(net), "mature_top1": mature,
               "mature_val_90": plateau.get("mature_val_90", float("nan")), "mature_val": mature_val,
               "train_images": result.examples, "train_seconds": result.wall_time - t_measure, "seconds": seconds}
    return {"arch": arch, "genotype": str(genotype), "status": "ok", "summary": summary, "rows": [{**r, "mature_top1": mature} for r in rows]}


def _repeat(entry: dict, data: _PoolData, config: PredictabilityConfig) -> dict:
    """The same architecture trained to maturity again from another initialisation and data order (its reliability)."""
    data, config = _on_this_worker(data, config)
    arch = entry["arch"]
    genotype = parse_genotype(entry["genotype"])
    net = _network(genotype, data, config, derive_seed(config.seed, arch, 7))
    with torch_threads(config.candidate_threads):
        result = _measured_run(net, data, config, derive_seed(config.seed, arch, 8), [], None)
        if result.status != "ok":
            return {**entry, "repeat": {"status": result.status, "error": result.error, "mature_top1": float("nan")}}
        recalibrate_bn(net, data.train, n_batches=config.bn_recalibration, batch_size=config.batch_size,
                       seed=derive_seed(config.seed, arch, 9), device=config.device)
        mature = float(evaluate(net, data.test, device=config.device)["top1"])
    status, error = training_outcome(result, mature, len(data.test), data.train.num_classes)
    if status != "ok":
        return {**entry, "repeat": {"status": status, "error": error, "mature_top1": float("nan")}}
    return {**entry, "repeat": {"status": "ok", "mature_top1": mature, "seconds": result.wall_time}}


def _pool(setup: Setup, config: PredictabilityConfig, cache: Path, client=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records (one row per architecture and checkpoint) and architectures (one row each) of the pool, trained now on
    ``workers`` processes or read from ``cache``, so a larger pool, or more repeats, reuse a smaller one."""
    from neurosage.core.progress import progress_bar

    training = TrainConfig(steps=1, batch_size=config.batch_size, bn_recalibration=config.bn_recalibration)
    task = setup.task(config.network, training, "p+tg", device=config.device, threads=config.candidate_threads)
    shape = setup.train.image_shape
    data = _PoolData(setup.train, setup.val, setup.test, task, setup.train.num_classes, shape[0])
    entries: dict[int, dict] = {}
    todo: list[tuple[str, int]] = []
    for arch in range(config.n_architectures):
        path = cache / f"arch-{arch:04d}.json"
        if path.exists():
            entries[arch] = json.loads(path.read_text())
            if arch < config.repeat_mature and entries[arch]["status"] == "ok" and "repeat" not in entries[arch]:
                todo.append(("repeat", arch))
        else:
            todo.append(("train", arch))
    functions: dict[str, Callable[..., dict]] = {"train": _architecture, "repeat": _repeat}
    watch = DivergenceWatch("architectures", config.lr, "lr = ... in the --config TOML file", cache)
    for entry in entries.values():
        watch.count(entry["status"], entry.get("error"))
    with executor_for(config.workers, client) as executor, progress_bar(total=len(todo), desc="predictability pool") as bar:
        data_ref = executor.scatter(data)
        pending: dict[Any, str] = {}
        while todo or pending:
            # a bounded queue: each result is cached as soon as it is done
            while todo and len(pending) < (executor.slots() if client is not None else config.workers):
                kind, arch = todo.pop(0)
                pending[executor.submit(functions[kind], entries[arch] if kind == "repeat" else arch, data_ref, config)] = kind
            for future in executor.wait_any(list(pending)):
                kind = pending.pop(future)
                entry = future.result()
                arch = entry["arch"]
                write_json(cache / f"arch-{arch:04d}.json", entry)
                entries[arch] = entry
                if kind == "train":
                    watch.add(entry["status"], entry.get("error"))  # a pool where most architectures diverged stops, naming lr
                if arch < config.repeat_mature and entry["status"] == "ok" and "repeat" not in entry:
                    todo.append(("repeat", arch))
                    bar.total += 1
                bar.update(1)
    rows, archs = [], []
    for arch in sorted(entries):
        entry = entries[arch]
        if entry["status"] != "ok":
            log.warning("architecture %d ended with status %r; left out of the pool", arch, entry["status"])
            continue
        rows += entry["rows"]
        repeat = entry.get("repeat", {})
        archs.append({**entry["summary"], "mature_top1_repeat": repeat.get("mature_top1", float("nan"))})
    return pd.DataFrame(rows), pd.DataFrame(archs, columns=list(PREDICTABILITY_ARCHITECTURES.columns))


def summarize(architectures: pd.DataFrame, teacher_top1: float | None, config: PredictabilityConfig) -> dict:
    """The pool at a glance: the spread of mature accuracy, its reliability across seeds (with the pre-registered
    threshold), the plateau, the teacher against the candidates, and the training throughput."""
    mature = architectures.mature_top1
    out: dict[str, Any] = {
        "n_architectures": int(len(architectures)),
        "mature_top1": {"min": float(mature.min()), "median": float(mature.median()), "max": float(mature.max()), "sd": float(mature.std(ddof=1))},
        "teacher_top1": teacher_top1,
        "teacher_margin": None if teacher_top1 is None else float(teacher_top1 - mature.max()),
        "plateau": {"val_gain_last_10pct_mean": float((architectures.mature_val - architectures.mature_val_90).mean()),
                    "val_gain_last_10pct_max_abs": float((architectures.mature_val - architectures.mature_val_90).abs().max())},
        "train_images_per_second": float(architectures.train_images.sum() / architectures.train_seconds.sum()),
        "seconds_per_architecture": float(architectures.seconds.mean()),
        "min_reliability": config.min_reliability,
    }
    repeated = architectures.dropna(subset=["mature_top1_repeat"])
    if len(repeated) >= 3:
        x, y = repeated.mature_top1.to_numpy(), repeated.mature_top1_repeat.to_numpy()
        r = correlation(x, y, method="pearson")
        lo, hi = bootstrap_ci(x, y, functools.partial(correlation, method="pearson"), config.n_bootstrap, config.seed)
        out["reliability"] = {"n": int(len(repeated)), "pearson": r, "lo": lo, "hi": hi,
                              "spearman": correlation(x, y, method="spearman"), "mean_abs_difference": float(np.abs(x - y).mean())}
        out["conclusive"] = bool(r >= config.min_reliability)
    else:
        out["reliability"] = None
        out["conclusive"] = None
    return out


@recorded("predictability")
def run(run_dir: str | Path, config: PredictabilityConfig = PredictabilityConfig(), *, client=None) -> pd.DataFrame:
    """Train the pool (on ``client``'s cluster when given, else ``workers`` local processes), write records and correlations;
    returns the correlations."""
    run_dir = Path(run_dir)
    out = run_dir / "predictability"
    setup = embedded_setup(config, run_dir)
    t0 = time.perf_counter()
    records, architectures = _pool(setup, config, _pool_cache(out, config), client)
    write_table(run_dir, PREDICTABILITY_RECORDS, records)
    write_table(run_dir, PREDICTABILITY_ARCHITECTURES, architectures)
    summary = {**summarize(architectures, embedded_teacher_accuracy(setup, config, run_dir), config),
               "wall_seconds_this_session": time.perf_counter() - t0}
    write_json(out / "summary.json", summary)
    _log_summary(summary)
    corr = correlations(records, config.alphas, config.n_bootstrap, config.seed)
    write_table(run_dir, PREDICTABILITY_CORRELATIONS, corr)
    paired = paired_comparisons(records, config.alpha, config.n_bootstrap, config.seed)
    write_table(run_dir, PREDICTABILITY_PAIRED, paired)
    for row in paired[(paired.method == "pearson") & paired.measure.str.startswith("P+")].itertuples():
        log.warning("predictability at %s steps: delta r (P + %g TG vs P) = %+.3f [%+.3f, %+.3f], p = %.3g, n = %d, detectable %.3f; "
                    "TG's share of the ranking %.2f", row.steps, config.alpha, row.estimate, row.lo, row.hi, row.p, row.n, row.detectable,
                    row.tg_weight)
    return corr


def _log_summary(summary: dict) -> None:
    mature, rel = summary["mature_top1"], summary["reliability"]
    log.warning("predictability pool: %d architectures, mature top-1 %.3f-%.3f (median %.3f); teacher %s", summary["n_architectures"],
                mature["min"], mature["max"], mature["median"], "n/a" if summary["teacher_top1"] is None else f"{summary['teacher_top1']:.3f}")
    if rel is None:
        log.warning("mature accuracy's reliability is unknown (set repeat-mature to 16 or more)")
    else:
        log.warning("reliability of mature accuracy across seeds: r = %.3f [%.3f, %.3f] over %d architectures%s", rel["pearson"], rel["lo"],
                    rel["hi"], rel["n"], "" if summary["conclusive"] else f"; below {summary['min_reliability']}: no conclusion may be drawn")
