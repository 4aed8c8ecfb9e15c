import numpy as np
import pytest

from helpers import tiny_task
from neurosage.channels.search import ChannelSearchConfig, best_sizes, next_sizes, round_even, run_channel_search
from neurosage.core.errors import ConfigError, RunFolderError
from neurosage.nets.models import cifar_resnet
from neurosage.training.configs import TrainConfig


def _build():
    return cifar_resnet(1, num_classes=2, in_channels=1, width=8)


CONFIG = ChannelSearchConfig(rule="annealing", metric="qc", trials=4, training=TrainConfig(steps=2, batch_size=8), gamma=0.8,
                             init_step=4, min_size=4, max_size=32, select_after=1, seed=3)


def test_scaling_rules_follow_conetv2():
    rng = np.random.default_rng(0)
    assert round_even(9.2) == 10 and round_even(8.9) == 8
    greedy = ChannelSearchConfig(rule="greedy", trials=10, init_step=16, min_size=16, max_size=256)
    assert next_sizes({0: 16, 1: 100}, {0: 0.0, 1: 0.0}, greedy, 1, rng) == {0: 32, 1: 116}  # trial 1: + init_step
    grown = next_sizes({0: 64, 1: 64, 2: 200, 3: 20}, {0: 0.25, 1: -0.25, 2: 3.0, 3: -0.9}, greedy, 2, rng)
    assert grown == {0: 80, 1: 48, 2: 256, 3: 16}  # x1.25, x0.75, x2 then capped, x0.5 then floored
    annealing = ChannelSearchConfig(rule="annealing", trials=10, init_step=16, min_size=16, max_size=256, temperature=5.0)
    draws = [next_sizes({0: 64}, {0: 0.1}, annealing, 2, np.random.default_rng(s))[0] for s in range(200)]
    p = np.exp(-(1 / 0.1) / (5.0 * (10 - 2) / 10))  # CONetV2: delta + p with probability p
    assert set(draws) == {round_even(64 * 1.1), round_even(64 * (1.1 + p))}
    assert abs(np.mean([d != round_even(64 * 1.1) for d in draws]) - p) < 0.06


def test_best_sizes_are_those_of_the_highest_mean_momentum_after_the_warm_up():
    rows = [{"trial": t, "mean_momentum": m, "sizes": {"0": 10 + t}} for t, m in enumerate([9.0, 1.0, 2.0, 1.5])]
    assert best_sizes(rows, select_after=1) == {0: 12}
    assert best_sizes(rows, select_after=9) == {0: 13}  # nothing eligible yet: the last trial


def test_a_search_is_deterministic_per_seed_and_records_every_trial(tmp_path):
    task = tiny_task(objective="p")
    a = run_channel_search(tmp_path / "a", _build, task.train_set, task.val_set, CONFIG, progress=False)
    b = run_channel_search(tmp_path / "b", _build, task.train_set, task.val_set, CONFIG, progress=False)
    assert [r["sizes"] for r in a.trials] == [r["sizes"] for r in b.trials] and a.best_sizes == b.best_sizes
    assert [r["val_top1"] for r in a.trials] == [r["val_top1"] for r in b.trials]
    assert len(a.trials) == 4 and all(r["status"] == "ok" for r in a.trials)
    first, second = a.trials[0]["sizes"], a.trials[1]["sizes"]
    assert all(second[g] == min(32, s + 4) for g, s in first.items())  # the first-trial rule
    assert all(4 <= s <= 32 and s % 2 == 0 for r in a.trials[1:] for s in r["sizes"].values())
    assert a.trials[-1]["params"] != a.trials[0]["params"]
    other = run_channel_search(tmp_path / "c", _build, task.train_set, task.val_set, ChannelSearchConfig(**{**CONFIG.__dict__, "seed": 4}),
                               progress=False)
    assert [r["val_top1"] for r in other.trials] != [r["val_top1"] for r in a.trials]


