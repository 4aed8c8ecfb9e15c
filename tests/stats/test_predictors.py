"""Predictor statistics against references nobody here wrote: the closed-form partial correlation, scipy's rank
correlations, brute-force leave-one-out, and the coverage of the bootstrap interval under a known null."""

import itertools

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from neurosage.core.errors import ConfigError
from neurosage.stats import cv_alpha, partial_correlation, predictor_value, rank_agreement
from neurosage.stats.predictors import _counts, _kendall_tau_b, _resample_indices, _resampled_correlations


def _closed_form(x, y, z):
    r = np.corrcoef([x, y, z])
    r_xy, r_xz, r_yz = r[0, 1], r[0, 2], r[1, 2]
    return (r_xy - r_xz * r_yz) / np.sqrt((1 - r_xz**2) * (1 - r_yz**2))


def _by_hand(x, y, covariates):
    """Residuals from the normal equations (X'X) b = X'v, then Pearson r of the residuals."""
    design = np.column_stack([np.ones(len(x))] + list(covariates))
    residual = [v - design @ np.linalg.solve(design.T @ design, design.T @ v) for v in (x, y)]
    return float(np.sum(residual[0] * residual[1]) / np.sqrt(np.sum(residual[0] ** 2) * np.sum(residual[1] ** 2)))


def _pool(n, rng, *, extra=0.0):
    """P predicts the target; a score is P plus noise (nothing beyond P) plus ``extra`` times a signal P lacks."""
    quality, hidden = rng.normal(size=n), rng.normal(size=n)
    target = quality + 0.7 * hidden + 0.3 * rng.normal(size=n)
    p = quality + 0.5 * rng.normal(size=n)
    score = p + rng.normal(size=n) + extra * hidden
    return score, target, p


def test_partial_correlation_is_the_closed_form_and_the_hand_computation():
    rng = np.random.default_rng(0)
    x, y, z, w = rng.normal(size=(4, 40))
    y = y + 0.6 * x + 0.8 * z
    x = x + z
    assert partial_correlation(x, y, z) == pytest.approx(_closed_form(x, y, z), abs=1e-12)
    assert partial_correlation(x, y, z) == pytest.approx(_by_hand(x, y, [z]), abs=1e-12)
    # two covariates: by hand, and by the recursion r_xy.zw = (r_xy.z - r_xw.z r_yw.z) / sqrt((1 - r_xw.z^2)(1 - r_yw.z^2))
    w = w + 0.5 * y
    two = partial_correlation(x, y, np.column_stack([z, w]))
    assert two == pytest.approx(_by_hand(x, y, [z, w]), abs=1e-12)
    r_xy, r_xw, r_yw = partial_correlation(x, y, z), partial_correlation(x, w, z), partial_correlation(y, w, z)
    assert two == pytest.approx((r_xy - r_xw * r_yw) / np.sqrt((1 - r_xw**2) * (1 - r_yw**2)), abs=1e-12)
    # Spearman is the same on ranks (ties averaged)
    xt = np.round(x, 0)
    ranks = [scipy.stats.rankdata(v) for v in (xt, y, z)]
    assert partial_correlation(xt, y, z, method="spearman") == pytest.approx(_closed_form(*ranks), abs=1e-12)


