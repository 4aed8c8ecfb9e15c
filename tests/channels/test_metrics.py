import math

import numpy as np
import torch

from neurosage.channels.metrics import evbmf, layer_quality, quality_from_singular_values


def _with_singular_values(values, rows, cols, seed=0):
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(rows, rows)))
    v, _ = np.linalg.qr(rng.normal(size=(cols, cols)))
    s = np.zeros((rows, cols))
    s[np.arange(len(values)), np.arange(len(values))] = values
    return u @ s @ v.T


def test_evbmf_with_a_known_noise_variance_equals_the_closed_form_by_hand():
    L, M, sigma2 = 4, 9, 0.01
    Y = _with_singular_values([3.0, 1.0, 0.2, 0.05], L, M)
    d, _ = evbmf(Y, sigma2=sigma2)
    tau_bar = 2.5129 * math.sqrt(L / M)
    threshold = math.sqrt(M * sigma2 * (1 + tau_bar) * (1 + (L / M) / tau_bar))  # 0.5205: keeps 3.0 and 1.0
    expected = [s / 2 * (1 - (L + M) * sigma2 / s**2 + math.sqrt((1 - (L + M) * sigma2 / s**2) ** 2 - 4 * L * M * sigma2**2 / s**4))
                for s in (3.0, 1.0)]
    assert 0.2 < threshold < 1.0
    np.testing.assert_allclose(d, expected, rtol=1e-12)
    np.testing.assert_allclose(evbmf(Y.T, sigma2=sigma2)[0], expected, rtol=1e-12)  # tall matrices are transposed


def test_evbmf_recovers_the_rank_of_signal_plus_noise_and_keeps_nothing_of_pure_noise():
    rng = np.random.default_rng(1)
    noise = rng.normal(scale=0.1, size=(30, 60))
    signal = _with_singular_values([40.0, 30.0, 20.0], 30, 60, seed=2)
    d, sigma2 = evbmf(signal + noise)
    assert len(d) == 3 and abs(sigma2 - 0.01) < 0.002
    assert len(evbmf(noise)[0]) == 0


def test_qc_of_a_hand_made_weight_equals_a_hand_computation():
    # mode 4 of a (C_out=4, C_in=12, 1, 1) weight is the 4 x 12 matrix itself: two strong directions, two near zero
    w = _with_singular_values([12.0, 4.0, 1e-6, 1e-6], 4, 12, seed=3)
    weight = torch.tensor(w).reshape(4, 12, 1, 1)
    d, _ = evbmf(w)
    assert len(d) == 2
    out = layer_quality(weight)["out"]
    rank, kg, mc = 2 / 4, (1 + d[1] / d[0]) / 4, d[0] / d[1]
    assert out.rank == rank and math.isclose(out.knowledge_gain, kg) and math.isclose(out.mapping_condition, mc)
    assert math.isclose(out.qc, math.atan2(rank, 1 - 1 / mc))
    assert layer_quality(weight)["in"].rank == 2 / 12  # mode 3 is the transpose: the same values, over C_in = 12


def test_qc_edge_cases_follow_conetv2():
    assert quality_from_singular_values(np.array([]), 8).qc == math.atan2(0, 1)  # nothing retained: MC = 0, MC' = 1
    one = quality_from_singular_values(np.array([5.0]), 4)  # MC = 1: MC' = 0 -> 1e-4
    assert one.mapping_condition == 1 and math.isclose(one.qc, math.atan2(0.25, 1e-4))
