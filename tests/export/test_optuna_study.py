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

    assert main(["export", "optuna", str(search_run), str(tmp_path / "trials.csv")]) == 2
    assert "would become an SQLite database" in capsys.readouterr().err
    assert main(["export", "optuna", str(search_run), str(tmp_path / "t.db"), "--study", " "]) == 2
    assert "--study is empty" in capsys.readouterr().err
    assert main(["export", "optuna", str(tmp_path / "nowhere"), str(tmp_path / "t.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "optuna", str(search_run), f"sqlite:///{tmp_path / 'no' / 'x.db'}"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "optuna", str(search_run), str(tmp_path / "u.db"), "--update"]) == 2
    assert "there is no study to update" in capsys.readouterr().err and not (tmp_path / "u.db").exists()  # no empty database left


def test_the_study_is_lossless_and_an_optuna_sampler_continues_it(search_run, tmp_path):
    import json

    from neurosage.runs.journal import Journal
    from neurosage.spaces import get_space
    from neurosage.spaces.contract import from_indices

    db = tmp_path / "lossless.db"
    assert main(["export", "optuna", str(search_run), str(db)]) == 0
    study = optuna.load_study(study_name="run", storage=f"sqlite:///{db}")
    settings = json.loads((search_run / "run.json").read_text())["settings"]
    space = get_space(settings["space"], settings["n_blocks"])
    rows = {row["tid"]: row for row in Journal(search_run / "journal.sqlite").rows()}
    for trial in study.get_trials():
        row = rows[trial.user_attrs["tid"]]
        assert trial.params == from_indices(space, row["vals"]) and len(trial.params) == sum(len(o) > 1 for _, o in space.decisions())
        assert trial.datetime_start.timestamp() == pytest.approx(row["record"]["started"], abs=1e-3)
        assert (trial.datetime_complete - trial.datetime_start).total_seconds() == pytest.approx(row["record"]["wall_time"], abs=1e-3)
    assert optuna.importance.get_param_importances(study, target=lambda t: t.values[0])  # importance plots have params to rank
    study.sampler = optuna.samplers.TPESampler(seed=0)
    options = dict(space.decisions())
    study.optimize(lambda t: (0.5, 0.5) if all(t.suggest_categorical(k, options[k]) in options[k] for k in study.trials[0].params) else (0, 0),
                   n_trials=1)
    assert len(study.trials) == 4 and study.trials[-1].state == optuna.trial.TrialState.COMPLETE


def test_a_running_search_is_exported_and_refreshed(search_run, tmp_path):
    import shutil

    run = tmp_path / "growing"
    shutil.copytree(search_run, run)
    db = tmp_path / "follow.db"
    from neurosage.export.optuna_study import export_optuna
    from neurosage.runs.journal import Journal

    journal = Journal(run / "journal.sqlite")
    last = max(row["tid"] for row in journal.rows())
    with journal._connect() as con:  # as if the last trial had not finished yet
        con.execute("DELETE FROM trials WHERE tid = ?", (last,))
    first = export_optuna(run, str(db), "live")
    assert len(first.trials) == 3 - 1
    shutil.copy(search_run / "journal.sqlite", run / "journal.sqlite")  # it finished
    again = export_optuna(run, str(db), "live", update=True)
    assert sorted(t.user_attrs["tid"] for t in again.trials) == sorted(row["tid"] for row in Journal(search_run / "journal.sqlite").rows())


def test_a_renamed_run_folder_updates_the_study_it_was_exported_to(search_run, tmp_path, capsys):
    """Round 3 #108: after a rename the study was refused ("was not exported from ...") though the run is the same."""
    import shutil

    db = tmp_path / "moved.db"
    assert main(["export", "optuna", str(search_run), str(db)]) == 0
    moved = tmp_path / "renamed"
    shutil.copytree(search_run, moved)  # a copy keeps the fixture's folder; run.json's run_id travels with it
    capsys.readouterr()
    assert main(["export", "optuna", str(moved), str(db), "--update"]) == 2
    assert "no study 'renamed' to update; this run (moved or renamed since) was exported as study 'run'; fix: add --study run" in \
        capsys.readouterr().err
    assert main(["export", "optuna", str(moved), str(db), "--update", "--study", "run"]) == 0
    study = optuna.load_study(study_name="run", storage=f"sqlite:///{db}")
    assert study.user_attrs["neurosage_run"] == str(moved.resolve()) and len(study.get_trials()) == 3