def test_resampled_statistics_match_scipy_on_the_drawn_copies():
    """The vectorised bootstrap (counts, ranks by matrix product, tau-b by pair counts) equals scipy on each resample."""
    rng = np.random.default_rng(1)
    x = np.round(rng.normal(size=15), 1)  # ties
    y = np.round(x + rng.normal(size=15), 1)
    z = rng.normal(size=15) + x
    indices = _resample_indices(15, 25, rng)
    counts = _counts(indices, 15)
    pearson = _resampled_correlations(indices, np.column_stack([x, y, z]), "pearson")
    spearman = _resampled_correlations(indices, np.column_stack([x, y]), "spearman")
    tau = _kendall_tau_b(counts, x, y)
    for b, row in enumerate(indices):
        assert pearson[b] == pytest.approx(np.corrcoef([x[row], y[row], z[row]]), abs=1e-10)
        assert spearman[b, 0, 1] == pytest.approx(scipy.stats.spearmanr(x[row], y[row]).statistic, abs=1e-10)
        assert tau[b] == pytest.approx(scipy.stats.kendalltau(x[row], y[row]).statistic, abs=1e-10)
    # with every architecture once, the bootstrap statistic is the estimate itself
    once = np.arange(15)[None, :]
    assert _resampled_correlations(once, np.column_stack([x, y]), "spearman")[0, 0, 1] == pytest.approx(
        scipy.stats.spearmanr(x, y).statistic)


def test_predictor_value_without_and_with_a_baseline():
    rng = np.random.default_rng(2)
    score, target, p = _pool(128, rng, extra=1.0)
    alone = predictor_value(score, target, n_bootstrap=500)
    reference = scipy.stats.pearsonr(score, target)
    assert alone["estimate"] == pytest.approx(reference.statistic) and alone["p"] == pytest.approx(reference.pvalue)
    assert alone["n"] == 128 and alone["df"] == 126 and alone["n_covariates"] == 0
    beyond = predictor_value(score, target, p, n_bootstrap=500)
    assert beyond["estimate"] == pytest.approx(partial_correlation(score, target, p))
    assert beyond["ci_low"] > 0 and beyond["p"] < 1e-3 and beyond["p_bootstrap"] < 0.01  # independent signal: excludes 0
    assert beyond["ci_low"] < beyond["estimate"] < beyond["ci_high"] and beyond["df"] == 125
    assert predictor_value(score, target, p, n_bootstrap=500) == beyond  # seeded
    assert predictor_value(score, target, p, n_bootstrap=500, seed=1) != beyond
    rank = predictor_value(score, target, p, method="spearman", n_bootstrap=300)
    assert rank["estimate"] == pytest.approx(partial_correlation(score, target, p, method="spearman")) and rank["ci_low"] > 0
    for value in (alone, beyond, rank):
        assert all(type(v) in (float, int) for v in value.values())


def test_a_score_that_is_p_plus_noise_adds_nothing_and_the_interval_says_so():
    """Under the null (score = P + noise), the 95% interval covers 0 in about 95% of pools and p is about uniform."""
    rng = np.random.default_rng(3)
    covered, rejected = [], []
    for repetition in range(200):
        score, target, p = _pool(128, rng)
        result = predictor_value(score, target, p, n_bootstrap=200, seed=repetition)
        covered.append(result["ci_low"] <= 0 <= result["ci_high"])
        rejected.append(result["p"] < 0.05)
    assert 0.88 <= np.mean(covered) <= 0.99
    assert 0.01 <= np.mean(rejected) <= 0.10
    # ... while P itself predicts the target, and the score alone does too (through P)
    assert predictor_value(score, target, n_bootstrap=200)["ci_low"] > 0.2


