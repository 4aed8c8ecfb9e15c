"""Cell networks built from a :class:`~neurosage.spaces.cell.Genotype`.

Three skeletons (``SKELETONS``), following TF-slim's NASNet/PNASNet code:

- ``cifar``: 3x3 conv stem (stem multiplier 3), then three stacks of N cells.
- ``imagenet224``: 3x3 stride-2 VALID conv, two stride-2 stem cells at 1/4 and
  1/2 of F, then three stacks (the mobile NASNet/PNASNet setting).
- ``imagenet64``: as ``imagenet224`` with a stride-1 stem conv, for 64x64
  downsampled ImageNet; ``n_stem_cells=0`` drops the stem reduction cells
  during a search.

Stacks are separated by a reduction: a separate reduction cell when the
genotype has one (NASNet: 3N + 2 cells), otherwise the first cell of the stack
runs at stride 2 (PNAS: 3N cells). Filters double at every reduction.

Every cell output is an endpoint, named like slim's scopes (``stem``,
``stem_cell_0``, ``cell_0``, ``reduction_cell_0``, ..., ``pool``), and
:meth:`CellNetwork.extract` returns any of them for RDMs.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.nets import OPS, SKELETONS
from neurosage.nets.layerwise import endpoint_set
from neurosage.nets.ops import FactorizedReduce, Identity, ReLUConvBN, _bn, check_input_channels
from neurosage.spaces.cell import Cell, Genotype

__all__ = ["DropPath", "CellModule", "AuxHead", "CellNetwork", "check_ops"]


def check_ops(genotype: Genotype) -> None:
    """Refuse a genotype naming an op that :data:`~neurosage.nets.OPS` does not know, before anything is built."""
    for cell in (genotype.normal, genotype.reduce):
        for block in cell.blocks if cell is not None else ():
            for op in block.ops:
                if op not in OPS:
                    raise ConfigError(f"unknown op {op!r} in the genotype", f"use a registered op: {list(OPS)}", field="genotype")


class DropPath(nn.Module):
    """Drop a whole op output per example with probability ``p`` (scaled by 1/(1-p))."""

    def __init__(self) -> None:
        super().__init__()
        self.p = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
        return x * mask / keep


class CellModule(nn.Module):
    """One cell: preprocess the two inputs, run the blocks, concatenate the output states.

    Parameters
    ----------
    spec
        The cell's blocks and output states.
    c_prev_prev, c_prev
        Channels of h_{i-1} and h_i.
    c
        Filters of this cell.
    stride
        2 for a reduction (applies to ops on the cell inputs only).
    prev_prev_larger
        h_{i-1} has twice h_i's spatial size (factorized reduction needed).
    raw_prev_prev
        There is no h_{i-1} (first cell): h_i's raw input is used, unprojected, as in slim.
    """

    def __init__(
        self,
        spec: Cell,
        c_prev_prev: int,
        c_prev: int,
        c: int,
        stride: int = 1,
        *,
        prev_prev_larger: bool = False,
        raw_prev_prev: bool = False,
    ):
        super().__init__()
        self.spec = spec
        self.stride = stride
        used = {i for b in spec.blocks for i in b.inputs} | set(spec.concat)
        # an input no block uses gets no preprocessing (no dead parameters)
        self.pre0: nn.Module | None = ReLUConvBN(c_prev, c, 1) if 0 in used else None
        self.pre1: nn.Module | None
        if 1 not in used:
            self.pre1 = None
            c1 = c
        elif raw_prev_prev:
            self.pre1 = Identity()
            c1 = c_prev_prev
        elif prev_prev_larger:
            self.pre1 = nn.Sequential(nn.ReLU(), FactorizedReduce(c_prev_prev, c, 2))
            c1 = c
        elif c_prev_prev != c:
            self.pre1 = ReLUConvBN(c_prev_prev, c, 1)
            c1 = c
        else:
            self.pre1 = Identity()
            c1 = c
        widths = [c, c1] + [c] * len(spec.blocks)
        self.ops = nn.ModuleList()
        self.drop = nn.ModuleList()
        self.combine = nn.ModuleList()
        for block in spec.blocks:
            for op, idx in zip(block.ops, block.inputs):
                self.ops.append(OPS.create(op, widths[idx], c, stride if idx < 2 else 1))
                self.drop.append(DropPath())
            self.combine.append(ReLUConvBN(2 * c, c, 1) if block.combiner == "concat" else Identity())
        self.fix_output = nn.ModuleDict()
        for s in spec.concat:
            if s < 2 and stride > 1:
                self.fix_output[str(s)] = FactorizedReduce(widths[s], c, 2)
            elif widths[s] != c:
                self.fix_output[str(s)] = FactorizedReduce(widths[s], c, 1)
        self.out_channels = c * len(spec.concat)

    def forward(self, h_prev_prev: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
        states: list[torch.Tensor | None] = [
            self.pre0(h_prev) if self.pre0 is not None else None,
            self.pre1(h_prev_prev) if self.pre1 is not None else None,
        ]
        k = 0
        for b, block in enumerate(self.spec.blocks):
            outs = []
            for idx in block.inputs:
                op = self.ops[k]
                y = op(states[idx])
                outs.append(y if isinstance(op, Identity) else self.drop[k](y))
                k += 1
            combined = outs[0] + outs[1] if block.combiner == "add" else self.combine[b](torch.cat(outs, 1))
            states.append(combined)
        return torch.cat([self._fixed(s, states[s]) for s in self.spec.concat], dim=1)

    def _fixed(self, s: int, x: torch.Tensor | None) -> torch.Tensor:
        if x is None:  # cannot happen: a concatenated input state is in ``used``, so it was preprocessed
            raise RuntimeError(f"cell state {s} is concatenated but was not computed")
        key = str(s)
        return self.fix_output[key](x) if key in self.fix_output else x


class AuxHead(nn.Module):
    """Auxiliary classifier (DARTS/slim layout); excluded from parameter counts."""

    def __init__(self, c: int, num_classes: int, stride: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(),
            nn.AvgPool2d(5, stride=stride, padding=2, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False),
            _bn(128),
            nn.ReLU(),
            nn.Conv2d(128, 768, 2, bias=False),
            _bn(768),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class CellNetwork(nn.Module):
    """A stem, optional stem cells, three stacks of cells, and a classifier."""

    #: Train in channels_last on CPU too: measured 1.6-2.6x faster than contiguous for every
    #: skeleton (``benchmarks/bench_candidate.py``; ResNet-18 is slower in it, so this is per model).
    prefers_channels_last = True

    def __init__(
        self,
        genotype: Genotype,
        *,
        skeleton: str = "cifar",
        n_cells: int = 2,
        filters: int = 16,
        num_classes: int = 10,
        in_channels: int = 3,
        n_stem_cells: int | None = None,
        stem_multiplier: float | None = None,
        aux_head: bool = False,
        dropout: float = 0.0,
    ):
        check_arguments(CellNetwork.__init__, locals())
        super().__init__()
        check_ops(genotype)
        sk = SKELETONS.create(skeleton)
        self.genotype, self.skeleton, self.in_channels = genotype, sk, in_channels
        n_stem_cells = sk.n_stem_cells if n_stem_cells is None else n_stem_cells
        mult = sk.stem_multiplier if stem_multiplier is None else stem_multiplier
        if sk.imagenet_stem:
            c_stem = int(32 * mult)
            pad = 0 if sk.stem_stride == 2 else 1
            self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, sk.stem_stride, pad, bias=False), _bn(c_stem))
        else:
            c_stem = int(filters * mult)
            self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, 1, 1, bias=False), _bn(c_stem))

        self.names: list[str] = ["stem"]
        self.cells = nn.ModuleList()
        # (channels, spatial scale) of h_{i-1} and h_i; None marks "no h_{i-1} yet"
        pp: tuple[int, int] | None = None
        p = (c_stem, 1)
        reduction_cell = genotype.reduce or genotype.normal

        def add(name: str, spec: Cell, c: int, stride: int) -> None:
            nonlocal pp, p
            cell = CellModule(
                spec,
                p[0] if pp is None else pp[0],
                p[0],
                c,
                stride,
                prev_prev_larger=pp is not None and pp[1] < p[1],
                raw_prev_prev=pp is None,
            )
            self.cells.append(cell)
            self.names.append(name)
            pp, p = p, (cell.out_channels, p[1] * stride)

        for k in range(n_stem_cells):
            add(f"stem_cell_{k}", reduction_cell, int(filters / 2 ** (n_stem_cells - k)), 2)
        c = filters
        i = 0
        self.aux_after: str | None = None
        for stack in range(3):
            n_normal = n_cells
            if stack > 0:
                c *= 2
                if genotype.reduce is not None:
                    add(f"reduction_cell_{stack - 1}", genotype.reduce, c, 2)
                else:
                    add(f"cell_{i}", genotype.normal, c, 2)
                    i += 1
                    n_normal -= 1
            for _ in range(n_normal):
                add(f"cell_{i}", genotype.normal, c, 1)
                i += 1
            if stack == 1:
                self.aux_after, aux_channels = self.names[-1], p[0]
        self.names.append("pool")
        self.aux = AuxHead(aux_channels, num_classes, 3 if not sk.imagenet_stem else 2) if aux_head else None
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(p[0], num_classes)

    @property
    def endpoints(self) -> list[str]:
        """Names of every extractable output, input to output."""
        return list(self.names)

    def set_drop_path(self, p: float) -> None:
        """Set the drop-path probability of every op (0 disables)."""
        check_arguments(CellNetwork.set_drop_path, locals())
        if not 0 <= p < 1:  # a probability of dropping a path: 30 (meant as %) or -0.1 reached torch's bernoulli at training
            raise ConfigError(f"CellNetwork.set_drop_path: p is the probability of dropping a path, in [0, 1), got {p}",
                              "pass p from 0 (none) to below 1, e.g. 0.2 (not 20 for 20%)", field="p")
        for m in self.modules():
            if isinstance(m, DropPath):
                m.p = p

    def _run(self, x: torch.Tensor, keep: set[str] | None) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
        feats: dict[str, torch.Tensor] = {}
        check_input_channels(x, self.in_channels, "CellNetwork", "in_channels")
        h = self.stem(x)
        if keep is not None and "stem" in keep:
            feats["stem"] = h
        h_pp, h_p = h, h
        first = True
        aux_logits = None
        for name, cell in zip(self.names[1:], self.cells):
            out = cell(h_p if first else h_pp, h_p)
            first = False
            h_pp, h_p = h_p, out
            if keep is not None and name in keep:
                feats[name] = out
            if self.aux is not None and self.training and name == self.aux_after:
                aux_logits = self.aux(out)
        pooled = nn.functional.adaptive_avg_pool2d(nn.functional.relu(h_p), 1).flatten(1)
        if keep is not None and "pool" in keep:
            feats["pool"] = pooled
        return self.classifier(self.dropout(pooled)), aux_logits, feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits, _, _ = self._run(x, None)
        return logits

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits and (in training, with an aux head) the auxiliary logits."""
        check_arguments(CellNetwork.forward_with_aux, locals())
        logits, aux, _ = self._run(x, None)
        return logits, aux

    def extract(self, x: torch.Tensor, names: Iterable[str]) -> dict[str, torch.Tensor]:
        """Outputs of the named endpoints for input ``x``."""
        check_arguments(CellNetwork.extract, locals())
        return self._run(x, endpoint_set(names, self.names))[2]
