"""Pieces shared by the paper analyses and the demo: searches per objective, mature training, reranking."""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from neurosage.analyses.embedded import Setup
from neurosage.analyses.results import ResultFile, read_table, write_table
from neurosage.analyses.settings import EmbeddedConfig, SearchOptions
from neurosage.core.errors import ConfigError, TrainingDiverged
from neurosage.core.quantities import parse_count
from neurosage.core.seeding import derive_seed
from neurosage.nets.build import build_network
from neurosage.nets.measure import count_flops, count_parameters
from neurosage.runs.folder import RunFolder
from neurosage.search.driver import SearchResult, run_search
from neurosage.search.executors import InlineExecutor, gather
from neurosage.search.weights import weights_to_keep
from neurosage.spaces import parse_genotype
from neurosage.training.configs import NetworkConfig, TrainConfig
from neurosage.training.devices import torch_threads
from neurosage.training.divergence import training_outcome
from neurosage.training.evaluation import evaluate, recalibrate_bn
from neurosage.training.loop import train

__all__ = [
    "RerankedSearchConfig", "recorded", "table_row", "objective_searches", "rerank_and_finalize", "train_mature", "progress_curve",
    "top_k_genotypes", "mature_errors", "size_to_params", "network_parameters",
]

log = logging.getLogger(__name__)


def recorded(folder: str) -> Callable[[Callable], Callable]:
    """Decorate ``run(run_dir, config)`` so that ``<run_dir>/<folder>/run.json`` records its settings, seeds and sessions."""

    def decorate(run: Callable) -> Callable:
        default = inspect.signature(run).parameters["config"].default

        @functools.wraps(run)
        def recorded_run(run_dir, config=default, **executor):  # executor: client= (a running Dask cluster), where run takes it
            seeds = {k: v for k, v in asdict(config).items() if k in ("seed", "seeds")}
            record = RunFolder(Path(run_dir) / folder)
            with record.lock(), record.session(asdict(config), seeds=seeds, device=config.device):
                return run(run_dir, config, **executor)

        return recorded_run

    return decorate


@dataclass(frozen=True)
class RerankedSearchConfig(SearchOptions, EmbeddedConfig):
    """Options shared by searches followed by top-k reranking and a final training (Tables 2-4).

    The top ``top_k`` cells are retrained for ``rerank_steps`` (or ``rerank_epochs``) as networks of
    ``rerank_n_cells`` cells and ``rerank_filters`` filters with the skeleton's stem cells (None: the
    search's N and F), and ranked on the validation hold-out; the winner is trained for ``final_steps``
    (or ``final_epochs``) on the whole training split, hold-out included, and tested on the evaluation split.
    ``final_params``: size each winner's final network to about this many parameters (the paper's Tables 3-4:
    about 5.5M for every search), N kept at the rerank N and F chosen (:func:`size_to_params`); None keeps the
    rerank N and F for every winner.
    """

    n_blocks: int = 5
    startup_trials: int | None = 4
    tpe_gamma: float = 1.0
    top_k: int = 3
    rerank_steps: int = 150
    rerank_epochs: float | None = None
    final_steps: int = 400
    final_epochs: float | None = None
    rerank_n_cells: int | None = None
    rerank_filters: int | None = None
    final_params: float | None = None

    def __post_init__(self) -> None:
        if self.final_params is not None:  # 5.5M, 5500k or 5500000; a bare 5.5 (meant as millions) is refused
            object.__setattr__(self, "final_params", parse_count(self.final_params, field="final_params"))
        super().__post_init__()

    def check_final_params(self, max_filters: int = 4096) -> None:
        """Refuse a ``final_params`` target that cannot be met, before any search or training: a layer-wise space (no F),
        or more parameters than a network of this space has at ``max_filters`` (checked on a sampled cell)."""
        if self.final_params is None:
            return
        space = self.search_space
        if getattr(space, "kind", None) == "layers":
            raise ConfigError(f"final-params sizes cell networks by their filters F; the layer-wise space {space.name!r} has no F",
                              "leave final-params unset for layer-wise spaces", field="final_params")
        most = _count_parameters(str(space.sample(0)), replace(self.rerank_network, filters=max_filters), 1000, 3)
        if most < self.final_params:
            raise ConfigError(f"final-params {self.final_params:g} is more than a network of this space has even at F = {max_filters} "
                              f"(about {most:.3g} parameters at N = {self.rerank_network.n_cells})",
                              "lower final-params, or raise rerank-n-cells", field="final_params")

    @property
    def rerank_network(self) -> NetworkConfig:
        """The network of reranking and final training: the rerank N and F, the skeleton's own stem cells."""
        return NetworkConfig(self.skeleton, self.rerank_n_cells or self.n_cells, self.rerank_filters or self.filters, None, self.width_multiplier)

    @property
    def rerank_training(self) -> TrainConfig:
        bn = self.bn_recalibration
        return (TrainConfig(epochs=self.rerank_epochs, bn_recalibration=bn) if self.rerank_epochs
                else TrainConfig(steps=self.rerank_steps, bn_recalibration=bn))

    @property
    def final_training(self) -> TrainConfig:
        bn = self.bn_recalibration
        return (TrainConfig(epochs=self.final_epochs, bn_recalibration=bn) if self.final_epochs
                else TrainConfig(steps=self.final_steps, bn_recalibration=bn))


