import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from helpers import TINY_ANALYSIS
from neurosage.analyses.config_loading import load_config
from neurosage.analyses.predictability import PredictabilityConfig, bootstrap_ci, correlations, run, summarize


def test_correlations_written_match_an_independent_recomputation(tmp_path, tiny_fmnist):
    config = load_config(PredictabilityConfig, data=str(tiny_fmnist), n_architectures=5, checkpoints=(2, 4), mature_steps=6, n_bootstrap=40,
                         **TINY_ANALYSIS)
    run(tmp_path, config)
    records = pd.read_csv(tmp_path / "predictability" / "records.csv")
    corr = pd.read_csv(tmp_path / "predictability" / "correlations.csv")
    assert set(records.steps) == {2, 4} and records.arch.nunique() == 5
    assert {"S_stack1", "S_stack2", "S_stack3"} <= set(records.columns)
    for steps, group in records.groupby("steps"):
        got = corr[(corr.steps == steps)].set_index("measure")
        assert got.loc["P", "pearson"] == pytest.approx(scipy.stats.pearsonr(group.P, group.mature_top1).statistic, abs=1e-10)
        assert got.loc["TG", "spearman"] == pytest.approx(scipy.stats.spearmanr(group.TG, group.mature_top1).statistic, abs=1e-10)
        combo = group.P + 2.0 * group.TG
        assert got.loc["P+2TG", "pearson"] == pytest.approx(scipy.stats.pearsonr(combo, group.mature_top1).statistic, abs=1e-10)
        assert (got.pearson_lo <= got.pearson + 1e-12).all() and (got.pearson <= got.pearson_hi + 1e-12).all()


def test_bootstrap_ci_covers_the_known_correlation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    y = 0.6 * x + 0.8 * rng.normal(size=400)  # true r = 0.6
    lo, hi = bootstrap_ci(x, y, lambda a, b: np.corrcoef(a, b)[0, 1], 500, seed=1)
    assert lo < 0.6 < hi and hi - lo < 0.2


def test_correlations_of_a_perfect_predictor():
    records = pd.DataFrame({"steps": [1] * 6, "P": np.arange(6.0), "TG": np.zeros(6), "mature_top1": np.arange(6.0) * 2})
    corr = correlations(records, (0.0,), 20, 0).set_index("measure")
    assert corr.loc["P", "pearson"] == pytest.approx(1.0) and corr.loc["P+0TG", "spearman"] == pytest.approx(1.0)
    assert np.isnan(corr.loc["TG", "pearson"])  # a constant measure has no correlation


def test_a_larger_pool_trains_only_the_new_architectures(tmp_path, tiny_fmnist, monkeypatch):
    import neurosage.analyses.predictability as predictability

    small = load_config(PredictabilityConfig, data=str(tiny_fmnist), n_architectures=3, checkpoints=(2,), mature_steps=3, n_bootstrap=10,
                        **TINY_ANALYSIS)
    run(tmp_path / "grown", small)
    trained, original = [], predictability._architecture
    monkeypatch.setattr(predictability, "_architecture", lambda arch, *args: trained.append(arch) or original(arch, *args))
    run(tmp_path / "grown", replace(small, n_architectures=4))
    assert trained == [3]
    run(tmp_path / "fresh", replace(small, n_architectures=4))
    grown, fresh = (pd.read_csv(tmp_path / d / "predictability" / "records.csv") for d in ("grown", "fresh"))
    pd.testing.assert_frame_equal(grown, fresh)
    with pytest.raises(ValueError, match=r"mature_steps.*new --run-dir"):
        run(tmp_path / "grown", replace(small, mature_steps=4))


