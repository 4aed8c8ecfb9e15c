"""Networks from layer-wise genotypes (:mod:`neurosage.spaces.layerwise`), one endpoint per layer.

Layer ``i`` concatenates the outputs of the layers it reads (the image when it
reads none) along depth, smaller maps zero-padded at the bottom and right to the
largest, and applies conv (``height`` x ``width``, "same" padding, its stride,
no bias) -> BN -> ReLU. The loose ends are concatenated the same way, average
pooled and classified by one linear layer. Endpoints are ``layer_0`` ..
``layer_<L-1>`` and ``pool``; :meth:`LayerNetwork.extract` returns any of them.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from neurosage.core.errors import ConfigError, UnknownName
from neurosage.core.validate import check_arguments
from neurosage.nets.ops import StridedPointwiseConv, _bn, check_input_channels
from neurosage.spaces.layerwise import LayerGenotype

__all__ = ["endpoint_set", "concat_padded", "LayerNetwork"]


def endpoint_set(names: Iterable[str], available: list[str]) -> set[str]:
    """``names`` as a set, refusing any that is not among a network's ``available`` endpoints."""
    check_arguments(endpoint_set, locals())
    if isinstance(names, str):  # set("cell_1") would be its letters
        raise UnknownName(f"layers is the string {names!r}; it takes a list of layer names", f"give [{names!r}]", field="layers")
    keep = set(names)
    unknown = keep - set(available)
    if unknown:
        joined = next((name for name in sorted(unknown) if set(name.replace(",", " ").split()) <= set(available) and " " in name.strip()), None)
        if joined is not None:  # 'cell_1 cell_2': two layers in one name
            parts = joined.replace(",", " ").split()
            raise UnknownName(f"{joined!r} names {len(parts)} layers in one (separated by a space)", f"separate layers by commas: --layers "
                              f"{','.join(parts)} (layers={parts} in Python)", field="layers")
        raise UnknownName(f"unknown layer(s) {sorted(unknown)}", f"use the network's endpoints: {available}", field="layers")
    return keep


def concat_padded(maps: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate feature maps along depth, zero-padding smaller ones (bottom, right) to the largest height and width."""
    check_arguments(concat_padded, locals())
    maps = list(maps)
    if not maps:
        raise ConfigError("concat_padded was given no feature map", "pass at least one (N, C, H, W) tensor", field="maps")
    if all(isinstance(m, torch.Tensor) for m in maps):  # (torch.fx traces it with proxies, which have no shape yet)
        shapes = [tuple(m.shape) for m in maps]
        if any(len(shape) != 4 for shape in shapes) or len({shape[0] for shape in shapes}) > 1:
            raise ConfigError(f"concat_padded joins (N, C, H, W) feature maps of one batch, got shapes {shapes}",
                              "pass 4-D maps with the same N (a single image: x.unsqueeze(0))", field="maps")
    if len(maps) == 1:
        return maps[0]
    h = max(m.shape[-2] for m in maps)
    w = max(m.shape[-1] for m in maps)
    return torch.cat([nn.functional.pad(m, (0, w - m.shape[-1], 0, h - m.shape[-2])) for m in maps], dim=1)


class LayerNetwork(nn.Module):
    """A layer-wise CNN: conv-BN-ReLU layers wired by the genotype's skip inputs, then pool and classifier.

    Parameters
    ----------
    genotype
        The layers and their inputs.
    num_classes, in_channels
        Classifier outputs and image channels.
    width_multiplier
        Each layer has ``max(1, round(filters * width_multiplier))`` filters (1: the genotype's own counts;
        small-scale runs use less).
    """

    def __init__(self, genotype: LayerGenotype, *, num_classes: int = 10, in_channels: int = 3, width_multiplier: float = 1.0):
        check_arguments(LayerNetwork.__init__, locals())
        super().__init__()
        self.genotype, self.in_channels = genotype, in_channels
        widths = [max(1, round(layer.filters * width_multiplier)) for layer in genotype.layers]
        self.convs = nn.ModuleList()
        for i, layer in enumerate(genotype.layers):
            c_in = sum(widths[j] for j in layer.inputs) if layer.inputs else in_channels
            k = (layer.height, layer.width)
            conv = (StridedPointwiseConv(c_in, widths[i], layer.stride) if k == (1, 1) and layer.stride > 1  # torch 2.14 CPU crash, see ops
                    else nn.Conv2d(c_in, widths[i], k, layer.stride, (k[0] // 2, k[1] // 2), bias=False))
            self.convs.append(nn.Sequential(conv, _bn(widths[i]), nn.ReLU()))
        self.outputs = genotype.outputs
        self.classifier = nn.Linear(sum(widths[i] for i in self.outputs), num_classes)
        self.names = [f"layer_{i}" for i in range(genotype.depth)] + ["pool"]

    #: Trains faster in channels_last on CPU too, like the cell networks (strided 1x1 convs avoid the torch 2.14 bug).
    prefers_channels_last = True

    @property
    def endpoints(self) -> list[str]:
        """Names of every extractable output, input to output."""
        return list(self.names)

    def _run(self, x: torch.Tensor, keep: set[str] | None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        outs: list[torch.Tensor] = []
        feats: dict[str, torch.Tensor] = {}
        check_input_channels(x, self.in_channels, "LayerNetwork", "in_channels")
        for i, (layer, conv) in enumerate(zip(self.genotype.layers, self.convs)):
            y = conv(concat_padded([outs[j] for j in layer.inputs]) if layer.inputs else x)
            outs.append(y)
            if keep is not None and self.names[i] in keep:
                feats[self.names[i]] = y
        pooled = nn.functional.adaptive_avg_pool2d(concat_padded([outs[i] for i in self.outputs]), 1).flatten(1)
        if keep is not None and "pool" in keep:
            feats["pool"] = pooled
        return self.classifier(pooled), feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, None)[0]

    def extract(self, x: torch.Tensor, names: Iterable[str]) -> dict[str, torch.Tensor]:
        """Outputs of the named endpoints for input ``x``."""
        check_arguments(LayerNetwork.extract, locals())
        return self._run(x, endpoint_set(names, self.names))[1]
