import logging

import pandas as pd
import pytest

from helpers import TINY_ANALYSIS, assert_ceiled_scores
from neurosage.analyses.config_loading import load_config
from neurosage.analyses.neuro_search import NeuroSearchConfig, run


def test_two_searches_and_table4(tmp_path, tiny_fmnist):
    config = load_config(NeuroSearchConfig, data=str(tiny_fmnist), budget=3, premature_steps=2, rerank_steps=3, final_steps=4, top_k=2,
                         startup_trials=2, **TINY_ANALYSIS)
    table = run(tmp_path, config)
    assert list(table.network) == ["P-search", "TG-SAGE-neuro"]
    neuro = pd.read_csv(tmp_path / "neuro_search" / "TG-SAGE-neuro" / "trials.csv")
    assert neuro.TG.notna().all()
    performance = pd.read_csv(tmp_path / "neuro_search" / "P-search" / "trials.csv")
    assert performance.TG.isna().all()
    assert list(performance.genotype[:2]) == list(neuro.genotype[:2])  # the shared random start-up: paired by design
    assert (table.top1_error <= 100).all() and (table.top5_error <= table.top1_error).all()
    assert set(table.columns) >= {"B", "N", "F", "params_M", "flops_B", "top1_error", "top5_error", "seed"}
    paired = pd.read_csv(tmp_path / "neuro_search" / "paired.csv").set_index("metric")
    difference = table.set_index("network").top1_error
    assert paired.loc["top1_error", "estimate"] == pytest.approx(difference["TG-SAGE-neuro"] - difference["P-search"])
    assert paired.loc["top1_error", "n"] == 1 and pd.isna(paired.loc["top1_error", "lo"])  # one seed: no interval


def test_table4_over_two_seeds_is_a_paired_difference(tmp_path, tiny_fmnist):
    from scipy import stats

    config = load_config(NeuroSearchConfig, data=str(tiny_fmnist), budget=2, premature_steps=2, rerank_steps=2, final_steps=2, top_k=1,
                         startup_trials=2, seeds=(0, 1), **TINY_ANALYSIS)
    table = run(tmp_path, config)
    assert sorted(zip(table.seed, table.network)) == [(0, "P-search"), (0, "TG-SAGE-neuro"), (1, "P-search"), (1, "TG-SAGE-neuro")]
    assert (tmp_path / "neuro_search" / "TG-SAGE-neuro-seed1" / "trials.csv").exists()
    errors = table.pivot(index="seed", columns="network", values="top1_error")
    paired = pd.read_csv(tmp_path / "neuro_search" / "paired.csv").set_index("metric").loc["top1_error"]
    reference = stats.ttest_rel(errors["TG-SAGE-neuro"], errors["P-search"])
    assert paired.n == 2 and paired.estimate == pytest.approx((errors["TG-SAGE-neuro"] - errors["P-search"]).mean())
    if pd.notna(reference.pvalue):  # identical differences on both seeds leave scipy's t undefined (ours: p = 1 for a zero mean)
        assert paired.p == pytest.approx(reference.pvalue)


def test_unknown_teacher_kind(tmp_path, tiny_fmnist):
    with pytest.raises(ValueError, match="unknown teacher kind 'monkey'"):  # by the config, before any work
        run(tmp_path, load_config(NeuroSearchConfig, data=str(tiny_fmnist), teacher="monkey", **TINY_ANALYSIS))


def test_load_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown option"):
        load_config(NeuroSearchConfig, budgett=3)


def test_table4_with_a_brain_teacher_from_real_format_files(tmp_path, tiny_fmnist, capsys, caplog):
    from helpers import write_brainio_netcdf
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
    with caplog.at_level(logging.WARNING):
        assert main(["analyze", "neuro_search", "--run-dir", str(run), "--config", str(tmp_path / "table4.toml"), "--data", str(tiny_fmnist)]) == 0
    assert "the teacher's stimuli differ in kind from the training images: 8 colour 128x128 stimulus images" in caplog.text
    assert "shown to the candidates as grey 28x28" in caplog.text
    neuro = pd.read_csv(run / "neuro_search" / "TG-SAGE-neuro" / "trials.csv")
    assert neuro.TG.notna().all()
    assert_ceiled_scores(neuro, run / "teacher")
    table = pd.read_csv(run / "neuro_search" / "table4.csv")
    assert list(table.network) == ["P-search", "TG-SAGE-neuro"]
    assert table.teacher_stimuli.str.contains("colour 128x128 stimulus images").all()


def _imagenet64(root, n_train=12, n_val=30, seed=0):
    """Tiny downsampled-ImageNet npz batches in the release's format: uint8 rows of 3*64*64 (CHW), labels 1..1000."""
    import numpy as np

    rng = np.random.default_rng(seed)
    root.mkdir()
    for name, n in [(f"train_data_batch_{i}", n_train) for i in range(1, 11)] + [("val_data", n_val)]:
        labels = rng.integers(1, 4, size=n)
        data = (rng.integers(0, 80, size=(n, 3 * 64 * 64)) + 50 * labels[:, None]).astype(np.uint8)
        np.savez(root / f"{name}.npz", data=data, labels=labels)
    return root


