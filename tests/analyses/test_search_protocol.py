"""The analyses' shared protocol: a mature training that diverged gives no accuracy, and says why."""

import math

import pandas as pd

from helpers import TINY_ANALYSIS
from neurosage.analyses.embedded import embedded_setup
from neurosage.analyses.results import DEMO_MATURE
from neurosage.analyses.search_protocol import mature_errors, train_mature
from neurosage.analyses.settings import DemoConfig
from neurosage.spaces import get_space
from neurosage.training.configs import NetworkConfig, TrainConfig

GENOTYPE = str(get_space("pnas", n_blocks=2).sample(0))


def test_a_mature_training_that_ends_at_chance_is_diverged_with_no_accuracy(tmp_path, tiny_fmnist):
    setup = embedded_setup(DemoConfig(data=str(tiny_fmnist), **TINY_ANALYSIS), tmp_path, with_teacher=False)
    network = NetworkConfig("cifar", 1, 4)
    stuck = train_mature(GENOTYPE, setup, network, TrainConfig(steps=100, batch_size=16, lr=1e-12), on="test")
    assert stuck["status"] == "diverged" and math.isnan(stuck["top1_error"]) and math.isnan(stuck["top5_error"])
    assert "ended at chance after 100 steps" in stuck["error"]
    errors = mature_errors([GENOTYPE], setup, network, 3, tmp_path, DEMO_MATURE)  # 3 steps: too short to call chance
    cache = pd.read_csv(tmp_path / "mature.csv")
    assert list(cache.columns) == ["genotype", "top1_error", "status", "error"] and cache.status.tolist() == ["ok"]
    assert errors[GENOTYPE] == cache.top1_error[0]
