"""The public RSA functions, fed what a user might pass by mistake: one clear error, or a correct result (checked against
scipy and rsatoolbox where one exists)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from neurosage.rsa.ceiling import ceiled, spearman_brown
from neurosage.rsa.compare import compare_rdms, linear_cka
from neurosage.rsa.interop import from_rsatoolbox, to_rsatoolbox
from neurosage.rsa.partial import partial_similarity
from neurosage.rsa.rdm import compute_rdm, compute_rdms, upper_triangle
from properties import BOUNDED, clear_or_correct, finite

values = st.one_of(st.floats(-100, 100), st.sampled_from([math.nan, math.inf]))
patterns = st.one_of(
    arrays(np.float64, st.tuples(st.integers(0, 8), st.integers(0, 6)), elements=values),
    arrays(np.float64, st.tuples(st.integers(3, 8), st.integers(2, 6)), elements=st.floats(-100, 100)),  # mostly valid
    arrays(np.float64, st.integers(0, 6), elements=st.floats(-1, 1)),  # 1-D
    st.sampled_from([None, "abc", [[1, 2], [3]], {"a": 1}]),
)
rdm_methods = st.sampled_from(["correlation", "euclidean", "cosine", "sqeuclidean", "correlaton", "", None])
compare_methods = st.sampled_from(["pearson", "spearman", "cosine", "kendall", "tau-a", "peason", None, 3])


def _labels(n):
    return [f"s{i}" for i in range(n)]


@BOUNDED
@given(patterns, rdm_methods)
def test_compute_rdm(data, method):
    n = len(data) if isinstance(data, np.ndarray) and data.ndim >= 1 else 0
    rdm = clear_or_correct(lambda: compute_rdm(data, method, labels=_labels(n) if n else None))
    if rdm is not None:
        assert np.isfinite(rdm.values).all() and np.allclose(rdm.values, rdm.values.T) and np.allclose(np.diag(rdm.values), 0)
        if method in ("euclidean", "cosine", "sqeuclidean") and np.ptp(data, axis=1).min() > 1e-6:
            expected = scipy.spatial.distance.squareform(scipy.spatial.distance.pdist(data, method))
            if method == "sqeuclidean":  # neurosage's (rsatoolbox's euclidean) is per feature
                expected = expected / data.shape[1]
            np.testing.assert_allclose(rdm.values, expected, atol=1e-8)


def _stack(data, n, name):
    return compute_rdms({name: data}, labels=_labels(n))


@BOUNDED
@given(arrays(np.float64, st.tuples(st.integers(2, 9), st.integers(2, 5)), elements=st.floats(-10, 10)),
       arrays(np.float64, st.tuples(st.integers(2, 9), st.integers(2, 5)), elements=st.floats(-10, 10)), compare_methods)
def test_compare_rdms(a, b, method):
    def call():
        return compare_rdms(_stack(a, len(a), "a"), _stack(b, len(b), "b"), method)

    sim = clear_or_correct(call)
    if sim is not None:
        assert np.isfinite(sim.values).all() and (np.abs(sim.values) <= 1 + 1e-9).all()
        if method in ("pearson", "spearman") and len(a) == len(b):
            ta, tb = (upper_triangle(_stack(x, len(x), "x"))[0] for x in (a, b))
            if np.ptp(ta) > 1e-9 and np.ptp(tb) > 1e-9:
                expected = getattr(scipy.stats, f"{method}r")(ta, tb)[0]
                assert float(sim.values.ravel()[0]) == pytest.approx(expected, abs=1e-8)


@BOUNDED
@given(st.one_of(finite, st.sampled_from([math.nan, -1.0, 1.0, "0.5", None])), st.one_of(finite, st.sampled_from([0.0, -1.0, "2"])))
def test_spearman_brown(r, factor):
    result = clear_or_correct(lambda: spearman_brown(r, factor))
    if result is not None:
        assert math.isfinite(result) and math.isclose(result, factor * r / (1 + (factor - 1) * r), rel_tol=1e-12)


@BOUNDED
@given(st.one_of(finite, st.just(math.nan)), st.one_of(finite, st.just(0.0)), st.sampled_from(["sqrt", "brainscore", "sqr", "BrainScore", None]))
def test_ceiled(score, ceiling, convention):
    result = clear_or_correct(lambda: ceiled(score, ceiling, convention))
    if result is not None:
        if ceiling > 0 and math.isfinite(score):
            expected = score / ceiling
            assert result == pytest.approx(min(max(expected, 0), 1) if convention == "brainscore" else expected)
        else:
            assert math.isnan(result)


@BOUNDED
@given(st.one_of(arrays(np.float64, st.tuples(st.integers(3, 7), st.integers(2, 5)), elements=st.floats(-10, 10)),
                 st.sampled_from([None, "rdm", [[0, 1], [1, 0]]])),
       st.sampled_from([None, "stimulus_id", "index", "stimulus_idd"]), st.booleans())
def test_rsatoolbox_round_trip(data, descriptor, as_recording):
    from neurosage.assembly import make_assembly

    def call():
        if isinstance(data, np.ndarray) and as_recording:  # a recording instead of its RDMs
            return to_rsatoolbox(make_assembly(data, stimulus_id=_labels(len(data)), region="V4"))
        rdms = _stack(data, len(data), "V4") if isinstance(data, np.ndarray) else data
        return from_rsatoolbox(to_rsatoolbox(rdms), descriptor), rdms

    result = clear_or_correct(call)
    if result is not None:
        back, rdms = result
        np.testing.assert_allclose(back.values, rdms.values, atol=1e-12)
        expected = _labels(len(data)) if descriptor in (None, "stimulus_id") else list(range(len(data)))
        assert [str(x) for x in back.condition_row.values] == [str(x) for x in expected]


@BOUNDED
@given(arrays(np.float64, st.tuples(st.integers(2, 8), st.integers(1, 5)), elements=st.one_of(st.floats(-10, 10), st.just(math.nan))),
       arrays(np.float64, st.tuples(st.integers(2, 8), st.integers(1, 5)), elements=st.floats(-10, 10)), st.booleans())
def test_linear_cka(x, y, unbiased):
    result = clear_or_correct(lambda: linear_cka(x, y, unbiased=unbiased))
    if result is not None:
        assert math.isfinite(result) and -1 - 1e-9 <= result <= 1 + 1e-9


@BOUNDED
@given(st.integers(2, 9), st.integers(2, 9), st.integers(2, 9), st.sampled_from(["pearson", "spearman", "cosine", "pearsn"]),
       st.sampled_from(["ok", "nan", "recording"]))
def test_partial_similarity(n_candidate, n_teacher, n_control, method, mistake):
    rng = np.random.default_rng(n_candidate * 100 + n_teacher * 10 + n_control)
    candidate, teacher = _stack(rng.normal(size=(n_candidate, 4)), n_candidate, "c"), _stack(rng.normal(size=(n_teacher, 4)), n_teacher, "t")
    control: object = _stack(rng.normal(size=(n_control, 4)), n_control, "pixels")
    if mistake == "nan":
        control = control.copy(data=np.where(np.eye(n_control, k=1, dtype=bool)[None], np.nan, control.values))
    elif mistake == "recording":
        control = xr.DataArray(rng.normal(size=(n_control, 3)), dims=("presentation", "neuroid"))
    result = clear_or_correct(lambda: partial_similarity(candidate, teacher, control, method))
    if result is not None:
        assert np.isfinite(result).all() and (np.abs(result) <= 1 + 1e-9).all()
