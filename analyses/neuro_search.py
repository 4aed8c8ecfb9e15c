"""Performance-guided vs teacher-guided cell search, reranking and final training (section 4.4, Table 4).

Two TPE searches with the same budget and seed, one scored by P and one by
P + alpha * TG with a brain-like teacher. At paper scale that is ImageNet
64x64 with the V4/pIT/aIT recordings; at small scale the embedded default uses
a simulated recording of the Fashion-MNIST ResNet teacher (``teacher="sim"``,
regions V4/pIT/aIT mapped to its three stacks) or the teacher's layers
(``teacher="net"``). The top-``k`` cells of each are retrained longer (the paper: top 10 for 40 epochs;
``configs/table4-imagenet64.toml``), and the winner of each gets a final training, sized to ``final_params``
parameters when set (the paper: about 5.5M for both searches; N kept, F chosen per winner and logged); the
table row reports B, N, F, params, FLOPs, top-1/top-5 test error and how the teacher's stimuli reach the
candidates (``teacher_stimuli``: a brain teacher's HvM images become 28x28 grey for Fashion-MNIST candidates;
a warning says so when the stimuli differ in kind from the training images). The two searches of a seed share
that seed, so their random start-up trials are the same proposals (paired by design).

With several ``seeds`` the whole comparison (both searches, reranking, final training) runs once per seed, and
``paired.csv`` holds the teacher-guided winner's error minus the performance-guided winner's, paired by seed
(:func:`~neurosage.stats.paired_difference`: estimate, 95% t interval, p, detectable difference); with one seed
the difference is reported without an interval.

Outputs in ``<run>/neuro_search/``: the search folders (``<name>`` for ``seed``, ``<name>-seed<k>`` for the
other seeds), ``rerank.csv``, ``table4.csv`` (one row per search and seed), ``paired.csv``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import pandas as pd

from neurosage.analyses.embedded import Setup, describe_stimuli, embedded_setup, teacher_weights
from neurosage.analyses.results import TABLE4, TABLE4_PAIRED, TABLE4_RERANK, write_table
from neurosage.analyses.search_protocol import (
    RerankedSearchConfig,
    objective_searches,
    recorded,
    rerank_and_finalize,
    table_row,
)
from neurosage.data_adapters.imageset import ImageSet
from neurosage.search.executors import executor_for
from neurosage.stats import paired_difference
from neurosage.teachers.kinds import teacher_from_spec

__all__ = ["NeuroSearchConfig", "run", "simulated_brain_teacher", "paired_table"]

log = logging.getLogger(__name__)


#: The two searches of Table 4: run-folder name -> objective.
SEARCHES = {"P-search": "p", "TG-SAGE-neuro": "p+tg"}


@dataclass(frozen=True)
class NeuroSearchConfig(RerankedSearchConfig):
    """``teacher``: ``"sim"`` (V4/pIT/aIT simulated from the embedded ResNet teacher), ``"net"`` (that
    teacher's layers) or any teacher spec (``brain:...``, ``net:...``, ``sim:...``)."""

    UNUSED: ClassVar[dict[str, tuple[str, str]]] = {
        "objective": ("the two searches of Table 4 run their own objectives (P-search by P, TG-SAGE-neuro by P + alpha TG)",
                      "leave out {flag}; analyze cell_search runs one search by the objective you give")}

    teacher: str | None = "sim"
    #: seeds of the whole comparison (empty: ``seed`` alone); two or more give a paired interval on the difference
    seeds: tuple[int, ...] = ()


def _teacher_images(setup: Setup) -> ImageSet:
    """The stimulus images of the setup's teacher (embedded_setup always gives it some)."""
    images = setup.teacher.images if setup.teacher is not None else None
    if not isinstance(images, ImageSet):
        raise ValueError(f"the setup's teacher has no stimulus image set (got {type(images).__name__}); build the setup with embedded_setup")
    return images


def simulated_brain_teacher(setup: Setup, run_dir: Path, seed: int = 0):
    """V4/pIT/aIT simulated from the cached ResNet teacher's stacks (100 sites, reliability 0.8)."""
    spec = f"sim:cifar_resnet-1:V4=stack1,pIT=stack2,aIT=stack3:{teacher_weights(run_dir)}"
    return teacher_from_spec(spec, _teacher_images(setup), cache_dir=run_dir / "teacher", seed=seed)


@recorded("neuro_search")
def run(run_dir: str | Path, config: NeuroSearchConfig = NeuroSearchConfig(), *, client=None) -> pd.DataFrame:
    config.check_final_params()
    run_dir = Path(run_dir)
    out = run_dir / "neuro_search"
    embedded = config.teacher in ("sim", "net", None)
    if not embedded and ":" not in str(config.teacher):
        raise ValueError(f"teacher must be 'sim', 'net' or a teacher spec such as 'brain:MajajHong2015:V4,pIT,aIT', got {config.teacher!r}")
    setup = embedded_setup(replace(config, teacher=None) if embedded else config, run_dir)
    if config.teacher == "sim":
        setup = replace(setup, teacher=simulated_brain_teacher(setup, run_dir, config.seed))  # re-checks the split rule
    network = config.network
    stimuli, differs = describe_stimuli(_teacher_images(setup), setup.train)
    if differs:
        log.warning("Table 4's teacher: %s; they differ in kind from the training images", stimuli)
    else:
        log.info("Table 4's teacher: %s", stimuli)
    if config.algo == "tpe":
        log.warning("the two searches of each seed share that seed: their first %s proposals (TPE's random start-up) are the same "
                    "genotypes, so the comparison is paired by design", config.n_startup())
    rows, reranks = [], []
    for seed in config.seeds or (config.seed,):
        folders = {name if seed == config.seed else f"{name}-seed{seed}": objective for name, objective in SEARCHES.items()}
        searches = objective_searches(out, setup, config, network, config.search_space, folders, seed=seed, device=config.device, client=client)
        for (name, result), folder in zip(searches.items(), SEARCHES):
            with executor_for(client=client) as executor:  # with a cluster, the reranks train side by side on it
                rerank, final = rerank_and_finalize(result.trials, setup, config, seed=seed, device=config.device, executor=executor)
            reranks += [{**r, "network": folder, "seed": seed} for r in rerank]
            rows.append({**table_row(folder, config, result, rerank, final), "seed": seed, "teacher_stimuli": stimuli})
    write_table(run_dir, TABLE4_RERANK, pd.DataFrame(reranks))
    table = pd.DataFrame(rows)
    write_table(run_dir, TABLE4, table)
    paired = paired_table(table)
    write_table(run_dir, TABLE4_PAIRED, paired)
    for row in paired.itertuples():
        log.warning("Table 4: %s, teacher-guided minus performance-guided winner: %+.2f%% [%+.2f, %+.2f], p = %.3g, n = %d seed(s), "
                    "detectable %.2f%%", row.metric, row.estimate, row.lo, row.hi, row.p, row.n, row.detectable)
    return table


def paired_table(table: pd.DataFrame) -> pd.DataFrame:
    """The teacher-guided winner's test errors minus the performance-guided winner's, paired by seed (in % points)."""
    by_seed = table.pivot(index="seed", columns="network")
    rows = []
    for metric in ("top1_error", "top5_error"):
        result = paired_difference(by_seed[metric]["TG-SAGE-neuro"].to_numpy(), by_seed[metric]["P-search"].to_numpy())
        rows.append({"metric": metric, "comparison": "TG-SAGE-neuro minus P-search", **result.to_dict()})
    return pd.DataFrame(rows)
