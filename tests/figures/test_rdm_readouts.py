"""The RSA reader's figures: category order and boundaries, MDS stress, layer profiles with intervals and ceilings."""

import pytest
import scipy.spatial.distance

from neurosage.figures.rdm_plots import classical_mds
from neurosage.figures.rdm_readouts import category_order, kruskal_stress, plot_layer_profile
from neurosage.rsa.rdm import compute_rdms
from neurosage.rsa.score import teacher_scores


def test_category_order_groups_stimuli_and_names_each_span():
    order, spans = category_order(["b", "a", "b", "10", "2", "a"])
    assert [name for name, _, _ in spans] == ["2", "a", "b", "10"]  # shorter names first, so "2" comes before "10"
    assert order.tolist() == [4, 1, 5, 0, 2, 3] and spans[2] == ("b", 3, 5)


def test_stress_is_zero_for_a_planar_configuration_and_grows_with_what_2d_cannot_show(rng):
    flat = rng.normal(size=(20, 2))
    distance = scipy.spatial.distance.squareform(scipy.spatial.distance.pdist(flat))
    assert kruskal_stress(distance, classical_mds(distance)) == pytest.approx(0.0, abs=1e-9)
    cube = rng.normal(size=(20, 10))
    distance = scipy.spatial.distance.squareform(scipy.spatial.distance.pdist(cube))
    assert 0.1 < kruskal_stress(distance, classical_mds(distance)) < 1


def test_layer_intervals_are_the_bootstrap_of_each_cell_and_the_profile_draws_them(rng, tmp_path):
    x = rng.normal(size=(30, 8))
    labels = [f"s{i}" for i in range(30)]
    teacher = compute_rdms({"V4": x, "IT": x**2}, labels=labels)
    one = compute_rdms({"only": x + rng.normal(size=x.shape)}, labels=labels)
    scores = teacher_scores(teacher, one, "pearson", n_bootstrap=200, seed=1)
    for endpoint in ("V4", "IT"):  # one layer: its interval is the endpoint's S_i interval
        bounds = scores.layer_intervals.sel(endpoint=endpoint, layer="only").values
        assert tuple(bounds) == pytest.approx(scores.intervals[endpoint], abs=1e-12)
    many = compute_rdms({f"layer_{k}": x + k * rng.normal(size=x.shape) for k in range(40)}, labels=labels)
    scores = teacher_scores(teacher, many, "pearson", n_bootstrap=50, seed=1)
    assert scores.layer_intervals.shape == (2, 40, 2) and (scores.layer_intervals.sel(bound="low") <= scores.layer_intervals.sel(bound="high")).all()
    paths = plot_layer_profile(scores.similarity, scores.best_layer, tmp_path / "profile.png", layer_intervals=scores.layer_intervals)
    assert paths[0].stat().st_size > 10_000