@pytest.mark.slow  # 16 s; the same-on-any-executor guarantee stays in the default suite (cell_search on a cluster)
def test_two_workers_give_the_records_and_repeats_of_one(tmp_path, tiny_fmnist):
    config = load_config(PredictabilityConfig, data=str(tiny_fmnist), n_architectures=3, checkpoints=(1, 3), mature_steps=4, n_bootstrap=10,
                         repeat_mature=2, **TINY_ANALYSIS)
    run(tmp_path / "one", config)
    run(tmp_path / "two", replace(config, workers=2))
    for table in ("records.csv", "architectures.csv"):
        one, two = (pd.read_csv(tmp_path / d / "predictability" / table) for d in ("one", "two"))
        timing = [c for c in one.columns if "seconds" in c]
        pd.testing.assert_frame_equal(one.drop(columns=timing), two.drop(columns=timing))
    archs = pd.read_csv(tmp_path / "one" / "predictability" / "architectures.csv")
    assert archs.mature_top1_repeat.notna().tolist() == [True, True, False]
    assert (archs.mature_top1_repeat != archs.mature_top1).any()  # another seed, not a copy


def _write_cifar100(root, n_train, n_test, seed=0):
    """CIFAR-100's python pickles as the release writes them (bytes keys, fine and coarse labels, a meta file)."""
    import pickle

    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    for split, n in (("train", n_train), ("test", n_test)):
        with open(folder / split, "wb") as fh:
            pickle.dump({b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), b"fine_labels": (np.arange(n) % 100).tolist(),
                         b"coarse_labels": (np.arange(n) % 20).tolist(), b"filenames": [b"x.png"] * n}, fh)
    with open(folder / "meta", "wb") as fh:
        pickle.dump({"fine_label_names": [f"c{i}" for i in range(100)], "coarse_label_names": [f"s{i}" for i in range(20)]}, fh)
    return root


def test_the_paper_scale_config_runs_on_tiny_sizes(tmp_path):
    """configs/predictability-paper.toml as shipped, with only the sizes, the device and the data folder made small."""
    from pathlib import Path

    data = _write_cifar100(tmp_path / "cifar", n_train=260, n_test=60)
    paper = Path(__file__).resolve().parents[2] / "configs" / "predictability-paper.toml"
    config = load_config(PredictabilityConfig, paper, data=str(data), device="cpu", n_architectures=3, n_train=150, n_val=100, n_stimuli=20,
                         width_multiplier=0.125, teacher_depth=1, teacher_epochs=0.05, batch_size=16, checkpoints=(1, 2), mature_steps=4,
                         repeat_mature=1, n_bootstrap=10)
    assert (config.dataset, config.space, config.schedule, config.alpha) == ("cifar100", "layers-10", "cosine", 1.0)
    run(tmp_path / "run", config)
    out = tmp_path / "run" / "predictability"
    records, archs = pd.read_csv(out / "records.csv"), pd.read_csv(out / "architectures.csv")
    assert set(records.steps) == {1, 2} and len(archs) == 3 and archs.mature_top1_repeat.notna().sum() == 1
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["teacher_top1"] <= 1  # the embedded ResNet has CIFAR-100's 100 outputs
    assert summary["teacher_margin"] == pytest.approx(summary["teacher_top1"] - archs.mature_top1.max())


def test_summary_reliability_and_the_pre_registered_threshold():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.6, 0.8, size=40)
    archs = pd.DataFrame({"mature_top1": truth + rng.normal(0, 0.005, 40), "mature_top1_repeat": truth + rng.normal(0, 0.005, 40),
                          "mature_val": truth, "mature_val_90": truth - 0.01, "train_images": 1000, "train_seconds": 2.0, "seconds": 3.0})
    config = PredictabilityConfig(n_bootstrap=200)
    summary = summarize(archs, 0.9, config)
    expected = scipy.stats.pearsonr(archs.mature_top1, archs.mature_top1_repeat).statistic
    assert summary["reliability"]["pearson"] == pytest.approx(expected) and summary["reliability"]["n"] == 40
    assert summary["reliability"]["lo"] < expected < summary["reliability"]["hi"] and summary["conclusive"] is True
    assert summary["plateau"]["val_gain_last_10pct_mean"] == pytest.approx(0.01) and summary["train_images_per_second"] == pytest.approx(500)
    assert summary["teacher_margin"] == pytest.approx(0.9 - archs.mature_top1.max())
    noisy = archs.assign(mature_top1_repeat=truth[::-1])  # another seed that ranks architectures unrelatedly
    assert summarize(noisy, None, config)["conclusive"] is False
    assert summarize(archs.assign(mature_top1_repeat=np.nan), None, config)["reliability"] is None


