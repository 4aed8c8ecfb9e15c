"""Similarity beyond a control: partial correlations of RDMs (neurosage.rsa.partial)."""

import numpy as np
import pytest
import scipy.stats
import xarray as xr

from neurosage.core.errors import ConfigError
from neurosage.rsa.compare import compare_rdms
from neurosage.rsa.partial import partial_correlation_vectors, partial_scores, partial_similarity
from neurosage.rsa.rdm import COL, ROW, RDMAlignmentError, stack_rdms

N = 12


def _rdm(values: np.ndarray, labels=None) -> xr.DataArray:
    """A symmetric zero-diagonal RDM with ``values`` as its upper triangle."""
    labels = [f"s{i}" for i in range(N)] if labels is None else labels
    m = np.zeros((N, N))
    m[np.triu_indices(N, k=1)] = values
    m = m + m.T
    return xr.DataArray(m, dims=(ROW, COL), coords={ROW: labels, COL: labels})


def _stack(rows: np.ndarray, prefix: str) -> xr.DataArray:
    return stack_rdms({f"{prefix}{i}": _rdm(r) for i, r in enumerate(rows)})


def _closed_form(x, y, z, method="pearson"):
    corr = (lambda a, b: scipy.stats.spearmanr(a, b).statistic) if method == "spearman" else (lambda a, b: np.corrcoef(a, b)[0, 1])
    rxy, rxz, ryz = corr(x, y), corr(x, z), corr(y, z)
    return (rxy - rxz * ryz) / np.sqrt((1 - rxz**2) * (1 - ryz**2))


P = N * (N - 1) // 2


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_partial_similarity_is_the_closed_form(rng, method):
    z = rng.random(P)
    xs = rng.random((4, P)) + 0.5 * z  # candidates that share some of the control
    ys = rng.random((3, P)) + 0.8 * z
    got = partial_similarity(_stack(xs, "layer"), _stack(ys, "area"), _rdm(z), method)
    assert got.shape == (4, 3)
    want = np.array([[_closed_form(x, y, z, method) for y in ys] for x in xs])
    np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)
    np.testing.assert_allclose(partial_correlation_vectors(xs, ys, z, method), want, atol=1e-10, rtol=0)


def test_an_orthogonal_control_leaves_pearson_unchanged(rng):
    xs, ys = rng.normal(size=(3, P)), rng.normal(size=(2, P))
    xs, ys = xs - xs.mean(1, keepdims=True), ys - ys.mean(1, keepdims=True)
    z = rng.normal(size=P)
    basis = np.vstack([np.ones(P), *xs, *ys]).T  # make z (centred) orthogonal to every x and y
    z = z - basis @ np.linalg.lstsq(basis, z, rcond=None)[0]
    xs, ys = xs + 3.0, ys + 3.0  # positive dissimilarities; the offset changes no correlation
    got = partial_similarity(_stack(xs, "layer"), _stack(ys, "area"), _rdm(z + 5.0))
    plain = compare_rdms(_stack(xs, "layer"), _stack(ys, "area"), "pearson").values
    np.testing.assert_allclose(got, plain, atol=1e-10)


def test_shared_control_alone_gives_no_similarity_beyond_it(rng):
    """Candidate = control + noise, teacher = control + independent noise: plainly similar, ~0 beyond the control."""
    n = 60
    labels = [f"s{i}" for i in range(n)]
    p = n * (n - 1) // 2

    def rdm(v):
        m = np.zeros((n, n))
        m[np.triu_indices(n, k=1)] = v
        return xr.DataArray(m + m.T, dims=(ROW, COL), coords={ROW: labels, COL: labels})

    z = rng.random(p) * 4
    x, y = z + rng.normal(size=p), z + rng.normal(size=p)
    plain = float(compare_rdms(rdm(x), rdm(y)))
    beyond = partial_similarity(rdm(x), rdm(y), rdm(z))[0, 0]
    assert plain > 0.5
    assert abs(beyond) < 0.05  # 1770 pairs: the partial r of independent noise is ~ +-0.024


