"""Channel dependency groups of any torch model, found by tracing (``torch.fx``), not by hand-written adjacency.

A *group* is a set of channels whose count must be one number: the output
channels of the convolutions that produce it, and everything tied to them (batch
norms, depthwise convolutions, residual additions, element-wise products, the
inputs of the convolutions and the classifier that read it). Resizing a group
changes all of them together; concatenation joins groups side by side (a
consumer of ``cat([a, b])`` reads both groups), so each keeps its own size.

How it is found: the model is traced with convolutions, linear layers, batch
norms and :class:`~neurosage.nets.ops.FactorizedReduce` as leaves, shapes are
propagated from an example input, and every value's channel dimension is a list
of *segments* (one per concatenated group). A producer (a conv with ``groups=1``,
``FactorizedReduce``) starts a new segment; channel-preserving operations (an
output with the input's channel count: BN, ReLU, pooling, adding, padding,
flattening a 1x1 map) tie their inputs' segments together with a union-find; an
operation that changes the channel count in another way (a grouped conv, a
flattened map larger than 1x1, an addition of a concatenation to a single
tensor) *freezes* what it touches. The image and the logits are frozen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.nets.ops import FactorizedReduce

__all__ = ["ChannelGroup", "ModuleChannels", "ChannelGraph", "channel_groups"]


#: Modules traced as leaves; their channel semantics are known.
_LEAVES = (nn.Conv2d, nn.Linear, nn.BatchNorm2d, FactorizedReduce)


@dataclass(frozen=True)
class ChannelGroup:
    """Channels that share one size: what produces them, what is tied to them, what reads them."""

    id: int
    size: int
    producers: tuple[str, ...]
    tied: tuple[str, ...]
    consumers: tuple[str, ...]
    resizable: bool


@dataclass(frozen=True)
class ModuleChannels:
    """A leaf module's input and output channels as group ids, one per concatenated segment."""

    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass
class ChannelGraph:
    """The groups of a model and, per leaf module, which groups its input and output channels are."""

    groups: list[ChannelGroup]
    modules: dict[str, ModuleChannels] = field(default_factory=dict)

    @property
    def resizable(self) -> list[ChannelGroup]:
        return [g for g in self.groups if g.resizable]

    def sizes(self) -> dict[int, int]:
        """Every group's current size."""
        return {g.id: g.size for g in self.groups}

    def group(self, module: str) -> ChannelGroup:
        """The group of a module's output channels (a single segment)."""
        check_arguments(ChannelGraph.group, locals())
        (gid,) = self.modules[module].outputs
        return self.groups[gid]


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, _LEAVES) or super().is_leaf_module(m, qualname)


