"""Cell operations (NASNet / PNAS op sets): the modules behind the op names of :mod:`neurosage.spaces.primitives`,
registered lazily in :data:`neurosage.nets.OPS` (listing them imports no torch).

Every op is built as ``OPS.create(name, c_in, c_out, stride)`` and follows the
TF-slim NASNet code: ReLU -> conv -> BN ordering, separable convolutions
applied twice (no BN/ReLU between depthwise and pointwise), a 1x1 conv + BN
after pooling when the width changes, and a strided 1x1 conv for identity
at stride 2 or a width change. Convolutions have no bias.
"""

from __future__ import annotations

from typing import Literal, cast

import torch
from torch import nn

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments, check_choices


def _odd(kernel: int, op: str) -> None:
    """Refuse an even kernel where the padding keeps the size only for odd ones (``kernel // 2`` on each side)."""
    if kernel % 2 == 0:
        raise ConfigError(f"{op}: kernel {kernel} is even, and the padding kernel // 2 keeps a feature map's size only for an odd kernel "
                          f"(an even one grows it by 1 pixel per side)", f"use an odd kernel, e.g. {kernel + 1}", field="kernel")

__all__ = [
    "StridedPointwiseConv", "ReLUConvBN", "Identity", "SepConv", "DilConv", "FactorizedConv", "Pool", "FactorizedReduce",
    "identity", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "conv_1x7_7x1", "conv_1x3_3x1", "dil_conv_3x3",
    "avg_pool_3x3", "max_pool_3x3", "max_pool_5x5", "max_pool_7x7", "conv_1x1", "conv_3x3",
]




def check_input_channels(x: object, expected: int, who: str, argument: str = "c_in") -> None:
    """Refuse a batch whose channels are not the ``expected`` a module was built for, naming the module (``who``) and the
    ``argument`` it was built with (torch's own error names neither). Proxies of torch.fx tracing pass unchecked."""
    if not isinstance(x, torch.Tensor) and not type(x).__module__.startswith("torch"):  # a numpy array or a list reaches conv2d
        raise ConfigError(f"{who} takes a torch tensor (N, {expected}, H, W), got {type(x).__name__}",
                          "convert it first: torch.from_numpy(x).float() (images scaled as in training), or give it images.batch(...)[0] "
                          "of an ImageSet", field="x")
    if isinstance(x, torch.Tensor) and (x.dim() != 4 or x.shape[1] != expected):
        shape = tuple(x.shape)
        if x.dim() == 4 and shape[-1] == expected:  # (N, H, W, C): channels last, as PIL and numpy images are laid out
            raise ConfigError(f"{who} takes (N, {expected}, H, W) input, and was given shape {shape}: channels last (N, H, W, C)",
                              "move the channels first: x.permute(0, 3, 1, 2)", field="x")
        raise ConfigError(f"{who} takes (N, {expected}, H, W) input ({argument}={expected}), got shape {shape}",
                          f"give it a batch of {expected}-channel images" + (f", or build it with {argument}={shape[1]}" if x.dim() == 4 else
                                                                              " (one image: x.unsqueeze(0))"), field="x")


def _conv_channels(sequence: nn.Module, key: str) -> int:
    """The input channels of ``sequence``'s conv under ``key``, as it is now (a channel search resizes or replaces convs)."""
    return cast(nn.Conv2d, sequence._modules[key]).in_channels


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.1)


class StridedPointwiseConv(nn.Conv2d):
    """A 1x1 convolution at stride ``s`` computed as every ``s``-th pixel, then a 1x1 conv at stride 1.

    The same function and parameters as ``nn.Conv2d(c_in, c_out, 1, s)``; torch 2.14's CPU
    backward of a strided 1x1 conv in channels_last corrupts the heap, this form does not
    (``tests/nets/test_ops.py`` runs every op at stride 2 in channels_last).
    """

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__(c_in, c_out, 1, bias=False)
        self.subsample = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x[:, :, :: self.subsample, :: self.subsample])


