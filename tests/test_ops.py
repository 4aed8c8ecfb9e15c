import pytest
import torch

from neurosage.ops import FactorizedReduce
from neurosage.primitives import OP_SETS, OPS


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("c_in", [6, 8])
def test_every_op_maps_width_and_stride(name, stride, c_in):
    op = OPS.create(name, c_in, 8, stride)
    x = torch.randn(2, c_in, 9, 9, requires_grad=True)
    y = op(x)
    assert y.shape == (2, 8, 5 if stride == 2 else 9, 5 if stride == 2 else 9)
    y.sum().backward()
    assert x.grad is not None


def test_op_sets_have_published_sizes():
    assert len(OP_SETS["pnas"]) == 8 and len(OP_SETS["nasnet"]) == 13
    assert all(op in OPS for ops in OP_SETS.values() for op in ops)


def test_sep_conv_is_applied_twice_without_bias():
    convs = [m for m in OPS.create("sep_conv_3x3", 4, 4, 1).modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4 and all(c.bias is None for c in convs)


def test_factorized_reduce_handles_odd_sizes():
    assert FactorizedReduce(4, 7)(torch.randn(1, 4, 11, 11)).shape == (1, 7, 6, 6)


def test_register_op_refuses_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        OPS.register("sep_conv_3x3")(lambda ci, co, s: None)