def test_controls_are_aligned_by_stimulus_id_and_others_refused(rng):
    z, x, y = rng.random(P), rng.random(P), rng.random(P)
    control = _rdm(z)
    order = list(reversed(control[ROW].values))
    shuffled = control.sel({ROW: order, COL: order})
    np.testing.assert_allclose(partial_similarity(_rdm(x), _rdm(y), shuffled), partial_similarity(_rdm(x), _rdm(y), control), atol=1e-12)
    other = _rdm(z, labels=[f"t{i}" for i in range(N)])
    with pytest.raises(RDMAlignmentError, match="control RDM and the teacher's RDMs are on different stimuli"):
        partial_similarity(_rdm(x), _rdm(y), other)
    fewer = control.isel({ROW: slice(0, N - 1), COL: slice(0, N - 1)})
    with pytest.raises(RDMAlignmentError, match="different stimuli"):
        partial_similarity(_rdm(x), _rdm(y), fewer)


def test_constant_controls_and_non_correlations_are_refused(rng):
    x, y = _rdm(rng.random(P)), _rdm(rng.random(P))
    with pytest.raises(ConfigError, match="constant"):
        partial_similarity(x, y, _rdm(np.ones(P)))
    with pytest.raises(ConfigError, match="partial correlation"):
        partial_similarity(x, y, _rdm(rng.random(P)), "cosine")
    assert partial_similarity(x, y, _rdm(rng.random(P)), "corr").shape == (1, 1)  # aliases resolve


def test_an_rdm_the_control_explains_scores_zero_with_a_warning(rng):
    z = rng.random(P)
    with pytest.warns(RuntimeWarning, match="explained entirely by the control"):
        got = partial_similarity(_rdm(2 * z + 1), _rdm(rng.random(P)), _rdm(z))
    assert got[0, 0] == 0.0


def test_several_controls_are_partialled_out_together(rng):
    z = rng.random((2, P))
    x, y = rng.random(P) + z.sum(0), rng.random(P) + z.sum(0)
    design = np.vstack([np.ones(P), z]).T
    rx, ry = (v - design @ np.linalg.lstsq(design, v, rcond=None)[0] for v in (x, y))
    got = partial_similarity(_rdm(x), _rdm(y), _stack(z, "c"))[0, 0]
    assert got == pytest.approx(np.corrcoef(rx, ry)[0, 1], abs=1e-10)


def test_paired_controls_use_each_endpoints_own(rng):
    zs = rng.random((2, P))
    xs, ys = rng.random((3, P)), rng.random((2, P)) + zs
    teacher = _stack(ys, "area")
    control = stack_rdms({"area1": _rdm(zs[1]), "area0": _rdm(zs[0])})  # by name, not position
    got = partial_similarity(_stack(xs, "layer"), teacher, control, paired=True)
    for j in range(2):
        np.testing.assert_allclose(got[:, j], [_closed_form(x, ys[j], zs[j]) for x in xs], atol=1e-10)
    with pytest.raises(ConfigError, match="one control RDM per teacher endpoint"):
        partial_similarity(_stack(xs, "layer"), teacher, _rdm(zs[0]), paired=True)


def test_partial_scores_pick_the_best_layer_and_bootstrap(rng):
    z = rng.random(P)
    ys = rng.random((2, P)) + z
    xs = np.vstack([ys[0] + 0.1 * rng.random(P), rng.random(P) + z, ys[1] + 0.1 * rng.random(P)])
    scores = partial_scores(_stack(ys, "area"), _stack(xs, "layer"), _rdm(z), control_name="pixels", n_bootstrap=20, seed=1)
    assert scores.best_layer == {"area0": "layer0", "area1": "layer2"}
    assert scores.similarity.dims == ("endpoint", "layer") and scores.similarity.attrs["beyond"] == "pixels"
    assert scores.tg == pytest.approx(np.mean(list(scores.per_endpoint.values())))
    assert scores.ceilings is None and scores.tg_ceiled is None
    lo, hi = scores.tg_interval
    assert lo <= hi and set(scores.intervals) == {"area0", "area1"}
