"""What a teacher is worth, measured on a pool: its scores beside P, the field's cheap proxies and the controls.

:func:`measure_table` joins a pool's records with teacher scores into one row per architecture and stored step;
:func:`value_table` gives every measure's correlation with a target and its partial correlation given P (what it
adds to P), with paired bootstrap intervals, and the field's rank metrics; :func:`alpha_table` P + alpha TG with
alpha chosen by leave-one-out; :func:`selection_table` the regret of a search's pick by simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.stats.predictors import cv_alpha, predictor_value, rank_agreement
from neurosage.stats.selection import simulate_selection, successive_halving

__all__ = ["measure_table", "value_table", "alpha_table", "selection_table", "TARGETS", "RIVALS"]

#: The targets a pool records: the protocol's end, the same from a second seed, and the long training.
TARGETS = ("M_short", "M_short_2", "M_long")
#: Measures of an architecture that do not depend on training (computed at initialisation).
RIVALS = ("params", "flops")


def measure_table(architectures: pd.DataFrame, checkpoints: pd.DataFrame, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per architecture and stored step: P, the targets, parameters, FLOPs, proxies, and for every scored teacher
    ``S:<teacher>:<endpoint>`` and ``TG:<teacher>`` (the mean of its endpoints' S_i)."""
    check_arguments(measure_table, locals())
    _require(architectures, ("arch", "status"), "measure_table", "architectures", "pool.architectures() first, then pool.checkpoints()")
    _require(checkpoints, ("arch", "step", "P"), "measure_table", "checkpoints", "pool.checkpoints() as the second argument")
    ok = architectures[architectures.status == "ok"].drop(columns=["status"])
    wide = checkpoints.merge(ok, on="arch", how="inner", validate="many_to_one")
    if scores is not None and len(scores):
        s = scores.assign(column="S:" + scores.teacher + ":" + scores.endpoint).pivot_table(index=["arch", "step"], columns="column", values="S")
        tg = scores.groupby(["teacher", "arch", "step"]).S.mean().unstack("teacher").add_prefix("TG:")
        scored = set(zip(scores.arch.astype(int), scores.step.astype(int)))
        foreign = sorted(scored - set(zip(wide.arch.astype(int), wide.step.astype(int))))
        if foreign:  # scores of another pool (or of architectures that failed): their columns would be NaN without a word
            raise ConfigError(f"measure_table: {len(foreign)} of the {len(scored)} (arch, step) pairs of scores are not trained architectures "
                              f"and stored steps of this pool's tables (e.g. {foreign[:3]})", "pass the scores of this pool: "
                              "score_teachers(pool, teachers) with the same pool as pool.architectures() and pool.checkpoints()",
                              field="scores")
        wide = wide.merge(s.join(tg).reset_index(), on=["arch", "step"], how="left", validate="one_to_one")
    return wide.sort_values(["arch", "step"]).reset_index(drop=True)


def _require(table: Any, columns: Sequence[str], function: str, argument: str, made_by: str) -> None:
    """Refuse a table that lacks ``columns`` (an empty frame, another table, arguments swapped), naming what makes it."""
    missing = [c for c in columns if c not in getattr(table, "columns", ())]
    if missing:
        raise ConfigError(f"{function}: {argument} lacks the column(s) {missing} (it has {list(getattr(table, 'columns', []))[:8]})",
                          f"pass {made_by}", field=argument)


def _check_target_and_steps(wide: pd.DataFrame, target: str, steps: Sequence[int] | None, function: str) -> list[int]:
    """``target`` among the table's targets (a misspelling named with the close one) and ``steps`` among its stored steps."""
    if target not in wide:
        have = [t for t in TARGETS if t in wide]
        near = [t for t in have if t.lower() == str(target).lower()]
        raise ConfigError(f"{function}: the table has no target {target!r}", f"use {near[0]!r}" if near else f"use one of {have}",
                          field="target")
    stored = sorted(int(s) for s in wide.step.unique())
    absent = [s for s in steps or () if s not in stored]
    if absent:
        raise ConfigError(f"{function}: step(s) {absent} are not stored in the table", f"use steps among {stored}", field="steps")
    return stored if steps is None else list(steps)


