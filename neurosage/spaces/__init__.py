"""Search spaces as data (no torch): cell spaces (NASNet, PNAS), layer-wise spaces (Zoph & Le 2017),
the op names they draw from, and the contract every space keeps (:class:`SearchSpace`).

Registry: :data:`SPACES` (``SPACES.create(name, n_blocks=5)`` returns a :class:`SearchSpace`, checked
against the contract). The ops behind the op names are :data:`neurosage.nets.OPS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurosage.core.lazy import lazy_exports
from neurosage.core.registry import Registry
from neurosage.spaces.contract import SearchSpace

if TYPE_CHECKING:  # imported lazily at run time (cell and layerwise import this module)
    from neurosage.spaces.cell import Genotype
    from neurosage.spaces.layerwise import LayerGenotype

#: Search spaces by name; each factory takes ``n_blocks`` (cell spaces use it) and returns a :class:`SearchSpace`.
SPACES: Registry[SearchSpace] = Registry(
    "space", builtins=("neurosage.spaces.cell:register_spaces", "neurosage.spaces.layerwise:register_spaces"), contract=SearchSpace,
)


def get_space(name: str, n_blocks: int = 5) -> SearchSpace:
    """A registered space (a cell space with ``n_blocks`` blocks per cell, or a layer-wise space)."""
    return SPACES.create(name, n_blocks=n_blocks)


def parse_genotype(text: str) -> Genotype | LayerGenotype:
    """A cell :class:`Genotype` or a layer-wise :class:`LayerGenotype` from its string."""
    from neurosage.spaces.cell import Genotype
    from neurosage.spaces.layerwise import GENOTYPE_PREFIX, LayerGenotype

    return LayerGenotype.parse(text) if text.strip().startswith(GENOTYPE_PREFIX) else Genotype.parse(text)


_EXPORTS = {
    "OP_SETS": "primitives", "Block": "cell", "Cell": "cell", "Genotype": "cell", "CellSpace": "cell", "NASNET_A": "cell",
    "PNASNET_5": "cell", "Layer": "layerwise", "LayerGenotype": "layerwise", "LayerSpace": "layerwise",
    "GENOTYPE_PREFIX": "layerwise", "random_point": "contract", "to_indices": "contract", "from_indices": "contract",
}
__all__ = sorted([*_EXPORTS, "SPACES", "SearchSpace", "get_space", "parse_genotype"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
