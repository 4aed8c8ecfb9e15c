"""Comparing RDMs many-to-many: correlations of upper triangles, rsatoolbox's weighted comparisons, and linear CKA.

Comparisons act on the upper triangles (diagonal excluded) of RDMs aligned by
condition label. Pearson runs at memory speed: an RDM is symmetric with a zero
diagonal, so the sums, sums of squares and dot products of upper triangles are
half the full-matrix ones: every RDM pair comes out of one matrix product of
the flattened full matrices, without gathering triangles.
Spearman ranks each triangle once per call, then correlates the ranks with one
matrix product; rho-a and cosine are one matrix product too. ``corr_cov``, ``cosine_cov`` and ``bures`` are computed by
rsatoolbox itself. Linear CKA is computed from the Gram matrices of Euclidean RDMs (``G = -D2 / 2``, centred):
the same number as CKA of the patterns (:func:`linear_cka`). Results equal rsatoolbox's and the reference formulas
to 1e-10 (``tests/rsa/test_compare.py``). Each is registered in :data:`~neurosage.rsa.methods.COMPARE_METHODS` (the
``*_rdms`` functions here); :func:`compare_rdms` dispatches by the registry, so a plug-in comparison works the same way.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from functools import partial
from typing import Any, Literal

import numpy as np
import scipy.stats
import torch
import xarray as xr

from neurosage.core.devices import check_device
from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments, check_choices
from neurosage.rsa.methods import COMPARE_METHODS, RDM_METHODS, compare_method, method_function
from neurosage.rsa.rdm import (
    COL,
    ROW,
    STACK,
    RDMAlignmentError,
    align_rdms,
    all_finite,
    upper_triangle,
)

__all__ = ["CompareMethod", "compare_rdms", "linear_cka", "pearson_full", "pearson_triangles", "pearson_rdms", "spearman_rdms",
           "kendall_tau_a_rdms", "rho_a_rdms", "cosine_rdms", "corr_cov_rdms", "cosine_cov_rdms", "bures_rdms", "cka_rdms", "cka_unbiased_rdms"]


#: A name registered in :data:`~neurosage.rsa.methods.COMPARE_METHODS` (``"pearson"``, ``"cka"``, a plug-in...).
CompareMethod = str


#: Entries sampled per RDM to check symmetry before the full-matrix path is trusted.
_SYMMETRY_SAMPLES = 20_000


def compare_rdms(
    a: xr.DataArray,
    b: xr.DataArray,
    method: CompareMethod = "pearson",
    *,
    how: Literal["strict", "intersect"] = "strict",
    device: str | torch.device | None = None,
) -> xr.DataArray:
    """Similarity of every RDM in ``a`` with every RDM in ``b`` (upper triangles).

    Parameters
    ----------
    a, b
        Single RDMs or stacks (leading ``"rdm"`` dim); conditions are aligned by label.
    method
        A name registered in :data:`~neurosage.rsa.methods.COMPARE_METHODS` (the built-ins are this module's ``*_rdms``
        functions; rsatoolbox's names are accepted), e.g. ``"pearson"``.
    how
        ``"strict"`` (raise on mismatched conditions) or ``"intersect"``.
    device
        Where the products run (``"cuda"`` when there is a GPU); float64 everywhere.

    Returns
    -------
    xarray.DataArray
        ``(rdm_a, rdm_b)`` similarity matrix; a scalar DataArray for two single RDMs.
        A constant RDM has no defined correlation: its similarities are 0, with a warning (rsatoolbox gives NaN; a
        search scores a layer that carries no information as no similarity).
    """
    check_choices(compare_rdms, locals())
    if device is not None:
        check_device(device)
    method = compare_method(method, field="method")
    for name, rdm in (("a", a), ("b", b)):
        if not isinstance(rdm, xr.DataArray):
            raise RDMAlignmentError(f"compare_rdms: {name} is a {type(rdm).__name__}, not an RDM with condition labels",
                                    "make RDMs with compute_rdm/compute_rdms (or neurosage.rsa.interop.from_rsatoolbox)", field=name)
    a, b = align_rdms(a, b, how=how)
    check_arguments(compare_rdms, locals())
    if a.sizes[ROW] < 3:
        raise RDMAlignmentError(f"the RDMs share {a.sizes[ROW]} condition(s); a comparison needs at least 3", "use more stimuli",
                                field="condition labels")
    if COMPARE_METHODS.get(method).needs_euclidean:
        for rdms in (a, b):
            _refuse_not_euclidean(rdms, method)
    stacks = [r if STACK in r.dims else r.expand_dims({STACK: [name]}) for r, name in ((a, "a"), (b, "b"))]
    sim = method_function(COMPARE_METHODS, method)(*stacks, device=device)
    sim = np.asarray(sim.detach().cpu().numpy() if isinstance(sim, torch.Tensor) else sim, dtype=np.float64)
    if sim.shape != (stacks[0].sizes[STACK], stacks[1].sizes[STACK]):
        raise ConfigError(f"comparison {method!r} returned shape {sim.shape} for {stacks[0].sizes[STACK]} x {stacks[1].sizes[STACK]} RDMs",
                          "return one similarity per pair of RDMs (neurosage.rsa.methods.CompareFunction)", field="method")
    if not np.isfinite(sim).all():  # a constant RDM has no similarity: 0 with a warning, as the built-ins give it
        constant = [np.ptp(np.atleast_2d(upper_triangle(r)), axis=1) == 0 for r in stacks]
        undefined = constant[0][:, None] | constant[1][None, :]
        if (~np.isfinite(sim) & undefined).any():
            warnings.warn(f"{int(constant[0].sum() + constant[1].sum())} constant RDM(s): {method} is undefined for them, reported as 0",
                          RuntimeWarning, stacklevel=2)
            sim = np.where(~np.isfinite(sim) & undefined, 0.0, sim)
    if not np.isfinite(sim).all():  # NaN is a comparison's failure, never a score
        raise ConfigError(f"comparison {method!r} returned {int((~np.isfinite(sim)).sum())} NaN or infinite similarities",
                          "return a finite similarity for every pair of RDMs (neurosage.rsa.methods.CompareFunction), or use another method",
                          field="method")
    names_a = a[STACK].values if STACK in a.dims else ["a"]
    names_b = b[STACK].values if STACK in b.dims else ["b"]
    out = xr.DataArray(sim, dims=("rdm_a", "rdm_b"), coords={"rdm_a": names_a, "rdm_b": names_b})
    out.attrs["method"] = method
    if STACK not in a.dims and STACK not in b.dims:
        return out.isel(rdm_a=0, rdm_b=0, drop=True)
    if STACK not in a.dims:
        return out.isel(rdm_a=0, drop=True)
    if STACK not in b.dims:
        return out.isel(rdm_b=0, drop=True)
    return out


def pearson_rdms(a: xr.DataArray, b: xr.DataArray, *, device: Any = None) -> torch.Tensor:
    """Comparison ``pearson``: one product of the full matrices, or of the triangles when they are not symmetric (or too
    ill-conditioned for the uncentred sums)."""
    ma, mb = _matrices(a, device), _matrices(b, device)
    sim = pearson_full(ma, mb) if _full_matrix_ok(ma) and _full_matrix_ok(mb) else None
    return pearson_triangles(_triangles(a, device), _triangles(b, device)) if sim is None else sim


def spearman_rdms(a: xr.DataArray, b: xr.DataArray, *, device: Any = None) -> torch.Tensor:
    """Comparison ``spearman``: Pearson r of the triangles' average ranks."""
    return pearson_triangles(_ranks(_triangles(a, device)), _ranks(_triangles(b, device)))


def kendall_tau_a_rdms(a: xr.DataArray, b: xr.DataArray, *, device: Any = None) -> np.ndarray:
    """Comparison ``kendall_tau_a``: Kendall's tau-a of every pair of triangles."""
    va, vb = _triangles(a, device).cpu().numpy(), _triangles(b, device).cpu().numpy()
    return np.array([[_kendall_tau_a(x, y) for y in vb] for x in va])


def rho_a_rdms(a: xr.DataArray, b: xr.DataArray, *, device: Any = None) -> torch.Tensor:
    """Comparison ``rho_a``: 12 <ranks, ranks> / (n^3 - n) of the centred average ranks (rsatoolbox's rho-a)."""
    ra, rb = (_ranks(_triangles(r, device)) for r in (a, b))
    ra, rb = ra - ra.mean(dim=1, keepdim=True), rb - rb.mean(dim=1, keepdim=True)
    n = ra.shape[1]
    return 12.0 * (ra @ rb.T) / (n**3 - n)


def cosine_rdms(a: xr.DataArray, b: xr.DataArray, *, device: Any = None) -> torch.Tensor:
    """Comparison ``cosine``: cosine similarity of the triangles; from the full matrices when they are dissimilarity
    matrices (a triangle's dot products and squared norms are half the full matrix's: the halves cancel)."""
    ma, mb = _matrices(a, device), _matrices(b, device)
    if _full_matrix_ok(ma) and _full_matrix_ok(mb):
        x, y = ma.reshape(ma.shape[0], -1), mb.reshape(mb.shape[0], -1)
        sim = _unit_rows(x) @ _unit_rows(y).T
        if not all_finite(sim):
            for m in (x, y):
                _refuse_nonfinite(m)
        return sim.clamp_(-1.0, 1.0)
    return (_unit_rows(_triangles(a, device)) @ _unit_rows(_triangles(b, device)).T).clamp_(-1.0, 1.0)


def _rsatoolbox_rdms(a: xr.DataArray, b: xr.DataArray, *, device: Any = None, method: str) -> np.ndarray:
    """rsatoolbox's own comparison of the triangles (for the methods without a fast path here)."""
    return _rsatoolbox_compare(_triangles(a, device).cpu().numpy(), _triangles(b, device).cpu().numpy(), method)


#: Comparison ``bures``: computed by rsatoolbox.
bures_rdms = partial(_rsatoolbox_rdms, method="bures")


def cosine_cov_rdms(a: xr.DataArray, b: xr.DataArray, *, device: Any = None) -> torch.Tensor | np.ndarray:
    """Comparison ``cosine_cov``: rsatoolbox's cosine whitened by the RDM entries' covariance (no noise covariance).

    rsatoolbox (``_cov_weighting``) double-centres ``G = -D / 2`` and takes the cosine of ``[sqrt(2) upper(Gc), diag(Gc)]``:
    the cosine of the full matrices ``Gc``, computed here in one product of the flattened matrices (rsatoolbox's own code
    for matrices that are not dissimilarity matrices)."""
    return _cov_weighted_cosine(a, b, device, centre=False)


def corr_cov_rdms(a: xr.DataArray, b: xr.DataArray, *, device: Any = None) -> torch.Tensor | np.ndarray:
    """Comparison ``corr_cov``: :func:`cosine_cov_rdms` of the RDMs less their triangle means (rsatoolbox's ``corr_cov``)."""
    return _cov_weighted_cosine(a, b, device, centre=True)


def _cov_weighted_cosine(a: xr.DataArray, b: xr.DataArray, device: Any, *, centre: bool) -> torch.Tensor | np.ndarray:
    ma, mb = _matrices(a, device), _matrices(b, device)
    if not (_full_matrix_ok(ma) and _full_matrix_ok(mb)):
        return _rsatoolbox_rdms(a, b, device=device, method="corr_cov" if centre else "cosine_cov")
    fa, fb = (_double_centred(m, centre) for m in (ma, mb))
    sim = _unit_rows(fa) @ _unit_rows(fb).T
    if not all_finite(sim):
        for m in (ma, mb):
            _refuse_nonfinite(m)
    return sim.clamp_(-1.0, 1.0)


def _double_centred(d: torch.Tensor, centre: bool) -> torch.Tensor:
    """``Gc = H (-D/2) H`` of each ``(k, n, n)`` dissimilarity matrix (``centre``: its off-diagonal mean subtracted
    first), flattened ``(k, n*n)``."""
    n = d.shape[-1]
    if centre:
        d = d - (d.sum(dim=(1, 2)) / (n * (n - 1)))[:, None, None]
        d.diagonal(dim1=1, dim2=2).zero_()
    g = -0.5 * d
    gc = g - g.mean(dim=2, keepdim=True) - g.mean(dim=1, keepdim=True) + g.mean(dim=(1, 2), keepdim=True)
    return gc.reshape(d.shape[0], n * n)

#: Comparison ``kendall_tau_b`` (and ``neg_riem_dist`` below): computed by rsatoolbox.
kendall_tau_b_rdms = partial(_rsatoolbox_rdms, method="tau-b")


def neg_riem_dist_rdms(a: xr.DataArray, b: xr.DataArray, *, device: Any = None) -> np.ndarray:
    """Comparison ``neg_riem_dist``: rsatoolbox's negative Riemannian distance (second-moment matrices must be positive definite).

    rsatoolbox builds a dense ``pairs x pairs`` matrix for it (``T``): RDMs too large for this machine's memory are refused
    first, by name, instead of ending the process."""
    n = a.sizes[ROW]
    pairs = n * (n - 1) // 2
    needed, memory = 2 * 8 * pairs**2, _physical_memory()
    if memory is not None and needed > memory // 2:
        raise ConfigError(f"neg_riem_dist on {n} conditions needs about {needed / 2**30:.0f} GiB (rsatoolbox makes a dense {pairs} x {pairs} "
                          f"matrix) and this machine has {memory / 2**30:.0f} GiB",
                          f"compare on at most {_largest_riemannian(memory)} conditions (a subset of the stimuli), or use another comparison",
                          field="method")
    try:
        return _rsatoolbox_rdms(a, b, device=device, method="neg_riem_dist")
    except np.linalg.LinAlgError:
        raise ConfigError("neg_riem_dist needs RDMs whose second-moment matrices are positive definite, and these are not (fewer "
                          "features than conditions, or RDMs that are not squared Euclidean distances)",
                          "compute the RDMs with rdm-method sqeuclidean from patterns with more features than conditions, or use another "
                          "comparison", field="method") from None




def _physical_memory() -> int | None:
    """This machine's memory in bytes (None where the system does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _largest_riemannian(memory: int) -> int:
    """The most conditions whose neg_riem_dist fits in half of ``memory``."""
    n = 3
    while 2 * 8 * ((n + 1) * n // 2) ** 2 <= memory // 2:
        n += 1
    return n


def cka_rdms(a: xr.DataArray, b: xr.DataArray, *, device: Any = None, unbiased: bool = False) -> torch.Tensor:
    """Comparison ``cka``: linear CKA of the centred Gram matrices of Euclidean RDMs (``cka_unbiased``: unbiased HSIC)."""
    ga, gb = (_centred_grams(r, device, unbiased=unbiased) for r in (a, b))
    return _cka_from_grams(ga, gb)


cka_unbiased_rdms = partial(cka_rdms, unbiased=True)


def linear_cka(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, *, unbiased: bool = False) -> float:
    """Linear CKA of two ``(n_conditions, n_features)`` pattern matrices (Kornblith et al. 2019, eq. 5).

    ``unbiased=True`` uses the unbiased HSIC estimator (Song et al. 2012), as Nguyen, Raghu & Kornblith (2021). The
    reference for :func:`compare_rdms`' ``"cka"``/``"cka_unbiased"``, which reach the same value from Euclidean RDMs.
    """
    check_arguments(linear_cka, locals())
    grams = []
    for name, value in (("x", x), ("y", y)):
        try:
            t = torch.as_tensor(np.ascontiguousarray(value, dtype=np.float64) if not isinstance(value, torch.Tensor) else value,
                                dtype=torch.float64)  # a reversed view (negative strides) is copied: torch takes none
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{name} is not an array of numbers ({err})", "pass (n_conditions, n_features) patterns", field=name) from None
        if t.ndim != 2:
            raise ConfigError(f"linear_cka needs 2-D (conditions x features) patterns, got shape {tuple(t.shape)}", "reshape to (n_conditions, -1)",
                              field=name)
        least = 4 if unbiased else 2
        if t.shape[0] < least or t.shape[1] < 1:
            raise ConfigError(f"{name} has shape {tuple(t.shape)}; linear CKA{' (unbiased)' if unbiased else ''} needs at least {least} "
                              "conditions and 1 feature", "give more conditions", field=name)
        if not bool(torch.isfinite(t).all()):
            raise ConfigError(f"{name} holds {int((~torch.isfinite(t)).sum())} NaN or infinite values", "drop the features without data",
                              field=name)
        if float((t - t.mean(0)).abs().max()) == 0.0:
            raise ConfigError(f"{name} is the same pattern for every condition, so its CKA with anything is undefined",
                              "pass patterns that vary across conditions", field=name)
        grams.append(_centre_gram((t @ t.T)[None], unbiased))
    if grams[0].shape != grams[1].shape:
        raise ConfigError(f"x and y have {grams[0].shape[-1]} and {grams[1].shape[-1]} conditions", "give both the same conditions in the same order",
                          field="y")
    cka = float(_cka_from_grams(grams[0], grams[1])[0, 0])
    if not math.isfinite(cka):  # e.g. unbiased HSIC of a Gram that is all centring noise
        raise ConfigError(f"linear CKA is undefined for these patterns ({cka})", "use the biased estimator or more conditions", field="x")
    return cka


def _refuse_not_euclidean(rdms: xr.DataArray, compare: str) -> None:
    """Refuse RDMs that do not say they are Euclidean (``attrs["method"]`` a method declared ``euclidean``)."""
    measure = rdms.attrs.get("method")
    if measure is None:
        raise ConfigError(f"{compare} needs Euclidean RDMs, and these RDMs do not say how they were computed (no 'method' attr)",
                          "compute them with compute_rdm(..., 'sqeuclidean'), or set rdms.attrs['method'] = 'sqeuclidean' if they are squared "
                          "Euclidean distances", field="method")
    if measure not in RDM_METHODS or not RDM_METHODS.get(measure).euclidean:
        raise ConfigError(f"{compare} needs Euclidean RDMs, got {measure!r} RDMs", "compute the RDMs with method 'sqeuclidean' (rdm-method)",
                          field="method")


def _centred_grams(rdms: xr.DataArray, device, *, unbiased: bool) -> torch.Tensor:
    """Centred Gram matrices ``(k, N, N)`` of Euclidean RDMs: ``G = -D2 / 2``, double centred (or unbiased-centred)."""
    _refuse_not_euclidean(rdms, "linear CKA")
    d = _matrices(rdms, device)
    _refuse_nonfinite(d)
    if not RDM_METHODS.get(rdms.attrs["method"]).squared:
        d = d * d
    return _centre_gram(-0.5 * d, unbiased)


def _centre_gram(g: torch.Tensor, unbiased: bool) -> torch.Tensor:
    """Double-centred Grams (biased HSIC), or the unbiased-HSIC centring of Song et al. (2012) (zero diagonal)."""
    n = g.shape[-1]
    if not unbiased:
        return g - g.mean(dim=-1, keepdim=True) - g.mean(dim=-2, keepdim=True) + g.mean(dim=(-2, -1), keepdim=True)
    if n < 4:
        raise ConfigError(f"unbiased CKA needs at least 4 conditions, got {n}", "use more stimuli, or compare-method 'cka'", field="method")
    g = g.clone()
    g.diagonal(dim1=-2, dim2=-1).zero_()
    means = g.sum(dim=-2) / (n - 2)
    means = means - means.sum(dim=-1, keepdim=True) / (2 * (n - 1))
    g = g - means[..., :, None] - means[..., None, :]
    g.diagonal(dim1=-2, dim2=-1).zero_()
    return g


def _cka_from_grams(ga: torch.Tensor, gb: torch.Tensor) -> torch.Tensor:
    """CKA of every Gram in ``ga`` with every Gram in ``gb``: <A, B> / (|A| |B|) (0 with a warning for a zero Gram)."""
    x, y = ga.reshape(ga.shape[0], -1), gb.reshape(gb.shape[0], -1)
    nx, ny = (torch.sqrt(_checked_variance(torch.linalg.vector_norm(v, dim=1) ** 2)) for v in (x, y))
    return ((x @ y.T) / (nx[:, None] * ny[None, :])).clamp_(-1.0, 1.0)


def _unit_rows(t: torch.Tensor) -> torch.Tensor:
    return t / torch.sqrt(_checked_variance(torch.linalg.vector_norm(t, dim=1) ** 2))[:, None]


def _rsatoolbox_compare(va: np.ndarray, vb: np.ndarray, method: str) -> np.ndarray:
    """rsatoolbox's own comparison of upper-triangle vectors (for the methods without a fast path here)."""
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.rdm import compare as rsa_compare

    return np.asarray(rsa_compare(RDMs(va), RDMs(vb), method=method), dtype=np.float64)


def _matrices(rdms: xr.DataArray, device) -> torch.Tensor:
    """``(k, N, N)`` float64 tensor of the full matrices (no copy for C-ordered float64 input on CPU)."""
    values = np.asarray(rdms.transpose(..., ROW, COL).values)
    values = values.reshape(-1, values.shape[-2], values.shape[-1])
    return torch.as_tensor(np.ascontiguousarray(values, dtype=np.float64), device=device)


def _triangles(rdms: xr.DataArray, device) -> torch.Tensor:
    """``(k, n_pairs)`` upper triangles, refused when not finite."""
    values = torch.as_tensor(np.atleast_2d(upper_triangle(rdms)).astype(np.float64, copy=False), device=device)
    _refuse_nonfinite(values)
    return values


def _refuse_nonfinite(values: torch.Tensor, name: str | None = None, who: str = "") -> None:
    """Refuse NaN or infinite entries (a correlation of them is NaN, without a word): naming the argument ``name`` of the public
    function ``who`` when given, else as the RDMs' dissimilarities."""
    if all_finite(values):
        return
    bad = int((~torch.isfinite(values)).sum())
    if bad and name is not None:
        raise ConfigError(f"{who}: {name} holds {bad} NaN or infinite value(s), whose correlation is undefined",
                          "compare RDMs of finite responses (compare_rdms names the RDM that holds them)", field=name)
    if bad:
        raise RDMAlignmentError(
            f"the RDM(s) hold {bad} non-finite dissimilarities",
            "compute RDMs from finite data (compute_rdm(..., nan='drop') drops NaN features)", field="dissimilarities",
        )


def _full_matrix_ok(m: torch.Tensor) -> bool:
    """Zero diagonal, and symmetric on a fixed sample of entries (every dissimilarity matrix is)."""
    if bool(torch.diagonal(m, dim1=-2, dim2=-1).ne(0).any()):
        return False
    n = m.shape[-1]
    flat = m.reshape(m.shape[0], n * n)
    above, below = (torch.as_tensor(p, device=m.device) for p in _symmetry_sample(n))
    upper, lower = flat.index_select(1, above), flat.index_select(1, below)
    scale = upper.abs().amax(dim=1, keepdim=True).clamp_min(1e-300)
    return bool(((upper - lower).abs() <= 1e-12 * scale).all())


@functools.lru_cache(maxsize=8)
def _symmetry_sample(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of ``_SYMMETRY_SAMPLES`` entries ``(i, j)`` of an ``n x n`` matrix and of their mirrors ``(j, i)``
    (every entry when there are fewer); the same sample every time."""
    if n * n <= _SYMMETRY_SAMPLES:
        i, j = np.divmod(np.arange(n * n), n)
    else:
        gen = torch.Generator().manual_seed(0)
        i = torch.randint(0, n, (_SYMMETRY_SAMPLES,), generator=gen).numpy()
        j = torch.randint(0, n, (_SYMMETRY_SAMPLES,), generator=gen).numpy()
    return i * n + j, j * n + i


def pearson_full(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor | None:
    """Pearson r of the upper triangles of full symmetric zero-diagonal matrices ``(k, N, N)``, ``(m, N, N)``.

    The dot products of all pairs are one matrix product of the flattened matrices; sums and
    squared norms are one reduction each; halving them gives the triangle statistics. Returns
    None when the uncentred sums would lose more than 8 of float64's 16 digits (a near-constant
    RDM far from zero); the caller then correlates the triangles directly.
    """
    check_arguments(pearson_full, locals())
    a, b = (torch.as_tensor(m) for m in (a, b))  # arrays too; a tensor keeps its dtype and device
    if a.ndim != 3 or b.ndim != 3 or a.shape[1:] != b.shape[1:] or a.shape[1] != a.shape[2]:
        raise ConfigError(f"pearson_full takes two stacks of square matrices of one size, (k, N, N) and (m, N, N), got shapes "
                          f"{tuple(a.shape)} and {tuple(b.shape)}", "stack RDMs of the same stimuli (compare_rdms does this from RDMs)",
                          field="b")
    k, n_rows = a.shape[0], a.shape[-1]
    x, y = a.reshape(k, -1), b.reshape(b.shape[0], -1)
    n_pairs = n_rows * (n_rows - 1) / 2
    cross = (x @ y.T) / 2 / n_pairs
    if not all_finite(cross):
        for m in (a, b):
            _refuse_nonfinite(m)
    (mean_x, second_x), (mean_y, second_y) = ((v.sum(dim=1) / 2 / n_pairs, torch.linalg.vector_norm(v, dim=1) ** 2 / 2 / n_pairs) for v in (x, y))
    var_x, var_y = second_x - mean_x**2, second_y - mean_y**2
    if bool((var_x < 1e-8 * second_x).any() or (var_y < 1e-8 * second_y).any()):
        return None
    cov = cross - mean_x[:, None] * mean_y[None, :]
    std_x, std_y = torch.sqrt(_checked_variance(var_x)), torch.sqrt(_checked_variance(var_y))
    return (cov / (std_x[:, None] * std_y[None, :])).clamp_(-1.0, 1.0)


def pearson_triangles(va: torch.Tensor, vb: torch.Tensor) -> torch.Tensor:
    """Pearson r between rows of ``va`` ``(k, n)`` and rows of ``vb`` ``(m, n)`` (one centred matrix product)."""
    if isinstance(va, xr.DataArray) or isinstance(vb, xr.DataArray):
        raise ConfigError("pearson_triangles takes RDM triangles (rows of numbers), and was given RDMs (DataArrays)", "compare RDMs with "
                          "neurosage.compare_rdms(a, b, method='pearson')", field="va")
    check_arguments(pearson_triangles, locals())
    va, vb = torch.as_tensor(va), torch.as_tensor(vb)
    for name, t in (("va", va), ("vb", vb)):  # a square RDM's values: its rows would be taken as triangles
        if t.ndim == 2 and t.shape[0] == t.shape[1] > 2 and bool((t.diagonal() == 0).all()) and bool(torch.equal(t, t.T)):
            raise ConfigError(f"{name} is a square symmetric matrix with a zero diagonal (an RDM's values), and pearson_triangles takes "
                              "RDM triangles, one RDM per row", "compare RDMs with neurosage.compare_rdms(a, b, method='pearson') (from "
                              "the DataArrays), or pass rdm[np.triu_indices(n, 1)][None] for one RDM", field=name)
    if va.ndim != 2 or vb.ndim != 2 or va.shape[1] != vb.shape[1]:
        raise ConfigError(f"pearson_triangles takes two (k, n) and (m, n) matrices of RDM triangles (one row each), got shapes "
                          f"{tuple(va.shape)} and {tuple(vb.shape)}", "stack the triangles as rows, of RDMs of the same stimuli "
                          "(compare_rdms does this from RDMs)", field="vb")

    def normalized(t: torch.Tensor) -> torch.Tensor:
        t = t - t.mean(dim=1, keepdim=True)
        norms = torch.linalg.vector_norm(t, dim=1, keepdim=True)
        return t / torch.sqrt(_checked_variance(norms.squeeze(1) ** 2))[:, None]

    sim = normalized(va) @ normalized(vb).T
    if not all_finite(sim):  # checked only then (as pearson_full does): NaN triangles give NaN, without a word otherwise
        _refuse_nonfinite(va, "va", "pearson_triangles")
        _refuse_nonfinite(vb, "vb", "pearson_triangles")
    return sim.clamp_(-1.0, 1.0)


def _checked_variance(var: torch.Tensor) -> torch.Tensor:
    """Variances with zeros (constant RDMs) replaced by 1, so their correlations come out 0, with a warning."""
    constant = var <= 0
    if bool(constant.any()):
        warnings.warn(f"{int(constant.sum())} constant RDM(s): correlation undefined, reported as 0", RuntimeWarning, stacklevel=4)
        var = torch.where(constant, torch.ones_like(var), var)
    return var


def _ranks(values: torch.Tensor) -> torch.Tensor:
    """Average ranks (ties share their mean rank, as ``scipy.stats.rankdata``) of each row, by one sort per row.

    Without ties the ranks are the sort's inverse permutation; each run of equal sorted values gets the mean of its
    1-based positions (a sum of integers over a count: exact in float64). On the CPU the sort is numpy's (its SIMD
    introsort is about twice ``torch.sort`` here, docs/performance.md); elsewhere torch's, on the values' device.
    """
    k, n = values.shape
    if values.device.type == "cpu":
        order = torch.from_numpy(np.argsort(values.numpy(), axis=1))
    else:
        order = torch.argsort(values, dim=1)
    ordered = values.gather(1, order)
    starts = torch.ones_like(ordered, dtype=torch.bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    positions = torch.arange(1, n + 1, dtype=torch.float64, device=values.device).expand(k, n)
    if bool(starts.all()):  # no ties: each value's rank is its position
        return torch.empty((k, n), dtype=torch.float64, device=values.device).scatter_(1, order, positions)
    group = torch.cumsum(starts, dim=1) - 1
    sums = torch.zeros((k, n), dtype=torch.float64, device=values.device).scatter_add_(1, group, positions)
    counts = torch.zeros((k, n), dtype=torch.float64, device=values.device).scatter_add_(1, group, torch.ones_like(positions))
    return torch.empty((k, n), dtype=torch.float64, device=values.device).scatter_(1, order, (sums / counts).gather(1, group))


def _kendall_tau_a(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-a = (concordant - discordant) / (n choose 2), ties counted in neither."""
    n0 = len(x) * (len(x) - 1) / 2
    tau_b = scipy.stats.kendalltau(x, y, variant="b").statistic
    if np.isnan(tau_b):
        return 0.0
    n1, n2 = _tied_pairs(x), _tied_pairs(y)
    return float(np.clip(tau_b * np.sqrt((n0 - n1) * (n0 - n2)) / n0, -1.0, 1.0))


def _tied_pairs(v: np.ndarray) -> float:
    counts = np.unique(v, return_counts=True)[1].astype(np.float64)
    return float((counts * (counts - 1) / 2).sum())