class _Segments:
    """Union-find over channel segments, each with a size and a frozen flag."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.size: list[int] = []
        self.frozen: list[bool] = []

    def new(self, size: int, frozen: bool = False) -> int:
        self.parent.append(len(self.parent))
        self.size.append(size)
        self.frozen.append(frozen)
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[b] = a
            self.frozen[a] = self.frozen[a] or self.frozen[b]

    def freeze(self, segments) -> None:
        for s in segments:
            self.frozen[self.find(s)] = True


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _channels(node: fx.Node) -> int | None:
    shape = _shape(node)
    return shape[1] if shape is not None and len(shape) >= 2 else None


def _is_channel_cat(node: fx.Node) -> bool:
    if node.target is not torch.cat:
        return False
    dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
    shape = _shape(node)
    return shape is not None and dim in (1, 1 - len(shape))


def channel_groups(model: nn.Module, example: torch.Tensor) -> ChannelGraph:
    """The channel groups of ``model`` for inputs like ``example`` (a batch; traced in eval mode, nothing is changed)."""
    check_arguments(channel_groups, locals())
    was_training = model.training
    model.eval()
    try:
        try:
            gm = fx.GraphModule(model, _Tracer().trace(model))
        except Exception as exc:  # torch.fx: data-dependent control flow, unsupported ops, ...
            raise ConfigError(f"{type(model).__name__} cannot be traced by torch.fx ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})",
                              "channel search needs a model without data-dependent Python control flow (see torch.fx's limitations)",
                              field="model") from None
        try:
            with torch.no_grad():
                model(example)  # first plainly: ShapeProp prints a traceback of its own on failure
                ShapeProp(gm).propagate(example)
        except (RuntimeError, TypeError, ValueError, AttributeError) as exc:
            shape = tuple(example.shape) if isinstance(example, torch.Tensor) else type(example).__name__
            raise ConfigError(f"{type(model).__name__} does not run on an example of shape {shape} ({str(exc).splitlines()[0][:160]})",
                              "pass an example batch shaped like the model's inputs, e.g. torch.zeros(2, 3, 32, 32)", field="example") from None
    finally:
        model.train(was_training)
    seg = _Segments()
    values: dict[fx.Node, list[int]] = {}
    io: dict[str, tuple[list[int], list[int]]] = {}
    roles: dict[str, str] = {}
    modules = dict(model.named_modules())

    def tensor_inputs(node: fx.Node) -> list[fx.Node]:
        found: list[fx.Node] = []
        fx.node.map_arg((node.args, node.kwargs), lambda a: found.append(a) if a in values else None)
        return found

    for node in gm.graph.nodes:
        c = _channels(node)
        if node.op == "placeholder":
            if c is not None:
                values[node] = [seg.new(c, frozen=True)]
            continue
        if node.op == "output":
            for arg in tensor_inputs(node):
                seg.freeze(values[arg])
            continue
        inputs = tensor_inputs(node)
        if node.op == "call_module" and isinstance(modules[node.target], _LEAVES):
            module, source = modules[node.target], values[inputs[0]]
            if isinstance(module, nn.BatchNorm2d):
                out, roles[node.target] = source, "tied"
            elif isinstance(module, nn.Conv2d) and module.groups > 1:
                depthwise = module.groups == module.in_channels == module.out_channels
                out = source if depthwise else [seg.new(module.out_channels, frozen=True)]
                if not depthwise:
                    seg.freeze(source)
                roles[node.target] = "tied" if depthwise else "frozen"
            else:  # conv (groups=1), linear, factorized reduce: new output channels
                out = [seg.new(c or module.out_features, frozen=isinstance(module, nn.Linear))]
                roles[node.target] = "producer"
            if node.target in io and io[node.target] != (source, out):
                raise ConfigError(f"module {node.target!r} is called twice on different channels, so channel groups cannot be assigned to it",
                                  "give each use its own module (e.g. two nn.Conv2d instead of one called twice)", field="model")
            io[node.target] = (source, out)
            values[node] = out
        elif _is_channel_cat(node):
            values[node] = [s for arg in node.args[0] for s in values[arg]]
        elif c is not None and inputs:
            shaped = [a for a in inputs if _channels(a) is not None]
            same = [a for a in shaped if _channels(a) == c]
            broadcast = [a for a in shaped if _channels(a) == 1 and c != 1]
            if same and len(same) + len(broadcast) == len(shaped):
                first = values[same[0]]
                for other in same[1:]:
                    if len(values[other]) == len(first):
                        for x, y in zip(first, values[other]):
                            seg.union(x, y)
                    else:  # e.g. cat([a, b]) + c: sizes would have to add up
                        seg.freeze(first + values[other])
                values[node] = first
            else:  # the channel count changes in a way not modelled here
                for a in inputs:
                    seg.freeze(values[a])
                values[node] = [seg.new(c, frozen=True)]
        elif inputs and c is None and _shape(node) is not None:  # a tensor without a channel dimension (e.g. a scalar)
            for a in inputs:
                seg.freeze(values[a])
    return _assemble(seg, io, roles)


def _assemble(seg: _Segments, io: dict[str, tuple[list[int], list[int]]], roles: dict[str, str]) -> ChannelGraph:
    first: dict[int, int] = {}
    for i in range(len(seg.parent)):  # groups numbered in graph order (by their first segment)
        first.setdefault(seg.find(i), i)
    roots = sorted(first, key=first.__getitem__)
    index = {r: i for i, r in enumerate(roots)}
    producers: dict[int, list[str]] = {i: [] for i in index.values()}
    tied: dict[int, list[str]] = {i: [] for i in index.values()}
    consumers: dict[int, list[str]] = {i: [] for i in index.values()}
    modules = {}
    for name, (inputs, outputs) in io.items():
        ins = tuple(index[seg.find(s)] for s in inputs)
        outs = tuple(index[seg.find(s)] for s in outputs)
        modules[name] = ModuleChannels(ins, outs)
        if roles[name] == "tied":
            for g in outs:
                tied[g].append(name)
        else:
            for g in ins:
                consumers[g].append(name)
            for g in outs:
                (producers if roles[name] == "producer" else tied)[g].append(name)
    groups = [
        ChannelGroup(i, seg.size[r], tuple(producers[i]), tuple(tied[i]), tuple(consumers[i]), not seg.frozen[r] and bool(producers[i]))
        for r, i in index.items()
    ]
    return ChannelGraph(groups, modules)
