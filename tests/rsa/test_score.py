import numpy as np
import pytest
import xarray as xr

from neurosage.core.errors import ConfigError
from neurosage.rsa.rdm import COL, ROW, STACK, upper_triangle
from neurosage.rsa.score import combined_score, teacher_scores


def _stack(names, vectors, n=4):
    labels = [f"s{i}" for i in range(n)]
    mats = []
    i, j = np.triu_indices(n, 1)
    for v in vectors:
        m = np.zeros((n, n))
        m[i, j] = v
        m[j, i] = v
        mats.append(m)
    return xr.DataArray(np.array(mats), dims=(STACK, ROW, COL), coords={STACK: names, ROW: labels, COL: labels})


def test_tg_is_mean_over_endpoints_of_best_layer_correlation():
    t = _stack(["V4", "IT"], [[1, 2, 3, 4, 5, 6], [6, 1, 5, 2, 4, 3]])
    c = _stack(["cell_0", "cell_1", "cell_2"], [[1, 2, 3, 4, 5, 7], [6, 1, 5, 2, 4, 4], [3, 3, 1, 2, 9, 0]])
    scores = teacher_scores(t, c)
    r = np.corrcoef(np.vstack([upper_triangle(t), upper_triangle(c)]))[:2, 2:]
    np.testing.assert_allclose(scores.similarity.values, r, atol=1e-12)
    assert scores.per_endpoint == pytest.approx({"V4": r[0].max(), "IT": r[1].max()})
    assert scores.tg == pytest.approx((r[0].max() + r[1].max()) / 2)
    assert scores.best_layer == {"V4": "cell_0", "IT": "cell_1"}
    assert scores.similarity.dims == ("endpoint", "layer")


def test_combined_score():
    assert combined_score(0.5, 0.8, "p+tg", alpha=2.0) == pytest.approx(2.1)
    assert combined_score(0.5, None, "p") == 0.5 and combined_score(0.5, 0.8, "tg") == 0.8
    with pytest.raises(ValueError, match="needs a teacher"):
        combined_score(0.5, None, "p+tg")


def test_bootstrap_samples_without_a_defined_correlation_are_left_out_not_minus_infinity(caplog):
    from neurosage.rsa.rdm import compute_rdms
    from neurosage.rsa.score import bootstrap_scores

    rng = np.random.default_rng(0)
    teacher = compute_rdms({"V4": rng.normal(size=(5, 20))})
    candidate = compute_rdms({"cell_0": rng.normal(size=(5, 20))})
    out = bootstrap_scores(teacher, candidate, "pearson", 200, seed=0)
    assert np.isfinite(out["tg_interval"]).all() and np.isfinite(out["intervals"]["V4"]).all()
    assert "left out" in caplog.text  # 5 stimuli: some samples hold fewer than 3 distinct ones


@pytest.mark.parametrize(("args", "said"), [
    ((0.8, 0.3, "p+tg", -1.0), "alpha must be a finite number >= 0"),  # round 6 #129: the CLI refused it, Python did not
    ((80, 0.3, "p+tg"), r"P = 80 is not a fraction of correct answers"),  # round 6 #131: P in percent
])
def test_the_search_objective_refuses_what_the_command_line_refuses(args, said):
    with pytest.raises(ConfigError, match=said):
        combined_score(*args)
