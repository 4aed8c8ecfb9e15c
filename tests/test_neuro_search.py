import pandas as pd
import pytest

from neurosage.analyses.config import load_config
from neurosage.analyses.neuro_search import NeuroSearchConfig, run
from conftest import TINY_ANALYSIS


def test_two_searches_and_table4(tmp_path, tiny_fmnist):
    config = load_config(NeuroSearchConfig, data=str(tiny_fmnist), budget=3, premature_steps=2, rerank_steps=3, final_steps=4, top_k=2, startup_trials=2, **TINY_ANALYSIS)
    table = run(tmp_path, config)
    assert list(table.network) == ["P-search", "TG-SAGE-neuro"]
    neuro = pd.read_csv(tmp_path / "neuro_search" / "TG-SAGE-neuro" / "trials.csv")
    assert neuro.TG.notna().all()
    assert pd.read_csv(tmp_path / "neuro_search" / "P-search" / "trials.csv").TG.isna().all()
    assert (table.top1_error <= 100).all() and (table.top5_error <= table.top1_error).all()
    assert set(table.columns) >= {"B", "N", "F", "params_M", "flops_B", "top1_error", "top5_error"}


def test_unknown_teacher_kind(tmp_path, tiny_fmnist):
    with pytest.raises(ValueError, match="teacher must be"):
        run(tmp_path, load_config(NeuroSearchConfig, data=str(tiny_fmnist), teacher="monkey", **TINY_ANALYSIS))


def test_load_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown option"):
        load_config(NeuroSearchConfig, budgett=3)
