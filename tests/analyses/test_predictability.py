from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from neurosage.analyses.config import load_config
from neurosage.analyses.predictability import PredictabilityConfig, bootstrap_ci, correlations, run
from helpers import TINY_ANALYSIS


def test_correlations_written_match_an_independent_recomputation(tmp_path, tiny_fmnist):
    config = load_config(PredictabilityConfig, data=str(tiny_fmnist), n_architectures=5, checkpoints=(2, 4), mature_steps=6, n_bootstrap=40, **TINY_ANALYSIS)
    run(tmp_path, config)
    records = pd.read_csv(tmp_path / "predictability" / "records.csv")
    corr = pd.read_csv(tmp_path / "predictability" / "correlations.csv")
    assert set(records.steps) == {2, 4} and records.arch.nunique() == 5
    assert {"S_stack1", "S_stack2", "S_stack3"} <= set(records.columns)
    for steps, group in records.groupby("steps"):
        got = corr[(corr.steps == steps)].set_index("measure")
        assert got.loc["P", "pearson"] == pytest.approx(scipy.stats.pearsonr(group.P, group.mature_top1).statistic, abs=1e-10)
        assert got.loc["TG", "spearman"] == pytest.approx(scipy.stats.spearmanr(group.TG, group.mature_top1).statistic, abs=1e-10)
        combo = group.P + 2.0 * group.TG
        assert got.loc["P+2TG", "pearson"] == pytest.approx(scipy.stats.pearsonr(combo, group.mature_top1).statistic, abs=1e-10)
        assert (got.pearson_lo <= got.pearson + 1e-12).all() and (got.pearson <= got.pearson_hi + 1e-12).all()


def test_bootstrap_ci_covers_the_known_correlation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    y = 0.6 * x + 0.8 * rng.normal(size=400)  # true r = 0.6
    lo, hi = bootstrap_ci(x, y, lambda a, b: np.corrcoef(a, b)[0, 1], 500, seed=1)
    assert lo < 0.6 < hi and hi - lo < 0.2


def test_correlations_of_a_perfect_predictor():
    records = pd.DataFrame({"steps": [1] * 6, "P": np.arange(6.0), "TG": np.zeros(6), "mature_top1": np.arange(6.0) * 2})
    corr = correlations(records, (0.0,), 20, 0).set_index("measure")
    assert corr.loc["P", "pearson"] == pytest.approx(1.0) and corr.loc["P+0TG", "spearman"] == pytest.approx(1.0)
    assert np.isnan(corr.loc["TG", "pearson"])  # a constant measure has no correlation


def test_a_larger_pool_trains_only_the_new_architectures(tmp_path, tiny_fmnist, monkeypatch):
    import neurosage.analyses.predictability as predictability

    small = load_config(PredictabilityConfig, data=str(tiny_fmnist), n_architectures=2, checkpoints=(2,), mature_steps=3, n_bootstrap=10, **TINY_ANALYSIS)
    run(tmp_path / "grown", small)
    trained, original = [], predictability._architecture
    monkeypatch.setattr(predictability, "_architecture", lambda arch, *args: trained.append(arch) or original(arch, *args))
    run(tmp_path / "grown", replace(small, n_architectures=3))
    assert trained == [2]
    run(tmp_path / "fresh", replace(small, n_architectures=3))
    grown, fresh = (pd.read_csv(tmp_path / d / "predictability" / "records.csv") for d in ("grown", "fresh"))
    pd.testing.assert_frame_equal(grown, fresh)
    with pytest.raises(ValueError, match=r"mature_steps.*new --run-dir"):
        run(tmp_path / "grown", replace(small, mature_steps=4))
