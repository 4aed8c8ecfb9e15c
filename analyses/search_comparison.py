"""Search efficiency: random vs TPE-P vs TPE-P+TG at equal cost (paper section 4.2, Figure 4, Table 1).

Each method runs ``len(seeds)`` searches of ``budget`` samples. After every
sample, the current top-``top_k`` genotypes by search score are looked up in a
cache of mature errors (each distinct genotype is trained to maturity once),
and the best mature error among them is recorded against the number of samples
and the cumulative cost in training examples.

Outputs in ``<run>/search_comparison/``: one search folder per method and seed,
``mature.csv`` (genotype -> mature error), ``curves.csv`` and ``summary.csv``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from neurosage.analyses.common import train_mature
from neurosage.analyses.embedded import embedded_setup
from neurosage.analyses.settings import EmbeddedConfig, SearchOptions
from neurosage.analyses.results import SEARCH_CURVES, SEARCH_MATURE, SEARCH_SUMMARY, read_table, write_table
from neurosage.atomic import write_json
from neurosage.search import run_search

__all__ = ["SearchComparisonConfig", "run", "progress_curve", "top_k_genotypes"]

METHODS = {"random": ("random", "p"), "P": ("tpe", "p"), "P+TG": ("tpe", "p+tg")}


@dataclass(frozen=True)
class SearchComparisonConfig(SearchOptions, EmbeddedConfig):
    """Options of the search comparison; seeds are shared across methods (common random numbers).

    ``tpe_gamma`` is hyperopt's TPE split (see :class:`neurosage.analyses.embedded.SearchOptions`);
    ``methods`` set the algorithm and objective of each search (``algo`` and ``objective`` are unused).
    """

    methods: tuple[str, ...] = ("random", "P", "P+TG")
    seeds: tuple[int, ...] = (0, 1)
    budget: int = 10
    premature_steps: int = 15
    mature_steps: int = 80
    top_k: int = 3


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


def run(run_dir: str | Path, config: SearchComparisonConfig = SearchComparisonConfig()) -> pd.DataFrame:
    run_dir = Path(run_dir)
    out = run_dir / "search_comparison"
    setup = embedded_setup(config, run_dir)
    network, space = config.network, config.cell_space
    searches = {}
    for method in config.methods:
        algo, objective = METHODS[method]
        task = setup.task(network, config.premature, objective, config.alpha, config.device)
        for seed in config.seeds:
            folder = out / f"{method.replace('+', '')}-seed{seed}"
            searches[(method, seed)] = run_search(
                folder, space, task, budget=config.budget, algo=algo, seed=seed, resume=True, progress=True,
                searcher_kwargs=config.searcher_kwargs(algo),
            ).trials
    cache = dict(zip(*read_table(run_dir, SEARCH_MATURE)[["genotype", "top1_error"]].T.values)) if SEARCH_MATURE.exists(run_dir) else {}
    needed = set().union(*(top_k_genotypes(t, config.top_k) for t in searches.values()))
    for g in sorted(needed - set(cache)):
        cache[g] = train_mature(g, setup, network, config.mature_steps, device=config.device)["top1_error"]
        write_table(run_dir, SEARCH_MATURE, pd.DataFrame({"genotype": list(cache), "top1_error": list(cache.values())}))
    curves = pd.concat(
        [progress_curve(t, cache, config.top_k).assign(method=m, seed=s) for (m, s), t in searches.items()], ignore_index=True
    )
    write_table(run_dir, SEARCH_CURVES, curves)
    final = curves[curves.n_samples == config.budget]
    summary = final.groupby("method").best_mature_error.agg(["mean", "std", "count"]).reset_index()
    write_table(run_dir, SEARCH_SUMMARY, summary)
    write_json(out / "config.json", asdict(config))
    return summary
