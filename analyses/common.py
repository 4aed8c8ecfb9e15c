"""Pieces shared by the paper analyses and the demo: searches per objective, mature training, reranking."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from neurosage.analyses.embedded import Setup
from neurosage.analyses.settings import EmbeddedConfig, SearchOptions
from neurosage.evaluate import NetworkConfig
from neurosage.network import build_network, count_flops, count_parameters
from neurosage.provenance import record_run
from neurosage.search import SearchResult, run_search
from neurosage.space import Genotype
from neurosage.train import TrainConfig, evaluate, train

__all__ = [
    "RerankedSearchConfig", "recorded", "objective_searches", "rerank_and_finalize", "train_mature", "progress_curve",
    "top_k_genotypes", "mature_errors",
]

log = logging.getLogger(__name__)


def recorded(folder: str) -> Callable[[Callable], Callable]:
    """Decorate ``run(run_dir, config)`` so that ``<run_dir>/<folder>/run.json`` records its settings, seeds and sessions."""

    def decorate(run: Callable) -> Callable:
        default = inspect.signature(run).parameters["config"].default

        @functools.wraps(run)
        def recorded_run(run_dir, config=default):
            seeds = {k: v for k, v in asdict(config).items() if k in ("seed", "seeds")}
            with record_run(Path(run_dir) / folder, asdict(config), seeds=seeds, device=config.device):
                return run(run_dir, config)

        return recorded_run

    return decorate


@dataclass(frozen=True)
class RerankedSearchConfig(SearchOptions, EmbeddedConfig):
    """Options shared by searches followed by top-k reranking and a final training (Tables 2-4)."""

    n_blocks: int = 5
    startup_trials: int | None = 4
    tpe_gamma: float = 1.0
    top_k: int = 3
    rerank_steps: int = 150
    final_steps: int = 400


def objective_searches(
    out: Path, setup: Setup, config: SearchOptions, network: NetworkConfig, space, folders: Mapping[str, str],
    *, seed: int = 0, device=None, workers: int = 1,
) -> dict[str, SearchResult]:
    """One search per objective with the same budget and seed (``folders``: folder name -> objective).

    Each search resumes in ``out/<folder>`` if it was interrupted.
    """
    results = {}
    for folder, objective in folders.items():
        task = setup.task(network, config.premature, objective, config.alpha, device)
        results[folder] = run_search(
            out / folder, space, task, budget=config.budget, algo=config.algo, seed=seed, workers=workers,
            resume=True, searcher_kwargs=config.searcher_kwargs(),
        )
    return results


def train_mature(
    genotype: str, setup: Setup, network: NetworkConfig, steps: int, *, seed: int = 0, device=None, on: str = "val"
) -> dict[str, Any]:
    """Train a genotype for ``steps`` (cosine schedule) and report params, FLOPs, top-1/top-5 error on ``on``."""
    shape = setup.train.image_shape
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


def top_k_genotypes(trials: pd.DataFrame, top_k: int) -> set[str]:
    """Every genotype that is among the top-k by score after some sample (only these need mature training)."""
    trials = trials.sort_values("tid")
    found: set[str] = set()
    for n in range(1, len(trials) + 1):
        ok = trials.iloc[:n]
        ok = ok[ok.status == "ok"]
        found |= set(ok.sort_values("score", ascending=False).head(top_k).genotype)
    return found


def progress_curve(trials: pd.DataFrame, mature_error: dict[str, float], top_k: int) -> pd.DataFrame:
    """Best mature error among the current top-k (by search score) after each sample."""
    rows, cost = [], 0
    trials = trials.sort_values("tid")
    for n in range(1, len(trials) + 1):
        seen = trials.iloc[:n]
        cost += int(seen.iloc[-1].examples or 0)
        ok = seen[seen.status == "ok"]
        top = ok.sort_values("score", ascending=False).head(top_k)
        best = min((mature_error[g] for g in top.genotype), default=float("nan"))
        rows.append({"n_samples": n, "cost_examples": cost, "best_mature_error": best})
    return pd.DataFrame(rows)


def mature_errors(
    genotypes, setup: Setup, network: NetworkConfig, steps: int, cache: dict[str, float] | None = None, *, seed: int = 0,
    device=None, on: str = "val", save: Callable[[dict[str, float]], Any] | None = None,
) -> dict[str, float]:
    """Mature top-1 error of each genotype, trained once each (genotypes already in ``cache`` are not retrained).

    ``save(errors)`` is called after every new genotype, so an interrupted run keeps what it trained.
    """
    errors = dict(cache or {})
    for genotype in sorted(set(genotypes) - set(errors)):
        errors[genotype] = train_mature(genotype, setup, network, steps, seed=seed, device=device, on=on)["top1_error"]
        if save is not None:
            save(errors)
    return errors
