"""The demo: a small teacher-guided search on the embedded default (Fashion-MNIST).

The embedded ResNet teacher is trained once and cached in the run folder (see
:mod:`neurosage.analyses.embedded`). Two TPE searches with the same budget and
seed follow, one scored by P + alpha * TG and one by P alone; the winner of each
is then trained longer ("mature") and tested on the test split without the
teacher's stimuli.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from neurosage.analyses.embedded import RESNET_LAYERS, Setup, embedded_setup
from neurosage.analyses.model_comparison import compare_model
from neurosage.analyses.results import DEMO_CONTROLS, DEMO_CURVES, DEMO_MATURE, write_table
from neurosage.analyses.search_protocol import (
    mature_errors,
    objective_searches,
    progress_curve,
    recorded,
    top_k_genotypes,
)
from neurosage.analyses.settings import DemoConfig
from neurosage.core.atomic import write_json
from neurosage.core.errors import ConfigError
from neurosage.search.executors import executor_for

__all__ = ["DemoConfig", "run_demo", "winner_controls"]

log = logging.getLogger(__name__)
#: The demo's two searches: run-folder name -> objective.
SEARCHES = {"search-ptg": "p+tg", "search-p": "p"}


@recorded("")
def run_demo(run_dir: str | Path, config: DemoConfig = DemoConfig(), *, client=None) -> dict:
    """Run both searches and train each search's best-so-far candidates to maturity; returns the summary (also in
    ``summary.json``; ``neurosage demo`` then draws ``demo.png`` with :mod:`neurosage.figures.demo_summary`).

    With ``client`` (a running Dask cluster) the candidates and the mature trainings run on it."""
    run_dir = Path(run_dir)
    setup = embedded_setup(config, run_dir)
    if setup.teacher is None:  # embedded_setup builds the teacher unless called with with_teacher=False
        raise ConfigError("the demo's setup has no teacher", "report this: embedded_setup(config, run_dir) builds one", field="teacher")
    network = config.network
    results = objective_searches(
        run_dir, setup, config, network, config.search_space, SEARCHES, seed=config.seed, device=config.device, workers=config.workers,
        client=client,
    )
    needed = set().union(*(top_k_genotypes(r.trials, 1) for r in results.values()))
    with executor_for(client=client) as executor:
        errors = mature_errors(needed, setup, network, config.mature_steps, run_dir, DEMO_MATURE, seed=config.seed, device=config.device, on="test",
                               executor=executor, threads=config.candidate_threads)
    curves = pd.concat([progress_curve(r.trials, errors, 1).assign(method=SEARCHES[f]) for f, r in results.items()], ignore_index=True)
    write_table(run_dir, DEMO_CURVES, curves)
    summary: dict = {"config": asdict(config), "teacher_endpoints": setup.teacher.endpoints, "searches": {}}
    for folder, result in results.items():
        best = result.best
        summary["searches"][SEARCHES[folder]] = {
            "best_genotype": best.genotype, "score": float(best.score), "P": float(best.P),
            "TG": None if best.TG is None or best.TG != best.TG else float(best.TG),
            "examples": result.total_examples, "trials": len(result.trials),
            "distinct_cells": int(result.trials.genotype.nunique()),
            "mature_test_top1": 1 - errors[best.genotype],
        }
    shared = set(results["search-ptg"].trials.genotype) & set(results["search-p"].trials.genotype)
    summary["shared_cells"] = len(shared)
    controls = winner_controls(run_dir, setup, config)
    write_table(run_dir, DEMO_CONTROLS, controls)
    summary["winner_tg"] = {name: float(tg) for name, tg in _tg(controls).items()}
    write_json(run_dir / "summary.json", summary)
    _report(summary)
    return summary


def winner_controls(run_dir: Path, setup: Setup, config: DemoConfig) -> pd.DataFrame:
    """The P+TG search's winner (its kept weights) against the teacher and the teacher's controls on the same stimuli.

    Controls: the pixel RDM, and the teacher's architecture with random weights (seed ``config.seed``): the embedded ResNet
    untrained, or each ``net:`` part of a ``--teacher`` spec (:func:`~neurosage.teachers.controls.controls_for`; brain and
    simulated teachers have only the pixels). Returns one row per teacher, endpoint and layer (the :data:`DEMO_CONTROLS` table).
    """
    from neurosage.teachers.controls import controls_for, pixel_teacher, untrained_teacher

    assert setup.teacher is not None
    teacher = setup.teacher
    methods: dict[str, Any] = {"rdm_method": config.rdm_method, "compare_method": config.compare_method}
    if config.teacher:
        controls = {k: v for k, v in controls_for(config.teacher, teacher.images, seeds=(config.seed,), device=config.device, **methods).items()
                    if k != "category"}
    else:
        model = f"cifar_resnet-{config.teacher_depth}"
        controls = {"pixels": pixel_teacher(teacher.images, device=config.device, **methods),
                    f"untrained:{model}:seed{config.seed}": untrained_teacher(model, RESNET_LAYERS, teacher.images, seed=config.seed,
                                                                             device=config.device, **methods)}
    tables = []
    for name, shown in {"teacher": teacher, **controls}.items():
        similarity = compare_model(run=run_dir / "search-ptg", teacher=shown, n_bootstrap=0, device=config.device).similarity
        tables.append(similarity.to_dataframe(name="similarity").reset_index()[["endpoint", "layer", "similarity"]].assign(teacher=name))
    return pd.concat(tables, ignore_index=True)[list(DEMO_CONTROLS.columns)]


def _tg(controls: pd.DataFrame) -> pd.Series:
    """TG per teacher of a :data:`DEMO_CONTROLS` table: the mean over endpoints of the best layer's similarity."""
    best = controls.groupby(["teacher", "endpoint"], sort=False).similarity.max()
    return best.groupby(level="teacher", sort=False).mean()


