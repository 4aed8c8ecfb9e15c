import numpy as np
import pytest

from neurosage.assembly import average_repetitions
from neurosage.core.errors import ConfigError
from neurosage.data_adapters.simulated import simulate_recording
from neurosage.rsa.ceiling import noise_ceilings, spearman_brown
from neurosage.rsa.compare import compare_rdms
from neurosage.rsa.rdm import compute_rdm


def test_spearman_brown_doubles_the_data():
    assert spearman_brown(0.5) == pytest.approx(2 / 3) and spearman_brown(1.0) == 1.0 and spearman_brown(0.0) == 0.0


@pytest.mark.parametrize(("reliability", "tolerance"), [(0.3, 0.1), (0.7, 0.02)])
def test_the_ceiling_predicts_the_agreement_of_two_independent_recordings(reliability, tolerance):
    """Known truth: two recordings of the same sites with independent noise; their RDM correlation is what the ceiling estimates.

    The split-half estimate is conservative when sites are noisy (at site reliability 0.3 it was 0.06-0.09 below
    the replicate agreement over 4 seeds; within 0.02 from 0.5 up), because correlation-distance RDMs are not
    linear in the noise that the Spearman-Brown correction assumes.
    """
    rng = np.random.default_rng(0)
    signal = {"IT": rng.normal(size=(40, 6)) @ rng.normal(size=(6, 300))}  # 40 stimuli, low-dimensional signal
    ids = [f"s{i}" for i in range(40)]
    kw = dict(n_sites=300, reliability=reliability, n_repetitions=8)  # every unit is a site: both recordings share them
    a = simulate_recording(signal, ids, seed=1, **kw)
    twin = simulate_recording(signal, ids, seed=2, **kw)  # the same sites, independent noise
    assert list(twin.unit_index.values) == list(a.unit_index.values)
    agreement = float(compare_rdms(compute_rdm(average_repetitions(a)), compute_rdm(average_repetitions(twin))))
    reliability = noise_ceilings(a, n_splits=20, seed=0)["IT"].reliability
    assert reliability == pytest.approx(agreement, abs=tolerance) and reliability <= agreement + 0.01
    assert 0 < reliability < 1


def test_more_reliable_sites_give_higher_ceilings_and_seeds_are_reproducible():
    rng = np.random.default_rng(1)
    signal = {"V4": rng.normal(size=(30, 200))}
    ids = [f"s{i}" for i in range(30)]
    low = noise_ceilings(simulate_recording(signal, ids, reliability=0.2, n_repetitions=6, seed=0), seed=3)
    high = noise_ceilings(simulate_recording(signal, ids, reliability=0.9, n_repetitions=6, seed=0), seed=3)
    assert low["V4"].value < high["V4"].value
    assert noise_ceilings(simulate_recording(signal, ids, reliability=0.2, n_repetitions=6, seed=0), seed=3) == low


def test_averaged_recordings_have_no_ceiling():
    rec = simulate_recording({"V4": np.random.default_rng(0).normal(size=(5, 20))}, list("abcde"), n_repetitions=2)
    with pytest.raises(ConfigError, match="repetitions"):
        noise_ceilings(average_repetitions(rec))


def _noisy_recording(n_stimuli=60, n_sites=80, noise=1.5, n_reps=8, seed=0):
    """Two regions of known noise-free patterns, recorded with independent Gaussian noise per repetition."""
    from neurosage.assembly import make_assembly

    rng = np.random.default_rng(seed)
    truth = {r: rng.normal(size=(n_stimuli, 5)) @ rng.normal(size=(5, n_sites)) for r in ("V4", "IT")}
    ids = np.repeat([f"s{i}" for i in range(n_stimuli)], n_reps)
    values = np.concatenate([np.repeat(truth[r], n_reps, axis=0) for r in truth], axis=1)
    values = values + rng.normal(scale=noise, size=values.shape)
    rec = make_assembly(values, stimulus_id=ids, region=["V4"] * n_sites + ["IT"] * n_sites,
                        presentation_coords={"repetition": np.tile(np.arange(n_reps), n_stimuli)})
    return rec, truth


