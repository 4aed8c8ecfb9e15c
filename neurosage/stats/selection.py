"""Search value by simulation: how much converged accuracy a selection rule gives up, on sub-pools of a scored pool.

A correlation says how well a score ranks a whole pool; a search only needs the best architecture. Here a pool
of N architectures with known converged accuracy (the target) is cut into many random sub-pools of
``pool_size`` architectures (without replacement), each rule picks one architecture per sub-pool, and the
**regret** is the best target in the sub-pool minus the picked architecture's target (0 when the rule finds the
sub-pool's best; never negative). Every rule sees the same sub-pools (paired), so rules are compared by their
per-sub-pool differences.

Two kinds of uncertainty must not be confused:

- **Monte Carlo** (``ci_low``, ``ci_high``, ``diff_ci_low``, ``diff_ci_high``): a percentile bootstrap over the
  draws. It shrinks to 0 as ``n_draws`` grows and says only how precisely the simulation has computed the
  expected regret *for this pool*.
- **The pool** (``pool_ci_low``, ... with ``n_pool_bootstrap > 0``): the N architectures are themselves a sample.
  Each replicate resamples the N architectures with replacement and reruns the simulation on the resample; the
  percentile interval over replicates approximates how the expected regret would vary with another pool of the
  same kind (an approximation that degrades as ``pool_size`` approaches N, since a resample holds about 63% of
  the distinct architectures). Only this interval speaks to whether a rule is better in general.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments, same_index, vector, whole
from neurosage.stats.predictors import _bootstrap_settings, _chunks, _counts, _vector

__all__ = ["simulate_selection", "successive_halving"]

log = logging.getLogger(__name__)

RANDOM_RULE = "random pick"
HALVING_RULE = "successive halving"

#: A rule: given sub-pools (D, m) of architecture indices, the column (D,) of the architecture it picks.
_Rule = Callable[[np.ndarray], np.ndarray]


# ---------------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------------


def _target(target) -> np.ndarray:
    y = _vector(target, "target", constant_ok=True)
    if len(y) < 2:
        raise ConfigError(f"a selection needs a pool of at least 2 architectures, got {len(y)}", "score more architectures", field="target")
    return y


def _scores(scores: Mapping[str, object], n: int, reserved: Sequence[str]) -> dict[str, np.ndarray]:
    if not isinstance(scores, Mapping) or not scores:
        raise ConfigError("scores must be a non-empty mapping of rule name -> score array",
                          'pass e.g. {"P": p, "P + TG": p + alpha * tg}', field="scores")
    out = {}
    for name, values in scores.items():
        if not isinstance(name, str) or name in reserved:
            raise ConfigError(f"scores has a rule named {name!r}", f"name each rule by a string other than {list(reserved)}", field="scores")
        out[name] = _vector(values, f"scores[{name!r}]", n, constant_ok=True)
    return out


def _level(level: float) -> float:
    _bootstrap_settings(1, level)
    return float(level)


# ---------------------------------------------------------------------------------------------------------------------
# The simulation
# ---------------------------------------------------------------------------------------------------------------------


def _subpools(n: int, pool_size: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """(n_draws, pool_size) architecture indices: each row a uniform random subset, in random order."""
    return np.argsort(rng.random((n_draws, n)), axis=1)[:, :pool_size]


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Columns of the k largest values per row, best first; ties go to the earlier column (random, as rows are shuffled)."""
    return np.argsort(-values, axis=1, kind="stable")[:, :k]


def _score_rule(score: np.ndarray, top_k: int, rerank: np.ndarray | None) -> _Rule:
    """Pick the highest ``score`` (``top_k == 1``), or shortlist the top_k by ``score`` and pick the highest ``rerank``."""
    def pick(pools: np.ndarray) -> np.ndarray:
        s = score[pools]
        if top_k == 1:
            return np.argmax(s, axis=1)
        assert rerank is not None, "a shortlist needs a rerank score"
        shortlist = _top(s, top_k)
        second = np.take_along_axis(rerank[pools], shortlist, axis=1)
        return shortlist[np.arange(len(pools)), np.argmax(second, axis=1)]
    return pick


