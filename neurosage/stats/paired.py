"""Paired comparisons, each with its estimate, 95% interval, p and the smallest effect it could detect.

Two predictors of mature accuracy measured on the same architectures are compared by the difference of their
correlations with it, ``delta_r = r(x1, y) - r(x2, y)``: a paired percentile-bootstrap interval
(``scipy.stats.bootstrap(paired=True)``: architectures resampled, both correlations recomputed on the same
resample) and Williams' t test for two dependent correlations sharing a variable (Williams 1959, in the form of
Steiger 1980, eq. 7). Two searches run with the same seeds are compared by their per-seed differences (a paired
t interval). Overlapping marginal intervals decide nothing here.

The smallest detectable effect is the difference a two-sided test at level 0.05 would detect with 80% power at
this n: ``(z_0.975 + z_0.8) * SE`` with the bootstrap standard error for ``delta_r``, and
``(t_0.975,n-1 + t_0.8,n-1) * sd / sqrt(n)`` for paired differences (normal and t approximations to power).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import scipy.stats

from neurosage.core.errors import ConfigError
from neurosage.core.validate import TINY, check_arguments, choice, finite_number, same_index, vector, whole

__all__ = ["PairedResult", "compare_correlations", "williams_t", "paired_difference", "correlation"]

_METHODS = ("pearson", "spearman")


@dataclass(frozen=True)
class PairedResult:
    """A paired comparison: ``estimate`` with its 95% interval ``[lo, hi]``, ``p``, ``n`` and the ``detectable`` effect."""

    estimate: float
    lo: float
    hi: float
    p: float
    n: int
    detectable: float
    test: str

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)

    def describe(self) -> str:
        """``+0.120 [-0.030, 0.270], p = 0.11, n = 24 (detectable with 80% power: 0.210)``."""
        return (f"{self.estimate:+.3f} [{self.lo:+.3f}, {self.hi:+.3f}], p = {self.p:.3g}, n = {self.n} "
                f"(detectable with 80% power: {self.detectable:.3f}; {self.test})")


def correlation(x: np.ndarray, y: np.ndarray, method: str = "pearson") -> float:
    """Pearson or Spearman correlation (NaN, with a warning, when either side is constant); ``method``, the lengths,
    finiteness and pandas indexes are checked."""
    check_arguments(correlation, locals())
    choice(method, "method", _METHODS)
    same_index(x=x, y=y)  # pandas objects are paired by position here: different indexes would pair the wrong items
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    for name, v in (("x", x), ("y", y)):
        if v.ndim != 1:  # a column (n, 1) has n values too: say its shape
            raise ConfigError(f"{name} must be 1-D (one value per item), got shape {v.shape}", f"pass {name} as a 1-D array (a column: "
                              f"np.ravel({name}))", field=name)
    if x.shape != y.shape:
        raise ConfigError(f"x has {len(x)} values and y {len(y)}", "give one value of each per item, in the same order", field="y")
    for name, v in (("x", x), ("y", y)):
        bad = ~np.isfinite(v)
        if bad.any():
            raise ConfigError(f"{name} holds {int(bad.sum())} NaN or infinite value(s) (first at position {int(np.argmax(bad))}), which have no "
                              "correlation", "drop those items from both x and y (e.g. the diverged architectures) first", field=name)
    constant = [name for name, v in (("x", x), ("y", y)) if len(v) and np.ptp(v) == 0]
    if constant:
        warnings.warn(f"{' and '.join(constant)} {'is' if len(constant) == 1 else 'are'} constant: a correlation with a constant is undefined "
                      "(NaN)", RuntimeWarning, stacklevel=2)
    return _correlation(x, y, method)


def _correlation(x: np.ndarray, y: np.ndarray, method: str) -> float:
    """The correlation of checked vectors (NaN for a constant one, without a word: resamples of a bootstrap)."""
    if method == "spearman":
        x, y = scipy.stats.rankdata(x), scipy.stats.rankdata(y)
    if np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def williams_t(r12: float, r13: float, r23: float, n: int) -> tuple[float, float]:
    """Williams' t (df = n - 3) and two-sided p for H0: r12 = r13, where variable 1 is shared and r23 links 2 and 3.

    The correlations lie in [-1, 1] and form a valid correlation matrix; ``n`` is at least 4. When the three variables
    are exactly collinear (the determinant is 0) and r12 = r13, the test is undefined: NaN."""
    check_arguments(williams_t, locals())
    for name, r in (("r12", r12), ("r13", r13), ("r23", r23)):
        if not -1 <= finite_number(r, name) <= 1:
            raise ConfigError(f"{name} = {r!r} is not a correlation", "pass correlations in [-1, 1]", field=name)
    whole(n, "n", 4, fix="Williams' t needs at least 4 items (df = n - 3)")
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    if det < -1e-12:
        raise ConfigError(f"r12 = {r12:g}, r13 = {r13:g} and r23 = {r23:g} are not the correlations of three variables (their matrix "
                          "is not positive semi-definite)", "compute all three on the same items", field="r23")
    denominator = 2 * (n - 1) / (n - 3) * max(det, 0.0) + ((r12 + r13) ** 2 / 4) * (1 - r23) ** 3
    if not denominator > 0:
        return float("nan"), float("nan")
    t = (r12 - r13) * math.sqrt((n - 1) * (1 + r23) / denominator)
    return float(t), float(2 * scipy.stats.t.sf(abs(t), n - 3))


def compare_correlations(x1, x2, y, *, method: str = "pearson", n_bootstrap: int = 2000, seed: int = 0) -> PairedResult:
    """``r(x1, y) - r(x2, y)`` on the same items: paired bootstrap interval, Williams' p, detectable effect.

    For Spearman the ranks are taken first, so Williams' test applies to the rank correlations.
    """
    check_arguments(compare_correlations, locals())
    choice(method, "method", _METHODS)
    whole(n_bootstrap, "n_bootstrap", 10, fix="use e.g. 2000")
    same_index(x1=x1, x2=x2, y=y)
    x1 = vector(x1, "x1", min_len=5, unit="item")
    x2, y = vector(x2, "x2", len(x1), unit="item", first="x1"), vector(y, "y", len(x1), unit="item", first="x1")
    r12, r13, r23 = correlation(x1, y, method), correlation(x2, y, method), correlation(x1, x2, method)
    if abs(r23) >= 1 - TINY:  # the same predictor twice (or one a monotone copy of the other): nothing to compare
        raise ConfigError(f"x1 and x2 are perfectly correlated ({method} r = {r23:.6g}): their correlations with y are equal by construction "
                          "and Williams' test is undefined", "compare two different predictors of y", field="x2")
    estimate = r12 - r13

    boot = scipy.stats.bootstrap((x1, x2, y), lambda a, b, c: _correlation(a, c, method) - _correlation(b, c, method), paired=True,
                                 vectorized=False, n_resamples=n_bootstrap, method="percentile", rng=np.random.default_rng(seed))
    se = float(boot.standard_error)
    if not all(math.isfinite(v) for v in (se, boot.confidence_interval.low, boot.confidence_interval.high)):
        equal = {name: int(np.unique(v, return_counts=True)[1].max()) for name, v in (("x1", x1), ("x2", x2), ("y", y))}
        name = max(equal, key=equal.__getitem__)  # the input with the most equal values (the first of a tie, as before)
        raise ConfigError(f"{name} has {equal[name]} of its {len(y)} values equal: bootstrap resamples of the items leave it constant, whose "
                          "correlation is undefined, so no interval can be given", f"compare on more items, or on a {name} that varies "
                          "across most of them", field=name)
    _, p = williams_t(r12, r13, r23, len(y))
    z = scipy.stats.norm.ppf(0.975) + scipy.stats.norm.ppf(0.8)
    return PairedResult(float(estimate), float(boot.confidence_interval.low), float(boot.confidence_interval.high), p, len(y),
                        float(z * se), f"paired bootstrap ({n_bootstrap}) and Williams' t, {method}")


def paired_difference(a, b) -> PairedResult:
    """Mean of ``a - b`` over pairs (e.g. seeds) with its t interval, paired t test p and detectable difference.

    ``a`` and ``b`` are finite and of one length: a pair with a missing value is refused, not dropped; one pair gives the
    difference with no interval (NaN)."""
    check_arguments(paired_difference, locals())
    same_index(a=a, b=b)
    a = vector(a, "a", min_len=1, constant_ok=True, unit="pair (seed)")
    d = a - vector(b, "b", len(a), constant_ok=True, unit="pair (seed)", first="a")
    n = len(d)
    if n < 2:  # one seed: the difference, with no interval
        return PairedResult(float(d.mean()), float("nan"), float("nan"), float("nan"), n, float("nan"), "paired t (needs 2 or more pairs)")
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    t = scipy.stats.t
    half = t.ppf(0.975, n - 1) * se
    p = float(2 * t.sf(abs(d.mean()) / se, n - 1)) if se > 0 else (0.0 if d.mean() != 0 else 1.0)
    detectable = (t.ppf(0.975, n - 1) + t.ppf(0.8, n - 1)) * se
    return PairedResult(float(d.mean()), float(d.mean() - half), float(d.mean() + half), p, n, float(detectable), "paired t")
