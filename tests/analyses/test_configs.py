"""Every shipped config in configs/ loads with its analysis' config class (keys, types, the [teacher] table)."""

from pathlib import Path

import pytest

from neurosage.analyses import get_analysis
from neurosage.analyses.config_loading import load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ANALYSIS = {"table4-imagenet64": "neuro_search", "predictability-small": "predictability",
            "search-comparison-small": "search_comparison", "cell-search-small": "cell_search", "neuro-search-small": "neuro_search",
            "channel-search-small": "channel_search", "predictability-powered": "predictability", "predictability-paper": "predictability",
            "teacher-bench": "teacher_bench"}


def test_every_config_is_known():
    assert {p.stem for p in CONFIGS.glob("*.toml")} == set(ANALYSIS)


@pytest.mark.parametrize("name", sorted(ANALYSIS))
def test_config_loads(name):
    _, cls = get_analysis(ANALYSIS[name])
    config = load_config(cls, CONFIGS / f"{name}.toml")
    if name == "table4-imagenet64":
        assert (config.budget, config.premature.epochs, config.n_val, config.top_k, config.rerank_epochs) == (1000, 0.2, 50000, 10, 40)
        assert config.network.n_stem_cells == 0 and config.rerank_network.n_stem_cells is None and config.rerank_network.filters == 40
        assert config.teacher == "brain:MajajHong2015:V4,pIT,aIT" and config.teacher_args["path"].endswith("assy_dicarlo_MajajHong2015_public.nc")
        assert config.teacher_images.endswith("stimulus_hvm-public.zip") and config.alpha == 1.0
    if name == "teacher-bench":  # the pre-registered plan of docs/small-scale.md, "The teacher bench"
        pool = (config.n_architectures, tuple(config.checkpoints), config.mature_steps, config.long_subset, config.long_epochs)
        assert pool == (128, (5, 10, 20), 200, 24, 10.0)
        assert config.second_seed == 16 and tuple(config.bench_epochs) == (1.0, 10.0) and config.space == "layers-10" and config.n_bootstrap == 2000
    if name == "predictability-powered":  # the pre-registered plan of docs/small-scale.md
        assert config.n_architectures >= 128 and config.repeat_mature >= 16 and config.min_reliability == 0.7 and config.alpha == 1.0
        assert config.mature_steps >= 10 * max(config.checkpoints) and config.schedule == "cosine" and config.bn_recalibration > 0
    if name == "predictability-paper":
        assert (config.dataset, config.space, config.width_multiplier, config.teacher_depth) == ("cifar100", "layers-10", 1.0, 9)
        steps_per_epoch = config.n_train / config.batch_size
        assert config.n_architectures >= 116 and any(abs(c - 2 * steps_per_epoch) <= 1 for c in config.checkpoints)  # the paper's 2-epoch premature
        assert config.mature_steps >= 40 * 2 * steps_per_epoch and config.repeat_mature >= 16
