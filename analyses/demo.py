"""The embedded default: a small teacher-guided search on Fashion-MNIST.

A CIFAR-style ResNet teacher is trained once on Fashion-MNIST and cached in
the run folder; its three stacks are the teacher endpoints (RDMs over held-out
test images, 10 feature subsamples each). Two TPE searches with the same
budget and seed follow, one scored by P + alpha * TG and one by P alone; the
winner of each is then trained longer ("mature") and both are reported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from neurosage.data_adapters.images import load_fashion_mnist
from neurosage.evaluate import CandidateTask, NetworkConfig
from neurosage.network import build_network
from neurosage.search import run_search
from neurosage.space import Genotype, get_space
from neurosage.teachers import Teacher, cifar_resnet, network_teacher
from neurosage.train import TrainConfig, evaluate, train

__all__ = ["DemoConfig", "run_demo", "fashion_mnist_teacher", "stimulus_subset"]

log = logging.getLogger(__name__)
FMNIST_NORM = {"mean": 0.286, "std": 0.353}


@dataclass(frozen=True)
class DemoConfig:
    data: str | None = None
    budget: int = 8
    premature_steps: int = 30
    mature_steps: int = 150
    batch_size: int = 64
    n_train: int = 10_000
    n_val: int = 1_000
    n_stimuli: int = 300
    alpha: float = 1.0
    space: str = "pnas"
    n_blocks: int = 5
    filters: int = 8
    n_cells: int = 1
    teacher_epochs: float = 1.0
    seed: int = 0
    workers: int = 1
    device: str | None = None


def stimulus_subset(images, n: int, prefix: str):
    """The first ``n`` images of a set, labelled ``<prefix>-00000`` ... as stimulus ids."""
    stimuli = images.subset(range(min(n, len(images))))
    stimuli.stimulus_ids = [f"{prefix}-{i:05d}" for i in range(len(stimuli))]
    return stimuli


def fashion_mnist_teacher(train_set, stimuli, cache_dir: Path, *, epochs: float, seed: int, device=None) -> Teacher:
    """Train (or load from cache) the ResNet teacher and compute its endpoint RDMs."""
    key = hashlib.sha256(json.dumps({"epochs": epochs, "seed": seed, "n": len(train_set), "stim": list(stimuli.stimulus_ids)}).encode()).hexdigest()[:12]
    weights, rdms_file = cache_dir / f"teacher-{key}.pt", cache_dir / f"teacher-{key}-rdms.nc"
    if rdms_file.exists():
        log.info("teacher loaded from cache %s", rdms_file)
        return Teacher.load(rdms_file, stimuli)
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = cifar_resnet(n=1, num_classes=10, in_channels=1, width=16)
    log.info("training the Fashion-MNIST ResNet teacher for %s epoch(s) (once; cached in %s)", epochs, cache_dir)
    result = train(net, train_set, TrainConfig(epochs=epochs, batch_size=128, lr=0.1, weight_decay=5e-4), seed=seed, device=device, progress=True)
    if result.status != "ok":
        raise RuntimeError(f"teacher training failed: {result.error}")
    torch.save(net.state_dict(), weights)
    teacher = network_teacher(net, stimuli, ["stack1", "stack2", "stack3"], subsample_features=1000, n_subsamples=10, seed=seed, device=device)
    teacher.save(rdms_file)
    return teacher


def run_demo(run_dir: str | Path, config: DemoConfig = DemoConfig()) -> dict:
    """Run both searches and the mature comparison; returns the summary (also saved as JSON)."""
    run_dir = Path(run_dir)
    train_full = load_fashion_mnist("train", config.data, **FMNIST_NORM)
    test = load_fashion_mnist("test", config.data, **FMNIST_NORM)
    stimuli = stimulus_subset(test, config.n_stimuli, "fmnist-test")
    teacher = fashion_mnist_teacher(train_full, stimuli, run_dir / "teacher", epochs=config.teacher_epochs, seed=config.seed, device=config.device)
    rest, val = train_full.split_holdout(config.n_val, seed=config.seed)
    cand_train = rest.subset(range(config.n_train))
    space = get_space(config.space, config.n_blocks)
    network = NetworkConfig("cifar", config.n_cells, config.filters)
    premature = TrainConfig(steps=config.premature_steps, batch_size=config.batch_size)
    startup = max(2, config.budget // 3)
    summary: dict = {"config": config.__dict__, "teacher_endpoints": teacher.endpoints, "searches": {}}
    for objective in ("p+tg", "p"):
        task = CandidateTask(cand_train, val, network, premature, teacher, objective=objective, alpha=config.alpha, device=config.device)
        result = run_search(
            run_dir / f"search-{objective.replace('+', '')}", space, task, budget=config.budget, seed=config.seed,
            workers=config.workers, resume=True, searcher_kwargs={"n_startup_jobs": startup},
        )
        best = result.best
        summary["searches"][objective] = {
            "best_genotype": best.genotype, "score": float(best.score), "P": float(best.P),
            "TG": None if best.TG is None or best.TG != best.TG else float(best.TG),
            "examples": result.total_examples, "trials": len(result.trials),
        }
    mature = TrainConfig(steps=config.mature_steps, batch_size=config.batch_size)
    for objective, info in summary["searches"].items():
        torch.manual_seed(config.seed)
        net = build_network(Genotype.parse(info["best_genotype"]), skeleton="cifar", n_cells=config.n_cells, filters=config.filters, num_classes=10, in_channels=1)
        train(net, cand_train, mature, seed=config.seed, device=config.device, progress=True)
        info["mature_test_top1"] = evaluate(net, test, device=config.device)["top1"]
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
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
