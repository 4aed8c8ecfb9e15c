"""Shared pieces of the paper analyses: configs, the embedded default setup, mature training."""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import torch

from neurosage.evaluate import CandidateTask, NetworkConfig
from neurosage.network import build_network, count_flops, count_parameters
from neurosage.space import CellSpace, Genotype, get_space
from neurosage.train import TrainConfig, evaluate, train

__all__ = ["EmbeddedConfig", "RerankedSearchConfig", "Setup", "embedded_setup", "load_config", "rerank_and_finalize", "train_mature", "write_json"]

log = logging.getLogger(__name__)
C = TypeVar("C")


def load_config(cls: type[C], path: str | Path | None = None, **overrides: Any) -> C:
    """A config dataclass from defaults, a TOML file, then keyword overrides; unknown keys are errors."""
    values: dict[str, Any] = {}
    if path:
        values.update({k.replace("-", "_"): v for k, v in tomllib.loads(Path(path).read_text()).items()})
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)} for {cls.__name__}; known: {sorted(known)}")
    for f in fields(cls):
        if f.name in values and isinstance(getattr(cls, f.name, None), tuple):
            values[f.name] = tuple(values[f.name])
    return cls(**values)


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o)))
    return path


@dataclass(frozen=True)
class EmbeddedConfig:
    """Data, candidate network and device options shared by the analyses on the embedded default.

    ``data`` is the Fashion-MNIST folder (None: the Debian path); candidates are CIFAR-style networks of
    ``n_cells`` cells per stack and ``filters`` initial channels over the ``space`` cell space of ``n_blocks``.
    """

    data: str | None = None
    space: str = "pnas"
    n_blocks: int = 3
    filters: int = 8
    n_cells: int = 1
    n_train: int = 10_000
    n_val: int = 1_000
    n_stimuli: int = 300
    device: str | None = None

    @property
    def network(self) -> NetworkConfig:
        return NetworkConfig("cifar", self.n_cells, self.filters)

    @property
    def cell_space(self) -> CellSpace:
        return get_space(self.space, self.n_blocks)

    def setup(self, run_dir: Path, seed: int = 0) -> Setup:
        """The embedded default's data splits and teacher (see :func:`embedded_setup`)."""
        return embedded_setup(run_dir, data=self.data, n_train=self.n_train, n_val=self.n_val, n_stimuli=self.n_stimuli, seed=seed, device=self.device)


@dataclass(frozen=True)
class RerankedSearchConfig(EmbeddedConfig):
    """Options shared by searches followed by top-k reranking and a final training (Tables 2-4).

    ``tpe_gamma`` is hyperopt's TPE split: ceil(gamma * sqrt(n)) trials form the "good" density. Its default,
    0.25, keeps only the single best trial while n <= 16, so small searches whose scores agree on the best
    trial propose identical cells; 1.0 lets the ranking of the top few trials matter at small budgets.
    """

    n_blocks: int = 5
    budget: int = 12
    premature_steps: int = 20
    alpha: float = 1.0
    top_k: int = 3
    rerank_steps: int = 150
    final_steps: int = 400
    n_startup_jobs: int = 4
    tpe_gamma: float = 1.0
    seed: int = 0


@dataclass
class Setup:
    """Data and teacher of the embedded default (Fashion-MNIST + ResNet teacher)."""

    train: Any
    val: Any
    test: Any
    teacher: Any

    def task(self, network: NetworkConfig, training: TrainConfig, objective: str, alpha: float = 1.0, device=None) -> CandidateTask:
        return CandidateTask(self.train, self.val, network, training, self.teacher, objective=objective, alpha=alpha, device=device)


def embedded_setup(run_dir: Path, *, data: str | None, n_train: int, n_val: int, n_stimuli: int, seed: int, device=None) -> Setup:
    """Fashion-MNIST split into candidate-train / validation / test, with the cached ResNet teacher."""
    from neurosage.data_adapters.images import load_fashion_mnist
    from neurosage.analyses.demo import FMNIST_NORM, fashion_mnist_teacher, stimulus_subset

    train_full = load_fashion_mnist("train", data, **FMNIST_NORM)
    test = load_fashion_mnist("test", data, **FMNIST_NORM)
    stimuli = stimulus_subset(test, n_stimuli, "fmnist-test")
    teacher = fashion_mnist_teacher(train_full, stimuli, run_dir / "teacher", epochs=1.0, seed=seed, device=device)
    rest, val = train_full.split_holdout(n_val, seed=seed)
    return Setup(rest.subset(range(min(n_train, len(rest)))), val, test.subset(range(n_stimuli, len(test))), teacher)


def train_mature(
    genotype: str, setup: Setup, network: NetworkConfig, steps: int, *, seed: int = 0, device=None, on: str = "val"
) -> dict[str, Any]:
    """Train a genotype for ``steps`` (cosine schedule) and report params, FLOPs, top-1/top-5 error."""
    shape = tuple(setup.train[0][0].shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_network(Genotype.parse(genotype), num_classes=setup.train.num_classes, in_channels=shape[0], **network.to_dict())
    result = train(net, setup.train, TrainConfig(steps=steps, batch_size=64), seed=seed, device=device, progress=True)
    acc = evaluate(net, setup.val if on == "val" else setup.test, device=device)
    return {
        "genotype": genotype, "status": result.status, "params": count_parameters(net), **count_flops(net, shape),
        "top1_error": 1 - acc["top1"], "top5_error": 1 - acc["top5"], "examples": result.examples, "steps": steps,
    }


def rerank_and_finalize(
    trials, setup: Setup, network: NetworkConfig, *, k: int, rerank_steps: int, final_steps: int, seed: int = 0, device=None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Train the top-``k`` trials by score for ``rerank_steps`` (validation), then the winner for ``final_steps`` (test).

    Returns the rerank rows and the final row (params, FLOPs, top-1/top-5 error on the test split).
    """
    ok = trials[trials.status == "ok"].sort_values("score", ascending=False).drop_duplicates("genotype").head(k)
    rerank = [{**train_mature(g, setup, network, rerank_steps, seed=seed, device=device), "search_score": s} for g, s in zip(ok.genotype, ok.score)]
    winner = min(rerank, key=lambda r: r["top1_error"])
    final = train_mature(winner["genotype"], setup, network, final_steps, seed=seed, device=device, on="test")
    return rerank, final
