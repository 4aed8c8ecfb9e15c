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

from neurosage.analyses.common import objective_searches, train_mature
from neurosage.analyses.embedded import embedded_setup
from neurosage.analyses.settings import DemoConfig
from neurosage.atomic import write_json

__all__ = ["DemoConfig", "run_demo"]

log = logging.getLogger(__name__)
#: The demo's two searches: run-folder name -> objective.
SEARCHES = {"search-ptg": "p+tg", "search-p": "p"}


def run_demo(run_dir: str | Path, config: DemoConfig = DemoConfig()) -> dict:
    """Run both searches and the mature comparison; returns the summary (also saved as JSON)."""
    run_dir = Path(run_dir)
    setup = embedded_setup(config, run_dir)
    network = config.network
    results = objective_searches(
        run_dir, setup, config, network, config.cell_space, SEARCHES, seed=config.seed, device=config.device, workers=config.workers,
    )
    summary: dict = {"config": asdict(config), "teacher_endpoints": setup.teacher.endpoints, "searches": {}}
    for folder, result in results.items():
        best = result.best
        mature = train_mature(best.genotype, setup, network, config.mature_steps, seed=config.seed, device=config.device, on="test")
        summary["searches"][SEARCHES[folder]] = {
            "best_genotype": best.genotype, "score": float(best.score), "P": float(best.P),
            "TG": None if best.TG is None or best.TG != best.TG else float(best.TG),
            "examples": result.total_examples, "trials": len(result.trials),
            "mature_test_top1": 1 - mature["top1_error"],
        }
    write_json(run_dir / "summary.json", summary)
    _report(summary)
    return summary


def _report(summary: dict) -> None:
    lines = ["", "neurosage demo: TPE on Fashion-MNIST, teacher = ResNet (endpoints %s)" % ", ".join(summary["teacher_endpoints"])]
    for objective, info in summary["searches"].items():
        tg = "-" if info["TG"] is None else f"{info['TG']:.3f}"
        lines.append(
            f"  {objective:5s} best: score {info['score']:.3f}  P {info['P']:.3f}  TG {tg}  "
            f"mature test top-1 {info['mature_test_top1']:.3f}  ({info['trials']} trials, {info['examples']} examples)"
        )
        lines.append(f"        cell: {info['best_genotype']}")
    a, b = summary["searches"]["p+tg"], summary["searches"]["p"]
    diff = a["mature_test_top1"] - b["mature_test_top1"]
    lines.append(f"  mature top-1, P+TG winner minus P winner: {diff:+.3f} (one seed; not a significance test)")
    sys.stdout.write("\n".join(lines) + "\n")  # the report is the command's output, not a log message
