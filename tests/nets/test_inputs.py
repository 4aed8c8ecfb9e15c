"""The input check of networks handed to users: wrong input is named with its fix before torch's own error (round 7 F6, round 8 Q7)."""

import pickle

import numpy as np
import pytest
import torch

from neurosage.core.errors import ConfigError
from neurosage.nets.inputs import InputCheck, guard_inputs
from neurosage.nets.models import build_model


@pytest.fixture(scope="module")
def grey_net():
    return build_model("cifar_resnet-1", in_channels=1, weights="random")


@pytest.mark.parametrize("make, message", [
    (lambda: torch.zeros(2, 3, 28, 28), "takes 1-channel images, got 3 channels"),  # RGB into a grey network
    (lambda: torch.zeros(2, 1, 28, 28, dtype=torch.float64), "has torch.float32 weights and was given torch.float64 input"),
    (lambda: torch.zeros(1, 28, 28), "add the batch axis with x\\[None\\]"),
    (lambda: np.zeros((2, 1, 28, 28), np.float32), "was given a numpy array"),
])
def test_wrong_input_is_named_with_its_fix(grey_net, make, message):
    with pytest.raises(ConfigError, match=message) as exc:
        grey_net(make())
    assert "cifar_resnet-1" in str(exc.value) and exc.value.fix


def test_right_input_gives_the_same_logits_as_an_unguarded_copy(grey_net):
    x = torch.randn(3, 1, 28, 28)
    plain = build_model("cifar_resnet-1", in_channels=1, weights="random")
    plain._forward_pre_hooks.clear()
    with torch.no_grad():
        torch.testing.assert_close(grey_net(x), plain(x), rtol=0, atol=0)


def test_autocast_input_and_a_pickled_copy_are_accepted(grey_net):
    with torch.autocast("cpu", dtype=torch.bfloat16), torch.no_grad():
        grey_net(torch.randn(1, 1, 28, 28, dtype=torch.bfloat16))
    copy = pickle.loads(pickle.dumps(grey_net))
    with pytest.raises(ConfigError, match="takes 1-channel images"):
        copy(torch.zeros(1, 3, 28, 28))


def test_the_check_is_registered_once():
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3))
    guard_inputs(guard_inputs(net))
    assert sum(isinstance(h, InputCheck) for h in net._forward_pre_hooks.values()) == 1
    with pytest.raises(ConfigError, match="takes 2-channel images"):
        net(torch.zeros(1, 3, 8, 8))
