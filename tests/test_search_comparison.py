import pandas as pd
import pytest

from neurosage.analyses.config import load_config
from neurosage.analyses.search_comparison import SearchComparisonConfig, progress_curve, run, top_k_genotypes
from conftest import TINY_ANALYSIS


def test_progress_curve_by_hand():
    trials = pd.DataFrame({
        "tid": [0, 1, 2, 3], "status": ["ok", "ok", "failed", "ok"], "genotype": ["a", "b", "c", "d"],
        "score": [0.1, 0.5, None, 0.3], "examples": [10, 10, 10, 10],
    })
    mature = {"a": 0.4, "b": 0.6, "d": 0.2}
    curve = progress_curve(trials, mature, top_k=2)
    assert list(curve.best_mature_error) == [0.4, 0.4, 0.4, 0.2]
    assert list(curve.cost_examples) == [10, 20, 30, 40]
    assert top_k_genotypes(trials, 1) == {"a", "b"}


def test_curves_and_summary_recomputed_from_trials(tmp_path, tiny_fmnist):
    config = load_config(SearchComparisonConfig, data=str(tiny_fmnist), seeds=(0, 1), budget=3, premature_steps=2, mature_steps=3, top_k=2, startup_trials=2, **TINY_ANALYSIS)
    summary = run(tmp_path, config)
    out = tmp_path / "search_comparison"
    curves = pd.read_csv(out / "curves.csv")
    mature = pd.read_csv(out / "mature.csv").set_index("genotype").top1_error.to_dict()
    assert set(curves.method) == {"random", "P", "P+TG"} and len(curves) == 3 * 2 * 3
    trials = pd.read_csv(out / "PTG-seed1" / "trials.csv")
    expected = progress_curve(trials, mature, 2)
    got = curves[(curves.method == "P+TG") & (curves.seed == 1)].reset_index(drop=True)
    pd.testing.assert_series_equal(got.best_mature_error, expected.best_mature_error)
    final = curves[curves.n_samples == 3].groupby("method").best_mature_error
    assert summary.set_index("method")["mean"].to_dict() == pytest.approx(final.mean().to_dict())
