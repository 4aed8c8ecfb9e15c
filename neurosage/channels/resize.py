"""Resize a model's channel groups and keep its trained weights (CONet's weight inheritance between trials).

:func:`resize_channels` returns a copy of the model in which every group of a
:class:`~neurosage.channels.groups.ChannelGraph` has its new size. Each
parameter keeps the overlapping slice of its trained values, segment by segment
(a consumer of ``cat([a, b])`` keeps the columns of ``a`` and of ``b``):

- a shrunk group is cropped (its first channels are kept);
- a grown group gets new output channels freshly initialised (seeded, as torch
  initialises the layer) and *zero* input columns in every consumer, and new batch
  norm channels start at weight 1, bias 0, running mean 0, running variance 1.

So a model resized to its own sizes computes exactly what it did, and a model
whose groups only grow computes, in eval mode, exactly what it did too (the new
channels are read with zero weights) while every new weight still gets gradients.
CONetV2 itself re-synthesises shrunk weights from a truncated SVD and copies the last
rows when growing (``docs/reference/conetv2.md`` section 5); cropping and zero
columns are the choice here because they keep the function.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from neurosage.channels.groups import ChannelGraph
from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.nets.ops import FactorizedReduce

__all__ = ["resize_channels"]


def _segments(groups: tuple[int, ...], old: dict[int, int], new: dict[int, int]) -> list[tuple[slice, slice]]:
    """(old slice, new slice) of the channels each segment keeps, in the concatenated old and new layouts."""
    pairs, o, n = [], 0, 0
    for g in groups:
        keep = min(old[g], new[g])
        pairs.append((slice(o, o + keep), slice(n, n + keep)))
        o, n = o + old[g], n + new[g]
    return pairs


def _width(groups: tuple[int, ...], sizes: dict[int, int]) -> int:
    return sum(sizes[g] for g in groups)


def _fresh(shape: tuple[int, ...], fan_in: int, generator: torch.Generator) -> torch.Tensor:
    """torch's default conv/linear initialisation (kaiming uniform with a = sqrt(5)), drawn from ``generator``."""
    bound = 1 / math.sqrt(max(1, fan_in))
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


def _copy(dst: torch.Tensor, src: torch.Tensor, rows: list[tuple[slice, slice]] | None, cols: list[tuple[slice, slice]] | None) -> None:
    for r_old, r_new in rows or [(slice(None), slice(None))]:
        for c_old, c_new in cols or [(slice(None), slice(None))]:
            index_new = (r_new, c_new) if cols is not None else (r_new,)
            index_old = (r_old, c_old) if cols is not None else (r_old,)
            dst[index_new] = src[index_old]


def _resize_conv(conv: nn.Conv2d, c_in: int, c_out: int, rows, cols, generator: torch.Generator) -> None:
    depthwise = conv.groups > 1
    old = conv.weight.detach()
    k = old.shape[2:]
    shape = (c_out, 1 if depthwise else c_in, *k)
    weight = _fresh(shape, shape[1] * math.prod(k), generator).to(old)
    if not depthwise:  # new input channels are read with zero weights: the old outputs stay what they were
        kept = torch.zeros(c_in, dtype=torch.bool)
        for _, c_new in cols:
            kept[c_new] = True
        weight[:, ~kept] = 0
    _copy(weight, old, rows, None if depthwise else cols)
    conv.weight = nn.Parameter(weight, requires_grad=conv.weight.requires_grad)
    if conv.bias is not None:
        bias = torch.zeros(c_out, dtype=old.dtype, device=old.device)
        _copy(bias, conv.bias.detach(), rows, None)
        conv.bias = nn.Parameter(bias)
    conv.in_channels, conv.out_channels = (c_out if depthwise else c_in), c_out
    if depthwise:
        conv.groups = c_out


def _resize_bn(bn: nn.BatchNorm2d, c: int, rows) -> None:
    for name, fill in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
        old = getattr(bn, name)
        if old is None:
            continue
        value = torch.full((c,), fill, dtype=old.dtype, device=old.device)
        _copy(value, old.detach(), rows, None)
        if isinstance(old, nn.Parameter):
            setattr(bn, name, nn.Parameter(value, requires_grad=old.requires_grad))
        else:
            setattr(bn, name, value)
    bn.num_features = c