def _halving_rule(checkpoints: list[np.ndarray], eta: float, evaluations: list[int]) -> _Rule:
    """Successive halving: at checkpoint j evaluate the survivors, keep the best max(1, floor(m / eta)); pick the last best.

    ``evaluations`` receives the number of architectures evaluated at each checkpoint (the same for every sub-pool).
    """
    def pick(pools: np.ndarray) -> np.ndarray:
        rows = np.arange(len(pools))
        alive = np.broadcast_to(np.arange(pools.shape[1]), pools.shape)  # columns of the sub-pool still in the race
        evaluations.clear()
        for j, score in enumerate(checkpoints):
            s = np.take_along_axis(score[pools], alive, axis=1)
            evaluations.append(alive.shape[1])
            if j == len(checkpoints) - 1:
                return alive[rows, np.argmax(s, axis=1)]
            keep = max(1, math.floor(alive.shape[1] / eta + 1e-9))
            alive = np.take_along_axis(alive, _top(s, keep), axis=1)
            if keep == 1:
                return alive[:, 0]
        raise AssertionError("unreachable")
    return pick


def _regrets(target: np.ndarray, pools: np.ndarray, rules: Mapping[str, _Rule], random_row: bool
             ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-draw regret and oracle hit (or, for the random pick, their exact expectations over the sub-pool)."""
    t = target[pools]
    best = t.max(axis=1)
    rows = np.arange(len(pools))
    regret, hit = {}, {}
    for name, rule in rules.items():
        chosen = t[rows, rule(pools)]
        regret[name], hit[name] = best - chosen, (chosen >= best).astype(float)
    if random_row:
        regret[RANDOM_RULE] = best - t.mean(axis=1)
        hit[RANDOM_RULE] = np.mean(t >= best[:, None], axis=1)
    return regret, hit


def _table(target: np.ndarray, rules: Mapping[str, _Rule], how: Mapping[str, str], *, pool_size: int, n_draws: int, seed: int,
           baseline: str | None, random_row: bool, n_bootstrap: int, n_pool_bootstrap: int, level: float) -> pd.DataFrame:
    n = len(target)
    rng = np.random.default_rng(seed)
    pools = _subpools(n, pool_size, n_draws, rng)  # drawn first: the same seed gives the same sub-pools in every function
    regret, hit = _regrets(target, pools, rules, random_row)
    names = list(regret)
    if baseline is not None and baseline not in names:
        raise ConfigError(f"baseline {baseline!r} is not one of the rules {names}", "name one of the scores' keys", field="baseline")
    matrix = np.column_stack([regret[name] for name in names])  # (D, rules)
    diffs = matrix - matrix[:, [names.index(baseline)]] if baseline is not None else np.full_like(matrix, np.nan)

    # Monte Carlo interval: bootstrap over draws, all rules and differences from the same resamples (paired).
    both = np.hstack([matrix, diffs])
    boot = np.empty((n_bootstrap, both.shape[1]))
    for part in _chunks(n_bootstrap, n_draws):
        rows = part.stop - part.start
        boot[part] = _counts(rng.integers(0, n_draws, size=(rows, n_draws)), n_draws) @ both / n_draws
    quantiles = [(1 - level) / 2, (1 + level) / 2]
    low, high = np.quantile(boot, quantiles, axis=0)

    pool_low = pool_high = np.full(2 * len(names), np.nan)
    if n_pool_bootstrap:
        replicates = np.empty((n_pool_bootstrap, 2 * len(names)))
        for b in range(n_pool_bootstrap):  # each replicate is vectorised over its draws
            resample = rng.integers(0, n, size=n)
            local = _subpools(n, pool_size, n_draws, rng)
            r, _ = _regrets(target, resample[local], rules, random_row)
            m = np.column_stack([r[name] for name in names]).mean(axis=0)
            replicates[b] = np.concatenate([m, m - m[names.index(baseline)] if baseline is not None else np.full_like(m, np.nan)])
        pool_low, pool_high = np.quantile(replicates, quantiles, axis=0)

    k = len(names)
    spread_low, spread_high = np.quantile(matrix, quantiles, axis=0)
    table = pd.DataFrame({
        "rule": names,
        "how": [how.get(name, "uniformly at random (exact expectation over the sub-pool)") for name in names],
        "mean_regret": matrix.mean(axis=0), "ci_low": low[:k], "ci_high": high[:k],
        "regret_q_low": spread_low, "regret_q_high": spread_high,
        "p_oracle": np.column_stack([hit[name] for name in names]).mean(axis=0),
        "baseline": baseline, "diff": diffs.mean(axis=0), "diff_ci_low": low[k:], "diff_ci_high": high[k:],
        "pool_ci_low": pool_low[:k], "pool_ci_high": pool_high[:k], "diff_pool_ci_low": pool_low[k:], "diff_pool_ci_high": pool_high[k:],
        "pool_size": pool_size, "n_draws": n_draws, "n": n,
    })
    log.debug("selection over %d sub-pools of %d from %d architectures:\n%s", n_draws, pool_size, n, table)
    return table


def simulate_selection(target, scores: Mapping[str, object], *, pool_size: int, n_draws: int = 2000, seed: int = 0,
                       top_k: int = 1, rerank_by=None, baseline: str | None = None, random_row: bool = True,
                       n_bootstrap: int = 2000, n_pool_bootstrap: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Expected regret of picking by each score, on random sub-pools of the scored pool.

    For each of ``n_draws`` sub-pools of ``pool_size`` architectures (uniform, without replacement, in random
    order; the same sub-pools for every rule), each rule picks one architecture:

    - ``top_k = 1``: the highest score;
    - ``top_k > 1``: the ``top_k`` highest scores are shortlisted and the one with the highest ``rerank_by`` is
      picked (e.g. P at a later checkpoint); with ``rerank_by=None`` the shortlist is trained to convergence,
      i.e. reranked by the target itself.

    Ties in a score go to the architecture that comes first in the sub-pool's random order, i.e. are broken
    uniformly at random. Regret = the sub-pool's best target minus the picked architecture's target; the oracle is
    hit when the picked target equals the sub-pool's best (ties in the target count as hits).

    Parameters
    ----------
    target
        Converged accuracy of each of the N architectures.
    scores
        Rule name -> score of each architecture (higher is better); constant scores are allowed (a random pick).
    pool_size
        Architectures per sub-pool, between 2 and N.
    n_draws
        Number of sub-pools.
    seed
        Seed of the ``numpy.random.Generator`` that draws the sub-pools (first) and the bootstrap resamples. The
        same seed, N, pool_size and n_draws give the same sub-pools here and in :func:`successive_halving`.
    top_k, rerank_by
        Shortlist size, and the array (one value per architecture) that picks within the shortlist.
    baseline
        The rule the others are compared with (``diff = regret(rule) - regret(baseline)``, per sub-pool; negative
        means the rule loses less). Default: the first rule of ``scores``.
    random_row
        Add the row ``"random pick"``: the exact expected regret and oracle probability of picking uniformly at
        random within each sub-pool (the value of having no score at all).
    n_bootstrap
        Resamples of the draws for the Monte Carlo intervals.
    n_pool_bootstrap
        Replicates of the pool bootstrap (0: none); each replicate reruns ``n_draws`` sub-pools.
    level
        Coverage of every interval (and of the regret quantiles).

    Returns
    -------
    pandas.DataFrame
        One row per rule: ``rule``, ``how``, ``mean_regret`` with its Monte Carlo interval ``ci_low``, ``ci_high``;
        ``regret_q_low``, ``regret_q_high`` (the central ``level`` range of the regret over sub-pools: its spread,
        not an uncertainty); ``p_oracle`` (probability of picking the sub-pool's best); ``baseline``, ``diff`` (mean
        paired difference of regret against the baseline) with its Monte Carlo interval ``diff_ci_low``,
        ``diff_ci_high``; the pool-bootstrap intervals ``pool_ci_low``, ``pool_ci_high``, ``diff_pool_ci_low``,
        ``diff_pool_ci_high`` (NaN unless ``n_pool_bootstrap > 0``); ``pool_size``, ``n_draws``, ``n``.
    """
    check_arguments(simulate_selection, locals())
    if isinstance(scores, Mapping):
        same_index(target=target, **{str(k): v for k, v in scores.items()}, **({"rerank_by": rerank_by} if rerank_by is not None else {}))
    y = _target(target)
    n = len(y)
    pool_size = whole(pool_size, "pool_size", 2, n, f"use a pool_size between 2 and the number of architectures ({n})")
    n_draws = whole(n_draws, "n_draws", 1)
    n_pool_bootstrap = whole(n_pool_bootstrap, "n_pool_bootstrap", 0)
    top_k = whole(top_k, "top_k", 1, pool_size, f"use a top_k between 1 and pool_size ({pool_size})")
    _bootstrap_settings(n_bootstrap, _level(level))
    named = _scores(scores, n, (RANDOM_RULE,) if random_row else ())
    rerank = y if rerank_by is None else _vector(rerank_by, "rerank_by", n, constant_ok=True)
    if rerank_by is not None and top_k == 1:
        log.warning("rerank_by is ignored with top_k = 1 (nothing to rerank)")
    rules = {name: _score_rule(score, top_k, rerank) for name, score in named.items()}
    second = "the target (trained to convergence)" if rerank_by is None else "rerank_by"
    how = {name: f"highest {name}" if top_k == 1 else f"top {top_k} by {name}, then highest {second}" for name in named}
    return _table(y, rules, how, pool_size=pool_size, n_draws=n_draws, seed=seed, baseline=baseline or next(iter(named)),
                  random_row=random_row, n_bootstrap=n_bootstrap, n_pool_bootstrap=n_pool_bootstrap, level=level)


def successive_halving(target, checkpoint_scores: Sequence[object], *, pool_size: int, eta: float = 2, n_draws: int = 2000,
                       seed: int = 0, checkpoint_cost: Sequence[float] | None = None, scores: Mapping[str, object] | None = None,
                       baseline: str | None = None, random_row: bool = True, n_bootstrap: int = 2000, n_pool_bootstrap: int = 0,
                       level: float = 0.95) -> pd.DataFrame:
    """Expected regret and cost of successive halving over increasing checkpoints, on random sub-pools.

    In each sub-pool (drawn exactly as in :func:`simulate_selection` with the same seed, so the two are paired):
    every architecture is evaluated at checkpoint 0; the best ``max(1, floor(m / eta))`` of the ``m`` evaluated
    by that checkpoint's score go on to checkpoint 1, and so on. The pick is the best survivor by the last
    checkpoint's score, or the single survivor when one is left before the last checkpoint (later checkpoints are
    then not evaluated). Ties go to the architecture first in the sub-pool's random order.

    Parameters
    ----------
    target
        Converged accuracy of each of the N architectures.
    checkpoint_scores
        One score array per checkpoint (e.g. P after 10, 30, 100 steps), in increasing order of training.
    pool_size
        Architectures per sub-pool, between 2 and N.
    eta
        Reduction factor (> 1): a round keeps 1/eta of its architectures.
    n_draws, seed, random_row, n_bootstrap, n_pool_bootstrap, level
        As in :func:`simulate_selection`.
    checkpoint_cost
        Training cost of reaching each checkpoint from scratch (e.g. steps: 10, 30, 100); increasing. An
        architecture last evaluated at checkpoint j costs ``checkpoint_cost[j]`` (training resumes between
        checkpoints). Gives the column ``training_cost``; ``full_training_cost`` is ``pool_size`` times the last.
    scores
        Further rules (name -> score) simulated on the same sub-pools, e.g. ``{"P@100": p100}``: picking the top-1
        of a score after training every candidate to that checkpoint.
    baseline
        Rule the others are compared with. Default: the first of ``scores``, else successive halving itself.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`simulate_selection`, one row ``"successive halving"`` (plus the rules of ``scores``
        and the random pick), and ``evaluations`` (number of (architecture, checkpoint) evaluations per sub-pool,
        the same for every sub-pool; NaN for other rules), ``evaluations_by_checkpoint`` (a string such as
        ``"32, 16, 8"``), ``training_cost`` and ``full_training_cost`` (NaN without ``checkpoint_cost``).
    """
    check_arguments(successive_halving, locals())
    scored = dict(scores) if isinstance(scores, Mapping) else {}
    checkpoints = list(checkpoint_scores) if isinstance(checkpoint_scores, (list, tuple)) else []
    same_index(target=target, **{f"checkpoint_scores[{i}]": v for i, v in enumerate(checkpoints)}, **{str(k): v for k, v in scored.items()})
    y = _target(target)
    n = len(y)
    pool_size = whole(pool_size, "pool_size", 2, n, f"use a pool_size between 2 and the number of architectures ({n})")
    n_draws = whole(n_draws, "n_draws", 1)
    n_pool_bootstrap = whole(n_pool_bootstrap, "n_pool_bootstrap", 0)
    _bootstrap_settings(n_bootstrap, _level(level))
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.integer, np.floating)) or not (1 < eta < math.inf):
        raise ConfigError(f"eta must be a number above 1, got {eta!r}", "use eta = 2 (halve) or 3", field="eta")
    if isinstance(checkpoint_scores, (str, bytes, Mapping)) or not isinstance(checkpoint_scores, Sequence) or not checkpoint_scores:
        raise ConfigError("checkpoint_scores must be a non-empty list of score arrays, one per checkpoint",
                          "pass e.g. [p_at_10_steps, p_at_30_steps, p_at_100_steps]", field="checkpoint_scores")
    checkpoints = [_vector(c, f"checkpoint_scores[{j}]", n, constant_ok=True) for j, c in enumerate(checkpoint_scores)]
    cost = None
    if checkpoint_cost is not None:
        cost = vector(checkpoint_cost, "checkpoint_cost", len(checkpoints), constant_ok=True, unit="checkpoint",
                      first=f"checkpoint_scores (its {len(checkpoints)} checkpoints)")
        if np.any(cost < 0) or np.any(np.diff(cost) < 0):
            raise ConfigError(f"checkpoint_cost must be non-negative and non-decreasing, got {cost.tolist()}",
                              "give the cumulative training cost of reaching each checkpoint (e.g. steps)", field="checkpoint_cost")
    reserved = (HALVING_RULE, RANDOM_RULE) if random_row else (HALVING_RULE,)
    named = _scores(scores, n, reserved) if scores is not None else {}
    evaluations: list[int] = []
    rules: dict[str, _Rule] = {HALVING_RULE: _halving_rule(checkpoints, eta, evaluations)}
    rules.update({name: _score_rule(score, 1, None) for name, score in named.items()})
    how = {HALVING_RULE: f"successive halving over {len(checkpoints)} checkpoint(s), eta = {eta:g}"}
    how.update({name: f"highest {name}" for name in named})
    table = _table(y, rules, how, pool_size=pool_size, n_draws=n_draws, seed=seed,
                   baseline=baseline or (next(iter(named)) if named else HALVING_RULE), random_row=random_row,
                   n_bootstrap=n_bootstrap, n_pool_bootstrap=n_pool_bootstrap, level=level)
    halving = (table["rule"] == HALVING_RULE).to_numpy()
    table["evaluations"] = np.where(halving, float(sum(evaluations)), np.nan)
    table["evaluations_by_checkpoint"] = np.where(halving, ", ".join(map(str, evaluations)), "")
    spent = float("nan")
    if cost is not None:  # evaluations[j] - evaluations[j + 1] architectures stop at checkpoint j
        stopped = np.diff(np.append(evaluations, 0)) * -1
        spent = float(np.dot(stopped, cost[: len(evaluations)]))
    table["training_cost"] = np.where(halving, spent, np.nan)
    table["full_training_cost"] = np.where(halving, pool_size * cost[-1] if cost is not None else np.nan, np.nan)
    return table