class ReLUConvBN(nn.Sequential):
    """ReLU, (optionally factorized) convolution, BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int | tuple[int, int], stride: int = 1, dilation: int = 1):
        check_arguments(ReLUConvBN.__init__, locals())
        k = (kernel, kernel) if isinstance(kernel, int) else kernel
        pad = (dilation * (k[0] - 1) // 2, dilation * (k[1] - 1) // 2)
        pointwise_strided = k == (1, 1) and stride > 1
        super().__init__(
            nn.ReLU(inplace=False),
            StridedPointwiseConv(c_in, c_out, stride) if pointwise_strided else nn.Conv2d(c_in, c_out, k, stride, pad, dilation=dilation, bias=False),
            _bn(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_channels(x, _conv_channels(self, "1"), "ReLUConvBN")  # the conv's own (a channel search resizes it)
        return super().forward(x)


class Identity(nn.Module):
    """Pass-through (kept as a class so drop path can recognise it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class SepConv(nn.Sequential):
    """Depthwise-separable conv applied twice: (ReLU, dw, pw, BN) x 2; stride on the first."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        check_arguments(SepConv.__init__, locals())
        _odd(kernel, "SepConv")
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_channels(x, _conv_channels(self, "1"), "SepConv")  # the conv's own (a channel search resizes it)
        return super().forward(x)


class DilConv(nn.Sequential):
    """ReLU, 3x3 depthwise conv with dilation 2, pointwise conv, BN (as DARTS/NNI)."""

    def __init__(self, c_in: int, c_out: int, stride: int, dilation: int = 2):
        check_arguments(DilConv.__init__, locals())
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, 3, stride, dilation, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            _bn(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_channels(x, _conv_channels(self, "1"), "DilConv")  # the conv's own (a channel search resizes it)
        return super().forward(x)


class FactorizedConv(nn.Sequential):
    """ReLU, 1xk conv (stride (1,s)), kx1 conv (stride (s,1)), one BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        check_arguments(FactorizedConv.__init__, locals())
        _odd(kernel, "FactorizedConv")
        pad = kernel // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, (1, kernel), (1, stride), (0, pad), bias=False),
            nn.Conv2d(c_out, c_out, (kernel, 1), (stride, 1), (pad, 0), bias=False),
            _bn(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_channels(x, _conv_channels(self, "1"), "FactorizedConv")  # the conv's own (a channel search resizes it)
        return super().forward(x)


class Pool(nn.Module):
    """Max/avg pooling (TF 'SAME' semantics) then a 1x1 conv + BN if the width changes."""

    def __init__(self, kind: Literal["max", "avg"], c_in: int, c_out: int, kernel: int, stride: int):
        check_arguments(Pool.__init__, locals())
        check_choices(Pool.__init__, locals())
        _odd(kernel, "Pool")
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
        if self.project is not None:  # pooling alone takes any channels
            check_input_channels(x, _conv_channels(self.project, "0"), "Pool")
        x = self.pool(x)
        return self.project(x) if self.project is not None else x


class FactorizedReduce(nn.Module):
    """Halve H and W without losing pixels: two offset 1x1 convs, concatenated, then BN.

    Path 2 is shifted by one pixel; for odd sizes its last row/column is zero (as if the
    input were padded right/bottom first): the small output is padded, never the input (a
    ``pad`` of a channels_last input cost 16% of a CPU step). The paths slice, then run 1x1
    convs at stride 1: a stride-2 1x1 conv in channels_last corrupts the heap in torch 2.14's
    CPU backward (``tests/nets/test_ops.py`` guards the slicing form).
    With ``stride=1`` it is a plain 1x1 conv + BN. ReLU is applied by the caller.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 2):
        check_arguments(FactorizedReduce.__init__, locals())
        super().__init__()
        self.stride = stride
        if stride == 1:
            self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        else:
            self.path1 = nn.Conv2d(c_in, c_out // 2, 1, bias=False)
            self.path2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, bias=False)
        self.bn = _bn(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_channels(x, (self.conv if self.stride == 1 else self.path1).in_channels, "FactorizedReduce")
        if self.stride == 1:
            return self.bn(self.conv(x))
        a = self.path1(x[:, :, ::2, ::2])
        b = self.path2(x[:, :, 1::2, 1::2])
        short_h, short_w = a.shape[2] - b.shape[2], a.shape[3] - b.shape[3]
        if short_h or short_w:  # odd input: the shifted path's last row/column sees only padding (0)
            b = nn.functional.pad(b, (0, short_w, 0, short_h))
        return self.bn(torch.cat([a, b], dim=1))


def identity(c_in: int, c_out: int, stride: int) -> nn.Module:
    """``skip_connect``: the input itself, or a 1x1 ReLU-conv-BN at stride 2 or a width change."""
    if stride == 1 and c_in == c_out:
        return Identity()
    return ReLUConvBN(c_in, c_out, 1, stride)


def sep_conv_3x3(c_in: int, c_out: int, stride: int) -> nn.Module:
    return SepConv(c_in, c_out, 3, stride)


def sep_conv_5x5(c_in: int, c_out: int, stride: int) -> nn.Module:
    return SepConv(c_in, c_out, 5, stride)


def sep_conv_7x7(c_in: int, c_out: int, stride: int) -> nn.Module:
    return SepConv(c_in, c_out, 7, stride)


def conv_1x7_7x1(c_in: int, c_out: int, stride: int) -> nn.Module:
    return FactorizedConv(c_in, c_out, 7, stride)


def conv_1x3_3x1(c_in: int, c_out: int, stride: int) -> nn.Module:
    return FactorizedConv(c_in, c_out, 3, stride)


def dil_conv_3x3(c_in: int, c_out: int, stride: int) -> nn.Module:
    return DilConv(c_in, c_out, stride)


def avg_pool_3x3(c_in: int, c_out: int, stride: int) -> nn.Module:
    return Pool("avg", c_in, c_out, 3, stride)


def max_pool_3x3(c_in: int, c_out: int, stride: int) -> nn.Module:
    return Pool("max", c_in, c_out, 3, stride)


def max_pool_5x5(c_in: int, c_out: int, stride: int) -> nn.Module:
    return Pool("max", c_in, c_out, 5, stride)


def max_pool_7x7(c_in: int, c_out: int, stride: int) -> nn.Module:
    return Pool("max", c_in, c_out, 7, stride)


def conv_1x1(c_in: int, c_out: int, stride: int) -> nn.Module:
    return ReLUConvBN(c_in, c_out, 1, stride)


def conv_3x3(c_in: int, c_out: int, stride: int) -> nn.Module:
    return ReLUConvBN(c_in, c_out, 3, stride)
