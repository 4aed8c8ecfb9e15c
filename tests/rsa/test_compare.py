import numpy as np
import pytest
import rsatoolbox
import torch

from neurosage.assembly import make_assembly
from neurosage.core.errors import ConfigError
from neurosage.rsa.compare import compare_rdms, pearson_full, pearson_triangles
from neurosage.rsa.interop import to_rsatoolbox
from neurosage.rsa.rdm import RDMAlignmentError, compute_rdm, compute_rdms, upper_triangle


@pytest.mark.parametrize("method,ref_method", [("pearson", "corr"), ("spearman", "spearman"), ("kendall_tau_a", "tau-a")])
def test_comparisons_equal_rsatoolbox(rng, method, ref_method):
    xs = [rng.normal(size=(25, 15)) for _ in range(3)]
    ys = [rng.normal(size=(25, 40)) for _ in range(4)]
    a = compute_rdms({f"t{i}": x for i, x in enumerate(xs)})
    b = compute_rdms({f"c{i}": y for i, y in enumerate(ys)})
    ours = compare_rdms(a, b, method)
    ref = rsatoolbox.rdm.compare(to_rsatoolbox(a), to_rsatoolbox(b), method=ref_method)
    assert ours.dims == ("rdm_a", "rdm_b") and ours.shape == (3, 4)
    np.testing.assert_allclose(ours.values, ref, atol=1e-10, rtol=0)


def test_tau_a_with_ties_equals_rsatoolbox(rng):
    a = compute_rdm(rng.integers(0, 2, size=(12, 3)).astype(float) + rng.normal(size=(12, 1)) * 0, "euclidean")
    b = compute_rdm(rng.integers(0, 3, size=(12, 2)).astype(float), "euclidean")
    ours = float(compare_rdms(a, b, "kendall_tau_a"))
    ref = rsatoolbox.rdm.compare(to_rsatoolbox(a), to_rsatoolbox(b), method="tau-a")[0, 0]
    assert ours == pytest.approx(ref, abs=1e-10)


def test_compare_aligns_by_stimulus_id_not_position(rng):
    x = rng.normal(size=(10, 20))
    ids = np.array([f"s{i}" for i in range(10)])
    a = compute_rdm(make_assembly(x, stimulus_id=ids, region="V4"))
    perm = rng.permutation(10)
    b = compute_rdm(make_assembly(x[perm], stimulus_id=ids[perm], region="L1"))
    assert float(compare_rdms(a, b)) == pytest.approx(1.0, abs=1e-12)
    assert float(compare_rdms(a, b.assign_coords(condition_row=ids, condition_col=ids))) < 0.9


def test_compare_mismatched_stimuli_raises_or_intersects(rng):
    ids = np.array([f"s{i}" for i in range(10)])
    a = compute_rdm(make_assembly(rng.normal(size=(10, 5)), stimulus_id=ids, region="V4"))
    b = compute_rdm(make_assembly(rng.normal(size=(8, 5)), stimulus_id=ids[2:], region="IT"))
    with pytest.raises(RDMAlignmentError, match="10 vs 8 labels, 8 shared.*how='intersect'"):
        compare_rdms(a, b)
    with pytest.warns(RuntimeWarning, match="8 shared"):
        r = compare_rdms(a, b, how="intersect")
    expected = np.corrcoef(upper_triangle(a.sel(condition_row=ids[2:], condition_col=ids[2:])), upper_triangle(b))[0, 1]
    assert float(r) == pytest.approx(expected, abs=1e-12)
    numbered = compute_rdm(rng.normal(size=(10, 5)))  # labels 0..9
    named = compute_rdm(rng.normal(size=(10, 5)), labels=[str(i) for i in range(10)])
    for how in ("strict", "intersect"):
        with pytest.raises(RDMAlignmentError, match="0 shared.*labels are int, the second's str; fix: label both"):
            compare_rdms(numbered, named, how=how)


def test_constant_rdm_comparison_is_zero_with_warning(rng):
    a = compute_rdm(rng.normal(size=(6, 5)))
    b = a.copy(data=np.ones_like(a.values) - np.eye(6))
    with pytest.warns(RuntimeWarning, match="constant RDM"):
        assert float(compare_rdms(a, b)) == 0.0


