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

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from neurosage.analyses.common import RerankedSearchConfig, Setup, rerank_and_finalize, write_json
from neurosage.search import run_search
from neurosage.train import TrainConfig

__all__ = ["NeuroSearchConfig", "run", "simulated_brain_teacher"]


@dataclass(frozen=True)
class NeuroSearchConfig(RerankedSearchConfig):
    teacher: str = "sim"


def simulated_brain_teacher(setup: Setup, run_dir: Path, seed: int = 0):
    """V4/pIT/aIT simulated from the cached ResNet teacher's stacks (100 sites, reliability 0.8)."""
    from neurosage.teacher_specs import teacher_from_spec

    weights = sorted((run_dir / "teacher").glob("teacher-*.pt"))[0]
    spec = f"sim:cifar_resnet-1:V4=stack1,pIT=stack2,aIT=stack3:{weights}"
    return teacher_from_spec(spec, setup.teacher.images, cache_dir=run_dir / "teacher", seed=seed)


def run(run_dir: str | Path, config: NeuroSearchConfig = NeuroSearchConfig()) -> pd.DataFrame:
    run_dir = Path(run_dir)
    out = run_dir / "neuro_search"
    setup = config.setup(run_dir, config.seed)
    if config.teacher == "sim":
        setup.teacher = simulated_brain_teacher(setup, run_dir, config.seed)
    elif config.teacher != "net":
        raise ValueError(f"teacher must be 'sim' or 'net', got {config.teacher!r}")
    network, space = config.network, config.cell_space
    rows, reranks = [], []
    for name, objective in (("P-search", "p"), ("TG-SAGE-neuro", "p+tg")):
        task = setup.task(network, TrainConfig(steps=config.premature_steps, batch_size=64), objective, config.alpha, config.device)
        result = run_search(
            out / name, space, task, budget=config.budget, seed=config.seed, resume=True,
            searcher_kwargs={"n_startup_jobs": config.n_startup_jobs, "gamma": config.tpe_gamma},
        )
        rerank, final = rerank_and_finalize(
            result.trials, setup, network, k=config.top_k, rerank_steps=config.rerank_steps,
            final_steps=config.final_steps, seed=config.seed, device=config.device,
        )
        reranks += [{**r, "network": name} for r in rerank]
        rows.append({
            "network": name, "B": config.n_blocks, "N": config.n_cells, "F": config.filters,
            "params_M": final["params"] / 1e6, "flops_B": final["flops"] / 1e9,
            "top1_error": 100 * final["top1_error"], "top5_error": 100 * final["top5_error"],
            "genotype": final["genotype"], "search_examples": result.total_examples,
        })
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(reranks).to_csv(out / "rerank.csv", index=False)
    table = pd.DataFrame(rows)
    table.to_csv(out / "table4.csv", index=False)
    write_json(out / "config.json", asdict(config))
    return table
