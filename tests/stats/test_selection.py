"""Search value by simulation against exact enumeration of every sub-pool of a tiny pool."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosage.core.errors import ConfigError
from neurosage.stats import simulate_selection, successive_halving


def _exact(target, pick, pool_size):
    """Expected regret and oracle probability over every sub-pool of ``pool_size``, ``pick(subset) -> architecture``."""
    regrets, hits = [], []
    for subset in itertools.combinations(range(len(target)), pool_size):
        chosen = pick(list(subset))
        best = max(target[i] for i in subset)
        regrets.append(best - target[chosen])
        hits.append(target[chosen] == best)
    return np.mean(regrets), np.mean(hits)


def _row(table, rule):
    return table.set_index("rule").loc[rule]


def test_a_perfect_score_has_no_regret_and_a_random_score_its_exact_expected_regret():
    rng = np.random.default_rng(0)
    target = rng.normal(size=6)
    score = rng.normal(size=6)  # unrelated to the target
    table = simulate_selection(target, {"perfect": target, "random score": score, "constant": np.zeros(6)},
                               pool_size=3, n_draws=20000, n_bootstrap=500, seed=1)
    assert isinstance(table, pd.DataFrame) and list(table["rule"]) == ["perfect", "random score", "constant", "random pick"]
    perfect = _row(table, "perfect")
    assert perfect["mean_regret"] == 0 and perfect["p_oracle"] == 1 and perfect["ci_high"] == 0

    expected, hit = _exact(target, lambda s: max(s, key=lambda i: score[i]), 3)
    random = _row(table, "random score")
    assert random["mean_regret"] == pytest.approx(expected, abs=0.02) and random["p_oracle"] == pytest.approx(hit, abs=0.015)
    assert random["ci_low"] < expected < random["ci_high"] or abs(random["mean_regret"] - expected) < 0.01

    # no score at all: the exact average over the sub-pool, and a constant score (ties broken at random) matches it
    no_score = np.mean([max(target[list(s)]) - np.mean(target[list(s)]) for s in itertools.combinations(range(6), 3)])
    assert _row(table, "random pick")["mean_regret"] == pytest.approx(no_score, abs=0.01)
    assert _row(table, "random pick")["p_oracle"] == pytest.approx(1 / 3, abs=0.01)
    assert _row(table, "constant")["mean_regret"] == pytest.approx(no_score, abs=0.02)


def test_shortlist_and_rerank_is_the_exact_expectation():
    rng = np.random.default_rng(2)
    target, score, later = rng.normal(size=(3, 7))
    table = simulate_selection(target, {"s": score}, pool_size=4, top_k=2, rerank_by=later, n_draws=20000, n_bootstrap=200)

    def pick(subset):
        shortlist = sorted(subset, key=lambda i: -score[i])[:2]
        return max(shortlist, key=lambda i: later[i])

    expected, hit = _exact(target, pick, 4)
    assert _row(table, "s")["mean_regret"] == pytest.approx(expected, abs=0.02)
    assert _row(table, "s")["p_oracle"] == pytest.approx(hit, abs=0.015)
    # the shortlist trained to convergence (rerank_by None): regret only when the best is not shortlisted
    converged = simulate_selection(target, {"s": score}, pool_size=4, top_k=2, n_draws=20000, n_bootstrap=200)
    expected, _ = _exact(target, lambda s: max(sorted(s, key=lambda i: -score[i])[:2], key=lambda i: target[i]), 4)
    assert _row(converged, "s")["mean_regret"] == pytest.approx(expected, abs=0.02)
    assert simulate_selection(target, {"s": score}, pool_size=4, top_k=4, n_draws=200, n_bootstrap=50)["mean_regret"][0] == 0


def test_rules_are_paired_against_the_baseline():
    rng = np.random.default_rng(3)
    target = rng.normal(size=64)
    p = target + rng.normal(size=64)
    table = simulate_selection(target, {"P": p, "P + TG": p + 0.5 * target, "noise": rng.normal(size=64)}, pool_size=16,
                               n_draws=2000, n_bootstrap=500, baseline="P")
    rows = table.set_index("rule")
    assert rows.loc["P", "diff"] == 0 and (rows.loc["P", "diff_ci_low"], rows.loc["P", "diff_ci_high"]) == (0, 0)
    for rule in ("P + TG", "noise", "random pick"):
        assert rows.loc[rule, "diff"] == pytest.approx(rows.loc[rule, "mean_regret"] - rows.loc["P", "mean_regret"])
        assert rows.loc[rule, "diff_ci_low"] <= rows.loc[rule, "diff"] <= rows.loc[rule, "diff_ci_high"]
    assert rows.loc["P + TG", "diff_ci_high"] < 0 < rows.loc["noise", "diff_ci_low"]  # better and worse than P
    assert (rows["regret_q_low"] <= rows["mean_regret"]).all() and (rows["mean_regret"] <= rows["regret_q_high"]).all()
    again = simulate_selection(target, {"P": p, "P + TG": p + 0.5 * target, "constant": np.zeros(64)},
                               pool_size=16, n_draws=2000, n_bootstrap=500)
    assert again["baseline"].eq("P").all()  # the first rule by default

    pooled = simulate_selection(target, {"P": p, "noise": rng.normal(size=64)}, pool_size=16, n_draws=300, n_bootstrap=200,
                                n_pool_bootstrap=40)
    noise = _row(pooled, "noise")
    assert noise["pool_ci_low"] < noise["mean_regret"] < noise["pool_ci_high"]
    assert noise["pool_ci_high"] - noise["pool_ci_low"] > noise["ci_high"] - noise["ci_low"]  # the pool is the larger uncertainty
    assert np.isnan(_row(table, "P")["pool_ci_low"])
    assert simulate_selection(target, {"P": p}, pool_size=16, n_draws=300, n_bootstrap=200, n_pool_bootstrap=40).equals(
        simulate_selection(target, {"P": p}, pool_size=16, n_draws=300, n_bootstrap=200, n_pool_bootstrap=40))  # seeded


def test_successive_halving_exact_perfect_paired_and_its_cost():
    rng = np.random.default_rng(4)
    target = rng.normal(size=6)
    early, late = target + rng.normal(size=6), target + 0.3 * rng.normal(size=6)
    table = successive_halving(target, [early, late], pool_size=4, eta=2, n_draws=20000, n_bootstrap=200,
                               checkpoint_cost=[10, 30])

    def pick(subset):
        survivors = sorted(subset, key=lambda i: -early[i])[:2]
        return max(survivors, key=lambda i: late[i])

    expected, hit = _exact(target, pick, 4)
    halving = _row(table, "successive halving")
    assert halving["mean_regret"] == pytest.approx(expected, abs=0.02) and halving["p_oracle"] == pytest.approx(hit, abs=0.015)
    assert halving["evaluations"] == 6 and halving["evaluations_by_checkpoint"] == "4, 2"
    assert halving["training_cost"] == 2 * 10 + 2 * 30 and halving["full_training_cost"] == 4 * 30

    big = rng.normal(size=64)
    perfect = successive_halving(big, [big, big, big], pool_size=32, n_draws=500, n_bootstrap=100)
    row = _row(perfect, "successive halving")
    assert row["mean_regret"] == 0 and row["p_oracle"] == 1 and row["evaluations_by_checkpoint"] == "32, 16, 8"
    assert _row(successive_halving(big, [big] * 8, pool_size=32, eta=4, n_draws=50, n_bootstrap=20),
                "successive halving")["evaluations_by_checkpoint"] == "32, 8, 2"  # stops once one is left

    # the same seed gives the same sub-pools as simulate_selection: one checkpoint is the top-1 rule, draw for draw
    noisy = big + rng.normal(size=64)
    one = successive_halving(big, [noisy], pool_size=16, n_draws=1000, n_bootstrap=300, scores={"noisy": noisy})
    alone = simulate_selection(big, {"noisy": noisy}, pool_size=16, n_draws=1000, n_bootstrap=300)
    assert _row(one, "successive halving")["mean_regret"] == _row(alone, "noisy")["mean_regret"]
    assert _row(one, "successive halving")["diff"] == 0 and _row(one, "successive halving")["diff_ci_high"] == 0


def test_bad_inputs_are_refused_with_the_argument_named():
    y = np.arange(8.0)
    cases = [
        (lambda: simulate_selection(y, {"P": y}, pool_size=1), "pool_size", "between 2 and 8"),
        (lambda: simulate_selection(y, {"P": y}, pool_size=9), "pool_size", "between 2 and 8"),
        (lambda: simulate_selection(y, {"P": y[:7]}, pool_size=4), "scores['P']", "7 values"),
        (lambda: simulate_selection(y, {"P": np.append(y[:7], np.nan)}, pool_size=4), "scores['P']", "NaN"),
        (lambda: simulate_selection(np.append(y[:7], np.inf), {"P": y}, pool_size=4), "target", "infinite"),
        (lambda: simulate_selection(y, {}, pool_size=4), "scores", "non-empty"),
        (lambda: simulate_selection(y, {"random pick": y}, pool_size=4), "scores", "named"),
        (lambda: simulate_selection(y, {"P": y}, pool_size=4, top_k=5), "top_k", "between 1 and 4"),
        (lambda: simulate_selection(y, {"P": y}, pool_size=4, top_k=2, rerank_by=y[:3]), "rerank_by", "3 values"),
        (lambda: simulate_selection(y, {"P": y}, pool_size=4, baseline="TG"), "baseline", "not one of"),
        (lambda: simulate_selection(y, {"P": y}, pool_size=4, n_draws=0), "n_draws", "at least 1"),
        (lambda: simulate_selection(y, {"P": y}, pool_size=4, level=1.5), "level", "between 0 and 1"),
        (lambda: successive_halving(y, [], pool_size=4), "checkpoint_scores", "non-empty"),
        (lambda: successive_halving(y, [y, y[:5]], pool_size=4), "checkpoint_scores[1]", "5 values"),
        (lambda: successive_halving(y, [y], pool_size=4, eta=1), "eta", "above 1"),
        (lambda: successive_halving(y, [y, y], pool_size=4, checkpoint_cost=[30, 10]), "checkpoint_cost", "non-decreasing"),
        (lambda: successive_halving(y, [y, y], pool_size=4, checkpoint_cost=[10]), "checkpoint_cost", "1 values"),
    ]
    for call, field, words in cases:
        with pytest.raises(ConfigError, match="fix:") as caught:
            call()
        assert caught.value.field == field and words in str(caught.value), (field, str(caught.value))


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 12).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 5), min_size=n, max_size=n), st.lists(st.integers(0, 5), min_size=n, max_size=n),
    st.lists(st.integers(0, 5), min_size=n, max_size=n), st.integers(2, n), st.integers(0, 2**16))))
def test_regret_is_never_negative_and_the_oracle_never_regrets(case):
    target, score, later, pool_size, seed = case
    target, score, later = (np.array(v, dtype=float) for v in (target, score, later))
    table = simulate_selection(target, {"s": score, "oracle": target}, pool_size=pool_size, top_k=min(2, pool_size),
                               rerank_by=later, n_draws=50, n_bootstrap=20, seed=seed)
    assert (table["regret_q_low"] >= 0).all() and (table["mean_regret"] >= 0).all() and (table["ci_low"] >= 0).all()
    assert ((0 <= table["p_oracle"]) & (table["p_oracle"] <= 1)).all()
    halving = successive_halving(target, [score, later], pool_size=pool_size, n_draws=50, n_bootstrap=20, seed=seed)
    assert (halving["mean_regret"] >= 0).all()
    assert _row(successive_halving(target, [target, target], pool_size=pool_size, n_draws=50, n_bootstrap=20, seed=seed),
                "successive halving")["mean_regret"] == 0
