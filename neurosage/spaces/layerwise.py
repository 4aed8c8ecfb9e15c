"""Layer-wise CNN search spaces (Zoph & Le 2017), genotypes as data; no torch.

A layer-wise genotype is a sequence of conv-BN-ReLU layers. Layer ``i`` has a
filter height and width, a number of filters, a stride, and the set of earlier
layers whose outputs it reads ("anchor points": one yes/no decision per earlier
layer). Its inputs are concatenated along depth, smaller maps zero-padded to the
largest; a layer that reads no earlier layer reads the image. Every layer whose
output no later layer reads feeds the classifier (global average pool, linear).

Choices the TG-SAGE paper leaves open ("similar to [Zoph & Le 2017]"), made here:

- filter heights and widths {1, 3, 5, 7} and filters {24, 36, 48, 64}, as Zoph & Le;
- stride 1 for every layer in ``layers-10`` and ``layers-20`` (Zoph & Le's base CIFAR
  space; their variant that predicts strides in {1, 2, 3} is ``LayerSpace(..., strides=(1, 2, 3))``);
- layer 0 always reads the image (it has no earlier layer to choose);
- convolutions use "same" padding (``k // 2``), so at stride 1 every map has the image's size;
- the loose ends are concatenated (padded to the largest map) before the pooled classifier.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments, check_fields
from neurosage.spaces import SPACES
from neurosage.spaces.contract import check_point, genotype_json, random_point

__all__ = ["GENOTYPE_PREFIX", "Layer", "LayerGenotype", "LayerSpace", "layers_10", "layers_20", "register_spaces"]


#: Every layer-wise genotype string starts with this, which tells it apart from a cell genotype.
GENOTYPE_PREFIX = "layers:"


_LAYER = re.compile(r"\s*(\d+)x(\d+)/(\d+)(?:s(\d+))?\s*<-\s*(img|[\d,]+)\s*")


@dataclass(frozen=True)
class Layer:
    """One conv-BN-ReLU layer: kernel ``height`` x ``width``, ``filters`` outputs, ``stride``, and the earlier layers it reads."""

    height: int
    width: int
    filters: int
    inputs: tuple[int, ...] = ()
    stride: int = 1

    def __str__(self) -> str:
        stride = f"s{self.stride}" if self.stride != 1 else ""
        source = ",".join(map(str, self.inputs)) if self.inputs else "img"
        return f"{self.height}x{self.width}/{self.filters}{stride} <- {source}"

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class LayerGenotype:
    """A layer-wise architecture as data: its layers, input to output."""

    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.layers:
            raise ConfigError("a layer-wise genotype needs at least one layer", "give one or more layers", field="genotype")
        for i, layer in enumerate(self.layers):
            if any(not 0 <= j < i for j in layer.inputs) or len(set(layer.inputs)) != len(layer.inputs):
                allowed = f"may read each of the layers 0..{i - 1} at most once" if i else "reads the image alone: give it inputs=()"
                raise ConfigError(f"layer {i} reads {layer.inputs}", f"layer {i} {allowed}", field="genotype")
            if min(layer.height, layer.width, layer.filters, layer.stride) < 1:
                raise ConfigError(f"layer {i} ({layer}) has a size below 1", "use positive kernel sizes, filters and strides", field="genotype")

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def outputs(self) -> tuple[int, ...]:
        """The loose ends: layers no later layer reads (they feed the classifier)."""
        read = {j for layer in self.layers for j in layer.inputs}
        return tuple(i for i in range(self.depth) if i not in read)

    def __str__(self) -> str:
        return f"{GENOTYPE_PREFIX} " + " | ".join(str(layer) for layer in self.layers)

    @classmethod
    def parse(cls, text: str) -> LayerGenotype:
        """Inverse of ``str(genotype)``: ``"layers: 3x3/24 <- img | 5x1/36 <- 0 | ..."``."""
        check_arguments(LayerGenotype.parse, locals())
        if not text.startswith(GENOTYPE_PREFIX):
            raise ConfigError(f"a layer-wise genotype starts with {GENOTYPE_PREFIX!r}, got {text[:40]!r}", "see str(LayerSpace.sample())",
                              field="genotype")
        layers = []
        for part in text[len(GENOTYPE_PREFIX):].split("|"):
            m = _LAYER.fullmatch(part)
            if not m:
                raise ConfigError(f"cannot parse layer {part!r}", "write layers as 'HxW/F <- img' or 'HxW/FsS <- 0,2', separated by '|'",
                                  field="genotype")
            inputs = () if m.group(5) == "img" else tuple(int(j) for j in m.group(5).split(","))
            layers.append(Layer(int(m.group(1)), int(m.group(2)), int(m.group(3)), inputs, int(m.group(4) or 1)))
        return cls(tuple(layers))

    def to_dict(self) -> dict[str, Any]:
        return {"layers": [
            {"height": layer.height, "width": layer.width, "filters": layer.filters, "stride": layer.stride, "inputs": list(layer.inputs)}
            for layer in self.layers
        ]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerGenotype:
        """Inverse of :meth:`to_dict`: ``{"layers": [{"height", "width", "filters", "stride", "inputs"}, ...]}``."""
        check_arguments(LayerGenotype.from_dict, locals())
        shape = "{'layers': [{'height': 3, 'width': 3, 'filters': 24, 'stride': 1, 'inputs': []}, ...]}"
        if "layers" not in data:
            raise ConfigError(f"a layer-wise genotype dict needs 'layers', got the keys {sorted(map(str, data))}",
                              f"give LayerGenotype.to_dict()'s form, {shape}", field="layers")
        try:
            return cls(tuple(Layer(d["height"], d["width"], d["filters"], tuple(d.get("inputs", ())), d.get("stride", 1)) for d in data["layers"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"a layer of the genotype dict is not a layer dict ({type(exc).__name__}: {exc})",
                              f"give to_dict()'s form, {shape}", field="layers") from None

    @classmethod
    def from_json(cls, text: str) -> LayerGenotype:
        """Inverse of :meth:`to_json`."""
        check_arguments(LayerGenotype.from_json, locals())
        return cls.from_dict(genotype_json(text, "LayerGenotype"))


@dataclass(frozen=True)
class LayerSpace:
    """A layer-wise space of ``depth`` layers (Zoph & Le 2017): per layer height, width, filters, stride, and one
    read/skip decision per earlier layer. Same interface as :class:`~neurosage.spaces.cell.CellSpace`."""

    name: str
    depth: int
    heights: tuple[int, ...] = (1, 3, 5, 7)
    widths: tuple[int, ...] = (1, 3, 5, 7)
    filters: tuple[int, ...] = (24, 36, 48, 64)
    strides: tuple[int, ...] = (1,)

    def __post_init__(self) -> None:
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1:
            raise ConfigError(f"depth must be a positive integer, got {self.depth!r}", "use e.g. 10 or 20 layers", field="space")
        for name in ("heights", "widths", "filters", "strides"):  # each a choice of positive whole numbers (a 0 filter count builds nothing)
            options = getattr(self, name)
            if isinstance(options, (str, bytes)) or not hasattr(options, "__iter__") or not list(options) or any(
                    isinstance(o, bool) or not isinstance(o, (int, np.integer)) or o < 1 for o in options):
                raise ConfigError(f"{name} must list positive whole numbers to choose from, got {options!r}",
                                  f"give e.g. {name}={getattr(LayerSpace, name)!r}", field=name)

    #: Layer spaces have no cells; recorded as None in a run's settings.
    n_blocks = None
    kind = "layers"

    def decisions(self) -> list[tuple[str, list[Any]]]:
        """Every choice of a genotype in one fixed order, ``(label, options)``: per layer its kernel, filters,
        stride and (after layer 0) whether it reads each earlier layer. Hyperopt, random sampling and RL read this."""
        out: list[tuple[str, list[Any]]] = []
        for i in range(self.depth):
            out += [(f"l{i}/height", list(self.heights)), (f"l{i}/width", list(self.widths)),
                    (f"l{i}/filters", list(self.filters)), (f"l{i}/stride", list(self.strides))]
            out += [(f"l{i}/in{j}", [0, 1]) for j in range(i)]
        return out

    def hyperopt_space(self) -> dict[str, Any]:
        """One ``hp.choice`` per decision with more than one option (a single stride is fixed)."""
        from hyperopt import hp

        space: dict[str, Any] = {"depth": self.depth}
        for label, options in self.decisions():
            space[label] = hp.choice(label, options) if len(options) > 1 else options[0]
        return space

    def genotype(self, point: dict[str, Any]) -> LayerGenotype:
        """The genotype of a point of :meth:`hyperopt_space` (after ``space_eval``); a missing single-option decision takes its option."""
        check_arguments(LayerSpace.genotype, locals())
        check_point(self.decisions(), point, extra=("depth",))  # hyperopt_space() carries the depth
        fixed = {label: options[0] for label, options in self.decisions() if len(options) == 1}
        point = {**fixed, **point}
        return LayerGenotype(tuple(
            Layer(int(point[f"l{i}/height"]), int(point[f"l{i}/width"]), int(point[f"l{i}/filters"]),
                  tuple(j for j in range(i) if int(point[f"l{i}/in{j}"])), int(point[f"l{i}/stride"]))
            for i in range(self.depth)
        ))

    def parse(self, text: str) -> LayerGenotype:
        check_arguments(LayerSpace.parse, locals())
        return LayerGenotype.parse(text)

    def sample(self, rng: np.random.Generator | int | None = None) -> LayerGenotype:
        """A uniformly random genotype (the random-search baseline)."""
        check_arguments(LayerSpace.sample, locals())
        return self.genotype(random_point(self.decisions(), rng))

    def size(self) -> int:
        """Number of distinct points in the space."""
        per_layer = len(self.heights) * len(self.widths) * len(self.filters) * len(self.strides)
        return per_layer ** self.depth * 2 ** (self.depth * (self.depth - 1) // 2)


def layers_10(n_blocks: int | None = None) -> LayerSpace:
    """The registered ``layers-10`` space (``n_blocks`` is accepted, and unused, as by every space factory)."""
    return LayerSpace("layers-10", 10)


def layers_20(n_blocks: int | None = None) -> LayerSpace:
    """The registered ``layers-20`` space (``n_blocks`` is accepted, and unused)."""
    return LayerSpace("layers-20", 20)


def register_spaces() -> None:
    """Register ``layers-10`` and ``layers-20`` (run once, when :data:`~neurosage.spaces.SPACES` is first queried)."""
    for depth, factory in ((10, layers_10), (20, layers_20)):
        SPACES.register(
            f"layers-{depth}", factory,
            description=f"layer-wise CNNs of {depth} conv layers: kernel, filters and skip inputs per layer (n-blocks unused)",
            citation="Zoph & Le 2017, Neural Architecture Search with Reinforcement Learning",
        )