def test_brain_guided_search_end_to_end_on_real_formats(tmp_path, capsys):
    """BrainIO netCDF + stimulus CSV + zip of PNGs as the teacher, ImageNet64 npz batches as the data: CLI flags, TOML, Table 4."""
    from helpers import write_brainio_netcdf
    from neurosage.cli import main
    from test_cli import _png_zip

    imagenet = _imagenet64(tmp_path / "imagenet64")
    nc, stimuli, _ = write_brainio_netcdf(tmp_path / "assy_dicarlo_MajajHong2015_public.nc", n_images=8)
    stimuli.to_csv(tmp_path / "stimulus_hvm-public.csv", index=False)
    _png_zip(tmp_path / "stimulus_hvm-public.zip", stimuli.filename)
    small = ["--dataset", "imagenet64", "--data", str(imagenet), "--skeleton", "imagenet64", "--n-stem-cells", "0", "--n-blocks", "2",
             "--filters", "4", "--premature-epochs", "0.2", "--n-train", "100", "--n-val", "20", "--budget", "2"]
    brain = ["--teacher", "brain:MajajHong2015:V4,pIT,aIT", "--teacher-arg", f"path={nc}",
             "--teacher-arg", f"stimulus_csv={tmp_path / 'stimulus_hvm-public.csv'}", "--teacher-images", str(tmp_path / "stimulus_hvm-public.zip")]
    assert main(["search", str(tmp_path / "flags"), *small, *brain]) == 0
    trials = pd.read_csv(tmp_path / "flags" / "trials.csv")
    assert trials.TG.notna().all() and (trials.examples == 64).all()  # 1/5 epoch of 100 images: ceil(20 / 64) = 1 batch of 64
    (tmp_path / "t4.toml").write_text(
        'dataset = "imagenet64"\ndata = "imagenet64"\nskeleton = "imagenet64"\nn-stem-cells = 0\nn-blocks = 2\nfilters = 4\n'
        "n-train = 100\nn-val = 20\nbudget = 2\npremature-epochs = 0.2\ntop-k = 1\nstartup-trials = 1\nrerank-steps = 2\nfinal-steps = 2\n"
        "rerank-n-cells = 1\nrerank-filters = 4\n\n"
        '[teacher]\nspec = "brain:MajajHong2015:V4,IT"\npath = "assy_dicarlo_MajajHong2015_public.nc"\n'
        'stimulus_csv = "stimulus_hvm-public.csv"\nimages = "stimulus_hvm-public.zip"\n'
    )  # V4 and IT: the 1-site subregions of this tiny file have no defined noise ceiling
    assert main(["analyze", "neuro_search", "--run-dir", str(tmp_path / "t4"), "--config", str(tmp_path / "t4.toml")]) == 0
    table = pd.read_csv(tmp_path / "t4" / "neuro_search" / "table4.csv")
    assert list(table.network) == ["P-search", "TG-SAGE-neuro"] and (table.cost_examples > 0).all()
    neuro = pd.read_csv(tmp_path / "t4" / "neuro_search" / "TG-SAGE-neuro" / "trials.csv")
    assert neuro.TG.notna().all()
    assert_ceiled_scores(neuro, tmp_path / "t4" / "teacher")


def test_both_winners_are_sized_to_the_parameter_target(tmp_path, tiny_fmnist, caplog):
    config = load_config(NeuroSearchConfig, data=str(tiny_fmnist), budget=2, premature_steps=2, rerank_steps=2, final_steps=2, top_k=1,
                         startup_trials=2, final_params=20000, **TINY_ANALYSIS)
    with caplog.at_level(logging.WARNING):
        table = run(tmp_path, config).set_index("network")
    assert (table.param_target_M == 0.02).all()
    assert caplog.text.count("final network sized to 0.02M parameters") == 2
    for name in table.index:
        row = table.loc[name]
        assert abs(row.params_M - 0.02) / 0.02 < 0.15, (name, row.params_M, row.F)  # the nearest F: within one F step of the target


def test_size_to_params_picks_the_filters_nearest_the_target_by_brute_force(tiny_fmnist):
    from types import SimpleNamespace

    import numpy as np

    from neurosage.analyses.search_protocol import network_parameters, size_to_params
    from neurosage.core.errors import ConfigError
    from neurosage.data_adapters.imageset import ImageSet
    from neurosage.spaces import get_space
    from neurosage.training.configs import NetworkConfig

    train = ImageSet(np.zeros((4, 1, 28, 28), np.uint8), [0, 1, 2, 9])
    setup = SimpleNamespace(train=train)
    network = NetworkConfig("cifar", 1, 8, None)
    genotype = str(get_space("pnas", n_blocks=3).sample(4))
    counts = {f: network_parameters(genotype, setup, NetworkConfig("cifar", 1, f, None)) for f in range(1, 41)}
    for target in (5_000, 33_333, 100_000):
        chosen = size_to_params(genotype, setup, network, target).filters
        assert chosen == min(counts, key=lambda f: (abs(counts[f] - target), f))
    with pytest.raises(ConfigError, match="final-params 1e\\+12 is more than"):
        size_to_params(genotype, setup, network, 1e12, max_filters=64)
    with pytest.raises(ConfigError, match="layer-wise genotype has no F"):
        size_to_params(str(get_space("layers-10").sample(0)), setup, network, 1e4)
