import numpy as np
import pytest
import torch

from neurosage.core.errors import ConfigError
from neurosage.nets.build import build_network
from neurosage.nets.layerwise import LayerNetwork, concat_padded
from neurosage.nets.measure import count_flops, count_parameters
from neurosage.spaces import get_space
from neurosage.spaces.cell import PNASNET_5
from neurosage.spaces.layerwise import Layer, LayerGenotype, LayerSpace


@pytest.mark.parametrize("name", ["layers-10", "layers-20"])
def test_sampled_genotypes_train_forward_and_backward(name):
    space = get_space(name)
    for seed in range(3):
        genotype = space.sample(seed)
        net = build_network(str(genotype), num_classes=7, in_channels=1, width_multiplier=0.125)
        x = torch.randn(2, 1, 12, 12).to(memory_format=torch.channels_last)
        net.to(memory_format=torch.channels_last)
        logits = net(x)
        assert logits.shape == (2, 7)
        logits.sum().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
        assert net.endpoints == [f"layer_{i}" for i in range(space.depth)] + ["pool"]
        feats = net.extract(x, ["layer_0", f"layer_{space.depth - 1}", "pool"])
        assert feats["layer_0"].shape[1] == max(1, round(genotype.layers[0].filters * 0.125))


def test_parameters_and_flops_by_hand():
    # layer 0: 3x3 conv 1->4 on 8x8, layer 1: 1x5 conv 1->2 on the image, layer 2: 3x1 conv (4+2)->3 reads both
    genotype = LayerGenotype((Layer(3, 3, 4), Layer(1, 5, 2), Layer(3, 1, 3, (0, 1))))
    net = LayerNetwork(genotype, num_classes=5, in_channels=1)
    convs = 3 * 3 * 1 * 4 + 1 * 5 * 1 * 2 + 3 * 1 * 6 * 3
    bn = 2 * (4 + 2 + 3)
    assert count_parameters(net) == convs + bn + 3 * 5 + 5
    macs = 64 * convs + 3 * 5  # every map is 8x8 at stride 1; the classifier reads 3 pooled features
    assert count_flops(net, (1, 8, 8)) == {"flops": 2 * macs, "macs": macs}


def test_smaller_maps_are_zero_padded_to_the_largest():
    a, b = torch.ones(1, 2, 4, 4), torch.full((1, 1, 2, 3), 5.0)
    out = concat_padded([a, b])
    assert out.shape == (1, 3, 4, 4)
    assert out[0, 2, :2, :3].eq(5).all() and out[0, 2, 2:].eq(0).all() and out[0, 2, :, 3].eq(0).all()
    genotype = LayerSpace("strided", 5, strides=(1, 2, 3)).sample(1)
    net = build_network(genotype, in_channels=3)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)


def test_width_multiplier_is_for_layer_networks_only():
    with pytest.raises(ConfigError, match="applies to layer-wise networks only"):
        build_network(PNASNET_5, width_multiplier=0.5)
    genotype = get_space("layers-10").sample(0)
    wide, narrow = build_network(genotype), build_network(genotype, width_multiplier=0.25, filters=99, skeleton="imagenet64")
    assert count_parameters(narrow) < count_parameters(wide) / 8  # cell options do not apply; width does


def test_same_seed_same_network():
    genotype = get_space("layers-10").sample(3)
    nets = []
    for _ in range(2):
        torch.manual_seed(0)
        nets.append(build_network(genotype, width_multiplier=0.125))
    x = torch.randn(2, 3, 8, 8)
    assert np.array_equal(nets[0].eval()(x).detach().numpy(), nets[1].eval()(x).detach().numpy())