def objective_searches(
    out: Path, setup: Setup, config: SearchOptions, network: NetworkConfig, space, folders: Mapping[str, str],
    *, seed: int = 0, device=None, workers: int = 1, client=None,
) -> dict[str, SearchResult]:
    """One search per objective with the same budget and seed (``folders``: folder name -> objective).

    Each search resumes in ``out/<folder>`` if it was interrupted; it keeps the weights of its best ``keep_weights`` trials
    (default: the ``top_k`` the analysis retrains, else the best one).
    """
    keep = weights_to_keep(config.keep_weights, getattr(config, "top_k", None))
    results = {}
    for folder, objective in folders.items():
        task = setup.task(network, config.premature, objective, config.alpha, device, config.candidate_threads)
        results[folder] = run_search(
            out / folder, space, task, budget=config.budget, algo=config.algo, seed=seed, workers=1 if client is not None else workers,
            client=client, resume=True, searcher_kwargs=config.searcher_kwargs(), keep_weights=keep,
        )
    return results


def train_mature(
    genotype: str, setup: Setup, network: NetworkConfig, training: TrainConfig | int, *, seed: int = 0, device=None,
    on: str = "val", train_set=None, threads: int | None = None,
) -> dict[str, Any]:
    """Train a genotype (``training``, or a number of steps; cosine schedule) and report params, FLOPs, top-1/top-5 error on ``on``.

    ``train_set`` defaults to the candidates' training set (``setup.train``); ``threads`` torch CPU threads (None: as the
    process has), the same in this process and on a worker, so the result does not depend on where it ran.
    """
    if threads is not None:
        with torch_threads(threads):
            return train_mature(genotype, setup, network, training, seed=seed, device=device, on=on, train_set=train_set)
    training = TrainConfig(steps=training, batch_size=64) if isinstance(training, int) else training
    data = setup.train if train_set is None else train_set
    shape = data.image_shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_network(genotype, num_classes=setup.train.num_classes, in_channels=shape[0], **network.to_dict())
    result = train(net, data, training, seed=seed, device=device, progress=True)
    recalibrate_bn(net, data, n_batches=training.bn_recalibration, batch_size=training.batch_size, seed=derive_seed(seed, 2), device=device)
    held_out = setup.val if on == "val" else setup.test
    acc = evaluate(net, held_out, device=device)
    status, error = training_outcome(result, acc["top1"], len(held_out), setup.train.num_classes)
    diverged = status != "ok"  # its accuracy is no result: NaN in every table, the reason beside it
    return {
        "genotype": genotype, "status": status, "error": error, "params": count_parameters(net), **count_flops(net, shape),
        "top1_error": math.nan if diverged else 1 - acc["top1"], "top5_error": math.nan if diverged else 1 - acc["top5"],
        "examples": result.examples, "steps": result.steps, "N": network.n_cells, "F": network.filters,
    }


