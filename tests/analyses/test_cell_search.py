import pandas as pd

from helpers import TINY_ANALYSIS
from neurosage.analyses.cell_search import CellSearchConfig, run
from neurosage.analyses.config_loading import load_config


def test_table_row_costs_and_winner(tmp_path, tiny_fmnist):
    config = load_config(CellSearchConfig, data=str(tiny_fmnist), budget=3, premature_steps=2, rerank_steps=3, final_steps=4, top_k=2,
                         startup_trials=2, **TINY_ANALYSIS)
    row = run(tmp_path, config).iloc[0]
    trials = pd.read_csv(tmp_path / "cell_search" / "search" / "trials.csv")
    rerank = pd.read_csv(tmp_path / "cell_search" / "rerank.csv")
    assert row.M1 == 3 and row.M2 == len(rerank) == 2
    # 3 steps of batch 64 over 150 images: 64 + 64 + the last 22 of the epoch
    assert row.E1 == int(trials.examples.mean()) and row.E2 == rerank.examples.iloc[0] == 150
    assert row.cost_examples == row.M1 * row.E1 + row.M2 * row.E2
    assert row.genotype == rerank.loc[rerank.top1_error.idxmin(), "genotype"]
    top = trials[trials.status == "ok"].sort_values("score", ascending=False).drop_duplicates("genotype").head(2)
    assert set(rerank.genotype) == set(top.genotype)


def test_rerank_uses_its_own_network_and_the_winner_trains_on_the_whole_training_split(tmp_path, tiny_fmnist, monkeypatch):
    import neurosage.analyses.search_protocol as common

    seen = []
    real_train = common.train
    monkeypatch.setattr(common, "train", lambda net, data, *a, **k: seen.append(len(data)) or real_train(net, data, *a, **k))
    config = load_config(CellSearchConfig, data=str(tiny_fmnist), budget=2, premature_steps=2, rerank_steps=2, final_steps=2,
                         top_k=1, startup_trials=1, rerank_n_cells=2, rerank_filters=6, **TINY_ANALYSIS)
    table = run(tmp_path, config)
    assert (table.N.iloc[0], table.F.iloc[0]) == (2, 6) and table.M2.iloc[0] == 1
    assert seen == [TINY_ANALYSIS["n_train"], 300]  # rerank on the search's training set; the winner on all 300 training images


def test_on_a_cluster_the_analysis_gives_what_one_process_gives(tmp_path, tiny_fmnist):
    """Candidates, reranks and the final training on a 2-worker LocalCluster: the same table and reranks as inline."""
    pytest = __import__("pytest")
    pytest.importorskip("distributed")
    from neurosage.search.executors import local_client

    config = load_config(CellSearchConfig, data=str(tiny_fmnist), budget=3, premature_steps=2, rerank_steps=3, final_steps=4, top_k=2,
                         startup_trials=2, **TINY_ANALYSIS)
    inline = run(tmp_path / "inline", config)
    with local_client(2) as client:
        clustered = run(tmp_path / "cluster", config, client=client)
    pd.testing.assert_frame_equal(inline, clustered)
    reranks = [pd.read_csv(tmp_path / name / "cell_search" / "rerank.csv") for name in ("inline", "cluster")]
    pd.testing.assert_frame_equal(*reranks)
    workers = pd.read_csv(tmp_path / "cluster" / "cell_search" / "search" / "trials.csv").worker
    assert workers.nunique() >= 1 and not workers.str.startswith(f"{__import__('socket').gethostname()}:{__import__('os').getpid()}").any()
