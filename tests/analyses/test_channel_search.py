import pandas as pd
import pytest

from helpers import TINY_ANALYSIS
from neurosage.analyses.channel_search import ChannelSearchAnalysisConfig, correlation_with_ci, run
from neurosage.analyses.config_loading import load_config
from neurosage.cli import main


def test_correlation_interval_by_hand():
    import numpy as np

    x = np.arange(10.0)
    y = x + np.array([0.5, -0.5] * 5)
    got = correlation_with_ci(x, y)
    r = np.corrcoef(x, y)[0, 1]
    assert got["n"] == 10 and abs(got["pearson"] - r) < 1e-12
    assert abs(got["pearson_lo"] - np.tanh(np.arctanh(r) - 1.96 / np.sqrt(7))) < 1e-12
    assert np.isnan(correlation_with_ci([1, 2, 3], [1, 2, 3])["pearson"])  # too few trials for an interval


def test_channel_search_analysis_end_to_end_and_its_figures(tmp_path, tiny_fmnist):
    tiny = {k: v for k, v in TINY_ANALYSIS.items() if k not in ("n_blocks", "filters")}
    config = load_config(ChannelSearchAnalysisConfig, data=str(tiny_fmnist), trials=3, trial_steps=2, final_steps=3, start_width=4,
                         uniform_width=6, init_step=2, min_size=2, max_size=16, select_after=0, **tiny)
    table = run(tmp_path, config)
    assert list(table.network) == ["searched (qc)", "searched (teacher)", "uniform width 6"]
    assert table.steps.tolist() == [3, 3, 3 * 2 + 3]  # the baseline gets the searched networks' whole training budget
    out = tmp_path / "channel_search"
    trials = pd.read_csv(out / "trials.csv")
    assert set(trials.search) == {"qc", "teacher"} and trials.trial.max() == 2
    assert trials.test_top1.between(0, 1).all() and trials.mean_teacher.notna().all()
    first = trials[(trials.search == "qc") & (trials.trial == 0)]
    assert (first["size"] == 4).all()  # every group starts at the start width
    correlations = pd.read_csv(out / "correlations.csv")
    assert set(correlations.metric) == {"qc", "teacher"} and (correlations.n == 6).all()
    assert main(["figures", str(tmp_path)]) == 0
    assert (tmp_path / "figures" / "channel_sizes.png").stat().st_size > 5000
    assert "uniform width 6" in (tmp_path / "figures" / "channel_table.md").read_text()


@pytest.mark.slow  # 9 s; the same-on-any-executor guarantee stays in the default suite (cell_search on a cluster)
def test_the_searches_run_on_dask_workers_as_they_do_inline(tmp_path, tiny_fmnist):
    tiny = {k: v for k, v in TINY_ANALYSIS.items() if k not in ("n_blocks", "filters")}
    options = dict(data=str(tiny_fmnist), metrics=("qc",), trials=2, select_after=0, trial_steps=2, final_steps=2, start_width=4, uniform_width=4,
                   init_step=2, min_size=2, max_size=8, **tiny)
    inline = run(tmp_path / "inline", load_config(ChannelSearchAnalysisConfig, **options))
    dask = run(tmp_path / "dask", load_config(ChannelSearchAnalysisConfig, workers=2, **options))
    a = pd.read_csv(tmp_path / "inline" / "channel_search" / "trials.csv")
    b = pd.read_csv(tmp_path / "dask" / "channel_search" / "trials.csv")
    pd.testing.assert_series_equal(a["size"], b["size"])
    assert list(inline.params) == list(dask.params)
