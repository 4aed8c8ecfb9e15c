"""The RSA choices (rdm-method, compare-method): each agrees with rsatoolbox or a reference formula nobody here wrote."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox
import xarray as xr

from neurosage.assembly import make_assembly
from neurosage.core.errors import ConfigError
from neurosage.rsa.compare import compare_rdms, linear_cka
from neurosage.rsa.interop import from_rsatoolbox, to_rsatoolbox
from neurosage.rsa.methods import COMPARE_METHODS, check_rsa_methods, compare_method
from neurosage.rsa.rdm import compute_rdm, stack_rdms
from neurosage.rsa.score import teacher_scores
from neurosage.training.configs import RDMOptions


def _stacks(rng, method):
    x = rng.normal(size=(15, 25))
    y = x[:, :8] @ rng.normal(size=(8, 12)) + rng.normal(size=(15, 12))
    a = stack_rdms({"V4": compute_rdm(x, method), "IT": compute_rdm(np.abs(x), method)})
    b = stack_rdms({"l1": compute_rdm(y, method), "l2": compute_rdm(y**2, method), "l3": compute_rdm(np.tanh(y), method)})
    return a, b


# ours -> rsatoolbox 0.3.2's name
RSATOOLBOX_NAMES = {"pearson": "corr", "spearman": "spearman", "kendall_tau_a": "tau-a", "rho_a": "rho-a", "cosine": "cosine",
                    "corr_cov": "corr_cov", "cosine_cov": "cosine_cov", "bures": "bures", "kendall_tau_b": "tau-b"}
#: Every comparison rsatoolbox's compare() offers (its docstring's list); each is offered here or refused with the reason.
RSATOOLBOX_COMPARISONS = ("cosine", "spearman", "corr", "kendall", "tau-b", "tau-a", "rho-a", "corr_cov", "cosine_cov", "neg_riem_dist", "bures",
                          "bures_metric")
#: Every RDM method rsatoolbox's calc_rdm() offers, and ours (None: refused with the reason; crossnobis has its own test below).
RSATOOLBOX_RDM_METHODS = {"euclidean": "sqeuclidean", "correlation": "correlation", "poisson": "poisson", "mahalanobis": None,
                          "poisson_cv": None}


@pytest.mark.parametrize("rdm_method", ["correlation", "sqeuclidean"])
@pytest.mark.parametrize("method", sorted(RSATOOLBOX_NAMES))
def test_every_comparison_matches_rsatoolbox(rng, method, rdm_method):
    a, b = _stacks(rng, rdm_method)
    ours = compare_rdms(a, b, method).values
    theirs = rsatoolbox.rdm.compare(to_rsatoolbox(a), to_rsatoolbox(b), method=RSATOOLBOX_NAMES[method])
    np.testing.assert_allclose(ours, theirs, atol=1e-10, rtol=0)
    # rsatoolbox's spelling is accepted and means the same
    np.testing.assert_allclose(compare_rdms(a, b, RSATOOLBOX_NAMES[method]).values, ours, atol=0, rtol=0)


@pytest.mark.parametrize("name", RSATOOLBOX_COMPARISONS)
def test_every_rsatoolbox_comparison_is_offered_equal_or_refused_with_the_reason(rng, name):
    x = rng.normal(size=(8, 30))  # more features than conditions: second-moment matrices positive definite (neg_riem_dist)
    a = stack_rdms({"V4": compute_rdm(x, "sqeuclidean"), "IT": compute_rdm(x**2, "sqeuclidean")})
    b = stack_rdms({"l1": compute_rdm(np.tanh(x + rng.normal(size=x.shape)), "sqeuclidean")})
    try:
        ours = compare_rdms(a, b, name).values
    except ConfigError as refused:
        assert "is not offered: " in str(refused) and name == "bures_metric", str(refused)
        return
    theirs = rsatoolbox.rdm.compare(to_rsatoolbox(a), to_rsatoolbox(b), method=name)
    np.testing.assert_allclose(ours, theirs, atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", sorted(RSATOOLBOX_RDM_METHODS))
def test_every_rsatoolbox_rdm_method_is_offered_equal_or_refused_with_the_reason(rng, name):
    ours_name = RSATOOLBOX_RDM_METHODS[name]
    x = np.abs(rng.normal(size=(7, 12)))  # non-negative: poisson rates
    if ours_name is None:
        with pytest.raises(ConfigError, match="is not offered: "):
            compute_rdm(x, name)
        return
    dataset = rsatoolbox.data.Dataset(x, obs_descriptors={"conds": np.arange(7)})
    theirs = rsatoolbox.rdm.calc_rdm(dataset, method=name, descriptor="conds").get_matrices()[0]
    np.testing.assert_allclose(compute_rdm(x, ours_name).values, theirs, atol=1e-10, rtol=0)


def test_poisson_refuses_signed_patterns(rng):
    with pytest.raises(ConfigError, match="non-negative"):
        compute_rdm(rng.normal(size=(5, 4)), "poisson")


def _cka_feature_space(x, y):
    """Kornblith et al. (2019), eq. 5: ||Y'X||_F^2 / (||X'X||_F ||Y'Y||_F) on column-centred features."""
    x, y = x - x.mean(0), y - y.mean(0)
    return np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def _hsic_unbiased(k, ell):
    """Song et al. (2012), eq. 5: the unbiased HSIC estimator (kernel matrices K and L), written out term by term."""
    n = k.shape[0]
    k, ell = k.copy(), ell.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(ell, 0)
    one = np.ones(n)
    return (np.trace(k @ ell) + (one @ k @ one) * (one @ ell @ one) / ((n - 1) * (n - 2)) - 2 / (n - 2) * (one @ k @ ell @ one)) / (n * (n - 3))


