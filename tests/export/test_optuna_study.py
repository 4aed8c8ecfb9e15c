"""``neurosage export optuna``: a search's trials in an Optuna study, read back with Optuna itself."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import write_fashion_mnist

optuna = pytest.importorskip("optuna")

from neurosage.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("optuna")
    data = write_fashion_mnist(root / "fm", n_train=200, n_test=60)
    run = root / "run"
    assert main(["search", str(run), "--data", str(data), "--budget", "3", "--n-blocks", "2", "--filters", "4", "--premature-steps", "2",
                 "--n-train", "64", "--n-val", "40", "--n-stimuli", "20", "--teacher", "net:cifar_resnet-1:stack1,stack2"]) == 0
    return run


def test_trials_land_in_a_two_objective_study(search_run, tmp_path, capsys):
    db = tmp_path / "trials.db"
    assert main(["export", "optuna", str(search_run), str(db)]) == 0
    assert f"optuna-dashboard sqlite:///{db}" in capsys.readouterr().out
    study = optuna.load_study(study_name="run", storage=f"sqlite:///{db}")
    assert study.metric_names == ["P", "TG"] and len(study.directions) == 2
    trials = pd.read_csv(search_run / "trials.csv").sort_values("tid")
    exported = sorted(study.get_trials(), key=lambda t: t.user_attrs["tid"])
    assert [t.user_attrs["tid"] for t in exported] == list(trials.tid)
    for t, row in zip(exported, trials.itertuples()):
        assert t.values == pytest.approx([row.P, row.TG], abs=0) and t.user_attrs["genotype"] == row.genotype
    assert {len(study.best_trials)} <= set(range(1, 4))  # the Pareto front over P and TG


def test_an_existing_study_and_bad_targets_are_refused(search_run, tmp_path, capsys):
    db = tmp_path / "trials.db"
    assert main(["export", "optuna", str(search_run), str(db)]) == 0
    capsys.readouterr()
    assert main(["export", "optuna", str(search_run), str(db)]) == 2
    assert "already has a study 'run'" in capsys.readouterr().err
    assert main(["export", "optuna", str(search_run), str(db), "--study", "second"]) == 0
    assert main(["export", "optuna", str(search_run), str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["export", "optuna", str(tmp_path), str(tmp_path / "x.db")]) == 2
    assert "no search journal" in capsys.readouterr().err


def test_exports_that_would_mislead_are_refused(search_run, tmp_path, capsys):
    import json
    import os
    import socket

    assert main(["export", "optuna", str(search_run), str(tmp_path / "trials.csv")]) == 2
    assert "would become an SQLite database" in capsys.readouterr().err
    assert main(["export", "optuna", str(search_run), str(tmp_path / "t.db"), "--study", " "]) == 2
    assert "--study is empty" in capsys.readouterr().err
    assert main(["export", "optuna", str(tmp_path / "nowhere"), str(tmp_path / "t.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "optuna", str(search_run), f"sqlite:///{tmp_path / 'no' / 'x.db'}"]) == 2
    assert "does not exist" in capsys.readouterr().err
    lock = search_run / "driver.lock"  # a driver still running (this very process, so it is alive)
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "now"}))
    try:
        assert main(["export", "optuna", str(search_run), str(tmp_path / "t.db")]) == 2
        assert "still running (3 of 3 trials done)" in capsys.readouterr().err
    finally:
        lock.unlink()