def test_a_killed_search_resumes_and_ends_where_an_uninterrupted_one_does(tmp_path, monkeypatch):
    import neurosage.channels.search as module

    task = tiny_task(objective="p")
    whole = run_channel_search(tmp_path / "whole", _build, task.train_set, task.val_set, CONFIG, progress=False)
    calls, train = [], module.train

    def killed_at_the_third_trial(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return train(*args, **kwargs)

    monkeypatch.setattr(module, "train", killed_at_the_third_trial)
    with pytest.raises(KeyboardInterrupt):
        run_channel_search(tmp_path / "cut", _build, task.train_set, task.val_set, CONFIG, progress=False)
    monkeypatch.setattr(module, "train", train)
    with pytest.raises(RunFolderError, match="resuming would change"):
        run_channel_search(tmp_path / "cut", _build, task.train_set, task.val_set, ChannelSearchConfig(**{**CONFIG.__dict__, "gamma": 0.5}),
                           resume=True, progress=False)
    resumed = run_channel_search(tmp_path / "cut", _build, task.train_set, task.val_set, CONFIG, resume=True, progress=False)
    for key in ("sizes", "val_top1", "mean_momentum", "params"):
        assert [r[key] for r in resumed.trials] == [r[key] for r in whole.trials], key


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="scaling rule"):
        ChannelSearchConfig(rule="genetic").check()
    with pytest.raises(ConfigError, match="trials must be at least 2"):
        ChannelSearchConfig(trials=1).check()
    with pytest.raises(ConfigError, match="the teacher metric needs a teacher"):
        task = tiny_task(objective="p")
        run_channel_search(tmp_path / "run", _build, task.train_set, task.val_set, ChannelSearchConfig(metric="teacher", trials=2, select_after=0,
                           training=TrainConfig(steps=1, batch_size=8), min_size=4, metric_points=1), progress=False)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_a_kill_between_the_saved_state_and_its_journal_row_loses_nothing(tmp_path, monkeypatch):
    import neurosage.channels.search as module

    task = tiny_task(objective="p")
    whole = run_channel_search(tmp_path / "whole", _build, task.train_set, task.val_set, CONFIG, progress=False)
    rows, write = [], module._journal_row

    def killed_before_the_second_row(journal, record):
        rows.append(record)
        if len(rows) == 2:
            raise KeyboardInterrupt
        write(journal, record)

    monkeypatch.setattr(module, "_journal_row", killed_before_the_second_row)
    with pytest.raises(KeyboardInterrupt):
        run_channel_search(tmp_path / "cut", _build, task.train_set, task.val_set, CONFIG, progress=False)
    monkeypatch.setattr(module, "_journal_row", write)
    resumed = run_channel_search(tmp_path / "cut", _build, task.train_set, task.val_set, CONFIG, resume=True, progress=False)
    assert [r["sizes"] for r in resumed.trials] == [r["sizes"] for r in whole.trials]
    assert [r["val_top1"] for r in resumed.trials] == [r["val_top1"] for r in whole.trials]


def test_the_metric_is_measured_over_the_trial_and_reduced_per_layer_as_conetv2():
    from neurosage.channels.search import measure_points, select_over_trial

    assert measure_points(80, 2) == [40] and measure_points(80, 1) == [] and measure_points(3, 4) == [1, 2]
    snapshots = [{"a:out": 0.2, "b:in": 0.9}, {"a:out": 0.5, "b:in": 0.4}]
    assert select_over_trial(snapshots, "max") == {"a:out": 0.5, "b:in": 0.9}
    assert select_over_trial(snapshots, "last") == snapshots[-1]
    assert select_over_trial(snapshots, "avg") == pytest.approx({"a:out": 0.35, "b:in": 0.65})
    with pytest.raises(ConfigError, match="unknown metric selection 'median'"):
        ChannelSearchConfig(metric_selection="median").check()
    with pytest.raises(ConfigError, match="unknown teacher scale"):
        ChannelSearchConfig(teacher_scale="z").check()


def test_the_trial_metric_is_the_per_layer_maximum_over_its_measurements(tmp_path):
    task = tiny_task(objective="p")
    config = ChannelSearchConfig(**{**CONFIG.__dict__, "trials": 2, "select_after": 0,
                                  "training": TrainConfig(steps=12, batch_size=8, lr=0.3), "metric_points": 3})
    runs = {sel: run_channel_search(tmp_path / sel, _build, task.train_set, task.val_set,
                                    ChannelSearchConfig(**{**config.__dict__, "metric_selection": sel}), progress=False).trials
            for sel in ("max", "last", "min")}
    assert runs["max"][0]["metric_points"] == 3
    first = {sel: rows[0]["metric"] for sel, rows in runs.items()}  # trial 0 trains the same network in all three
    for g in first["max"]:
        assert first["min"][g] <= first["last"][g] <= first["max"][g]
    assert any(first["min"][g] < first["max"][g] for g in first["max"])  # the measurements differ over the trial


def test_the_teacher_metric_is_scaled_to_qcs_level_on_the_same_network_every_trial(tmp_path):
    import numpy as np

    from neurosage.channels.search import group_metrics

    task = tiny_task(objective="p+tg")
    config = ChannelSearchConfig(**{**CONFIG.__dict__, "metric": "teacher", "trials": 3, "metric_points": 1,
                                    "training": TrainConfig(steps=12, batch_size=8, lr=0.3)})
    observe = lambda model, graph: {"qc_now": float(np.mean(list(group_metrics(model, graph, "qc").values())))}  # noqa: E731
    scaled = run_channel_search(tmp_path / "scaled", _build, task.train_set, task.val_set, config, teacher=task.teacher, progress=False,
                                observe=observe).trials
    for row in scaled:  # the level is QC's on the same network; the teacher decides how it is shared among the groups
        assert row["mean_metric"] == pytest.approx(row["qc_now"]) and row["metric_scale"] > 0
    raw = run_channel_search(tmp_path / "raw", _build, task.train_set, task.val_set,
                             ChannelSearchConfig(**{**config.__dict__, "teacher_scale": "none"}), teacher=task.teacher, progress=False).trials
    assert raw[0]["metric_scale"] is None
    assert scaled[0]["mean_metric"] == pytest.approx(scaled[0]["metric_scale"] * raw[0]["mean_metric"])  # trial 0: the same network
    ratio = {g: scaled[0]["metric"][g] / raw[0]["metric"][g] for g in raw[0]["metric"]}
    assert max(ratio.values()) == pytest.approx(min(ratio.values()))  # one factor for every group: their ranking is the teacher's
