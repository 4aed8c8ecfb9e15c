import numpy as np
import pytest

from neurosage.assembly import average_repetitions, validate
from neurosage.data_adapters.simulated import noise_sd, simulate_recording


def test_simulated_recording_has_real_recording_form(rng):
    acts = {"V4": rng.normal(size=(30, 50)), "IT": rng.normal(size=(30, 20))}
    ids = [f"s{i}" for i in range(30)]
    rec = simulate_recording(acts, ids, n_sites={"V4": 10, "IT": 40}, n_repetitions=4, seed=1)
    assert rec.dims == ("presentation", "neuroid") and rec.sizes == {"presentation": 120, "neuroid": 30}
    assert list(rec.region.values).count("IT") == 20  # capped by available units
    validate(average_repetitions(rec), unique_stimuli=True)
    again = simulate_recording(acts, ids, n_sites={"V4": 10, "IT": 40}, n_repetitions=4, seed=1)
    np.testing.assert_array_equal(rec.values, again.values)


def test_reliability_of_trial_average_matches_target(rng):
    acts = {"IT": rng.normal(size=(2000, 8))}
    rec = simulate_recording(acts, [f"s{i}" for i in range(2000)], n_sites=8, reliability=0.7, n_repetitions=6, seed=0)
    avg = average_repetitions(rec).values
    signal = (acts["IT"] - acts["IT"].mean(0)) / acts["IT"].std(0)
    r = np.mean([np.corrcoef(avg[:, j], signal[:, rec.unit_index.values[j]])[0, 1] ** 2 for j in range(8)])
    assert r == pytest.approx(0.7, abs=0.03)  # squared correlation with the signal = reliability
    assert noise_sd(1.0, 5) == 0.0