def test_linear_cka_from_rdms_matches_the_reference_formulas(rng):
    x = rng.normal(size=(20, 30)) + 2.0
    y = x[:, :10] @ rng.normal(size=(10, 15)) + rng.normal(size=(20, 15))
    biased = _cka_feature_space(x, y)
    gram_x, gram_y = x @ x.T, y @ y.T
    unbiased = _hsic_unbiased(gram_x, gram_y) / np.sqrt(_hsic_unbiased(gram_x, gram_x) * _hsic_unbiased(gram_y, gram_y))
    assert linear_cka(x, y) == pytest.approx(biased, abs=1e-12)
    assert linear_cka(x, y, unbiased=True) == pytest.approx(unbiased, abs=1e-12)
    for rdm_method in ("sqeuclidean", "euclidean"):
        rx, ry = compute_rdm(x, rdm_method), compute_rdm(y, rdm_method)
        assert float(compare_rdms(rx, ry, "cka")) == pytest.approx(biased, abs=1e-10)
        assert float(compare_rdms(rx, ry, "cka_unbiased")) == pytest.approx(unbiased, abs=1e-10)
    assert biased != pytest.approx(unbiased, abs=1e-3)  # the two estimators differ at n = 20


def test_cka_refuses_rdms_that_are_not_euclidean(rng):
    x = rng.normal(size=(10, 5))
    with pytest.raises(ConfigError, match="sqeuclidean"):
        compare_rdms(compute_rdm(x), compute_rdm(x), "cka")
    with pytest.raises(ConfigError, match="rdm-method"):
        check_rsa_methods("correlation", "cka")


def test_method_names_are_checked_with_the_choices():
    assert compare_method("corr") == "pearson" and compare_method("Rho-A") == "rho_a"
    with pytest.raises(ConfigError, match="choose one of") as err:
        compare_method("spearmann")
    assert "kendall_tau_a" in str(err.value)
    with pytest.raises(ConfigError, match="crossnobis"):
        check_rsa_methods("mahalanobis", "pearson")
    assert set(RSATOOLBOX_NAMES) | {"cka", "cka_unbiased", "neg_riem_dist"} == set(COMPARE_METHODS)


def _repeated_assembly(rng, n_stim=8, n_rep=4, n_sites=12):
    ids = np.tile([f"s{i}" for i in range(n_stim)], n_rep)
    signal = rng.normal(size=(n_stim, n_sites))
    values = np.tile(signal, (n_rep, 1)) + 0.5 * rng.normal(size=(n_stim * n_rep, n_sites))
    return make_assembly(values, stimulus_id=ids, region=["V4"] * n_sites,
                         presentation_coords={"repetition": np.repeat(np.arange(n_rep), n_stim)}), values, ids


def test_crossnobis_is_the_cross_validated_distance(rng):
    assembly, values, ids = _repeated_assembly(rng)
    ours = compute_rdm(assembly, "crossnobis")
    # by hand: leave one repetition out; the distance vector of the held-out fold times that of the mean of the others
    n_rep, stim = 4, [f"s{i}" for i in range(8)]
    folds = [values[r * 8:(r + 1) * 8] for r in range(n_rep)]
    expected = np.zeros((8, 8))
    for r in range(n_rep):
        test, train = folds[r], np.mean([folds[q] for q in range(n_rep) if q != r], axis=0)
        for i in range(8):
            for j in range(8):
                expected[i, j] += (test[i] - test[j]) @ (train[i] - train[j]) / values.shape[1] / n_rep
    np.testing.assert_allclose(ours.sel(condition_row=stim, condition_col=stim).values, expected, atol=1e-12)
    assert list(ours.condition_row.values) == stim  # first-presentation order


