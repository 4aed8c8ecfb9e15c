import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import TINY_ANALYSIS
from neurosage.analyses.config_loading import load_config
from neurosage.analyses.search_comparison import SearchComparisonConfig, progress_curve, run, top_k_genotypes
from neurosage.analyses.settings import CELL_OPTIONS
from neurosage.core.errors import ConfigError


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


def test_top_k_holds_distinct_genotypes():
    """TPE may propose the same cell twice: a top-2 is two cells, not one cell twice."""
    trials = pd.DataFrame({
        "tid": [0, 1, 2], "status": ["ok"] * 3, "genotype": ["a", "a", "b"], "score": [0.9, 0.8, 0.1], "examples": [10] * 3,
    })
    mature = {"a": 0.5, "b": 0.3}
    assert list(progress_curve(trials, mature, top_k=2).best_mature_error) == [0.5, 0.5, 0.3]  # b joins the top-2 at once
    assert top_k_genotypes(trials, 2) == {"a", "b"}


def test_searches_are_compared_by_paired_differences_over_seeds():
    from neurosage.analyses.search_comparison import paired_summary

    final = pd.DataFrame({
        "algorithm": ["tpe"] * 6 + ["random"] * 3, "space": ["layers-10"] * 9, "premature": ["2 steps"] * 9,
        "method": ["P"] * 3 + ["P+TG"] * 3 + ["random"] * 3, "seed": [0, 1, 2] * 3,
        "best_mature_error": [0.30, 0.40, 0.35, 0.28, 0.37, 0.34, 0.5, 0.45, 0.4],
    })
    paired = paired_summary(final).set_index("method")
    reference = stats.ttest_rel([0.28, 0.37, 0.34], [0.30, 0.40, 0.35])
    assert paired.loc["P+TG", "estimate"] == pytest.approx(-0.02) and paired.loc["P+TG", "p"] == pytest.approx(reference.pvalue)
    assert paired.loc["P+TG", "n"] == 3 and paired.loc["P+TG", "baseline"] == "tpe P" and paired.loc["random", "estimate"] == pytest.approx(0.1)


def test_curves_and_summary_recomputed_from_trials(tmp_path, tiny_fmnist):
    config = load_config(SearchComparisonConfig, data=str(tiny_fmnist), spaces=("layers-10",), seeds=(0, 1), budget=3, premature_steps=2,
                         mature_steps=3, top_k=2, startup_trials=2, **{k: v for k, v in TINY_ANALYSIS.items() if k not in CELL_OPTIONS})
    summary = run(tmp_path, config)
    out = tmp_path / "search_comparison"
    curves = pd.read_csv(out / "curves.csv")
    mature = pd.read_csv(out / "mature.csv").set_index("genotype").top1_error.to_dict()
    assert set(zip(curves.algorithm, curves.method)) == {("random", "Random"), ("rl", "P"), ("rl", "P+TG"), ("tpe", "P"), ("tpe", "P+TG")}
    assert len(curves) == 5 * 2 * 3 and set(curves.space) == {"layers-10"} and set(curves.premature) == {"2 steps"}
    assert all(g.startswith("layers: ") for g in mature)  # layer-wise candidates, trained to maturity
    trials = pd.read_csv(out / "layers-10" / "2steps" / "rl-PTG-seed1" / "trials.csv")
    expected = progress_curve(trials, mature, 2)
    got = curves[(curves.algorithm == "rl") & (curves.method == "P+TG") & (curves.seed == 1)].reset_index(drop=True)
    pd.testing.assert_series_equal(got.best_mature_error, expected.best_mature_error)
    final = curves[curves.n_samples == 3].groupby(["algorithm", "method"]).best_mature_error
    by_search = summary.set_index(["algorithm", "method"])
    assert by_search["mean"].to_dict() == pytest.approx(final.mean().to_dict())
    half = stats.t.ppf(0.975, 1) * final.std() / np.sqrt(2)  # 95% t-interval over 2 seeds
    assert by_search["ci_hi"].to_dict() == pytest.approx((final.mean() + half).to_dict())
    assert (out / "layers-10" / "2steps" / "rl-P-seed0" / "searcher_state.pt").exists()


def test_grid_of_searches_and_refusals():
    config = SearchComparisonConfig(algorithms=("rl",), spaces=("layers-10", "layers-20"), premature_epochs_grid=(2, 20), seeds=(0, 1, 2))
    searches = config.searches()
    assert len(searches) == 2 * 2 * 3 * 3  # spaces x budgets x (random, RL-P, RL-P+TG) x seeds
    assert {s.premature_label for s in searches} == {"2 epochs", "20 epochs"} and {s.premature.epochs for s in searches} == {2, 20}
    assert searches[0].folder == "layers-10/2epochs/random-seed0" and searches[3].folder == "layers-10/2epochs/rl-P-seed0"
    with pytest.raises(ConfigError, match="width_multiplier 0.125 applies to layer-wise spaces"):
        SearchComparisonConfig(spaces=("pnas",)).check()
    SearchComparisonConfig(spaces=("pnas",), width_multiplier=1.0).check()
    with pytest.raises(ConfigError, match="unknown objective"):
        SearchComparisonConfig(objectives=("accuracy",)).check()
