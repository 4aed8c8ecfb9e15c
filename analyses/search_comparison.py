"""Search efficiency: random vs P vs P+TG for each search algorithm, space and premature budget (paper
section 4.2, Table 1, Figure 4).

Every combination of ``algorithms`` (``rl``, ``tpe``, any registered searcher) x ``objectives``
(``p``, ``p+tg``) x ``spaces`` x premature budgets x ``seeds`` is one search of ``budget`` samples; with
``random_baseline`` a random search per space, budget and seed (scored by P) is the Random row of
every algorithm's column, as in the paper. After every sample, the current top-``top_k`` genotypes by
search score are looked up in a cache of mature errors (each distinct genotype is trained to maturity
once), and the best mature error among them is recorded against the number of samples and the
cumulative cost in training examples.

Outputs in ``<run>/search_comparison/``: one search folder per search
(``<space>/<budget>/<algorithm>-<P|PTG>-seed<seed>``), ``mature.csv`` (genotype -> mature error),
``curves.csv`` and ``summary.csv`` (mean, sd and a 95% t-interval over seeds).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from neurosage.analyses.embedded import embedded_setup
from neurosage.analyses.results import (
    SEARCH_CURVES,
    SEARCH_MATURE,
    SEARCH_PAIRED,
    SEARCH_SUMMARY,
    write_table,
)
from neurosage.analyses.search_protocol import (
    mature_errors,
    progress_curve,
    recorded,
    top_k_genotypes,
)
from neurosage.analyses.settings import EmbeddedConfig, SearchOptions
from neurosage.core.errors import ConfigError
from neurosage.search.driver import run_search
from neurosage.search.executors import executor_for
from neurosage.search.weights import weights_to_keep
from neurosage.spaces import space_for
from neurosage.stats import paired_difference
from neurosage.training.configs import TrainConfig

__all__ = ["SearchComparisonConfig", "Search", "run", "METHOD_NAMES", "summarize", "paired_summary"]

log = logging.getLogger(__name__)

#: The Table 1 row of each objective; the random baseline is "Random".
METHOD_NAMES = {"p": "P", "p+tg": "P+TG", "tg": "TG"}


@dataclass(frozen=True)
class Search:
    """One search of the comparison: its algorithm, objective, space, premature training and seed."""

    algorithm: str
    objective: str
    space: str
    premature: TrainConfig
    premature_label: str
    seed: int

    @property
    def method(self) -> str:
        return "Random" if self.algorithm == "random" else METHOD_NAMES[self.objective]

    @property
    def folder(self) -> str:
        tag = "random" if self.algorithm == "random" else f"{self.algorithm}-{self.method.replace('+', '')}"
        return f"{self.space}/{self.premature_label.replace(' ', '')}/{tag}-seed{self.seed}"


@dataclass(frozen=True)
class SearchComparisonConfig(SearchOptions, EmbeddedConfig):
    """Options of the search comparison; seeds are shared across searches (common random numbers).

    ``algorithms`` x ``objectives`` x ``spaces`` x premature budgets x ``seeds`` are searched (``algo``,
    ``objective`` and ``space`` are unused). The premature budgets are ``premature_epochs_grid`` (epochs per
    sample, the paper's 2 and 20), else ``premature_steps_grid``, else the single ``premature_steps`` /
    ``premature_epochs``. ``tpe_gamma`` and ``startup_trials`` are TPE's (see :class:`SearchOptions`);
    ``rl_learning_rate`` is the RL controller's Adam step (Zoph & Le: 0.0006).
    """

    UNUSED: ClassVar[dict[str, tuple[str, str]]] = {
        "algo": ("the comparison runs its algorithms, not algo", "list the searchers in algorithms = [...] instead of {flag}"),
        "objective": ("the comparison scores its objectives, not objective", "list them in objectives = [...] instead of {flag}"),
        "space": ("the comparison searches its spaces, not space", "list them in spaces = [...] instead of {flag}")}

    algorithms: tuple[str, ...] = ("rl", "tpe")
    objectives: tuple[str, ...] = ("p", "p+tg")
    random_baseline: bool = True
    spaces: tuple[str, ...] = ("layers-10", "layers-20")
    space: str = "layers-10"  # unused (``spaces`` are searched); a layer-wise default, so the default width passes the settings check
    premature_steps_grid: tuple[int, ...] = ()
    premature_epochs_grid: tuple[float, ...] = ()
    width_multiplier: float = 0.125
    seeds: tuple[int, ...] = (0, 1, 2)
    budget: int = 8
    premature_steps: int = 20
    mature_steps: int = 60
    top_k: int = 2
    n_val: int = 500
    n_stimuli: int = 200
    startup_trials: int | None = 4
    tpe_gamma: float = 1.0
    rl_learning_rate: float = 6e-4

    def premature_budgets(self) -> list[tuple[str, TrainConfig]]:
        """``(label, premature training)`` of each budget per sample."""
        if self.premature_epochs_grid:
            return [(f"{e:g} epochs", TrainConfig(epochs=e, batch_size=self.batch_size, bn_recalibration=self.bn_recalibration))
                    for e in self.premature_epochs_grid]
        if self.premature_steps_grid:
            return [(f"{s} steps", TrainConfig(steps=s, batch_size=self.batch_size, bn_recalibration=self.bn_recalibration))
                    for s in self.premature_steps_grid]
        premature = self.premature
        return [(f"{premature.epochs:g} epochs" if premature.epochs else f"{premature.steps} steps", premature)]

    def searches(self) -> list[Search]:
        """Every search of the comparison, in the order they run."""
        algorithms = (["random"] if self.random_baseline else []) + list(self.algorithms)
        out = []
        for space in self.spaces:
            for label, premature in self.premature_budgets():
                for algorithm in algorithms:
                    for objective in (["p"] if algorithm == "random" else self.objectives):
                        out += [Search(algorithm, objective, space, premature, label, seed) for seed in self.seeds]
        return out

    def check(self) -> None:
        """Refuse a comparison that cannot run, before anything is trained."""
        unknown = [o for o in self.objectives if o not in METHOD_NAMES]
        if unknown:
            raise ConfigError(f"unknown objective(s) {unknown}", f"choose from {list(METHOD_NAMES)}", field="objectives")
        if not self.spaces or not self.seeds or not (self.algorithms or self.random_baseline):
            raise ConfigError("the comparison has no search to run", "give at least one space, seed and algorithm", field="spaces")
        for name in self.spaces:
            self.network.check_space(space_for(name, self.n_blocks))

    def searcher_kwargs(self, algo: str | None = None):
        if (algo or self.algo) == "rl":
            return {"learning_rate": self.rl_learning_rate}
        return super().searcher_kwargs(algo)


@recorded("search_comparison")
def run(run_dir: str | Path, config: SearchComparisonConfig = SearchComparisonConfig(), *, client=None) -> pd.DataFrame:
    config.check()
    run_dir = Path(run_dir)
    out = run_dir / "search_comparison"
    needs_teacher = any(s.objective != "p" for s in config.searches())
    setup = embedded_setup(config, run_dir, with_teacher=needs_teacher)
    network = config.network
    trials = {}
    for search in config.searches():
        task = setup.task(network, search.premature, search.objective, config.alpha, config.device, config.candidate_threads)
        t0 = time.perf_counter()
        trials[search] = run_search(
            out / search.folder, space_for(search.space, config.n_blocks), task, budget=config.budget, algo=search.algorithm,
            seed=search.seed, resume=True, progress=True, searcher_kwargs=config.searcher_kwargs(search.algorithm), client=client,
            keep_weights=weights_to_keep(config.keep_weights, config.top_k),
        ).trials
        log.info("search %s: %d samples in %.0f s", search.folder, len(trials[search]), time.perf_counter() - t0)
    needed = set().union(*(top_k_genotypes(t, config.top_k) for t in trials.values()))
    with executor_for(client=client) as executor:
        cache = mature_errors(needed, setup, network, config.mature_steps, run_dir, SEARCH_MATURE, device=config.device, executor=executor,
                              threads=config.candidate_threads)
    curves = pd.concat([
        progress_curve(t, cache, config.top_k).assign(
            algorithm=s.algorithm, method=s.method, space=s.space, premature=s.premature_label, seed=s.seed,
        ) for s, t in trials.items()
    ], ignore_index=True)
    write_table(run_dir, SEARCH_CURVES, curves)
    final = curves[curves.n_samples == config.budget]
    summary = summarize(final)
    write_table(run_dir, SEARCH_SUMMARY, summary)
    paired = paired_summary(final)
    if not paired.empty:
        write_table(run_dir, SEARCH_PAIRED, paired)
        for row in paired.itertuples():
            log.warning("%s on %s (%s): %s minus %s, best mature error %+.4f [%+.4f, %+.4f], p = %.3g, n = %d seeds, detectable %.4f",
                        row.algorithm, row.space, row.premature, row.method, row.baseline, row.estimate, row.lo, row.hi, row.p, row.n, row.detectable)
    return summary


def summarize(final: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd, count and a 95% t-interval of the best mature error over seeds, per algorithm, space, budget and method."""
    keys = ["algorithm", "space", "premature", "method"]
    summary = final.groupby(keys, sort=False).best_mature_error.agg(["mean", "std", "count"]).reset_index()
    half = stats.t.ppf(0.975, np.maximum(summary["count"] - 1, 1)) * summary["std"] / np.sqrt(summary["count"])
    return summary.assign(ci_lo=summary["mean"] - half, ci_hi=summary["mean"] + half)


def paired_summary(final: pd.DataFrame, baseline: str = "P") -> pd.DataFrame:
    """Each method's best mature error minus the baseline method's, paired by seed within algorithm, space and budget.

    Random search has no objective; it is compared with the baseline of every algorithm in the same space and budget.
    """
    rows = []
    for (space, premature), group in final.groupby(["space", "premature"], sort=False):
        for algorithm in [a for a in group.algorithm.unique() if a != "random"]:
            base = group[(group.algorithm == algorithm) & (group.method == baseline)].set_index("seed").best_mature_error
            others = group[((group.algorithm == algorithm) & (group.method != baseline)) | (group.algorithm == "random")]
            for (other_algorithm, method), rows_of in others.groupby(["algorithm", "method"], sort=False):
                other = rows_of.set_index("seed").best_mature_error
                seeds = sorted(set(base.index) & set(other.index))
                result = paired_difference(other.loc[seeds].to_numpy(), base.loc[seeds].to_numpy())
                rows.append({"algorithm": algorithm if other_algorithm != "random" else f"random vs {algorithm}", "space": space,
                             "premature": premature, "method": method, "baseline": f"{algorithm} {baseline}",
                             **{k: v for k, v in result.to_dict().items() if k != "test"}})
    return pd.DataFrame(rows)
