"""Cell operations (NASNet / PNAS op sets) as a named registry.

Every op is built as ``OPS[name](c_in, c_out, stride)`` and follows the
TF-slim NASNet code: ReLU -> conv -> BN ordering, separable convolutions
applied twice (no BN/ReLU between depthwise and pointwise), a 1x1 conv + BN
after pooling when the width changes, and a strided 1x1 conv for identity
at stride 2 or a width change. Convolutions have no bias.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["OPS", "OP_SETS", "register_op", "FactorizedReduce", "ReLUConvBN", "Identity"]

OpFactory = Callable[[int, int, int], nn.Module]
OPS: dict[str, OpFactory] = {}


def register_op(name: str) -> Callable[[OpFactory], OpFactory]:
    """Register an op factory ``(c_in, c_out, stride) -> nn.Module`` under ``name``."""

    def deco(factory: OpFactory) -> OpFactory:
        if name in OPS:
            raise ValueError(f"op {name!r} is already registered")
        OPS[name] = factory
        return factory

    return deco


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.1)


class ReLUConvBN(nn.Sequential):
    """ReLU, (optionally factorized) convolution, BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int | tuple[int, int], stride: int = 1, dilation: int = 1):
        k = (kernel, kernel) if isinstance(kernel, int) else kernel
        pad = (dilation * (k[0] - 1) // 2, dilation * (k[1] - 1) // 2)
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, k, stride, pad, dilation=dilation, bias=False),
            _bn(c_out),
        )


class Identity(nn.Module):
    """Pass-through (kept as a class so drop path can recognise it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class SepConv(nn.Sequential):
    """Depthwise-separable conv applied twice: (ReLU, dw, pw, BN) x 2; stride on the first."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        pad = kernel // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride, pad, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            _bn(c_out),
            nn.ReLU(inplace=False),
            nn.Conv2d(c_out, c_out, kernel, 1, pad, groups=c_out, bias=False),
            nn.Conv2d(c_out, c_out, 1, bias=False),
            _bn(c_out),
        )


class DilConv(nn.Sequential):
    """ReLU, 3x3 depthwise conv with dilation 2, pointwise conv, BN (as DARTS/NNI)."""

    def __init__(self, c_in: int, c_out: int, stride: int, dilation: int = 2):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, 3, stride, dilation, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            _bn(c_out),
        )


class FactorizedConv(nn.Sequential):
    """ReLU, 1xk conv (stride (1,s)), kx1 conv (stride (s,1)), one BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        pad = kernel // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, (1, kernel), (1, stride), (0, pad), bias=False),
            nn.Conv2d(c_out, c_out, (kernel, 1), (stride, 1), (pad, 0), bias=False),
            _bn(c_out),
        )


class Pool(nn.Module):
    """Max/avg pooling (TF 'SAME' semantics) then a 1x1 conv + BN if the width changes."""

    def __init__(self, kind: str, c_in: int, c_out: int, kernel: int, stride: int):
        super().__init__()
        pad = kernel // 2
        if kind == "max":
            self.pool: nn.Module = nn.MaxPool2d(kernel, stride, pad)
        else:
            self.pool = nn.AvgPool2d(kernel, stride, pad, count_include_pad=False)
        self.project = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), _bn(c_out)) if c_in != c_out else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        return self.project(x) if self.project is not None else x


class FactorizedReduce(nn.Module):
    """Halve H and W without losing pixels: two offset 1x1 convs, concatenated, then BN.

    Path 2 is shifted by one pixel (pad right/bottom first, so odd sizes work).
    With ``stride=1`` it is a plain 1x1 conv + BN. ReLU is applied by the caller.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 2):
        super().__init__()
        self.stride = stride
        if stride == 1:
            self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        else:
            self.path1 = nn.Conv2d(c_in, c_out // 2, 1, bias=False)
            self.path2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, bias=False)
        self.bn = _bn(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return self.bn(self.conv(x))
        a = self.path1(x[:, :, ::2, ::2])
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        b = self.path2(shifted[:, :, ::2, ::2])
        return self.bn(torch.cat([a, b], dim=1))


def _identity(c_in: int, c_out: int, stride: int) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return Identity()
    return ReLUConvBN(c_in, c_out, 1, stride)


register_op("skip_connect")(_identity)
for _k in (3, 5, 7):
    register_op(f"sep_conv_{_k}x{_k}")(lambda ci, co, s, k=_k: SepConv(ci, co, k, s))
register_op("conv_1x7_7x1")(lambda ci, co, s: FactorizedConv(ci, co, 7, s))
register_op("conv_1x3_3x1")(lambda ci, co, s: FactorizedConv(ci, co, 3, s))
register_op("dil_conv_3x3")(lambda ci, co, s: DilConv(ci, co, s))
register_op("avg_pool_3x3")(lambda ci, co, s: Pool("avg", ci, co, 3, s))
for _k in (3, 5, 7):
    register_op(f"max_pool_{_k}x{_k}")(lambda ci, co, s, k=_k: Pool("max", ci, co, k, s))
register_op("conv_1x1")(lambda ci, co, s: ReLUConvBN(ci, co, 1, s))
register_op("conv_3x3")(lambda ci, co, s: ReLUConvBN(ci, co, 3, s))

#: The two published op sets, in the published order.
OP_SETS: dict[str, tuple[str, ...]] = {
    # PNAS (Liu et al. 2018), as NNI's PNAS_OPS
    "pnas": (
        "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "conv_1x7_7x1",
        "skip_connect", "avg_pool_3x3", "max_pool_3x3", "dil_conv_3x3",
    ),
    # NASNet (Zoph et al. 2018, section 3), as NNI's NASNET_OPS
    "nasnet": (
        "skip_connect", "conv_1x3_3x1", "conv_1x7_7x1", "dil_conv_3x3",
        "avg_pool_3x3", "max_pool_3x3", "max_pool_5x5", "max_pool_7x7",
        "conv_1x1", "conv_3x3", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
    ),
}  # fmt: skip
