from neurosage.cli import main


def test_help_lists_commands(capsys):
    assert main([]) == 0
    assert "datasets" in capsys.readouterr().out


def test_hyperopt_info_logging_is_quiet_unless_debugging(monkeypatch):
    import logging

    hyperopt_log = logging.getLogger("hyperopt")
    monkeypatch.setattr(hyperopt_log, "level", logging.NOTSET)
    main([])
    assert hyperopt_log.level == logging.WARNING
    hyperopt_log.setLevel(logging.NOTSET)
    main(["-vv"])
    assert hyperopt_log.level == logging.NOTSET  # -vv leaves it to the root level


def test_datasets_lists_needs(capsys):
    assert main(["datasets", "Majaj*"]) == 0
    out = capsys.readouterr().out
    assert "MajajHong2015" in out and "needs:" in out and "cite:" in out
    assert main(["datasets", "nothing-like-this"]) == 1


import json

import pandas as pd
import pytest

from conftest import write_fashion_mnist


@pytest.fixture
def fmnist(tmp_path):
    return write_fashion_mnist(tmp_path / "fmnist")


def test_search_cli_with_teacher_spec_config_and_resume(tmp_path, fmnist, capsys):
    cfg = tmp_path / "search.toml"
    cfg.write_text('budget = 2\nn-blocks = 2\nfilters = 4\npremature-steps = 2\nn-train = 64\nn-val = 40\nn-stimuli = 20\n')
    run = tmp_path / "run"
    args = ["search", str(run), "--config", str(cfg), "--data", str(fmnist), "--teacher", "net:cifar_resnet-1:stack1,stack2"]
    assert main(args) == 0
    assert "best of 2 trials" in capsys.readouterr().out
    config = json.loads((run / "config.json").read_text())
    assert config["budget"] == 2 and config["teacher"].startswith("net:")
    assert main(args + ["--budget", "3", "--resume"]) == 0
    trials = pd.read_csv(run / "trials.csv")
    assert list(trials.tid) == [0, 1, 2] and trials.TG.notna().all()


def test_search_cli_missing_dataset_is_clear(tmp_path, capsys):
    assert main(["search", str(tmp_path / "r"), "--data", str(tmp_path / "nowhere")]) == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().out


def test_rdm_cli_writes_table_and_heatmap(tmp_path, fmnist, capsys):
    out = tmp_path / "rdm"
    args = ["rdm", "cifar_resnet-1", "--layers", "stack1,stack3", "--teacher", "net:cifar_resnet-1:stack2",
            "--data", str(fmnist), "--n-stimuli", "20", "--out", str(out)]
    assert main(args) == 0
    table = pd.read_csv(out / "similarity.csv", index_col=0)
    assert list(table.index) == ["stack1", "stack3"] and list(table.columns) == ["stack2"]
    assert (out / "similarity.png").stat().st_size > 1000