def _require_five(wide: pd.DataFrame, target: str, function: str) -> None:
    """Refuse a target with fewer than 5 architectures: every correlation would be skipped, an empty table without a word."""
    n = int(wide.loc[wide[target].notna(), "arch"].nunique())
    if n < 5:
        have = [t for t in TARGETS if t in wide and wide.loc[wide[t].notna(), "arch"].nunique() >= 5]
        raise ConfigError(f"{function}: the table has {n} architecture(s) with a value of {target!r}; its correlations need at least 5",
                          f"use one of {have}" if have else "use a pool with at least 5 trained architectures", field="target")


def _measures(wide: pd.DataFrame) -> list[str]:
    return [c for c in wide if c.startswith(("S:", "TG:"))]


def _rivals(wide: pd.DataFrame) -> list[str]:
    return [c for c in RIVALS if c in wide] + sorted(c for c in wide if c.startswith("proxy_"))


def value_table(wide: pd.DataFrame, *, target: str = "M_short", baseline: str = "P", steps: Sequence[int] | None = None,
                drop_lowest: int = 0, n_bootstrap: int = 2000, k_fraction: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """Every measure against ``target`` at every step: r and its interval, the partial r given ``baseline`` (P at that
    step) with its interval and p, Spearman, Kendall tau-b and top-k precision, each with an interval.

    Rivals computed at initialisation (parameters, FLOPs, zero-cost proxies) are reported at step 0; P itself at every
    step (its partial r given itself is not defined). ``drop_lowest`` leaves out the architectures with the lowest
    target (a robustness check).
    """
    check_arguments(value_table, locals())
    _require(wide, ("arch", "step", "P"), "value_table", "wide", "measure_table(pool.architectures(), pool.checkpoints(), scores)")
    _require(wide, (baseline,), "value_table", "baseline", "a column of the table, e.g. baseline='P'")
    rows: list[dict[str, Any]] = []
    n_archs = int(wide.arch.nunique())
    if drop_lowest > n_archs - 3:
        raise ConfigError(f"value_table: drop_lowest = {drop_lowest} leaves {max(n_archs - drop_lowest, 0)} of the table's {n_archs} "
                          "architectures, and a correlation needs at least 3", f"give drop_lowest of at most {max(n_archs - 3, 0)}",
                          field="drop_lowest")
    checked = _check_target_and_steps(wide, target, steps, "value_table")
    _require_five(wide, target, "value_table")
    for step in checked:
        at = wide[(wide.step == step) & wide[target].notna()].sort_values("arch")
        if drop_lowest:
            at = at.sort_values(target).iloc[drop_lowest:].sort_values("arch")
        columns = [baseline] + _measures(at) + (_rivals(at) if step == 0 else [])
        for column in columns:
            values = at[column].to_numpy(dtype=float)
            keep = np.isfinite(values)
            if keep.sum() < 5 or np.ptp(values[keep]) == 0:
                continue
            score, y, p = values[keep], at[target].to_numpy(dtype=float)[keep], at[baseline].to_numpy(dtype=float)[keep]
            row: dict[str, Any] = {"step": int(step), "measure": column, "target": target, "n": int(keep.sum())}
            plain = predictor_value(score, y, n_bootstrap=n_bootstrap, seed=seed)
            row.update(r=plain["estimate"], r_low=plain["ci_low"], r_high=plain["ci_high"])
            if column != baseline and np.ptp(p) > 0:
                partial = predictor_value(score, y, p, n_bootstrap=n_bootstrap, seed=seed)
                row.update(partial_r=partial["estimate"], partial_low=partial["ci_low"], partial_high=partial["ci_high"], partial_p=partial["p"])
            ranks = rank_agreement(score, y, k_fraction, n_bootstrap=n_bootstrap, seed=seed)
            row.update({k: ranks[k] for k in ranks if k != "n"})
            rows.append(row)
    return pd.DataFrame(rows)


def alpha_table(wide: pd.DataFrame, *, target: str = "M_short", steps: Sequence[int] | None = None, n_bootstrap: int = 2000,
                seed: int = 0) -> pd.DataFrame:
    """P + alpha TG (and + alpha S_i) with alpha chosen by leave-one-out, its out-of-sample r against P's, per step."""
    check_arguments(alpha_table, locals())
    _require(wide, ("arch", "step", "P"), "alpha_table", "wide", "measure_table(pool.architectures(), pool.checkpoints(), scores)")
    rows = []
    checked = _check_target_and_steps(wide, target, steps, "alpha_table")
    _require_five(wide, target, "alpha_table")
    for step in checked:
        at = wide[(wide.step == step) & wide[target].notna()].sort_values("arch")
        for column in _measures(at):
            values = at[column].to_numpy(dtype=float)
            if len(at) < 5 or not np.isfinite(values).all() or np.ptp(values) == 0 or np.ptp(at.P) == 0:
                continue
            result = cv_alpha(at.P.to_numpy(dtype=float), values, at[target].to_numpy(dtype=float), n_bootstrap=n_bootstrap, seed=seed)
            rows.append({"step": int(step), "measure": column, "target": target, **result})
    return pd.DataFrame(rows)


def selection_table(wide: pd.DataFrame, *, target: str = "M_short", step: int | None = None, pool_size: int = 16, top_k: int = 3,
                    n_draws: int = 2000, seed: int = 0, alphas: dict[str, float] | None = None) -> pd.DataFrame:
    """Regret of a search's pick on random sub-pools of ``pool_size`` (paired: the same sub-pools for every rule).

    Rules: P at ``step`` (default: the last checkpoint), P + alpha TG for each teacher (alpha from ``alphas``, e.g. the
    cross-validated one; 1 otherwise), every rival at initialisation, each also with its top ``top_k`` reranked by P at
    the last checkpoint, and successive halving over the stored steps by P.
    """
    check_arguments(selection_table, locals())
    missing = [c for c in ("arch", "step", "P", target) if c not in getattr(wide, "columns", ())]
    if missing:
        raise ConfigError(f"selection_table takes measure_table's wide table (arch, step, P, the target, the scores); it lacks {missing}",
                          "pass measure_table(pool.architectures(), pool.checkpoints(), scores)", field="wide")
    steps = _check_target_and_steps(wide, target, None, "selection_table")
    step = steps[-1] if step is None else _check_target_and_steps(wide, target, [step], "selection_table")[0]
    at = wide[(wide.step == step) & wide[target].notna()].sort_values("arch")
    arch = at.arch.to_numpy()
    y = at[target].to_numpy(dtype=float)
    p = at.P.to_numpy(dtype=float)
    scores: dict[str, np.ndarray] = {f"P@{step}": p}
    weighed = [c for c in at if c.startswith("TG:")]
    unknown = sorted(set(alphas or {}) - set(map(str, at.columns)))
    if unknown:  # a key that names no column of the table would weigh nothing: the rule would run with alpha 1
        raise ConfigError(f"alphas names {unknown}, and the table's TG columns are {weighed}", "key alphas by a TG column, e.g. "
                          f"{{{(weighed[0] if weighed else 'TG:teacher')!r}: 1.0}}", field="alphas")
    for column in weighed:
        alpha = (alphas or {}).get(column, 1.0)
        scores[f"P+{alpha:g}{column}@{step}"] = p + alpha * at[column].to_numpy(dtype=float)
    initial = wide[wide.step == 0].set_index("arch").reindex(arch)
    for column in _rivals(initial):
        values = initial[column].to_numpy(dtype=float)
        if np.isfinite(values).all():
            scores[column] = values
    base = f"P@{step}"
    top1 = simulate_selection(y, scores, pool_size=pool_size, n_draws=n_draws, seed=seed, baseline=base).assign(protocol="top-1")
    rerank = simulate_selection(y, scores, pool_size=pool_size, n_draws=n_draws, seed=seed, top_k=top_k, rerank_by=p, baseline=base)
    by_step = [wide[wide.step == s].set_index("arch").reindex(arch).P.to_numpy(dtype=float) for s in steps]
    halving = successive_halving(y, by_step, pool_size=pool_size, n_draws=n_draws, seed=seed)
    return pd.concat([top1, rerank.assign(protocol=f"top-{top_k} reranked by P@{step}"), halving.assign(protocol="successive halving by P")],
                     ignore_index=True)
