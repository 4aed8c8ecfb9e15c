import subprocess
import sys
import textwrap

import pytest
import torch

from neurosage.nets import OPS
from neurosage.nets.ops import FactorizedReduce, StridedPointwiseConv
from neurosage.spaces.primitives import OP_SETS


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


def test_factorized_reduce_equals_the_padded_formulation():
    torch.manual_seed(0)
    op = FactorizedReduce(4, 6).eval()
    for size in (10, 11):
        x = torch.randn(2, 4, size, size)
        shifted = torch.nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]  # pad right/bottom, shift by one
        reference = op.bn(torch.cat([op.path1(x[:, :, ::2, ::2]), op.path2(shifted[:, :, ::2, ::2])], dim=1))
        torch.testing.assert_close(op(x), reference, rtol=0, atol=1e-6)


def test_strided_pointwise_conv_equals_a_strided_conv2d():
    torch.manual_seed(0)
    ours = StridedPointwiseConv(4, 5, 2)
    reference = torch.nn.Conv2d(4, 5, 1, 2, bias=False)
    reference.weight.data.copy_(ours.weight.data)
    x = torch.randn(2, 4, 9, 9)
    torch.testing.assert_close(ours(x), reference(x), rtol=0, atol=1e-6)


def test_every_op_trains_in_channels_last_without_crashing():
    """torch 2.14's CPU backward of a strided 1x1 conv in channels_last corrupts the heap; our ops avoid it."""
    code = textwrap.dedent("""
        import torch
        from neurosage.nets import OPS
        torch.manual_seed(0)
        for _ in range(15):
            for name in sorted(OPS):
                for stride in (1, 2):
                    for size in (12, 11):
                        op = OPS.create(name, 4, 8, stride).to(memory_format=torch.channels_last)
                        x = torch.randn(5, 4, size, size, requires_grad=True).to(memory_format=torch.channels_last)
                        op(x).sum().backward()
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_register_op_refuses_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        OPS.register("sep_conv_3x3")(lambda ci, co, s: None)