def _report(summary: dict) -> None:
    config = summary["config"]
    teacher = config.get("teacher") or (f"the embedded ResNet-{6 * config.get('teacher_depth', 1) + 2} trained "
                                        f"{config.get('teacher_epochs', 1.0):g} epoch(s)")
    lines = ["", f"neurosage demo: {str(config.get('algo', 'tpe')).upper()} on {config.get('dataset', 'fashion-mnist')}, teacher {teacher} "
                 f"(endpoints {', '.join(summary['teacher_endpoints'])})"]
    for objective, info in summary["searches"].items():
        tg = "-" if info["TG"] is None else f"{info['TG']:.3f}"
        lines.append(
            f"  {objective:5s} best: score {info['score']:.3f}  P {info['P']:.3f}  TG {tg}  "
            f"mature test top-1 {info['mature_test_top1']:.3f}  ({info['trials']} trials, {info['examples']} examples)"
        )
        lines.append(f"        cell: {info['best_genotype']}")
    a, b = summary["searches"]["p+tg"], summary["searches"]["p"]
    diff = a["mature_test_top1"] - b["mature_test_top1"]
    lines.append(f"  the two searches shared {summary['shared_cells']} of their cells (same seed: the random start-up trials)")
    lines.append(f"  mature top-1, P+TG winner minus P winner: {diff:+.3f} (one seed; not a significance test)")
    tg = summary["winner_tg"]
    lines.append("  the P+TG winner's TG against the teacher and its controls: " + ", ".join(f"{k} {v:.3f}" for k, v in tg.items()))
    untrained = [v for k, v in tg.items() if k.startswith("untrained")]
    if untrained:
        lines.append(f"  what the teacher learned adds {tg['teacher'] - max(untrained):+.3f} to TG over its untrained architecture "
                     f"({tg['teacher'] - tg['pixels']:+.3f} over the pixels); the rest is geometry the stimuli and the architecture give")
    sys.stdout.write("\n".join(lines) + "\n")  # the report is the command's output, not a log message
