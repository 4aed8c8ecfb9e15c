"""The teacher bench on the embedded default: does what a teacher learned predict accuracy beyond P?

A pool of random layer-wise architectures (:mod:`neurosage.pool`) is built on the embedded Fashion-MNIST splits;
ResNet teachers of several depths and training lengths, an untrained ResNet-8 and the pixel and category RDMs are
scored against its checkpoints; the answers (plan and result in ``docs/small-scale.md``) are written as records.

Outputs in ``<run>/teacher_bench/``: ``pool/`` (the pool's folder: weights, per-architecture records, its tables),
``teachers/`` (cached teacher weights and RDMs) and ``records/``: ``architectures.csv``, ``checkpoints.csv``,
``teachers.csv`` (name, depth, epochs, test top-1), ``scores.csv`` (teacher x endpoint x architecture x step),
``value.csv`` (every measure's r and partial r given P, per target and step), ``value_drop3.csv`` (without the three
lowest architectures), ``alpha.csv``, ``selection.csv``, ``targets.csv`` and ``summary.json``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from neurosage.analyses.embedded import cached_resnet, embedded_setup, resnet_teacher, teacher_stimuli
from neurosage.analyses.search_protocol import recorded
from neurosage.analyses.settings import TEACHER_OPTIONS, EmbeddedConfig, refuse_ignored
from neurosage.core.atomic import atomic_path, write_json
from neurosage.core.errors import ConfigError
from neurosage.pool import PoolSpec, build_pool, score_teachers
from neurosage.pool.value import alpha_table, measure_table, selection_table, value_table
from neurosage.stats import predictor_value
from neurosage.teachers.controls import category_teacher, pixel_teacher, untrained_teacher
from neurosage.training.configs import NetworkConfig
from neurosage.training.evaluation import evaluate

__all__ = ["TeacherBenchConfig", "run", "RECORDS"]

log = logging.getLogger(__name__)

#: The records folder inside the analysis' folder (small CSVs, committed behind the docs' numbers).
RECORDS = "teacher_bench/records"
_LAYERS = ["stack1", "stack2", "stack3"]


@dataclass(frozen=True)
class TeacherBenchConfig(EmbeddedConfig):
    """The pool, the teachers and the statistics of the teacher bench (defaults: the pre-registered plan)."""

    UNUSED: ClassVar[dict[str, tuple[str, str]]] = dict.fromkeys(TEACHER_OPTIONS, (
        "the teacher bench trains and scores its own teachers (bench-epochs, deep-depth, deep-epochs)",
        "drop {flag}; score your own teacher against the built pool with: neurosage bench RUN/teacher_bench/pool --teacher SPEC"))

    space: str = "layers-10"
    width_multiplier: float = 0.125
    #: architectures in the pool
    n_architectures: int = 128
    #: premature steps whose weights, P and teacher scores are kept (initialisation, step 0, always)
    checkpoints: tuple[int, ...] = (5, 10, 20)
    #: steps of each architecture's one training run (its end is the short target M_short)
    mature_steps: int = 200
    lr: float = 0.05
    batch_size: int = 64
    #: batches of training images whose statistics replace BatchNorm's before every measurement
    bn_recalibration: int = 10
    #: the first K architectures trained again by the same protocol from another seed (M_short_2)
    second_seed: int = 16
    #: the first K architectures trained long_epochs from a new seed (the long target M_long)
    long_subset: int = 24
    long_epochs: float = 10.0
    #: the ResNet-8 teachers: epochs each is trained for (an untrained ResNet-8 is always added as a control)
    bench_epochs: tuple[float, ...] = (1.0, 10.0)
    #: a deeper ResNet teacher (6n+2 layers): its n, and its epochs (0: none)
    deep_depth: int = 3
    deep_epochs: float = 3.0
    #: architectures trained at once (one-thread worker processes)
    workers: int = 1
    #: torch threads per architecture
    candidate_threads: int = 1
    n_bootstrap: int = 2000
    #: architectures per simulated search
    pool_size: int = 16
    #: shortlist of a simulated search before reranking by P
    top_k: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_bootstrap < 10:
            raise ConfigError(f"n-bootstrap = {self.n_bootstrap} resamples cannot make a 95% interval", "give 1000 or more (the plan: 2000)",
                              field="n_bootstrap")
        if isinstance(self.n_architectures, int) and self.n_architectures < 5:  # named first: pool-size's fix would not fit it
            raise ConfigError(f"n-architectures = {self.n_architectures} is too few: the bench's correlations and intervals need at least 5 "
                              "trained architectures", "set n-architectures to 5 or more (the plan: 128)", field="n_architectures")
        if not 2 <= self.pool_size <= self.n_architectures:
            raise ConfigError(f"pool-size = {self.pool_size} must lie between 2 and n-architectures = {self.n_architectures}",
                              f"give e.g. pool-size = {max(2, min(16, self.n_architectures // 2))} (below n-architectures, every simulated "
                              "search sees a different sub-pool), or raise n-architectures", field="pool_size")
        if self.top_k > self.pool_size:
            raise ConfigError(f"top-k = {self.top_k} is more than pool-size = {self.pool_size}", "give a top-k of at most pool-size", field="top_k")
        if self.long_subset == 0:  # no architecture is trained long: long-epochs would be recorded, never applied
            refuse_ignored(self, ("long_epochs",), "long-subset is 0 (no architecture is trained long, so M_long is not measured)",
                           "drop {flag}, or set long-subset to 1 or more")
        self.pool_spec()  # PoolSpec checks the pool's settings before any data is loaded

    def pool_spec(self) -> PoolSpec:
        cells = getattr(self.search_space, "n_blocks", None) is not None  # a layer-wise pool takes no n_blocks
        network = NetworkConfig(self.skeleton, self.n_cells, self.filters, self.n_stem_cells, self.width_multiplier)
        return PoolSpec(space=self.space, n_blocks=self.n_blocks if cells else PoolSpec.n_blocks, network=network,
                        n_architectures=self.n_architectures, checkpoints=tuple(self.checkpoints),
                        mature_steps=self.mature_steps, batch_size=self.batch_size, lr=self.lr, bn_recalibration=self.bn_recalibration,
                        second_seed=self.second_seed, long_subset=self.long_subset, long_epochs=self.long_epochs, seed=self.seed)


def _write(path: Path, table: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")


def _teachers(config: TeacherBenchConfig, setup: Any, stimuli: Any, cache: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """The ResNet teachers (trained and cached), the untrained ResNet-8 and the pixel and category controls; their accuracies."""
    teachers: dict[str, Any] = {}
    rows = []
    plan = [(1, float(e)) for e in config.bench_epochs] + ([(config.deep_depth, config.deep_epochs)] if config.deep_epochs > 0 else [])
    for depth, epochs in plan:
        name = f"resnet{6 * depth + 2}-{epochs:g}ep"
        t0 = time.perf_counter()
        teachers[name] = resnet_teacher(setup.train_full, stimuli, cache, epochs=epochs, seed=config.seed, device=config.device, depth=depth,
                                        rdm_method=config.rdm_method, compare_method=config.compare_method)
        net = cached_resnet(setup.train_full, stimuli, cache, epochs=epochs, seed=config.seed, depth=depth)
        rows.append({"teacher": name, "depth": depth, "epochs": epochs, "test_top1": float(evaluate(net, setup.test, device=config.device)["top1"]),
                     "seconds": time.perf_counter() - t0})
    teachers["resnet8-untrained"] = untrained_teacher("cifar_resnet-1", _LAYERS, stimuli, seed=config.seed, rdm_method=config.rdm_method,
                                                      compare_method=config.compare_method, device=config.device)
    rows.append({"teacher": "resnet8-untrained", "depth": 1, "epochs": 0.0, "test_top1": float("nan"), "seconds": 0.0})
    teachers["pixels"] = pixel_teacher(stimuli, rdm_method=config.rdm_method, compare_method=config.compare_method, device=config.device)
    teachers["category"] = category_teacher(stimuli, rdm_method=config.rdm_method, compare_method=config.compare_method)
    return teachers, pd.DataFrame(rows)


def _targets(arch: pd.DataFrame, n_bootstrap: int, seed: int) -> pd.DataFrame:
    """How the targets agree: r(M_short, M_short_2) (reliability) and r(M_short, M_long), with intervals."""
    rows = []
    for other in ("M_short_2", "M_long"):
        both = arch[["M_short", other]].dropna()
        if len(both) >= 5:
            for method in ("pearson", "spearman"):
                value = predictor_value(both.M_short.to_numpy(), both[other].to_numpy(), method=method, n_bootstrap=n_bootstrap, seed=seed)
                rows.append({"a": "M_short", "b": other, "method": method, **value})
    return pd.DataFrame(rows)


@recorded("teacher_bench")
def run(run_dir: str | Path, config: TeacherBenchConfig = TeacherBenchConfig(), *, client: Any = None) -> pd.DataFrame:
    """Build (or finish) the pool, train or load the teachers, score everything and write the records; returns what each
    score adds to P at the last checkpoint (``value.csv``'s rows for ``M_short``)."""
    run_dir = Path(run_dir)
    out = run_dir / "teacher_bench"
    t0 = time.perf_counter()
    setup = embedded_setup(config, run_dir, with_teacher=False)
    stimuli = teacher_stimuli(config)
    pool = build_pool(out / "pool", config.pool_spec(), setup.train, setup.val, setup.test, stimuli=stimuli, workers=config.workers,
                      client=client, device=config.device, threads=config.candidate_threads)
    t_pool = time.perf_counter() - t0
    teachers, accuracy = _teachers(config, setup, stimuli, out / "teachers")
    trained = accuracy.dropna(subset=["test_top1"])
    best = str(trained.loc[trained.test_top1.idxmax(), "teacher"]) if len(trained) else None
    beyond = {name: teachers["pixels"] for name in teachers if name not in ("pixels", "category")}
    t1 = time.perf_counter()
    scores = score_teachers(pool, teachers, beyond=beyond, device=config.device, seed=config.seed)
    t_score = time.perf_counter() - t1
    records = run_dir / RECORDS
    arch, checkpoints = pool.architectures(), pool.checkpoints()
    measures = measure_table(arch, checkpoints, scores)
    tables = {
        "architectures": arch, "checkpoints": checkpoints, "teachers": accuracy, "scores": scores,
        "value": pd.concat([value_table(measures, target=t, n_bootstrap=config.n_bootstrap, seed=config.seed)
                            for t in ("M_short", "M_long") if measures.loc[measures[t].notna(), "arch"].nunique() >= 5], ignore_index=True),
        "value_drop3": value_table(measures, target="M_short", drop_lowest=3, n_bootstrap=config.n_bootstrap, seed=config.seed),
        "alpha": alpha_table(measures, target="M_short", n_bootstrap=config.n_bootstrap, seed=config.seed),
        "targets": _targets(arch, config.n_bootstrap, config.seed),
    }
    last = max(config.checkpoints)
    cv = {row.measure: float(row.alpha_all) for row in tables["alpha"][tables["alpha"].step == last].itertuples()}
    n = int(arch.status.eq("ok").sum())
    tables["selection"] = selection_table(measures, target="M_short", pool_size=min(config.pool_size, n), top_k=config.top_k,
                                          seed=config.seed, alphas=cv)
    for name, table in tables.items():
        _write(records / f"{name}.csv", table)
    summary = {"config": asdict(config), "best_trained_teacher": best, "architectures": n,
               "wall_seconds": {"pool": t_pool, "scoring": t_score, "total": time.perf_counter() - t0}}
    write_json(records / "summary.json", summary)
    log.info("teacher bench: %d architectures, %d teachers scored in %.0f s (pool %.0f s); records in %s", n, len(teachers), t_score, t_pool, records)
    value = tables["value"]
    return value[(value.step == last) & (value.target == "M_short")][["measure", "n", "r", "partial_r", "partial_low", "partial_high", "partial_p"]]
