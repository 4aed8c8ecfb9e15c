"""Performance-guided vs teacher-guided cell search, reranking and final training (section 4.4, Table 4).

Two TPE searches with the same budget and seed, one scored by P and one by
P + alpha * TG with a brain-like teacher. At paper scale that is ImageNet
64x64 with the V4/pIT/aIT recordings; at small scale the embedded default uses
a simulated recording of the Fashion-MNIST ResNet teacher (``teacher="sim"``,
regions V4/pIT/aIT mapped to its three stacks) or the teacher's layers
(``teacher="net"``). The top-``k`` cells of each are retrained longer, and the
winner of each gets a final training; the table row reports B, N, F, params,
FLOPs and top-1/top-5 test error.

Outputs in ``<run>/neuro_search/``: the two search folders, ``rerank.csv``,
``table4.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from neurosage.analyses.common import (
    RerankedSearchConfig,
    objective_searches,
    recorded,
    rerank_and_finalize,
    table_row,
)
from neurosage.analyses.embedded import Setup, embedded_setup, teacher_weights
from neurosage.analyses.results import TABLE4, TABLE4_RERANK, write_table

from neurosage.teachers.kinds import teacher_from_spec

__all__ = ["NeuroSearchConfig", "run", "simulated_brain_teacher"]


#: The two searches of Table 4: run-folder name -> objective.
SEARCHES = {"P-search": "p", "TG-SAGE-neuro": "p+tg"}


@dataclass(frozen=True)
class NeuroSearchConfig(RerankedSearchConfig):
    """``teacher``: ``"sim"`` (V4/pIT/aIT simulated from the embedded ResNet teacher), ``"net"`` (that
    teacher's layers) or any teacher spec (``brain:...``, ``net:...``, ``sim:...``)."""

    teacher: str | None = "sim"


def simulated_brain_teacher(setup: Setup, run_dir: Path, seed: int = 0):
    """V4/pIT/aIT simulated from the cached ResNet teacher's stacks (100 sites, reliability 0.8)."""
    spec = f"sim:cifar_resnet-1:V4=stack1,pIT=stack2,aIT=stack3:{teacher_weights(run_dir)}"
    return teacher_from_spec(spec, setup.teacher.images, cache_dir=run_dir / "teacher", seed=seed)


@recorded("neuro_search")
def run(run_dir: str | Path, config: NeuroSearchConfig = NeuroSearchConfig()) -> pd.DataFrame:
    run_dir = Path(run_dir)
    out = run_dir / "neuro_search"
    embedded = config.teacher in ("sim", "net", None)
    if not embedded and ":" not in str(config.teacher):
        raise ValueError(f"teacher must be 'sim', 'net' or a teacher spec such as 'brain:MajajHong2015:V4,pIT,aIT', got {config.teacher!r}")
    setup = embedded_setup(replace(config, teacher=None) if embedded else config, run_dir)
    if config.teacher == "sim":
        setup = replace(setup, teacher=simulated_brain_teacher(setup, run_dir, config.seed))  # re-checks the split rule
    network = config.network
    rows, reranks = [], []
    searches = objective_searches(out, setup, config, network, config.search_space, SEARCHES, seed=config.seed, device=config.device)
    for name, result in searches.items():
        rerank, final = rerank_and_finalize(result.trials, setup, config, seed=config.seed, device=config.device)
        reranks += [{**r, "network": name} for r in rerank]
        rows.append(table_row(name, config, result, rerank, final))
    write_table(run_dir, TABLE4_RERANK, pd.DataFrame(reranks))
    table = pd.DataFrame(rows)
    write_table(run_dir, TABLE4, table)
    return table