def test_rank_agreement_is_scipys_and_top_k_precision_on_hand_cases():
    rng = np.random.default_rng(4)
    target = rng.normal(size=60)
    score = np.round(target + rng.normal(size=60), 1)
    result = rank_agreement(score, target, n_bootstrap=400)
    rho, tau = scipy.stats.spearmanr(score, target), scipy.stats.kendalltau(score, target)
    assert (result["spearman"], result["spearman_p"]) == pytest.approx((rho.statistic, rho.pvalue))
    assert (result["kendall"], result["kendall_p"]) == pytest.approx((tau.statistic, tau.pvalue))
    for key in ("spearman", "kendall", "topk"):
        assert result[f"{key}_ci_low"] <= result[f"{key}_ci_high"]
    assert result["spearman_ci_low"] < result["spearman"] < result["spearman_ci_high"] and result["k"] == 6
    assert result["topk_chance"] == pytest.approx(0.1)

    t = np.arange(10.0, 0.0, -1.0)  # architecture 0 is the best
    assert rank_agreement(t, t, 0.2, n_bootstrap=10)["topk_precision"] == 1.0
    assert rank_agreement(-t, t, 0.2, n_bootstrap=10)["topk_precision"] == 0.0
    half = rank_agreement([10, 0, 9, 1, 2, 3, 4, 5, 6, 7], t, 0.2, n_bootstrap=10)  # score's top 2: architectures 0 and 2
    assert half["topk_precision"] == 0.5 and half["k"] == 2
    assert half["topk_p"] == pytest.approx(scipy.stats.hypergeom.sf(0, 10, 2, 2))  # P(overlap >= 1) by chance
    # ties go to the architecture listed first: nine tied scores "pick" architectures 0 and 1
    assert rank_agreement([1] * 9 + [0], [9, 0, 0, 0, 0, 8, 0, 0, 0, 1], 0.2, n_bootstrap=10)["topk_precision"] == 0.5
    assert rank_agreement(np.arange(30.0), np.arange(30.0), 0.1, n_bootstrap=10)["k"] == 3  # 0.1 * 30 is 3, not 4
    assert rank_agreement(np.arange(24.0), np.arange(24.0), 0.1, n_bootstrap=10)["k"] == 3  # ceil(2.4)


def _brute_force_cv(p, tg, y, grid, standardise=False):
    """Leave-one-out by explicit loops: the reference for cv_alpha."""
    n = len(p)
    chosen, held_out = [], []
    for i in range(n):
        keep = np.arange(n) != i
        pk, tk = p[keep], tg[keep]
        if standardise:
            zp, zt = (pk - pk.mean()) / pk.std(ddof=1), (tk - tk.mean()) / tk.std(ddof=1)
        else:
            zp, zt = pk, tk
        rs = [np.corrcoef(zp + a * zt, y[keep])[0, 1] for a in grid]
        a = grid[int(np.flatnonzero(np.isclose(rs, max(rs), rtol=0, atol=1e-10))[0])]
        chosen.append(a)
        if standardise:
            held_out.append((p[i] - pk.mean()) / pk.std(ddof=1) + a * (tg[i] - tk.mean()) / tk.std(ddof=1))
        else:
            held_out.append(p[i] + a * tg[i])
    return np.array(chosen), np.corrcoef(held_out, y)[0, 1]


@pytest.mark.parametrize("standardise", [False, True])
def test_cv_alpha_is_the_brute_force_leave_one_out(standardise):
    rng = np.random.default_rng(5)
    score, y, p = _pool(14, rng, extra=1.0)
    tg = 0.3 * (score - p)  # a teacher score on its own scale
    grid = np.linspace(0, 8, 33)
    chosen, r_cv = _brute_force_cv(p, tg, y, grid, standardise)
    result = cv_alpha(p, tg, y, standardise=standardise, n_bootstrap=200)
    assert result["r_cv"] == pytest.approx(r_cv, abs=1e-9)
    assert (result["alpha_median"], result["alpha_min"], result["alpha_max"]) == pytest.approx(
        (np.median(chosen), chosen.min(), chosen.max()))
    assert result["r_p"] == pytest.approx(np.corrcoef(p, y)[0, 1]) and result["delta_r"] == pytest.approx(r_cv - result["r_p"])


def test_cv_alpha_finds_no_weight_for_noise_and_weight_for_signal():
    rng = np.random.default_rng(6)
    noise_alphas, signal = [], []
    for _ in range(5):
        quality, hidden = rng.normal(size=(2, 128))
        y = quality + hidden + 0.3 * rng.normal(size=128)
        p = quality + 0.3 * rng.normal(size=128)
        noise_alphas.append(cv_alpha(p, rng.normal(size=128), y, n_bootstrap=200)["alpha_median"])
        signal.append(cv_alpha(p, hidden + 0.3 * rng.normal(size=128), y, n_bootstrap=200))
    assert np.median(noise_alphas) <= 0.25
    assert all(s["alpha_median"] >= 0.5 and s["delta_r"] > 0.1 and s["delta_ci_low"] > 0 and s["delta_p"] < 0.01 for s in signal)


