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


def test_table4_with_a_brain_teacher_from_real_format_files(tmp_path, tiny_fmnist, capsys):
    from conftest import write_brainio_netcdf
    from neurosage.cli import main
    from test_cli import _png_zip

    nc, stimuli, _ = write_brainio_netcdf(tmp_path / "assy_dicarlo_MajajHong2015_public.nc", n_images=8)
    stimuli.to_csv(tmp_path / "stimulus_hvm-public.csv", index=False)
    _png_zip(tmp_path / "stimulus_hvm-public.zip", stimuli.filename)
    (tmp_path / "table4.toml").write_text(
        "budget = 2\npremature-steps = 2\nrerank-steps = 2\nfinal-steps = 2\ntop-k = 1\nstartup-trials = 1\n"
        "n-train = 100\nn-val = 40\nn-blocks = 2\nfilters = 4\n\n"
        '[teacher]\nspec = "brain:MajajHong2015:V4,IT"\npath = "assy_dicarlo_MajajHong2015_public.nc"\n'
        'stimulus_csv = "stimulus_hvm-public.csv"\nimages = "stimulus_hvm-public.zip"\n'
    )
    run = tmp_path / "run"
    assert main(["analyze", "neuro_search", "--run-dir", str(run), "--config", str(tmp_path / "table4.toml"), "--data", str(tiny_fmnist)]) == 0
    neuro = pd.read_csv(run / "neuro_search" / "TG-SAGE-neuro" / "trials.csv")
    assert neuro.TG.notna().all() and neuro.TG_ceiled.notna().all()
    assert list(pd.read_csv(run / "neuro_search" / "table4.csv").network) == ["P-search", "TG-SAGE-neuro"]