def test_a_pool_of_the_old_segment_protocol_is_refused(tmp_path, tiny_fmnist):
    from neurosage.core.errors import ConfigError

    config = load_config(PredictabilityConfig, data=str(tiny_fmnist), n_architectures=3, checkpoints=(1,), mature_steps=2, n_bootstrap=10,
                         **TINY_ANALYSIS)
    stamp = tmp_path / "predictability" / "pool" / "pool.json"
    stamp.parent.mkdir(parents=True)
    stamp.write_text(json.dumps({"checkpoints": [1], "mature_steps": 2}))  # no "protocol": written before one run per architecture
    with pytest.raises(ConfigError, match="older protocol") as err:
        run(tmp_path, config)
    assert str(stamp) in str(err.value)


@pytest.mark.parametrize("bad, field", [(dict(checkpoints=(5, 200)), "checkpoints"), (dict(checkpoints=(5, 5)), "checkpoints"),
                                        (dict(checkpoints=()), "checkpoints"), (dict(mature_steps=1, checkpoints=(1,)), "mature_steps"),
                                        (dict(schedule="linear"), "schedule"), (dict(repeat_mature=-1), "repeat_mature"),
                                        (dict(workers=0), "workers"), (dict(min_reliability=1.5), "min_reliability"),
                                        (dict(n_architectures=True), "n_architectures"), (dict(n_architectures=2), "n_architectures")])
def test_config_refuses_an_impossible_protocol(bad, field):
    from neurosage.core.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        PredictabilityConfig(**bad)
    assert err.value.field == field


def test_training_images_without_a_class_are_refused_before_training(tmp_path, capsys):
    """A label of -1 in CIFAR-100's train file (ImageSet's 'unlabelled') was an IndexError inside the first training."""
    import pickle

    from neurosage.cli import main

    data = _write_cifar100(tmp_path / "cifar", n_train=120, n_test=40)
    train = data / "cifar-100-python" / "train"
    content = pickle.loads(train.read_bytes())
    content[b"fine_labels"][5] = -1
    train.write_bytes(pickle.dumps(content))
    assert main(["search", str(tmp_path / "run"), "--dataset", "cifar100", "--data", str(data), "--budget", "1", "--n-train", "60",
                 "--n-val", "20", "--n-stimuli", "10"]) == 2
    err = capsys.readouterr().err
    assert "cifar-100-python/train: field 'fine_labels': fine_labels span -1..99" in err and "unexpected" not in err  # the loader names the file


def test_a_comparison_undefined_on_the_pool_is_a_nan_row_with_the_reason(caplog):
    """Round 15 C36: on 5 architectures where P + TG ranked them as P did, the whole analysis ended with Williams' test's
    Python-only fix ("compare two different predictors of y")."""
    import pandas as pd

    from neurosage.analyses.predictability import paired_comparisons

    p = [0.1, 0.2, 0.3, 0.4, 0.5]
    records = pd.DataFrame({"steps": 1, "P": p, "TG": [0.01, 0.02, 0.0, 0.015, 0.03], "mature_top1": [0.2, 0.1, 0.4, 0.5, 0.3]})
    with caplog.at_level("WARNING"):
        table = paired_comparisons(records, alpha=1.0, n_bootstrap=50, seed=0)
    undefined = table[(table.measure == "P+1TG") & (table.method == "spearman")].iloc[0]
    assert undefined.n == 5 and pd.isna(undefined.estimate) and pd.isna(undefined.p)
    assert "no comparison on these 5 architectures" in caplog.text and "n-architectures" in caplog.text
    defined = table[(table.measure == "TG") & (table.method == "pearson")].iloc[0]
    assert pd.notna(defined.estimate) and 0 <= defined.p <= 1
