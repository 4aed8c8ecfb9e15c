import pandas as pd

from neurosage.analyses.cell_search import CellSearchConfig, run
from neurosage.analyses.config import load_config
from conftest import TINY_ANALYSIS


def test_table_row_costs_and_winner(tmp_path, tiny_fmnist):
    config = load_config(CellSearchConfig, data=str(tiny_fmnist), budget=3, premature_steps=2, rerank_steps=3, final_steps=4, top_k=2, startup_trials=2, **TINY_ANALYSIS)
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