def test_crossnobis_needs_repetitions(rng):
    assembly, _, _ = _repeated_assembly(rng, n_rep=1)
    with pytest.raises(ConfigError, match="at least twice"):
        compute_rdm(assembly, "crossnobis")


def test_brain_teacher_with_crossnobis_and_rho_a_keeps_its_choices(rng, tmp_path):
    from neurosage.teachers.teacher import Teacher, brain_teacher

    assembly, _, _ = _repeated_assembly(rng, n_rep=4)
    teacher = brain_teacher(assembly, rdm_method="crossnobis", compare_method="rho-a", ceiling_splits=3)
    assert (teacher.rdm_method, teacher.compare_method) == ("crossnobis", "rho_a")
    assert all(c.rdm_method == "crossnobis" and c.compare_method == "rho_a" for c in teacher.ceiling_details.values())
    loaded = Teacher.load(teacher.save(tmp_path / "teacher.nc"))
    assert (loaded.rdm_method, loaded.compare_method) == ("crossnobis", "rho_a")


def test_candidates_are_scored_by_the_teachers_choices(rng, caplog):
    """A network's layers get the teacher's RDM method (crossnobis -> sqeuclidean) and comparison."""
    import torch

    from helpers import random_stimuli
    from neurosage.nets.models import cifar_resnet
    from neurosage.teachers.scoring import score_model_rdms
    from neurosage.teachers.teacher import network_teacher

    stimuli = random_stimuli(rng, 10)
    torch.manual_seed(0)
    net = cifar_resnet(n=1, num_classes=10, in_channels=1, width=4).eval()
    with caplog.at_level("WARNING", logger="neurosage.teachers.teacher"):
        teacher = network_teacher(net, stimuli, ["stack1"], rdm_method="crossnobis", compare_method="cka_unbiased", subsample_features=None)
    assert teacher.rdm_method == "crossnobis"  # recorded as asked; a network layer has no repetitions, so its RDM is sqeuclidean
    assert "so their RDMs are sqeuclidean" in caplog.text  # said, not silent (round 23, V25)
    scores, rdms = score_model_rdms(net, teacher, ["stack1", "stack2"], rdm=RDMOptions(subsample_features=None))
    assert teacher.rdms.attrs["method"] == rdms.attrs["method"] == "sqeuclidean"
    assert scores.similarity.attrs["method"] == "cka_unbiased"
    assert scores.per_endpoint["stack1"] == pytest.approx(1.0, abs=1e-12)  # the same layer of the same network


def test_ceilings_are_not_divided_into_a_comparison_that_is_no_correlation(rng):
    from neurosage.teachers.teacher import brain_teacher

    assembly, _, _ = _repeated_assembly(rng, n_rep=4)
    teacher = brain_teacher(assembly, rdm_method="sqeuclidean", compare_method="cka", ceiling_splits=3)
    assert teacher.ceilings is None  # a CKA over a Pearson reliability would mean nothing
    assert teacher.ceiling_details["V4"].compare_method == "pearson"  # the recording's reliability is still described
    assert brain_teacher(assembly, compare_method="spearman", ceiling_splits=3).ceilings is not None


def test_rsatoolbox_string_descriptors_stay_strings(tmp_path, rng):
    theirs = rsatoolbox.rdm.RDMs(rng.random((1, 3)), descriptors={"note": "null", "flag": "true", "n": "42", "nested": {"a": [1, 2]}},
                                 pattern_descriptors={"stimulus_id": ["a", "b", "c"]})
    ours = from_rsatoolbox(theirs)
    ours.to_netcdf(tmp_path / "r.nc")
    back = to_rsatoolbox(xr.load_dataarray(tmp_path / "r.nc"))
    assert back.descriptors == {"note": "null", "flag": "true", "n": "42", "nested": {"a": [1, 2]}}


def test_bootstrap_intervals_for_vector_comparisons_only(rng):
    a, b = _stacks(rng, "correlation")
    for method in ("rho_a", "cosine"):
        scores = teacher_scores(a, b, method, n_bootstrap=50)
        lo, hi = scores.tg_interval
        assert lo <= scores.tg <= hi
    a, b = _stacks(rng, "sqeuclidean")
    with pytest.raises(ConfigError, match="bootstrap"):
        teacher_scores(a, b, "cka", n_bootstrap=50)


