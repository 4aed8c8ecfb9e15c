import pytest
import torch

from neurosage.nets.build import build_network
from neurosage.nets.measure import count_flops, count_parameters
from neurosage.spaces import get_space
from neurosage.spaces.cell import NASNET_A, PNASNET_5


def _close(value, published, tol=0.02):
    return abs(value - published) / published <= tol


def test_nasnet_a_mobile_matches_published_size():
    net = build_network(NASNET_A, skeleton="imagenet224", n_cells=4, filters=44, num_classes=1000)
    assert _close(count_parameters(net), 5.3e6)
    assert _close(count_flops(net, (3, 224, 224))["macs"], 564e6)


def test_pnasnet_5_mobile_matches_published_size():
    net = build_network(PNASNET_5, skeleton="imagenet224", n_cells=3, filters=54, num_classes=1000)
    assert _close(count_parameters(net), 5.1e6)
    assert _close(count_flops(net, (3, 224, 224))["macs"], 588e6)
    assert len(net.cells) == 2 + 9  # stem cells + 3N (stride-2 cells included)


def test_nasnet_a_cifar_matches_published_size():
    net = build_network(NASNET_A, skeleton="cifar", n_cells=6, filters=32, num_classes=10, aux_head=True)
    assert _close(count_parameters(net), 3.3e6)
    assert count_parameters(net, include_aux=True) > count_parameters(net)
    assert len(net.cells) == 3 * 6 + 2


def test_flops_are_twice_macs():
    net = build_network(PNASNET_5, skeleton="cifar", n_cells=1, filters=8)
    f = count_flops(net, (3, 32, 32))
    assert f["flops"] == 2 * f["macs"] > 0


SKELETON_INPUTS = {"cifar": 32, "imagenet64": 64, "imagenet224": 64}


@pytest.mark.parametrize(("space_name", "skeleton"), [
    pytest.param(space, skeleton, id=f"{space}-{skeleton}",
                 marks=[pytest.mark.slow] if (space, skeleton) == ("nasnet", "imagenet64") else [])  # the costliest pair (12 s)
    for space in ("pnas", "nasnet") for skeleton in sorted(SKELETON_INPUTS)
])
def test_every_sampled_genotype_runs_forward_and_backward(space_name, skeleton):
    space = get_space(space_name)
    size = SKELETON_INPUTS[skeleton]
    for seed in range(10):
        net = build_network(space.sample(seed), skeleton=skeleton, n_cells=1, filters=4, num_classes=5, aux_head=True)
        net.set_drop_path(0.2)
        x = torch.randn(2, 3, size, size, requires_grad=True)
        logits, aux = net.forward_with_aux(x)
        assert logits.shape == (2, 5) and aux.shape == (2, 5)
        (logits.sum() + aux.sum()).backward()
        # a genotype may leave whole cells dead (e.g. a cell that never reads h_i),
        # but the gradient must always reach the input through the stem
        assert x.grad.abs().sum() > 0 and all(p.grad is not None for p in net.stem.parameters())


def test_every_endpoint_is_extractable_in_order():
    net = build_network(NASNET_A, skeleton="cifar", n_cells=2, filters=4, num_classes=3, in_channels=1)
    assert net.endpoints[:3] == ["stem", "cell_0", "cell_1"] and "reduction_cell_0" in net.endpoints
    feats = net.extract(torch.randn(2, 1, 28, 28), net.endpoints)
    assert list(feats) == net.endpoints
    assert feats["cell_0"].shape == (2, 6 * 4, 28, 28)
    assert feats["reduction_cell_1"].shape[2:] == (7, 7)
    with pytest.raises(KeyError, match="unknown layer"):
        net.extract(torch.randn(1, 1, 28, 28), ["cell_99"])


def test_drop_stem_cells_for_search():
    g = get_space("pnas").sample(0)
    full = build_network(g, skeleton="imagenet64", n_cells=1, filters=4)
    search = build_network(g, skeleton="imagenet64", n_cells=1, filters=4, n_stem_cells=0)
    assert len(full.cells) - len(search.cells) == 2
    assert search(torch.randn(1, 3, 64, 64)).shape == (1, 10)


def test_unused_cell_inputs_get_no_preprocessing():
    from neurosage.nets.cells import CellModule
    from neurosage.spaces.cell import Block, Cell

    only_prev = Cell((Block((0, 0), ("sep_conv_3x3", "skip_connect")),), (2,))
    cell = CellModule(only_prev, 8, 8, 4)
    assert cell.pre0 is not None and cell.pre1 is None
    out = cell(torch.randn(1, 8, 6, 6), torch.randn(1, 8, 6, 6))
    assert out.shape == (1, 4, 6, 6)