def test_bad_inputs_are_refused_with_the_argument_named():
    x = np.arange(10.0)
    y = x**2
    z = np.sin(x)
    cases = [
        (lambda: partial_correlation(x, y[:9], z), "y", "9 values"),
        (lambda: partial_correlation(np.append(x[:9], np.nan), y, z), "x", "NaN"),
        (lambda: partial_correlation(x, y, np.append(z[:9], np.inf)), "z", "infinite"),
        (lambda: partial_correlation(x, np.ones(10), z), "y", "constant"),
        (lambda: partial_correlation(x, y, np.column_stack([z, np.ones(10)])), "z[:, 1]", "constant"),
        (lambda: partial_correlation(x, y, z[:, None].T), "z", "rows"),
        (lambda: partial_correlation(x[:3], y[:3], z[:3]), "n", "more than 3"),
        (lambda: partial_correlation(x, y, 2 * x + 1), "x", "linear function"),
        (lambda: partial_correlation(x, y, z, method="kendall"), "method", "unknown"),
        (lambda: predictor_value(x, y, 3 * x, n_bootstrap=10), "score", "linear function of baseline"),
        (lambda: predictor_value(x, y, n_bootstrap=0), "n_bootstrap", "at least 1"),
        (lambda: predictor_value(x, [[1, 2]] * 10), "target", "1-D"),
        (lambda: rank_agreement(x, y, k_fraction=0), "k_fraction", "(0, 1]"),
        (lambda: rank_agreement(x, y[:8]), "target", "8 values"),
        (lambda: cv_alpha(x, z, y, alphas=[]), "alphas", "non-empty"),
        (lambda: cv_alpha(x, z, y, alphas=[0, np.nan]), "alphas", "finite"),
        (lambda: cv_alpha(x, np.zeros(10), y), "tg", "constant"),
    ]
    for call, field, words in cases:
        with pytest.raises(ConfigError, match="fix:") as caught:
            call()
        assert caught.value.field == field and words in str(caught.value), (field, str(caught.value))


@st.composite
def _three_vectors(draw):
    n = draw(st.integers(6, 25))
    values = st.lists(st.integers(-50, 50), min_size=n, max_size=n)
    return [np.array(draw(values), dtype=float) for _ in range(3)]


@settings(max_examples=60, deadline=None)
@given(_three_vectors(), st.sampled_from(["pearson", "spearman"]))
def test_partial_correlation_is_symmetric_and_bounded(vectors, method):
    x, y, z = vectors
    assume(all(np.ptp(v) > 0 for v in vectors))
    try:
        r = partial_correlation(x, y, z, method)
    except ConfigError as err:  # x or y a linear function of z: refused, never a wrong number
        assert "linear function" in str(err)
        return
    assert -1 <= r <= 1
    assert partial_correlation(y, x, z, method) == pytest.approx(r, abs=1e-9)
    assert partial_correlation(-x, y, z, method) == pytest.approx(-r, abs=1e-9)


def test_all_pairs_of_hand_top_k_ties():
    """Top-k precision by brute force over every ordering of a small pool with ties (stable rule)."""
    target = np.array([3.0, 1.0, 3.0, 2.0, 0.0])
    for score in itertools.product([0.0, 1.0], repeat=5):
        score = np.array(score)
        top_score = sorted(range(5), key=lambda i: (-score[i], i))[:2]
        top_target = sorted(range(5), key=lambda i: (-target[i], i))[:2]
        expected = len(set(top_score) & set(top_target)) / 2
        if np.ptp(score) == 0:
            continue  # a constant score is refused by the correlations
        assert rank_agreement(score, target, 0.4, n_bootstrap=5)["topk_precision"] == expected