def test_rsatoolbox_descriptors_survive_both_directions(tmp_path, rng):
    theirs = rsatoolbox.rdm.RDMs(
        rng.random((2, 6)), dissimilarity_measure="crossnobis", descriptors={"session": 3},
        rdm_descriptors={"subject": ["m1", "m2"], "roi": ["V4", "IT"]},
        pattern_descriptors={"stimulus_id": ["a", "b", "c", "d"], "category": ["x", "y", "x", "y"]},
    )
    ours = from_rsatoolbox(theirs)
    assert list(ours.rdm.values) == ["V4", "IT"]  # named by roi when there is no name descriptor
    assert list(ours.subject.values) == ["m1", "m2"] and list(ours.category.values) == ["x", "y", "x", "y"]
    ours.to_netcdf(tmp_path / "rdms.nc")  # through a file, as a user would keep them
    back = to_rsatoolbox(xr.load_dataarray(tmp_path / "rdms.nc"))
    for key in ("subject", "roi"):
        assert list(back.rdm_descriptors[key]) == theirs.rdm_descriptors[key]
    assert list(back.pattern_descriptors["category"]) == theirs.pattern_descriptors["category"]
    assert back.descriptors["session"] == 3 and back.dissimilarity_measure == "crossnobis"
    np.testing.assert_array_equal(back.get_vectors(), theirs.get_vectors())


def test_neurosage_descriptors_survive_the_round_trip(recording):
    from neurosage.assembly import average_repetitions

    rdm = compute_rdm(average_repetitions(recording).sel(neuroid=recording.region.values == "V4"))
    assert "category_name" in rdm.coords  # the assembly's per-stimulus coords travel with the RDM
    stack = stack_rdms({"V4": rdm}).assign_coords(subject=("rdm", ["monkey-1"]))
    theirs = to_rsatoolbox(stack)
    assert list(theirs.pattern_descriptors["category_name"]) == list(rdm.category_name.values)
    back = from_rsatoolbox(theirs)
    assert list(back.subject.values) == ["monkey-1"] and list(back.category_name.values) == list(rdm.category_name.values)
    xr.testing.assert_allclose(back.drop_vars(["subject", "category_name"]), stack.drop_vars(["subject", "category_name"]).assign_attrs(back.attrs))


def test_an_array_descriptor_comes_back_as_an_array(rng):
    """crossnobis' noise precision, an array descriptor of rsatoolbox RDMs, survives the round trip as an array."""
    noise = np.eye(4) * 2.0
    theirs = rsatoolbox.rdm.RDMs(rng.random((1, 6)), descriptors={"noise": noise, "note": "x"},
                                 pattern_descriptors={"stimulus_id": ["a", "b", "c", "d"]})
    back = to_rsatoolbox(from_rsatoolbox(theirs))
    assert isinstance(back.descriptors["noise"], np.ndarray) and np.array_equal(back.descriptors["noise"], noise)
    assert back.descriptors["note"] == "x"


def test_rsatoolbox_rdms_without_any_pattern_descriptor_are_labelled_by_position(rng):
    """rsatoolbox's calc_rdm of a Dataset without obs_descriptors has no pattern descriptors at all (was a bare KeyError)."""
    theirs = rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(rng.normal(size=(5, 3))))
    ours = from_rsatoolbox(theirs)
    assert list(ours.condition_row.values) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(ours.values[0], theirs.get_matrices()[0], atol=0)


def test_one_rdm_round_trips_to_one_rdm(rng):
    """to_rsatoolbox of a single RDM and back gives a single RDM (compare_rdms of two single RDMs is a scalar), a stack a stack."""
    a, b = (compute_rdm(rng.normal(size=(6, 4)), labels=list("abcdef")) for _ in range(2))
    back = from_rsatoolbox(to_rsatoolbox(a))
    assert back.dims == a.dims and float(compare_rdms(back, b)) == pytest.approx(float(compare_rdms(a, b)))
    stack = stack_rdms({"V4": a})
    assert from_rsatoolbox(to_rsatoolbox(stack)).dims == stack.dims


def test_neg_riem_dist_beyond_the_machines_memory_is_refused_by_name(rng, monkeypatch):
    """rsatoolbox's neg_riem_dist makes a dense pairs x pairs matrix: RDMs it cannot fit are refused, not an ended process."""
    import neurosage.rsa.compare as compare

    monkeypatch.setattr(compare, "_physical_memory", lambda: 60 * 2**20)
    rdms = compute_rdm(rng.normal(size=(60, 80)), "sqeuclidean")
    with pytest.raises(ConfigError, match=r"neg_riem_dist on 60 conditions needs about .* dense 1770 x 1770") as refused:
        compare_rdms(rdms, rdms, "neg_riem_dist")
    assert "at most 53 conditions" in refused.value.fix  # 16 x 1378^2 bytes fit in 30 MiB, 16 x 1431^2 do not
