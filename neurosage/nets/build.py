"""One entry point for any genotype: :func:`build_network` builds a cell network or a layer-wise network.
"""

from __future__ import annotations

import inspect
import logging

from neurosage.core.errors import ConfigError
from neurosage.core.once import warn_once
from neurosage.core.validate import check_arguments, whole
from neurosage.nets.cells import CellNetwork
from neurosage.nets.layerwise import LayerNetwork
from neurosage.spaces import parse_genotype
from neurosage.spaces.cell import Genotype
from neurosage.spaces.layerwise import LayerGenotype

__all__ = ["build_network"]

log = logging.getLogger(__name__)

#: Options of cell networks only; a layer-wise network has no skeleton, cells or stem.
_CELL_ONLY = ("skeleton", "n_cells", "filters", "n_stem_cells", "stem_multiplier", "aux_head", "dropout")


def build_network(genotype: Genotype | LayerGenotype | str, *, width_multiplier: float = 1.0, **kwargs) -> CellNetwork | LayerNetwork:
    """Build the network of a cell genotype (:class:`CellNetwork`, see its parameters) or of a layer-wise
    genotype (:class:`~neurosage.nets.layerwise.LayerNetwork`: ``num_classes``, ``in_channels``,
    ``width_multiplier``; the cell options of a :class:`~neurosage.training.configs.NetworkConfig` do not apply
    to it and are not used). A string is parsed with :func:`~neurosage.spaces.parse_genotype`."""
    for name in ("in_channels", "num_classes", "filters", "n_cells"):  # refused by name here, not by torch deep inside a layer
        if name in kwargs:
            whole(kwargs[name], name, 1, fix=f"pass {name} as a whole number of at least 1")
    if kwargs.get("n_stem_cells") is not None:
        whole(kwargs["n_stem_cells"], "n_stem_cells", 0, fix="pass n_stem_cells >= 0 (0: none), or None for the skeleton's own")
    if isinstance(genotype, str):
        genotype = parse_genotype(genotype)
    if not isinstance(genotype, (Genotype, LayerGenotype)):
        raise ConfigError(f"build_network takes a genotype (or its string), got {type(genotype).__name__} {genotype!r}"[:200],
                          "pass a genotype string such as a search's trials.csv genotype column, or space.sample(seed)", field="genotype")
    check_arguments(build_network, locals())
    if isinstance(genotype, LayerGenotype):
        defaults = {name: p.default for name, p in inspect.signature(CellNetwork).parameters.items()}
        unused = {k: v for k, v in kwargs.items() if k in _CELL_ONLY and k not in ("n_cells", "filters") and v != defaults.get(k)}
        if unused:  # said: a layer-wise network has no skeleton, stem or cells (n_cells and filters come with every NetworkConfig)
            shown = ", ".join(f"{k}={v!r}" for k, v in unused.items())
            warn_once(log, ("cell options of a layer genotype", shown), "build_network: %s applies to cell networks, and the genotype is "
                      "layer-wise: its network does not use them (its width is width_multiplier)", shown)
        kwargs = {k: v for k, v in kwargs.items() if k not in _CELL_ONLY}
        return LayerNetwork(genotype, width_multiplier=width_multiplier, **kwargs)
    if width_multiplier != 1.0:
        raise ConfigError(f"width_multiplier {width_multiplier} applies to layer-wise networks only", "set the cell networks' width with filters",
                          field="width_multiplier")
    return CellNetwork(genotype, **kwargs)