def _resize_linear(linear: nn.Linear, c_in: int, cols) -> None:
    old = linear.weight.detach()
    weight = torch.zeros(old.shape[0], c_in, dtype=old.dtype, device=old.device)
    _copy(weight, old, [(slice(None), slice(None))], cols)
    linear.weight = nn.Parameter(weight)
    linear.in_features = c_in


def _resize_factorized(fr: FactorizedReduce, c_in: int, old_out: int, c_out: int, cols, generator: torch.Generator) -> None:
    """Both paths read the input; the output is path 1's channels, then path 2's. The group's channels keep
    their positions: path 1 keeps its size and path 2 takes the rest (while the group has more channels than
    path 1; below that path 1 keeps all but one), so consumers read the same channels where they were."""
    keep = min(old_out, c_out)
    if fr.stride == 1:
        _resize_conv(fr.conv, c_in, c_out, [(slice(0, keep), slice(0, keep))], cols, generator)
        _resize_bn(fr.bn, c_out, [(slice(0, keep), slice(0, keep))])
        return
    if c_out < 2:
        raise ConfigError(
            "a factorized reduction needs at least 2 output channels (one per path)", "keep that group at 2 channels or more", field="sizes",
        )
    h1 = fr.path1.out_channels
    h1_new = h1 if c_out > h1 else c_out - 1
    for path, old_size, new_size in ((fr.path1, h1, h1_new), (fr.path2, old_out - h1, c_out - h1_new)):
        kept = min(old_size, new_size)
        _resize_conv(path, c_in, new_size, [(slice(0, kept), slice(0, kept))], cols, generator)
    rows = [(slice(0, min(h1, h1_new)), slice(0, min(h1, h1_new)))]
    rows.append((slice(h1, h1 + min(old_out - h1, c_out - h1_new)), slice(h1_new, h1_new + min(old_out - h1, c_out - h1_new))))
    _resize_bn(fr.bn, c_out, rows)


def resize_channels(model: nn.Module, graph: ChannelGraph, sizes: dict[int, int], *, current: dict[int, int] | None = None,
                    seed: int = 0) -> nn.Module:
    """A copy of ``model`` with group ``g`` at ``sizes[g]`` channels (groups not named keep their size).

    ``graph`` is the model's (or its ancestor's: groups do not change with sizes); ``current`` gives the
    model's sizes where they are not the graph's (a model resized before). Raises ``ValueError`` for a group
    that is not resizable, an unknown group or a size below 1 (:class:`ConfigError`, a ``ValueError``). New weights are
    drawn from a ``torch.Generator`` seeded with ``seed``; the global RNG is not touched.
    """
    check_arguments(resize_channels, locals())
    old = {**graph.sizes(), **{int(g): int(s) for g, s in (current or {}).items()}}
    unknown = sorted(int(g) for g in sizes if not 0 <= int(g) < len(graph.groups))
    if unknown:
        raise ConfigError(f"no channel group {unknown[0]} (the graph's groups are 0-{len(graph.groups) - 1})",
                          "use the ids of channel_groups(model, example).resizable", field="sizes")
    new = {**old, **{int(g): int(s) for g, s in sizes.items()}}
    for g, size in new.items():
        if size != graph.groups[g].size and not graph.groups[g].resizable:
            raise ConfigError(f"channel group {g} ({graph.groups[g].producers or graph.groups[g].consumers}) cannot be resized",
                              "resize only the groups of graph.resizable", field="sizes")
        if size < 1:
            raise ConfigError(f"channel group {g} would have {size} channels", "give every group at least 1 channel", field="sizes")
    resized = copy.deepcopy(model)
    modules = dict(resized.named_modules())
    generator = torch.Generator().manual_seed(seed)
    for name, channels in graph.modules.items():
        module = modules[name]
        cols = _segments(channels.inputs, old, new)
        rows = _segments(channels.outputs, old, new)
        c_in, c_out = _width(channels.inputs, new), _width(channels.outputs, new)
        with torch.no_grad():
            if isinstance(module, FactorizedReduce):
                _resize_factorized(module, c_in, _width(channels.outputs, old), c_out, cols, generator)
            elif isinstance(module, nn.Conv2d):
                _resize_conv(module, c_in, c_out, rows, cols, generator)
            elif isinstance(module, nn.BatchNorm2d):
                _resize_bn(module, c_out, rows)
            elif isinstance(module, nn.Linear):
                _resize_linear(module, c_in, cols)
    return resized
