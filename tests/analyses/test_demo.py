import json

import numpy as np
import pandas as pd
import pytest

from helpers import TINY_ANALYSIS
from neurosage.analyses.demo import _report, run_demo
from neurosage.analyses.settings import DemoConfig
from neurosage.cli import main
from neurosage.figures.similarity_heatmap import best_trial_similarity

TINY_DEMO = dict(budget=4, premature_steps=2, mature_steps=3, teacher_epochs=0.05, **TINY_ANALYSIS)


def test_demo_writes_summary_curves_and_picture(tmp_path, tiny_fmnist, capsys):
    summary = run_demo(tmp_path, DemoConfig(data=str(tiny_fmnist), **TINY_DEMO))
    assert set(summary["searches"]) == {"p+tg", "p"} and summary["searches"]["p"]["TG"] is None
    assert 0 <= summary["searches"]["p+tg"]["mature_test_top1"] <= 1
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert set(curves.method) == {"p+tg", "p"} and curves.groupby("method").n_samples.max().tolist() == [4, 4]
    assert curves.cost_examples.is_monotonic_increasing or curves.groupby("method").cost_examples.is_monotonic_increasing.all()
    out = capsys.readouterr().out
    assert "mature top-1, P+TG winner minus P winner" in out
    assert "TPE on fashion-mnist, teacher the embedded ResNet-8 trained 0.05 epoch(s) (endpoints" in out
    _report({**summary, "config": {**summary["config"], "teacher": "control:pixels", "algo": "random"}})  # round 4 #111: it said "ResNet"
    assert "RANDOM on fashion-mnist, teacher control:pixels (endpoints" in capsys.readouterr().out
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["settings"]["budget"] == 4 and record["sessions"][0]["status"] == "finished"


def test_the_demo_shows_the_winner_against_the_teacher_and_its_controls(tmp_path, tiny_fmnist, capsys):
    summary = run_demo(tmp_path, DemoConfig(data=str(tiny_fmnist), **TINY_DEMO))
    controls = pd.read_csv(tmp_path / "controls.csv")
    assert list(dict.fromkeys(controls.teacher)) == ["teacher", "pixels", "untrained:cifar_resnet-1:seed0"]
    assert set(controls[controls.teacher == "pixels"].endpoint) == {"pixels"}
    # the winner rebuilt from its kept weights sees the teacher exactly as the search scored it
    similarity, best = best_trial_similarity(tmp_path / "search-ptg")
    rebuilt = controls[controls.teacher == "teacher"].set_index(["endpoint", "layer"]).similarity
    searched = similarity.to_series().reindex(rebuilt.index)
    np.testing.assert_allclose(rebuilt.to_numpy(), searched.to_numpy(), rtol=0, atol=1e-6)
    assert summary["winner_tg"]["teacher"] == pytest.approx(best["TG"], abs=1e-6)
    assert set(summary["winner_tg"]) == set(controls.teacher)
    out = capsys.readouterr().out
    assert "TG against the teacher and its controls: teacher" in out and "over its untrained architecture" in out


def test_demo_command_reuses_the_cached_teacher_and_results(tmp_path, tiny_fmnist, capsys):
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in TINY_DEMO.items()]
    assert main(["demo", "--run-dir", str(tmp_path), "--data", str(tiny_fmnist), *flags]) == 0
    png = tmp_path / "demo.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    assert f"picture: {png}" in capsys.readouterr().out
    teacher = sorted((tmp_path / "teacher").iterdir())
    mature = (tmp_path / "mature.csv").read_text()
    assert main(["demo", "--run-dir", str(tmp_path), "--data", str(tiny_fmnist), *flags]) == 0
    assert sorted((tmp_path / "teacher").iterdir()) == teacher and (tmp_path / "mature.csv").read_text() == mature
    capsys.readouterr()
    assert main(["search", str(tmp_path / "search-ptg"), "--resume", "--budget", "5"]) == 2  # round 4 #134: 20 "None -> default" changes
    err = capsys.readouterr().err
    assert "is one of the searches of neurosage demo in" in err
    assert f"fix: rerun that command to continue it: neurosage demo --run-dir {tmp_path}" in err
    assert main(["search", str(tmp_path), "--resume"]) == 2  # the demo's own folder: its searches are continued by the demo
    assert f"fix: rerun the command that made the folder: neurosage demo --run-dir {tmp_path}" in capsys.readouterr().err
    for argv in (["export", "optuna", str(tmp_path), str(tmp_path / "q.db")], ["rdm", str(tmp_path), "--trial", "0", "--teacher", "control:pixels"],
                 ["export", "brainscore", str(tmp_path), "--out", str(tmp_path / "plugin")]):  # round 7 C32, C33, C35
        assert main(argv) == 2
        assert "holds 2 search(es) below it (search-p, search-ptg), not one of its own; fix: give one of them" in capsys.readouterr().err
    assert main(["figures", str(tmp_path)]) == 0
    assert (tmp_path / "figures" / "demo.png").exists()