@pytest.mark.parametrize("noise", [4.0, 7.0])
def test_a_noise_free_model_scores_one_over_the_ceiling(noise):
    """The ceiling is what a noise-free model reaches: its ceiled score is 1.00 +/- 0.02 (the square root convention).

    Over 2 recordings x 2 regions (RDM reliability 0.67-0.94); a single region deviates by up to 0.025, and below
    reliability ~0.6 the split-half estimate turns conservative (ceiled noise-free scores above 1; see docs/statistics.md).
    Dividing by the reliability itself overstates the same model by 1/sqrt(R).
    """
    from neurosage.rsa.rdm import stack_rdms
    from neurosage.rsa.score import teacher_scores
    from neurosage.teachers.teacher import brain_teacher

    ceiled, over_reliability = [], []
    for seed in (0, 1):
        rec, truth = _noisy_recording(noise=noise, seed=seed)
        teacher = brain_teacher(rec, ceiling_splits=20)
        model = stack_rdms({f"layer_{r}": compute_rdm(t) for r, t in truth.items()})
        model = model.assign_coords(condition_row=teacher.rdms.condition_row.values, condition_col=teacher.rdms.condition_col.values)
        scores = teacher_scores(teacher.rdms, model, "pearson", ceilings=teacher.ceilings)
        ceiled += list(scores.per_endpoint_ceiled.values())
        over_reliability += [scores.per_endpoint[e] / c.reliability for e, c in teacher.ceiling_details.items()]
    assert np.mean(ceiled) == pytest.approx(1.0, abs=0.02) and np.abs(np.array(ceiled) - 1).max() < 0.035, ceiled
    assert np.mean(over_reliability) > 1.02, over_reliability


def test_ceilings_come_with_their_spread_and_follow_brainscore_by_name():
    rec, _ = _noisy_recording(noise=2.0)
    sqrt = noise_ceilings(rec, n_splits=10, seed=0)["IT"]
    assert sqrt.value == pytest.approx(np.sqrt(sqrt.reliability)) and sqrt.sd > 0 and sqrt.lo <= sqrt.value <= sqrt.hi
    assert (sqrt.n_splits, sqrt.n_stimuli, sqrt.convention) == (10, 60, "sqrt")
    bs = noise_ceilings(rec, n_splits=10, seed=0, convention="brainscore")["IT"]
    assert bs.value == bs.reliability and bs.convention == "brainscore"
    from neurosage.rsa.ceiling import ceiled

    assert ceiled(0.9, 0.5, "brainscore") == 1.0 and ceiled(-0.1, 0.5, "brainscore") == 0.0 and ceiled(0.9, 0.5) == 1.8
    with pytest.raises(ConfigError, match="ceiling convention"):
        noise_ceilings(rec, convention="bs")


def test_the_teacher_ceilings_are_those_of_the_stimuli_it_scores():
    from neurosage.data_adapters.imageset import ImageSet
    from neurosage.teachers.teacher import brain_teacher

    rec, _ = _noisy_recording(noise=2.0)
    images = ImageSet(np.zeros((12, 1, 4, 4), dtype=np.uint8))
    images.stimulus_ids = [f"s{i}" for i in range(0, 60, 5)]
    teacher = brain_teacher(rec, images, seed=4)
    subset = rec.isel(presentation=np.isin(rec.stimulus_id.values, images.stimulus_ids))
    expected = noise_ceilings(subset, n_splits=10, seed=4)
    assert teacher.ceiling_details == expected and teacher.ceiling_details["V4"].n_stimuli == 12
    assert teacher.ceilings != {k: c.value for k, c in noise_ceilings(rec, n_splits=10, seed=4).items()}


def test_degenerate_endpoints_are_refused_by_name():
    from neurosage.assembly import make_assembly
    from neurosage.teachers.teacher import brain_teacher

    rec, _ = _noisy_recording(noise=2.0, n_sites=10)
    one_site = rec.isel(neuroid=list(range(10)) + [10])  # IT keeps one site
    with pytest.raises(ConfigError, match="endpoint 'IT' has 1 site.*fix: drop 'IT'"):
        brain_teacher(one_site)
    flat = make_assembly(np.ones((6, 4)), stimulus_id=[f"s{i}" for i in range(6)], region=["V4"] * 2 + ["IT"] * 2)
    flat.values[:, :2] = np.random.default_rng(0).normal(size=(6, 2))
    with pytest.raises(ConfigError, match="endpoint 'IT' has a constant or non-finite RDM.*fix: drop 'IT'"):
        brain_teacher(flat)
    pure_noise = rec.copy(data=np.random.default_rng(1).normal(size=rec.shape))
    with pytest.raises(ConfigError, match="noise ceiling .* fix: drop"):
        brain_teacher(pure_noise, seed=2)
