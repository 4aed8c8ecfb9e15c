"""BatchNorm recalibration: exact statistics, and premature accuracy no longer read through stale ones."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from neurosage.core.errors import ConfigError
from neurosage.data_adapters.imageset import ImageSet
from neurosage.nets.build import build_network
from neurosage.spaces import PNASNET_5
from neurosage.training.configs import TrainConfig
from neurosage.training.evaluation import evaluate, recalibrate_bn
from neurosage.training.loop import train


def _stripes(n: int, seed: int) -> ImageSet:
    """A learnable 4-class task: the class is which quadrant is bright (plus noise)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=n)
    images = rng.integers(0, 90, size=(n, 1, 16, 16))
    for i, c in enumerate(labels):
        r, q = divmod(int(c), 2)
        images[i, 0, 8 * r : 8 * r + 8, 8 * q : 8 * q + 8] += 140
    return ImageSet(images.astype(np.uint8), labels, mean=0.3, std=0.3)


def test_one_whole_batch_gives_the_exact_mean_and_unbiased_variance():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3))
    data = _stripes(40, 0)
    assert recalibrate_bn(model, data, n_batches=1, batch_size=40, seed=0) == 40
    x = model[0](data.batch(torch.arange(40))[0]).detach()
    assert torch.allclose(model[1].running_mean, x.mean(dim=(0, 2, 3)), atol=1e-6)
    assert torch.allclose(model[1].running_var, x.var(dim=(0, 2, 3), unbiased=True), rtol=1e-5)
    assert model[1].momentum == 0.1 and model.training  # momentum and mode (train, as built) restored


def test_equal_batches_average_to_the_whole_mean_and_nothing_else_changes():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval()
    weights = copy.deepcopy(model.state_dict())
    data = _stripes(64, 1)
    recalibrate_bn(model, data, n_batches=4, batch_size=16, seed=3)
    x = model[0](data.batch(torch.arange(64))[0]).detach()
    assert torch.allclose(model[1].running_mean, x.mean(dim=(0, 2, 3)), atol=1e-6)
    assert not model.training and model[1].momentum == 0.1
    assert torch.equal(model[0].weight, weights["0.weight"]) and model[1].num_batches_tracked == 4
    assert recalibrate_bn(model, data, n_batches=0) == 0  # off


def test_a_bad_number_of_batches_is_refused_by_name():
    with pytest.raises(ConfigError, match="bn_recalibration"):
        recalibrate_bn(nn.BatchNorm2d(1), _stripes(4, 0), n_batches=-1)
    with pytest.raises(ConfigError, match="bn-recalibration"):
        TrainConfig(steps=1, bn_recalibration=-2)


def _trained(steps: int):
    train_set, val = _stripes(640, 2), _stripes(200, 3)
    torch.manual_seed(0)
    net = build_network(PNASNET_5, num_classes=4, in_channels=1, filters=8, n_cells=1)
    train(net, train_set, TrainConfig(steps=steps, batch_size=32, lr=0.05, schedule="constant"), seed=0)
    stale = evaluate(net, val)["top1"]
    batched, whole = copy.deepcopy(net), copy.deepcopy(net)
    recalibrate_bn(batched, train_set, n_batches=10, batch_size=64, seed=1)
    recalibrate_bn(whole, train_set, n_batches=1, batch_size=640, seed=1)
    return stale, evaluate(batched, val)["top1"], evaluate(whole, val)["top1"]


def test_at_a_tiny_budget_recalibration_lifts_accuracy_to_what_whole_data_statistics_give():
    stale, recalibrated, whole = _trained(10)
    assert recalibrated > stale + 0.2, (stale, recalibrated)
    assert abs(recalibrated - whole) <= 0.03, (recalibrated, whole)


@pytest.mark.slow
def test_at_a_long_budget_recalibration_changes_accuracy_by_no_more_than_noise():
    stale, recalibrated, whole = _trained(600)
    assert abs(recalibrated - stale) <= 0.05 and abs(recalibrated - whole) <= 0.03, (stale, recalibrated, whole)
