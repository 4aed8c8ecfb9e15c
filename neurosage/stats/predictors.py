"""How much a cheap score says about converged accuracy, and what it adds to another score.

A teacher bench scores, over a pool of architectures, cheap predictors (P, TG, S_i, zero-cost proxies, the
parameter count) against a target (converged accuracy). The question the NAS field asks of a cheap score is how
well it ranks the pool (Spearman rho, Kendall tau-b, top-k precision: :func:`rank_agreement`); the question a
teacher must answer is what it adds to P (:func:`predictor_value` with ``baseline=P``: the partial correlation
of the score with the target given P; :func:`cv_alpha`: is ``P + alpha TG`` better than P out of sample?).

Intervals are percentile bootstraps over architectures (the architectures are resampled with replacement and
the statistic is recomputed on each resample). The resampling is vectorised: a resample is held as the count of
each architecture in it, and means, covariances, ranks (average ranks, ties included) and Kendall's pair counts
of all resamples are matrix products with the count matrix, so 128 architectures x 2,000 resamples take
milliseconds. Degenerate resamples (a constant variable, or a variable that is an exact linear function of the
covariates) are left out and counted in a log message.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import scipy.stats

from neurosage.core.errors import ConfigError
from neurosage.core.validate import TINY, check_arguments, choice, fraction, is_constant, same_index, vector, whole
from neurosage.stats.paired import PairedResult, compare_correlations, correlation

__all__ = ["partial_correlation", "predictor_value", "rank_agreement", "cv_alpha"]

log = logging.getLogger(__name__)

_METHODS = ("pearson", "spearman")
#: Relative size below which a standard deviation (or a residual) counts as zero.
_TINY = 1e-12


# ---------------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------------


def _vector(value, name: str, n: int | None = None, *, constant_ok: bool = False) -> np.ndarray:
    """``value`` as a finite 1-D float array of one value per architecture (:func:`neurosage.core.validate.vector`)."""
    return vector(value, name, n, constant_ok=constant_ok)


def _covariates(z, n: int, name: str = "z") -> np.ndarray:
    """Covariates as an (n, k) finite float array whose columns all vary."""
    try:
        c = np.asarray(z, dtype=float)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name} is not numeric ({err})", f"pass {name} as one vector or an (architectures x covariates) array",
                          field=name) from None
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[1] == 0:
        raise ConfigError(f"{name} must be one vector or a 2-D (architectures x covariates) array, got shape {np.shape(z)}",
                          f"pass {name} with one row per architecture", field=name)
    if c.shape[0] != n:
        raise ConfigError(f"{name} has {c.shape[0]} rows but x has {n} values",
                          f"pass {name} with one row per architecture (shape ({n}, k)), in the same order as x", field=name)
    for j in range(c.shape[1]):
        _vector(c[:, j], name if c.shape[1] == 1 else f"{name}[:, {j}]")
    return c


def _method(method: str) -> str:
    return choice(method, "method", _METHODS)


def _bootstrap_settings(n_bootstrap: int, level: float) -> None:
    whole(n_bootstrap, "n_bootstrap", 1, fix="use e.g. 2000")
    fraction(level, "level")


# ---------------------------------------------------------------------------------------------------------------------
# Vectorised bootstrap machinery (shared with neurosage.stats.selection)
# ---------------------------------------------------------------------------------------------------------------------


def _resample_indices(n: int, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """(n_bootstrap, n) indices drawn with replacement, each row sorted (so ties keep the original order)."""
    return np.sort(rng.integers(0, n, size=(n_bootstrap, n)), axis=1)


def _counts(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each of the ``n`` items occurs in each row of ``indices``: an (rows, n) float matrix."""
    rows = indices.shape[0]
    flat = (indices + n * np.arange(rows)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(float)


def _resampled_ranks(counts: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Average ranks (1..n, ties averaged) of ``v`` within each resample given by ``counts``: (B, n).

    The rank of item j in a resample is (the number of resampled values below v_j) + (the number equal to v_j,
    copies of j included, + 1) / 2: one product of the count matrix with ``[v_k < v_j] + [v_k == v_j] / 2``.
    """
    below = (v[None, :] < v[:, None]).astype(float)
    equal = (v[None, :] == v[:, None]).astype(float)
    return counts @ (below + 0.5 * equal).T + 0.5


def _weighted_correlations(counts: np.ndarray, variables: np.ndarray) -> np.ndarray:
    """Correlation matrices (B, m, m) of m variables in each resample; NaN where a variable is constant.

    ``variables`` is (n, m) (the same values in every resample) or (B, n, m) (e.g. ranks within each resample).
    """
    total = counts.sum(axis=1)[:, None]
    if variables.ndim == 2:
        centre = variables - variables.mean(axis=0)
        scale = centre.std(axis=0)
        centre = centre / np.where(scale > 0, scale, 1.0)
        mean = counts @ centre / total
        second = np.einsum("bn,ni,nj->bij", counts, centre, centre, optimize=True) / total[:, :, None]
    else:
        centre = variables - variables.mean(axis=1, keepdims=True)
        mean = np.einsum("bn,bni->bi", counts, centre) / total
        second = np.einsum("bn,bni,bnj->bij", counts, centre, centre, optimize=True) / total[:, :, None]
    cov = second - mean[:, :, None] * mean[:, None, :]
    var = np.diagonal(cov, axis1=1, axis2=2).copy()
    reference = np.max(np.abs(second.diagonal(axis1=1, axis2=2)), axis=1, keepdims=True)
    ok = var > _TINY * np.maximum(reference, 1e-300)
    sd = np.sqrt(np.where(ok, var, 1.0))
    corr = cov / (sd[:, :, None] * sd[:, None, :])
    corr[~ok.all(axis=1)] = np.nan
    return corr


def _partial_from_correlations(corr: np.ndarray) -> np.ndarray:
    """Partial correlation of variables 0 and 1 given the others, from (B, m, m) correlation matrices (NaN if singular)."""
    out = np.full(corr.shape[0], np.nan)
    if corr.shape[1] == 2:
        return corr[:, 0, 1].copy()
    finite = np.isfinite(corr).all(axis=(1, 2))
    if corr.shape[1] == 3:  # closed form, r_xy.z = (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2))
        r_xy, r_xz, r_yz = corr[:, 0, 1], corr[:, 0, 2], corr[:, 1, 2]
        denominator = (1 - r_xz**2) * (1 - r_yz**2)
        good = finite & (denominator > 1e-12)
        out[good] = (r_xy[good] - r_xz[good] * r_yz[good]) / np.sqrt(denominator[good])
    else:  # the precision matrix: r_xy.Z = -P_xy / sqrt(P_xx P_yy)
        good = finite.copy()
        good[finite] = np.linalg.eigvalsh(corr[finite])[:, 0] > 1e-10
        precision = np.linalg.inv(corr[good])
        out[good] = -precision[:, 0, 1] / np.sqrt(precision[:, 0, 0] * precision[:, 1, 1])
    return np.clip(out, -1.0, 1.0)


#: Above this many architectures, ranks within a resample come from sorting (memory O(n)) instead of an (n, n) product.
_DENSE_LIMIT = 1024
#: Resamples are processed in chunks of about this many (resample, architecture, variable) entries.
_CHUNK_ENTRIES = 2**22


def _chunks(total: int, per_row: int) -> list[slice]:
    size = max(1, _CHUNK_ENTRIES // max(1, per_row))
    return [slice(start, min(start + size, total)) for start in range(0, total, size)]


def _bootstrap_partial(variables: np.ndarray, method: str, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap distribution of the (partial) correlation of columns 0 and 1 of ``variables`` (n, m) given the rest."""
    n, m = variables.shape
    indices = _resample_indices(n, n_bootstrap, rng)
    out = np.empty(n_bootstrap)
    for part in _chunks(n_bootstrap, n * max(m, n if method == "spearman" and n <= _DENSE_LIMIT else m)):
        out[part] = _partial_from_correlations(_resampled_correlations(indices[part], variables, method))
    return out


def _resampled_correlations(indices: np.ndarray, variables: np.ndarray, method: str) -> np.ndarray:
    """(B, m, m) Pearson or Spearman correlation matrices of ``variables`` (n, m) in the resamples ``indices`` (B, n)."""
    n, m = variables.shape
    if method == "pearson":
        return _weighted_correlations(_counts(indices, n), variables)
    if n <= _DENSE_LIMIT:
        counts = _counts(indices, n)
        ranks = np.stack([_resampled_ranks(counts, variables[:, j]) for j in range(m)], axis=2)
        return _weighted_correlations(counts, ranks)
    ranks = scipy.stats.rankdata(variables[indices], axis=1)  # (B, n, m), one slot per drawn copy
    return _weighted_correlations(np.ones(indices.shape), ranks)


def _interval(boot: np.ndarray, level: float, what: str) -> tuple[float, float, float, np.ndarray]:
    """Percentile interval and standard error of the finite part of a bootstrap distribution."""
    finite = boot[np.isfinite(boot)]
    dropped = len(boot) - len(finite)
    if len(finite) == 0:
        raise ConfigError(f"every bootstrap resample of {what} was degenerate (a constant or collinear variable)",
                          "use more architectures, or predictors that vary more", field="n")
    if dropped:
        log.info("%s: %d of %d bootstrap resamples were degenerate and left out", what, dropped, len(boot))
    low, high = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    se = float(finite.std(ddof=1)) if len(finite) > 1 else float("nan")
    return float(low), float(high), se, finite


def _bootstrap_p(finite: np.ndarray, null: float = 0.0) -> float:
    """Two-sided percentile-bootstrap p: twice the smaller tail share on either side of ``null`` ((count + 1) / (B + 1))."""
    b = len(finite)
    below = (np.count_nonzero(finite <= null) + 1) / (b + 1)
    above = (np.count_nonzero(finite >= null) + 1) / (b + 1)
    return float(min(1.0, 2 * min(below, above)))


def _t_p(r: float, df: int) -> float:
    """Two-sided p of a (partial) correlation from Student's t with ``df`` degrees of freedom."""
    if df < 1 or not np.isfinite(r):
        return float("nan")
    if abs(r) >= 1:
        return 0.0
    t = r * math.sqrt(df / (1 - r * r))
    return float(2 * scipy.stats.t.sf(abs(t), df))


# ---------------------------------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------------------------------


def partial_correlation(x, y, z, method: str = "pearson") -> float:
    """Correlation of ``x`` and ``y`` given the covariate(s) ``z``.

    ``x`` and ``y`` are each regressed by least squares on ``[1, z]`` and their residuals are correlated (Pearson).
    With one covariate this equals the closed form
    ``r_xy.z = (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2))``.

    Parameters
    ----------
    x, y
        The two variables, one value per architecture.
    z
        One covariate (a vector) or several (an array of shape ``(n, k)``, one row per architecture).
    method
        ``"pearson"``, or ``"spearman"``: the same on ranks (``scipy.stats.rankdata``, ties averaged) of ``x``,
        ``y`` and each covariate.

    Returns
    -------
    float
        The partial correlation, in [-1, 1].

    Raises
    ------
    ConfigError
        Unequal lengths, NaN or infinite values, a constant argument, ``n <= k + 2`` (no degree of freedom
        left), or ``x`` or ``y`` an exact linear function of ``z`` (nothing left to correlate).
    """
    check_arguments(partial_correlation, locals())
    method = _method(method)
    same_index(x=x, y=y, z=z)
    x = _vector(x, "x")
    y = _vector(y, "y", len(x))
    return _partial(x, y, _covariates(z, len(x)), method, ("x", "y", "z"))


def _partial(x: np.ndarray, y: np.ndarray, c: np.ndarray, method: str, names: tuple[str, str, str]) -> float:
    """:func:`partial_correlation` on validated arrays; ``names`` are the caller's names for x, y and z in errors."""
    n, k = c.shape
    if n <= k + 2:
        raise ConfigError(f"a partial correlation with {k} covariate(s) needs more than {k + 2} architectures, got {n}",
                          "use more architectures or fewer covariates", field="n")
    if method == "spearman":
        x, y = scipy.stats.rankdata(x), scipy.stats.rankdata(y)
        c = np.column_stack([scipy.stats.rankdata(c[:, j]) for j in range(k)])
    design = np.column_stack([np.ones(n), c])
    both = np.column_stack([x, y])
    coef, *_ = np.linalg.lstsq(design, both, rcond=None)
    residual = both - design @ coef
    for j in range(2):
        if np.linalg.norm(residual[:, j]) <= 1e-10 * np.linalg.norm(both[:, j] - both[:, j].mean()):
            raise ConfigError(f"{names[j]} is (to rounding) a linear function of {names[2]}, so nothing is left to correlate",
                              f"check that {names[j]} is not a copy or rescaling of {names[2]}", field=names[j])
    rx, ry = residual[:, 0], residual[:, 1]
    r = float(np.dot(rx, ry) / math.sqrt(np.dot(rx, rx) * np.dot(ry, ry)))
    return float(np.clip(r, -1.0, 1.0))


def predictor_value(score, target, baseline=None, *, method: str = "pearson", n_bootstrap: int = 2000, seed: int = 0,
                    level: float = 0.95) -> dict[str, float]:
    """What ``score`` says about ``target``, alone or beyond ``baseline``, with a paired bootstrap interval.

    Without ``baseline``: the correlation r(score, target). With ``baseline`` (e.g. P, or an ``(n, k)`` array of
    several baselines such as P and the parameter count): the partial correlation of score and target given the
    baseline(s), i.e. what the score says about the target that the baseline does not.

    The interval is a percentile bootstrap over architectures: each resample draws ``n`` architectures with
    replacement and recomputes the (partial) correlation on it, the score, target and baseline of an architecture
    staying together (paired). For Spearman the ranks are recomputed within each resample (ties averaged).

    Parameters
    ----------
    score, target
        One value per architecture.
    baseline
        ``None``, one vector, or an ``(n, k)`` array of covariates to partial out.
    method
        ``"pearson"`` or ``"spearman"`` (on ranks).
    n_bootstrap
        Number of bootstrap resamples.
    seed
        Seed of the ``numpy.random.Generator`` that draws the resamples.
    level
        Coverage of the interval.

    Returns
    -------
    dict
        ``estimate`` (r, or partial r), ``ci_low``, ``ci_high`` (percentile interval), ``se`` (bootstrap standard
        error), ``p`` (two-sided, from Student's t of the (partial) correlation with ``df = n - 2 - k``
        degrees of freedom; for Spearman this is the usual large-sample approximation, as in
        ``scipy.stats.spearmanr``), ``p_bootstrap`` (two-sided percentile-bootstrap p: twice the smaller share of
        resamples on either side of 0, ``(count + 1) / (B + 1)``, so never below ``2 / (B + 1)``), ``df``, ``n``
        and ``n_covariates`` (k); all plain floats (``n``, ``df``, ``n_covariates`` ints).
    """
    check_arguments(predictor_value, locals())
    same_index(score=score, target=target, baseline=baseline)
    method = _method(method)
    _bootstrap_settings(n_bootstrap, level)
    score = _vector(score, "score")
    target = _vector(target, "target", len(score))
    n = len(score)
    if baseline is None:
        if n < 3:
            raise ConfigError(f"a correlation needs at least 3 architectures, got {n}", "use more architectures", field="n")
        k = 0
        estimate = correlation(score, target, method)
        variables = np.column_stack([score, target])
    else:
        c = _covariates(baseline, n, "baseline")
        k = c.shape[1]
        estimate = _partial(score, target, c, method, ("score", "target", "baseline"))
        variables = np.column_stack([score, target, c])
    boot = _bootstrap_partial(variables, method, n_bootstrap, np.random.default_rng(seed))
    low, high, se, finite = _interval(boot, level, "r(score, target)" if k == 0 else "partial r(score, target | baseline)")
    df = n - 2 - k
    return {"estimate": float(estimate), "ci_low": low, "ci_high": high, "se": se, "p": _t_p(estimate, df),
            "p_bootstrap": _bootstrap_p(finite), "df": int(df), "n": int(n), "n_covariates": int(k)}


def _top_k_size(k_fraction: float, n: int) -> int:
    if not (isinstance(k_fraction, (int, float)) and 0 < k_fraction <= 1):
        raise ConfigError(f"k_fraction must lie in (0, 1], got {k_fraction!r}", "use e.g. 0.1 for the top 10%", field="k_fraction")
    return max(1, math.ceil(round(k_fraction * n, 9)))


def _top_mask(values: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the k largest values along the last axis; ties go to the earlier position (stable sort)."""
    order = np.argsort(-values, axis=-1, kind="stable")[..., :k]
    mask = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return mask


def _kendall_tau_b(counts: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of x and y in each resample (counts, (B, n)); NaN where either side is all ties.

    With copies counted as separate slots: concordant minus discordant pairs ``= c' (S_x * S_y) c / 2`` and
    pairs tied in x ``= (c' E_x c - n) / 2``, where ``S`` holds the signs of the differences and ``E`` equality.
    """
    n = counts.sum(axis=1)
    sx, sy = np.sign(x[:, None] - x[None, :]), np.sign(y[:, None] - y[None, :])
    concordance = np.einsum("bj,bj->b", counts @ (sx * sy), counts) / 2
    tied_x = (np.einsum("bj,bj->b", counts @ (sx == 0).astype(float), counts) - n) / 2
    tied_y = (np.einsum("bj,bj->b", counts @ (sy == 0).astype(float), counts) - n) / 2
    pairs = n * (n - 1) / 2
    denominator = (pairs - tied_x) * (pairs - tied_y)
    out = np.full(len(n), np.nan)
    good = denominator > 0
    out[good] = concordance[good] / np.sqrt(denominator[good])
    return out


def rank_agreement(score, target, k_fraction: float = 0.1, *, n_bootstrap: int = 2000, seed: int = 0,
                   level: float = 0.95) -> dict[str, float]:
    """How well ``score`` ranks the pool by ``target``: Spearman rho, Kendall tau-b and top-k precision.

    Top-k precision is the share of the true top k (the ``k`` architectures with the highest target) that the
    score also puts in its top k, with ``k = max(1, ceil(k_fraction * n))``. **Ties** are broken by position:
    among equal values the architecture listed first ranks higher (a stable sort), for the score and the target
    alike; shuffle the pool's order first if a score has many ties (a constant score then gets the chance
    precision on average). Spearman and Kendall average ties (tau-b).

    Intervals are percentile bootstraps over architectures (paired; ranks, tau-b and the top k recomputed in each
    resample, copies of an architecture tied with each other and ordered by position).

    Parameters
    ----------
    score, target
        One value per architecture.
    k_fraction
        The size of the top set as a share of the pool, in (0, 1].
    n_bootstrap, seed, level
        Number of resamples, the seed of their ``numpy.random.Generator``, and the interval's coverage.

    Returns
    -------
    dict
        ``spearman``, ``kendall``, ``topk_precision``, each with ``*_ci_low``, ``*_ci_high`` and ``*_p``:
        the two-sided p of ``scipy.stats.spearmanr`` (t approximation) and ``scipy.stats.kendalltau`` (tau-b;
        exact without ties for small n, else normal), and for top-k the one-sided p that a random ordering reaches
        at least the observed overlap (hypergeometric, ignoring ties); ``topk_chance`` (``k / n``, the expected
        precision of a random score), ``k`` and ``n``.
    """
    check_arguments(rank_agreement, locals())
    _bootstrap_settings(n_bootstrap, level)
    same_index(score=score, target=target)
    score = _vector(score, "score")
    target = _vector(target, "target", len(score))
    n = len(score)
    if n < 3:
        raise ConfigError(f"rank agreement needs at least 3 architectures, got {n}", "use more architectures", field="n")
    k = _top_k_size(k_fraction, n)
    rho = scipy.stats.spearmanr(score, target)
    tau = scipy.stats.kendalltau(score, target, variant="b")
    hits = int(np.count_nonzero(_top_mask(score, k) & _top_mask(target, k)))

    indices = _resample_indices(n, n_bootstrap, np.random.default_rng(seed))
    boot_rho, boot_tau, boot_top = np.empty(n_bootstrap), np.empty(n_bootstrap), np.empty(n_bootstrap)
    pair = np.column_stack([score, target])
    for part in _chunks(n_bootstrap, n * (n if n <= _DENSE_LIMIT else 2)):
        boot_rho[part] = _resampled_correlations(indices[part], pair, "spearman")[:, 0, 1]
        if n <= _DENSE_LIMIT:
            boot_tau[part] = _kendall_tau_b(_counts(indices[part], n), score, target)
        else:  # one resample at a time: O(n log n) memory
            boot_tau[part] = [scipy.stats.kendalltau(score[row], target[row]).statistic for row in indices[part]]
        boot_top[part] = np.count_nonzero(_top_mask(score[indices[part]], k) & _top_mask(target[indices[part]], k), axis=1) / k

    out: dict[str, float] = {}
    for name, estimate, boot, p in (("spearman", rho.statistic, boot_rho, rho.pvalue), ("kendall", tau.statistic, boot_tau, tau.pvalue),
                                    ("topk_precision", hits / k, boot_top, scipy.stats.hypergeom.sf(hits - 1, n, k, k))):
        low, high, _, _ = _interval(boot, level, name)
        key = "topk" if name == "topk_precision" else name
        out.update({name: float(estimate), f"{key}_ci_low": low, f"{key}_ci_high": high, f"{key}_p": float(p)})
    out.update({"topk_chance": k / n, "k": int(k), "n": int(n)})
    return out


def _alpha_grid(alphas) -> np.ndarray:
    grid = np.linspace(0.0, 8.0, 33) if alphas is None else np.asarray(alphas, dtype=float).ravel()
    if grid.size == 0 or not np.isfinite(grid).all():
        raise ConfigError("alphas must be a non-empty list of finite numbers", "pass e.g. numpy.linspace(0, 8, 33)", field="alphas")
    if (grid < 0).any():  # TG's weight, as --alpha: a negative one rewards distance from the teacher
        raise ConfigError(f"alphas weigh TG in P + alpha TG and are at least 0, got {grid[grid < 0][:3].tolist()}",
                          "pass alphas of 0 or more, e.g. numpy.linspace(0, 8, 33)", field="alphas")
    return np.unique(np.append(grid, 0.0))  # sorted, with 0 (P alone) always a candidate


def _best_alpha(p: np.ndarray, tg: np.ndarray, y: np.ndarray, raw_alphas: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """For each row of the 0/1 weight matrix ``folds`` (F, n), the index of the alpha maximising r(p + alpha tg, y).

    ``raw_alphas`` (F, A) holds each fold's candidates on the raw scale, in increasing order.
    ``r(p + a tg, y) = (c_py + a c_ty) / (sd_y sqrt(v_p + 2 a c_pt + a^2 v_t))``, so all folds and alphas come from
    the within-fold second moments. Among equal maxima the first (smallest) alpha wins; a fold where every
    candidate is degenerate gets the first candidate.
    """
    m = folds.sum(axis=1)
    data = np.column_stack([p - p.mean(), tg - tg.mean(), y - y.mean()])
    mean = folds @ data / m[:, None]
    second = np.einsum("fn,ni,nj->fij", folds, data, data, optimize=True) / m[:, None, None]
    cov = second - mean[:, :, None] * mean[:, None, :]
    v_p, v_t, v_y, c_pt, c_py, c_ty = (v[:, None] for v in (cov[:, 0, 0], cov[:, 1, 1], cov[:, 2, 2], cov[:, 0, 1], cov[:, 0, 2], cov[:, 1, 2]))
    a = raw_alphas
    variance = (v_p + 2 * a * c_pt + a**2 * v_t) * v_y
    scale = np.max(np.abs(variance), axis=1, keepdims=True)
    ok = variance > _TINY * np.maximum(scale, 1e-300)
    r = np.where(ok, (c_py + a * c_ty) / np.sqrt(np.where(ok, variance, 1.0)), -np.inf)
    # rounding must not decide between numerically equal correlations: the smallest alpha within 1e-12 of the best
    return np.argmax(r >= r.max(axis=1, keepdims=True) - 1e-12, axis=1)


def _fold_moments(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (ddof 1) of ``v`` without element i, for each i."""
    n = len(v)
    mean = (v.sum() - v) / (n - 1)
    squares = ((v[None, :] - mean[:, None]) ** 2).sum(axis=1) - (v - mean) ** 2
    return mean, np.sqrt(np.maximum(squares, 0.0) / (n - 2))


def cv_alpha(p, tg, target, alphas: Sequence[float] | np.ndarray | None = None, *, standardise: bool = False,
             n_bootstrap: int = 2000, seed: int = 0) -> dict[str, float]:
    """Choose alpha for ``P + alpha TG`` by leave-one-out cross-validation, and judge the combination out of sample.

    For each architecture i: on the other n - 1, alpha is chosen from the grid to maximise Pearson
    r(P + alpha TG, target); architecture i gets the combined score ``P_i + alpha_(-i) TG_i`` (a correlation
    cannot be computed on one point, so the held-out scores are collected). The n held-out scores are then
    correlated with the target: ``r_cv``, an honest estimate of what the tuned combination predicts. It is
    compared with P alone (no tuning) by :func:`neurosage.stats.compare_correlations`: ``delta_r = r_cv - r(P)``
    with a paired percentile-bootstrap interval over architectures and Williams' t test. Both treat the held-out
    scores as given (the alpha choices are not redone in each bootstrap resample).

    Parameters
    ----------
    p, tg, target
        Premature accuracy, teacher guidance and converged accuracy, one value per architecture.
    alphas
        Candidate alphas (default ``numpy.linspace(0, 8, 33)``); 0 is always added. Among equally good alphas the
        smallest is chosen.
    standardise
        Combine ``z(P) + alpha z(TG)`` instead, where the z-scores use the mean and standard deviation of the
        n - 1 training architectures of each fold (also for the held-out one).
    n_bootstrap, seed
        Resamples and seed of the bootstrap interval of ``delta_r``.

    Returns
    -------
    dict
        ``r_cv`` (Pearson r of the held-out combined scores with the target), ``r_p`` (r of P), ``delta_r``,
        ``delta_ci_low``, ``delta_ci_high``, ``delta_p`` (Williams' t, two-sided: H0 that the two dependent
        correlations are equal), ``detectable`` (smallest delta detectable with 80% power), ``alpha_median``,
        ``alpha_min``, ``alpha_max`` (over the n folds), ``alpha_zero_share`` (share of folds choosing 0),
        ``alpha_all`` (alpha chosen on all n), ``standardise`` (1.0 or 0.0) and ``n``.
    """
    check_arguments(cv_alpha, locals())
    same_index(p=p, tg=tg, target=target)
    p = _vector(p, "p")
    tg = _vector(tg, "tg", len(p))
    y = _vector(target, "target", len(p))
    n = len(p)
    if n < 5:
        raise ConfigError(f"cross-validating alpha needs at least 5 architectures, got {n}", "use more architectures", field="n")
    grid = _alpha_grid(alphas)
    folds = 1.0 - np.eye(n)  # fold i trains on every architecture but i
    if standardise:
        # z(P) + a z(TG) = (P + a (sd_P / sd_TG) TG) / sd_P + constant on each fold's training part, so the same r.
        (mean_p, sd_p), (mean_t, sd_t) = _fold_moments(p), _fold_moments(tg)
        if np.any(sd_p <= 0) or np.any(sd_t <= 0):
            raise ConfigError("p or tg is constant once one architecture is left out", "use predictors that vary more", field="tg")
        chosen = grid[_best_alpha(p, tg, y, grid[None, :] * (sd_p / sd_t)[:, None], folds)]
        held_out = (p - mean_p) / sd_p + chosen * (tg - mean_t) / sd_t
        ratio = np.std(p, ddof=1) / np.std(tg, ddof=1)
        alpha_all = float(grid[_best_alpha(p, tg, y, grid[None, :] * ratio, np.ones((1, n)))[0]])
    else:
        chosen = grid[_best_alpha(p, tg, y, np.broadcast_to(grid, (n, len(grid))), folds)]
        held_out = p + chosen * tg
        alpha_all = float(grid[_best_alpha(p, tg, y, grid[None, :], np.ones((1, n)))[0]])
    if is_constant(held_out):
        raise ConfigError("the held-out combined scores are constant", "check p and tg", field="tg")
    if alpha_all == float(grid.max()) and grid.max() > 0:
        log.warning("cv_alpha: the best alpha on all %d architectures is the grid's largest (%g): P and TG may be on different scales "
                    "(P in percent?); a wider alpha grid or standardised scores (cv_alpha(alphas=..., standardise=True) in Python) "
                    "may choose another", n, alpha_all)
    if abs(float(np.corrcoef(held_out, p)[0, 1])) >= 1 - TINY:  # alpha 0 in every fold: the combination is P itself, no gain
        comparison = PairedResult(0.0, 0.0, 0.0, 1.0, int(n), float("nan"), "none: the held-out combination is P itself")
    else:
        comparison = compare_correlations(held_out, p, y, n_bootstrap=n_bootstrap, seed=seed)
    r_p = scipy.stats.pearsonr(p, y).statistic
    return {"r_cv": float(r_p + comparison.estimate), "r_p": float(r_p), "delta_r": comparison.estimate,
            "delta_ci_low": comparison.lo, "delta_ci_high": comparison.hi, "delta_p": comparison.p,
            "detectable": comparison.detectable, "alpha_median": float(np.median(chosen)), "alpha_min": float(chosen.min()),
            "alpha_max": float(chosen.max()), "alpha_zero_share": float(np.mean(chosen == 0)), "alpha_all": alpha_all,
            "standardise": float(bool(standardise)), "n": int(n)}