def _stack(rng, k, n=60, features=30, method="correlation"):
    return compute_rdms({f"r{i}": rng.normal(size=(n, features)) + rng.normal(size=(1, features)) * i for i in range(k)}, method)


@pytest.mark.parametrize("method", ["correlation", "euclidean", "sqeuclidean", "cosine"])
def test_full_matrix_pearson_equals_rsatoolbox_and_the_triangle_path(rng, method):
    a, b = _stack(rng, 3, method=method), _stack(rng, 8, method=method)
    full = pearson_full(torch.as_tensor(a.values), torch.as_tensor(b.values))
    triangles = pearson_triangles(torch.as_tensor(upper_triangle(a)), torch.as_tensor(upper_triangle(b)))
    ref = rsatoolbox.rdm.compare(to_rsatoolbox(a), to_rsatoolbox(b), method="corr")
    assert full is not None
    np.testing.assert_allclose(full.numpy(), ref, atol=1e-10, rtol=0)
    np.testing.assert_allclose(triangles.numpy(), ref, atol=1e-10, rtol=0)


def test_asymmetric_or_nonzero_diagonal_matrices_use_the_upper_triangles(rng):
    a, b = _stack(rng, 1), _stack(rng, 2)
    skewed = a.copy(data=np.triu(a.values) + np.tril(rng.random(a.shape)) * np.tri(60, k=-1))
    expected = np.corrcoef(np.vstack([upper_triangle(skewed), upper_triangle(b)]))[0, 1:]
    np.testing.assert_allclose(compare_rdms(skewed, b).values.ravel(), expected, atol=1e-12)
    diag = a.copy(data=a.values + np.eye(60))
    expected = np.corrcoef(np.vstack([upper_triangle(a), upper_triangle(b)]))[0, 1:]
    np.testing.assert_allclose(compare_rdms(diag, b).values.ravel(), expected, atol=1e-12)


def test_near_constant_rdms_far_from_zero_keep_their_precision(rng):
    a, b = compute_rdm(rng.normal(size=(60, 9)), "euclidean"), compute_rdm(rng.normal(size=(60, 9)), "euclidean")
    off = 1 - np.eye(60)
    shifted_a, shifted_b = a.copy(data=a.values * 1e-3 + 1e3 * off), b.copy(data=b.values * 1e-3 + 1e3 * off)
    expected = np.corrcoef(upper_triangle(a), upper_triangle(b))[0, 1]
    # uncentred sums would lose 12 of 16 digits here; the triangle path keeps what float64 holds
    assert float(compare_rdms(shifted_a, shifted_b)) == pytest.approx(expected, abs=1e-8)


def test_nonfinite_dissimilarities_are_refused(rng):
    a, b = _stack(rng, 1), _stack(rng, 2)
    bad = a.values.copy()
    bad[0, 3, 7] = bad[0, 7, 3] = np.nan
    with pytest.raises(RDMAlignmentError, match="non-finite"):
        compare_rdms(a.copy(data=bad), b)


def test_a_stack_compared_with_itself_has_a_unit_diagonal(rng):
    a = _stack(rng, 4)
    sim = compare_rdms(a, a)
    np.testing.assert_allclose(np.diag(sim.values), 1.0, atol=1e-12)
    np.testing.assert_allclose(sim.values, sim.values.T, atol=1e-12)


@pytest.mark.gpu
def test_cuda_comparison_equals_cpu(rng):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    a, b = _stack(rng, 3), _stack(rng, 5)
    np.testing.assert_allclose(compare_rdms(a, b, device="cuda").values, compare_rdms(a, b).values, atol=1e-12)
    np.testing.assert_allclose(compare_rdms(a, b, "spearman", device="cuda").values, compare_rdms(a, b, "spearman").values, atol=1e-12)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without a GPU")
def test_a_gpu_this_machine_lacks_is_named(rng):
    """Round 7 F12: torch's "Found no NVIDIA driver" with no neurosage sentence."""
    a = compute_rdm(rng.normal(size=(5, 3)))
    with pytest.raises(ConfigError, match="field 'device': device 'cuda' was asked for, but this machine has no CUDA GPU"):
        compare_rdms(a, a, device="cuda")
