"""Every public statistics function, fed what a user might pass by mistake: one clear error, or a finite, correct result."""

from __future__ import annotations

import math

import numpy as np
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from neurosage.stats import compare_correlations, cv_alpha, paired_difference, partial_correlation, predictor_value, rank_agreement
from neurosage.stats.paired import williams_t
from neurosage.stats.selection import simulate_selection, successive_halving
from properties import BOUNDED, clear_or_correct, finite, vectors

methods = st.sampled_from(["pearson", "spearman", "Pearson", "kendall", "", None])


@BOUNDED
@given(vectors(), vectors(), vectors(), methods)
def test_compare_correlations(x1, x2, y, method):
    result = clear_or_correct(lambda: compare_correlations(x1, x2, y, method=method, n_bootstrap=50))
    if result is not None:
        assert all(math.isfinite(v) for v in (result.estimate, result.lo, result.hi, result.detectable)), result
        assert 0 <= result.p <= 1 and result.n == len(y)
        expected = getattr(scipy.stats, f"{method}r")(x1, y)[0] - getattr(scipy.stats, f"{method}r")(x2, y)[0]
        assert result.estimate == __import__("pytest").approx(expected, abs=1e-9)


@BOUNDED
@given(vectors(), vectors())
def test_paired_difference(a, b):
    result = clear_or_correct(lambda: paired_difference(a, b))
    if result is not None:
        d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
        assert len(d) == result.n and math.isclose(result.estimate, float(d.mean()), abs_tol=1e-9)
        if result.n >= 2 and np.std(d) > 0:
            assert result.lo <= result.estimate <= result.hi and 0 <= result.p <= 1
            t = scipy.stats.ttest_1samp(d, 0.0)
            assert math.isclose(result.p, t.pvalue, rel_tol=1e-9, abs_tol=1e-12)


@BOUNDED
@given(vectors(), vectors(), vectors(), methods)
def test_partial_correlation(x, y, z, method):
    result = clear_or_correct(lambda: partial_correlation(x, y, z, method=method))
    if result is not None:
        assert -1 <= result <= 1


@BOUNDED
@given(vectors(), vectors(), st.one_of(st.none(), vectors()), methods)
def test_predictor_value(score, target, baseline, method):
    result = clear_or_correct(lambda: predictor_value(score, target, baseline, method=method, n_bootstrap=50))
    if result is not None:
        assert -1 <= result["estimate"] <= 1 and result["ci_low"] <= result["ci_high"] and 0 <= result["p"] <= 1
        if baseline is None:
            expected = getattr(scipy.stats, f"{method}r")(score, target)[0]
            assert math.isclose(result["estimate"], expected, abs_tol=1e-9)


@BOUNDED
@given(vectors(), vectors(), st.one_of(finite, st.sampled_from([0.0, 1.0, -0.1, 2, "0.1"])))
def test_rank_agreement(score, target, k_fraction):
    result = clear_or_correct(lambda: rank_agreement(score, target, k_fraction, n_bootstrap=50))
    if result is not None:
        for row in result.values() if isinstance(result, dict) else []:
            if isinstance(row, dict) and "estimate" in row:
                assert math.isfinite(row["estimate"])


@BOUNDED
@given(vectors(), vectors(), vectors())
def test_cv_alpha(p, tg, target):
    result = clear_or_correct(lambda: cv_alpha(p, tg, target))
    if result is not None:
        assert math.isfinite(result["r_cv"]) if "r_cv" in result else True


@BOUNDED
@given(vectors(), st.one_of(vectors(), st.just(None)), st.one_of(st.integers(-2, 15), st.just(2.5)))
def test_simulate_selection(target, score, pool_size):
    result = clear_or_correct(lambda: simulate_selection(target, {"s": score}, pool_size=pool_size, n_draws=20, n_bootstrap=20))
    if result is not None:  # NaN only where documented: the pool-bootstrap intervals without n_pool_bootstrap
        documented = ["pool_ci_low", "pool_ci_high", "diff_pool_ci_low", "diff_pool_ci_high"]
        assert result[documented].isna().all().all()
        assert np.isfinite(result.drop(columns=documented).select_dtypes("number").to_numpy()).all()


@BOUNDED
@given(vectors(), vectors(), vectors(), st.one_of(st.integers(-2, 15), st.just(2.5)))
def test_successive_halving(target, first, second, pool_size):
    result = clear_or_correct(lambda: successive_halving(target, [first, second], pool_size=pool_size, n_draws=20, n_bootstrap=20))
    if result is not None:  # NaN only where documented: no pool bootstrap, no checkpoint_cost, evaluations of the random pick
        documented = ["pool_ci_low", "pool_ci_high", "diff_pool_ci_low", "diff_pool_ci_high", "training_cost", "full_training_cost"]
        assert result[documented].isna().all().all()
        numbers = result.drop(columns=documented).set_index("rule").select_dtypes("number")
        assert np.isfinite(numbers.drop(columns="evaluations").to_numpy()).all()
        assert np.isfinite(numbers.loc["successive halving", "evaluations"]) and np.isnan(numbers.loc["random pick", "evaluations"])


@BOUNDED
@given(finite, finite, finite, st.one_of(st.integers(-3, 200), st.just(5.5)))
def test_williams_t(r12, r13, r23, n):
    result = clear_or_correct(lambda: williams_t(r12, r13, r23, n))
    if result is not None:
        t, p = result
        assert (math.isfinite(t) and 0 <= p <= 1) or (math.isnan(t) and math.isnan(p) and r12 == r13)
