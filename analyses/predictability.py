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
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from neurosage.analyses.common import recorded
from neurosage.analyses.embedded import Setup, embedded_setup
from neurosage.analyses.results import (
    PREDICTABILITY_CORRELATIONS,
    PREDICTABILITY_PAIRED,
    PREDICTABILITY_RECORDS,
    write_table,
)
from neurosage.analyses.settings import EmbeddedConfig

from neurosage.core.atomic import write_json
from neurosage.core.seeding import derive_seed
from neurosage.nets.build import build_network
from neurosage.search.candidate import score_network
from neurosage.stats import compare_correlations, correlation
from neurosage.training.configs import TrainConfig
from neurosage.training.evaluation import evaluate, recalibrate_bn
from neurosage.training.loop import train

__all__ = ["PredictabilityConfig", "run", "correlations", "bootstrap_ci", "paired_comparisons", "tg_weight"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictabilityConfig(EmbeddedConfig):
    """Pool size, premature checkpoints and mature length (SGD steps, constant ``lr``), alphas and bootstrap size."""

    n_architectures: int = 12
    checkpoints: tuple[int, ...] = (10, 30, 60)
    mature_steps: int = 200
    lr: float = 0.05
    batch_size: int = 64
    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    n_bootstrap: int = 1000
    #: TG's weight in the paired comparisons (the paper's alpha = 1; Figure 2 sweeps ``alphas``)
    alpha: float = 1.0
    #: training batches whose statistics replace the BatchNorm running statistics before each measurement (0: off)
    bn_recalibration: int = 10


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
                result = compare_correlations(values, p, mature, method=method, n_bootstrap=n_bootstrap, seed=seed)
                rows.append({"steps": steps, "measure": name, "baseline": "P", "method": method, **{k: v for k, v in result.to_dict().items() if k != "test"}, **spread})
    return pd.DataFrame(rows, columns=list(PREDICTABILITY_PAIRED.columns))


#: Options that change what one architecture's records are; a cached pool must agree on all of them.
_POOL_KEYS = ("dataset", "data", "teacher", "teacher_epochs", "space", "n_blocks", "filters", "n_cells", "n_train", "n_val", "n_stimuli",
              "checkpoints", "mature_steps", "lr", "batch_size", "seed", "bn_recalibration")


def _pool_cache(out: Path, config: PredictabilityConfig) -> Path:
    """The per-architecture cache folder, checked against the options that produced it."""
    folder = out / "pool"
    signature = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items() if k in _POOL_KEYS}
    stamp = folder / "pool.json"
    if stamp.exists():
        cached = json.loads(stamp.read_text())
        changed = sorted(k for k in _POOL_KEYS if cached.get(k) != signature[k])
        if changed:
            raise ValueError(
                f"{stamp}: the cached pool was trained with other {changed} "
                f"({ {k: cached.get(k) for k in changed} }); use a new --run-dir or delete {folder}"
            )
    else:
        write_json(stamp, signature)
    return folder


def _architecture(arch: int, setup: Setup, config: PredictabilityConfig, task) -> dict:
    """Train one sampled architecture through every checkpoint to maturity; its records and status."""
    genotype = config.search_space.sample(np.random.default_rng([config.seed, arch]))
    shape = setup.train.image_shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(config.seed, arch))
        net = build_network(genotype, num_classes=setup.train.num_classes, in_channels=shape[0], **config.network.to_dict())
    done, rows = 0, []
    for k, steps in enumerate(sorted(config.checkpoints) + [config.mature_steps]):
        segment = TrainConfig(steps=steps - done, batch_size=config.batch_size, lr=config.lr, schedule="constant")
        result = train(net, setup.train, segment, seed=derive_seed(config.seed, arch, k + 1), device=config.device)
        done = steps
        if result.status != "ok":
            return {"arch": arch, "status": result.status, "rows": []}
        if steps == config.mature_steps:
            recalibrate_bn(net, setup.train, n_batches=config.bn_recalibration, batch_size=config.batch_size,
                           seed=derive_seed(config.seed, arch, 0), device=config.device)
            mature = evaluate(net, setup.test, device=config.device)["top1"]
        else:
            scores = score_network(net, task, seed=config.seed)
            rows.append(
                {"arch": arch, "genotype": str(genotype), "steps": steps, "epochs": steps * config.batch_size / len(setup.train),
                 "P": scores["P"], "TG": scores["TG"], **{f"S_{e}": v for e, v in scores["S"].items()}}
            )
    return {"arch": arch, "status": "ok", "rows": [{**r, "mature_top1": mature} for r in rows]}


def _pool(setup: Setup, config: PredictabilityConfig, cache: Path) -> pd.DataFrame:
    """Records of every architecture, trained now or read from ``cache`` (so a larger pool reuses a smaller one)."""
    from tqdm.auto import tqdm

    task = setup.task(config.network, TrainConfig(steps=1, batch_size=config.batch_size, bn_recalibration=config.bn_recalibration), "p+tg", device=config.device)
    rows = []
    for arch in tqdm(range(config.n_architectures), desc="predictability pool"):
        path = cache / f"arch-{arch:04d}.json"
        if path.exists():
            entry = json.loads(path.read_text())
        else:
            entry = _architecture(arch, setup, config, task)
            write_json(path, entry)
        if entry["status"] != "ok":
            log.warning("architecture %d ended with status %r; left out of the pool", arch, entry["status"])
        rows += entry["rows"]
    return pd.DataFrame(rows)


@recorded("predictability")
def run(run_dir: str | Path, config: PredictabilityConfig = PredictabilityConfig()) -> pd.DataFrame:
    """Train the pool, write records and correlations; returns the correlations."""
    run_dir = Path(run_dir)
    out = run_dir / "predictability"
    setup = embedded_setup(config, run_dir)
    records = _pool(setup, config, _pool_cache(out, config))
    write_table(run_dir, PREDICTABILITY_RECORDS, records)
    corr = correlations(records, config.alphas, config.n_bootstrap, config.seed)
    write_table(run_dir, PREDICTABILITY_CORRELATIONS, corr)
    paired = paired_comparisons(records, config.alpha, config.n_bootstrap, config.seed)
    write_table(run_dir, PREDICTABILITY_PAIRED, paired)
    for row in paired[(paired.method == "pearson") & paired.measure.str.startswith("P+")].itertuples():
        log.warning("predictability at %s steps: delta r (P + %g TG vs P) = %+.3f [%+.3f, %+.3f], p = %.3g, n = %d, detectable %.3f; "
                    "TG's share of the ranking %.2f", row.steps, config.alpha, row.estimate, row.lo, row.hi, row.p, row.n, row.detectable, row.tg_weight)
    return corr
