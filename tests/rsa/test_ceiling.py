import numpy as np
import pytest

from neurosage.assembly import average_repetitions
from neurosage.rsa.ceiling import noise_ceilings, spearman_brown
from neurosage.data_adapters.simulated import simulate_recording
from neurosage.core.errors import ConfigError
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
    ceiling = noise_ceilings(a, n_splits=20, seed=0)["IT"]
    assert ceiling == pytest.approx(agreement, abs=tolerance) and ceiling <= agreement + 0.01
    assert 0 < ceiling < 1


def test_more_reliable_sites_give_higher_ceilings_and_seeds_are_reproducible():
    rng = np.random.default_rng(1)
    signal = {"V4": rng.normal(size=(30, 200))}
    ids = [f"s{i}" for i in range(30)]
    low = noise_ceilings(simulate_recording(signal, ids, reliability=0.2, n_repetitions=6, seed=0), seed=3)
    high = noise_ceilings(simulate_recording(signal, ids, reliability=0.9, n_repetitions=6, seed=0), seed=3)
    assert low["V4"] < high["V4"]
    assert noise_ceilings(simulate_recording(signal, ids, reliability=0.2, n_repetitions=6, seed=0), seed=3) == low


def test_averaged_recordings_have_no_ceiling():
    rec = simulate_recording({"V4": np.random.default_rng(0).normal(size=(5, 20))}, list("abcde"), n_repetitions=2)
    with pytest.raises(ConfigError, match="repetitions"):
        noise_ceilings(average_repetitions(rec))
