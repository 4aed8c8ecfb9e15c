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

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from neurosage.analyses.common import mature_errors, progress_curve, recorded, top_k_genotypes
from neurosage.analyses.embedded import embedded_setup
from neurosage.analyses.settings import EmbeddedConfig, SearchOptions
from neurosage.analyses.results import SEARCH_CURVES, SEARCH_MATURE, SEARCH_SUMMARY, write_table
from neurosage.search import run_search

__all__ = ["SearchComparisonConfig", "run"]

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
    startup_trials: int | None = 4
    tpe_gamma: float = 1.0


@recorded("search_comparison")
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
    needed = set().union(*(top_k_genotypes(t, config.top_k) for t in searches.values()))
    cache = mature_errors(needed, setup, network, config.mature_steps, run_dir, SEARCH_MATURE, device=config.device)
    curves = pd.concat(
        [progress_curve(t, cache, config.top_k).assign(method=m, seed=s) for (m, s), t in searches.items()], ignore_index=True
    )
    write_table(run_dir, SEARCH_CURVES, curves)
    final = curves[curves.n_samples == config.budget]
    summary = final.groupby("method").best_mature_error.agg(["mean", "std", "count"]).reset_index()
    write_table(run_dir, SEARCH_SUMMARY, summary)
    return summary
