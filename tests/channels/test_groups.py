import numpy as np
import pytest
import torch
import torchvision

from neurosage.channels.groups import channel_groups
from neurosage.channels.resize import resize_channels
from neurosage.nets.build import build_network
from neurosage.nets.models import cifar_resnet
from neurosage.spaces.cell import NASNET_A, PNASNET_5


def _resnet18():
    return torchvision.models.resnet18(num_classes=10)


def test_resnet18_groups_are_exactly_the_stages_and_the_inner_block_channels():
    graph = channel_groups(_resnet18(), torch.zeros(1, 3, 32, 32))
    groups = graph.resizable
    assert len(groups) == 12  # 4 stages (stem + residual outputs) + 8 blocks' inner channels
    stem = graph.group("conv1")
    assert stem.producers == ("conv1", "layer1.0.conv2", "layer1.1.conv2") and stem.tied == ("bn1", "layer1.0.bn2", "layer1.1.bn2")
    assert set(stem.consumers) == {"layer1.0.conv1", "layer1.1.conv1", "layer2.0.conv1", "layer2.0.downsample.0"}
    last = graph.group("layer4.1.conv2")
    assert last.producers == ("layer4.0.conv2", "layer4.0.downsample.0", "layer4.1.conv2") and "fc" in last.consumers and last.size == 512
    inner = [g for g in groups if len(g.producers) == 1]
    assert sorted(g.producers[0] for g in inner) == sorted(f"layer{s}.{b}.conv1" for s in range(1, 5) for b in range(2))
    assert all(g.tied == (g.producers[0].replace("conv1", "bn1"),) for g in inner)
    frozen = [g for g in graph.groups if not g.resizable]
    assert [g.size for g in frozen] == [3, 10]  # the image and the logits


def test_mobilenet_v2_groups_tie_depthwise_convs_and_residual_stages():
    graph = channel_groups(torchvision.models.mobilenet_v2(num_classes=10), torch.zeros(1, 3, 32, 32))
    groups = graph.resizable
    # stem (32, with block 1's depthwise conv), 7 stage outputs, 16 expanded groups, the last 1x1 conv (classifier input)
    assert len(groups) == 1 + 7 + 16 + 1
    expanded = graph.group("features.2.conv.0.0")  # block 2: expand 1x1 -> depthwise 3x3 -> project
    assert "features.2.conv.1.0" in expanded.tied and expanded.consumers == ("features.2.conv.2",)
    stage = graph.group("features.2.conv.2")  # 24-channel stage: two blocks joined by the residual addition
    assert stage.producers == ("features.2.conv.2", "features.3.conv.2") and stage.size == 24
    assert "classifier.1" in graph.group("features.18.0").consumers


def _resize_everything(model, x, rng, low=2, high=12):
    graph = channel_groups(model, x[:1])
    sizes = {g.id: int(rng.integers(low, high)) for g in graph.resizable}
    resized = resize_channels(model, graph, sizes)
    out = resized(x)
    out.sum().backward()
    return graph, resized, out


@pytest.mark.parametrize("make", [_resnet18, lambda: torchvision.models.mobilenet_v2(num_classes=10), lambda: cifar_resnet(1, in_channels=1),
                                  lambda: build_network(NASNET_A, n_cells=1, filters=8), lambda: build_network(PNASNET_5, n_cells=1, filters=8)],
                         ids=["resnet18", "mobilenet_v2", "cifar_resnet", "nasnet_cells", "pnas_cells"])
def test_every_group_resized_at_random_keeps_the_model_runnable_and_groups_are_independent(make):
    model = make()
    channels = 1 if "Sequential" in type(model).__name__ else 3
    x = torch.randn(2, channels, 32, 32)
    rng = np.random.default_rng(0)
    for _ in range(2):
        graph, resized, out = _resize_everything(model, x, rng)
        assert out.shape == (2, 10)
    # no two groups can be merged: each one alone takes a size the others do not have, and the model runs
    x1 = x[:1]
    for group in graph.resizable:
        alone = resize_channels(model, graph, {group.id: group.size + 3}).eval()
        assert alone(x1).shape == (1, 10)
        producer = dict(alone.named_modules())[group.producers[0]]
        assert getattr(producer, "out_channels", None) in (group.size + 3, None) or producer.bn.num_features == group.size + 3


def test_unchanged_sizes_give_identical_outputs_and_grown_groups_keep_the_function():
    torch.manual_seed(0)
    model = build_network(NASNET_A, n_cells=1, filters=8).eval()
    x = torch.randn(3, 3, 32, 32)
    graph = channel_groups(model, x[:1])
    assert torch.equal(resize_channels(model, graph, {}).eval()(x), model(x))
    grown = resize_channels(model, graph, {g.id: g.size + 4 for g in graph.resizable}).eval()
    assert torch.allclose(grown(x), model(x), atol=1e-6)  # new channels are read with zero weights


def test_copied_slices_are_kept_when_sizes_change():
    model = _resnet18()
    graph = channel_groups(model, torch.zeros(1, 3, 32, 32))
    stem, inner = graph.group("conv1"), graph.group("layer1.0.conv1")
    resized = resize_channels(model, graph, {stem.id: 40, inner.id: 80}, seed=3)
    old, new = dict(model.named_parameters()), dict(resized.named_parameters())
    assert new["conv1.weight"].shape == (40, 3, 7, 7) and torch.equal(new["conv1.weight"], old["conv1.weight"][:40])
    assert torch.equal(new["layer1.0.conv1.weight"][:64, :40], old["layer1.0.conv1.weight"][:, :40])
    assert new["layer1.0.conv2.weight"].shape == (40, 80, 3, 3)
    assert torch.equal(new["layer1.0.conv2.weight"][:, :64], old["layer1.0.conv2.weight"][:40])
    assert new["layer1.0.conv2.weight"][:, 64:].abs().sum() == 0  # grown inputs are read with zero weights
    assert new["layer1.0.conv1.weight"][64:].abs().sum() > 0  # grown outputs are initialised, so they learn
    assert torch.equal(new["layer1.0.bn1.weight"][64:], torch.ones(16)) and torch.equal(resized.layer1[0].bn1.running_var[64:], torch.ones(16))
    assert torch.equal(new["fc.weight"], old["fc.weight"])  # its group (layer4) kept its size
    again = resize_channels(model, graph, {stem.id: 40, inner.id: 80}, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(resized.parameters(), again.parameters()))  # same seed, same weights


def test_frozen_groups_and_bad_sizes_are_refused():
    model = _resnet18()
    graph = channel_groups(model, torch.zeros(1, 3, 32, 32))
    image = graph.groups[0]
    with pytest.raises(ValueError, match="cannot be resized"):
        resize_channels(model, graph, {image.id: 4})
    with pytest.raises(ValueError, match="at least 1"):
        resize_channels(model, graph, {graph.group("conv1").id: 0})
