"""Paired statistics against references nobody here wrote: scipy's paired t test, and Williams' test's error rate."""

import numpy as np
import pytest
import scipy.stats

from neurosage.core.errors import ConfigError
from neurosage.stats import compare_correlations, correlation, paired_difference, williams_t


def test_paired_difference_is_scipys_paired_t_test():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=6), rng.normal(size=6)
    result = paired_difference(a, b)
    reference = scipy.stats.ttest_rel(a, b)
    ci = reference.confidence_interval(0.95)
    assert result.p == pytest.approx(reference.pvalue) and (result.lo, result.hi) == pytest.approx((ci.low, ci.high))
    assert result.estimate == pytest.approx(np.mean(a - b)) and result.n == 6 and result.detectable > 0


def _trivariate(rho_12, rho_13, rho_23, n, rng):
    cov = np.array([[1, rho_12, rho_13], [rho_12, 1, rho_23], [rho_13, rho_23, 1]])
    y, x1, x2 = rng.multivariate_normal(np.zeros(3), cov, size=n).T
    return x1, x2, y


def test_williams_test_holds_its_level_and_finds_a_large_difference():
    rng = np.random.default_rng(1)
    null = [williams_t(*(correlation(x1, y), correlation(x2, y), correlation(x1, x2)), 40)[1]
            for x1, x2, y in (_trivariate(0.5, 0.5, 0.6, 40, rng) for _ in range(1500))]
    assert 0.035 <= np.mean(np.array(null) < 0.05) <= 0.065
    alt = [williams_t(correlation(x1, y), correlation(x2, y), correlation(x1, x2), 116)[1]
           for x1, x2, y in (_trivariate(0.62, 0.5, 0.8, 116, rng) for _ in range(300))]
    assert np.mean(np.array(alt) < 0.05) > 0.6  # a paper-sized gain (+0.12) at n = 116 with correlated predictors


def test_compare_correlations_interval_p_and_detectable_effect():
    rng = np.random.default_rng(2)
    x1, x2, y = _trivariate(0.7, 0.2, 0.3, 60, rng)
    result = compare_correlations(x1, x2, y, n_bootstrap=1000, seed=0)
    assert result.estimate == pytest.approx(correlation(x1, y) - correlation(x2, y))
    assert result.lo < result.estimate < result.hi and result.p < 0.01 and 0 < result.detectable < 1
    assert compare_correlations(x1, x2, y, n_bootstrap=1000, seed=0) == result  # seeded
    spearman = compare_correlations(x1, x2, y, method="spearman", n_bootstrap=500, seed=0)
    assert spearman.estimate == pytest.approx(scipy.stats.spearmanr(x1, y)[0] - scipy.stats.spearmanr(x2, y)[0])
    with pytest.raises(ConfigError, match="at least 5"):
        compare_correlations([1, 2], [1, 2], [1, 2])


def test_every_function_of_several_vectors_refuses_pandas_objects_on_different_indexes():
    """Round 5 #68: correlation paired two Series by position although their indexes disagreed (r 0.73; aligned, 0.04)."""
    import pandas as pd

    from neurosage.stats import partial_correlation, simulate_selection

    rng = np.random.default_rng(0)
    x = pd.Series(rng.normal(size=10), index=range(10))
    y = pd.Series(rng.normal(size=10), index=range(9, -1, -1))
    z = pd.Series(rng.normal(size=10), index=range(10))
    for call in (lambda: correlation(x, y), lambda: partial_correlation(x, y, z), lambda: compare_correlations(x, z, y),
                 lambda: simulate_selection(x, {"score": y}, pool_size=4, n_draws=10, n_bootstrap=10)):
        with pytest.raises(ConfigError, match="different indexes: values are paired by position"):
            call()
    assert correlation(x, y.sort_index()) == pytest.approx(float(x.corr(y)), abs=1e-12)  # aligned first: pandas' answer


def test_a_correlation_with_a_constant_is_nan_with_a_warning():
    """Round 6 #132: NaN without a word."""
    with pytest.warns(RuntimeWarning, match="y is constant: a correlation with a constant is undefined"):
        assert np.isnan(correlation(np.arange(10.0), np.ones(10)))


def test_compare_correlations_refuses_an_input_that_resamples_leave_constant():
    """Found by hypothesis: one non-zero item of 8 made a third of the resamples constant; the interval came back NaN."""
    x1, x2, y = ([0.0] * 8 for _ in range(3))
    x1[6] = x2[7] = y[7] = 1.0
    with pytest.raises(ConfigError, match="7 of its 8 values equal") as err:
        compare_correlations(x1, x2, y, n_bootstrap=50)
    assert err.value.field in {"x1", "x2", "y"} and "more items" in err.value.fix