def rerank_and_finalize(trials, setup: Setup, config: RerankedSearchConfig, *, seed: int = 0, device=None,
                        executor=None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Train the top-k trials by score (validation), then the winner on the whole training split (test).

    The rerank trainings run side by side on ``executor`` (default: one after another here), each with the config's
    ``candidate_threads``. Returns the rerank rows and the final row (params, FLOPs, top-1/top-5 error on the evaluation split).
    """
    network = config.rerank_network
    ok = _top(trials[trials.status == "ok"], config.top_k)
    executor = executor or InlineExecutor()
    shared = executor.scatter(setup)
    options = {"seed": seed, "device": device, "threads": config.candidate_threads}
    trained = gather(executor, train_mature, [((g, shared, network, config.rerank_training), options) for g in ok.genotype])
    rerank = [{**row, "search_score": s} for row, s in zip(trained, ok.score)]
    finished = [r for r in rerank if r["status"] == "ok"]
    if not finished:
        raise TrainingDiverged(f"all {len(rerank)} rerank trainings diverged (e.g. {rerank[0].get('error')})",
                               f"lower the rerank training's learning rate (lr = {config.rerank_training.lr:g} now), e.g. to "
                               f"{config.rerank_training.lr / 10:g}", field="lr")
    winner = min(finished, key=lambda r: r["top1_error"])  # a diverged rerank has no accuracy to win with
    final_network = network
    if config.final_params:
        final_network = size_to_params(winner["genotype"], setup, network, config.final_params)
        log.warning("final network sized to %.3gM parameters: N = %d, F = %d", config.final_params / 1e6, final_network.n_cells,
                    final_network.filters)
    final = executor.submit(train_mature, winner["genotype"], shared, final_network, config.final_training, on="test",
                            train_set=setup.train_full if setup.train_full is not None else setup.train, **options).result()
    return rerank, {**final, "param_target": config.final_params}


def network_parameters(genotype: str, setup: Setup, network: NetworkConfig) -> int:
    """The parameter count of ``genotype`` as ``network`` (built on the meta device: no memory, no weights)."""
    return _count_parameters(genotype, network, setup.train.num_classes, setup.train.image_shape[0])


def _count_parameters(genotype: str, network: NetworkConfig, num_classes: int, in_channels: int) -> int:
    with torch.device("meta"):
        net = build_network(genotype, num_classes=num_classes, in_channels=in_channels, **network.to_dict())
    return count_parameters(net)


def size_to_params(genotype: str, setup: Setup, network: NetworkConfig, target: float, max_filters: int = 4096) -> NetworkConfig:
    """``network`` with its initial filters F chosen so that ``genotype`` has the parameter count nearest ``target``
    (N kept; the paper sizes every final network of Tables 3-4 to about 5.5M parameters this way)."""
    if not hasattr(parse_genotype(genotype), "normal"):  # a layer-wise genotype
        raise ConfigError("final-params sizes cell networks by their filters F; a layer-wise genotype has no F",
                          "leave final-params unset for layer-wise spaces", field="final_params")

    def params(filters: int) -> int:
        return network_parameters(genotype, setup, replace(network, filters=filters))

    lo, hi = 1, max_filters
    if params(hi) < target:
        raise ConfigError(f"final-params {target:g} is more than the winner has at F = {max_filters} ({params(hi)} parameters)",
                          "lower final-params or raise rerank-n-cells", field="final_params")
    while lo < hi:  # the smallest F with at least the target (the count grows with F)
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if params(mid) < target else (lo, mid)
    best = min({max(1, lo - 1), lo}, key=lambda f: (abs(params(f) - target), f))
    return replace(network, filters=best)


def table_row(name: str, config: RerankedSearchConfig, result: SearchResult, rerank: list[dict[str, Any]], final: dict[str, Any]) -> dict[str, Any]:
    """A Table 2-4 row: B, N, F of the final network, params, mult-adds, FLOPs, top-1/top-5 error (%), and the
    cost M1*E1 + M2*E2 (M1 search samples of E1 examples each, M2 reranked cells of E2 examples each)."""
    m1, e1 = len(result.trials), int(result.trials.examples.fillna(0).mean())
    m2, e2 = len(rerank), int(rerank[0]["examples"]) if rerank else 0
    return {
        "network": name, "B": config.n_blocks, "N": final["N"], "F": final["F"],
        "params_M": final["params"] / 1e6, "mult_adds_M": final["macs"] / 1e6, "flops_B": final["flops"] / 1e9,
        "top1_error": 100 * final["top1_error"], "top5_error": 100 * final["top5_error"],
        "M1": m1, "E1": e1, "M2": m2, "E2": e2, "cost_examples": m1 * e1 + m2 * e2, "genotype": final["genotype"],
        "param_target_M": None if final.get("param_target") is None else final["param_target"] / 1e6,
    }


def _top(ok: pd.DataFrame, top_k: int) -> pd.DataFrame:
    """The ``top_k`` distinct genotypes by score (a genotype proposed twice counts once, with its best score)."""
    return ok.sort_values("score", ascending=False, kind="stable").drop_duplicates("genotype").head(top_k)


def top_k_genotypes(trials: pd.DataFrame, top_k: int) -> set[str]:
    """Every genotype that is among the top-k by score after some sample (only these need mature training)."""
    trials = trials.sort_values("tid")
    found: set[str] = set()
    for n in range(1, len(trials) + 1):
        ok = trials.iloc[:n]
        ok = ok[ok.status == "ok"]
        found |= set(_top(ok, top_k).genotype)
    return found


def progress_curve(trials: pd.DataFrame, mature_error: dict[str, float], top_k: int) -> pd.DataFrame:
    """Best mature error among the current top-k (by search score) after each sample."""
    rows, cost = [], 0
    trials = trials.sort_values("tid")
    for n in range(1, len(trials) + 1):
        seen = trials.iloc[:n]
        cost += int(seen.iloc[-1].examples or 0)
        ok = seen[seen.status == "ok"]
        top = _top(ok, top_k)
        best = min((mature_error[g] for g in top.genotype), default=float("nan"))
        rows.append({"n_samples": n, "cost_examples": cost, "best_mature_error": best})
    return pd.DataFrame(rows)


def mature_errors(
    genotypes, setup: Setup, network: NetworkConfig, steps: int, run_dir: Path, cache: ResultFile, *, seed: int = 0,
    device=None, on: str = "val", executor=None, threads: int | None = None,
) -> dict[str, float]:
    """Mature top-1 error of each genotype, trained once each (side by side on ``executor``), cached in ``cache``.

    Genotypes already in the cache (a genotype, top1_error table) are not retrained, and the cache is rewritten as each
    new genotype finishes, so an interrupted run keeps what it trained.
    """
    rows: dict[str, dict[str, Any]] = {}
    if cache.exists(run_dir):
        table = read_table(run_dir, cache)
        rows = {r["genotype"]: r for r in table.to_dict("records")}
    executor = executor or InlineExecutor()
    todo = sorted(set(genotypes) - set(rows))
    shared = executor.scatter(setup) if todo else setup
    pending = {executor.submit(train_mature, g, shared, network, steps, seed=seed, device=device, on=on, threads=threads): g for g in todo}
    while pending:
        for future in executor.wait_any(list(pending)):
            result = future.result()
            if result["status"] != "ok":  # NaN error in the tables, the reason in the cache's error column
                log.warning("mature training of %s %s: %s", result["genotype"], result["status"], result.get("error"))
            rows[pending.pop(future)] = {k: result.get(k) for k in ("genotype", "top1_error", "status", "error")}
            write_table(run_dir, cache, pd.DataFrame([rows[g] for g in sorted(rows)]))
    return {g: float(rows[g]["top1_error"]) for g in sorted(rows)}
