"""Search spaces as data (no torch): cell spaces (NASNet, PNAS), layer-wise spaces (Zoph & Le 2017),
the op names they draw from, and the contract every space keeps (:class:`SearchSpace`).

Registry: :data:`SPACES` (``SPACES.create(name, n_blocks=5)`` returns a :class:`SearchSpace`, checked
against the contract). The ops behind the op names are :data:`neurosage.nets.OPS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurosage.core.errors import ConfigError
from neurosage.core.lazy import lazy_exports
from neurosage.core.registry import Registry
from neurosage.core.validate import check_arguments
from neurosage.spaces.contract import SearchSpace

if TYPE_CHECKING:  # imported lazily at run time (cell and layerwise import this module)
    from neurosage.spaces.cell import Genotype
    from neurosage.spaces.layerwise import LayerGenotype

#: Search spaces by name; each factory takes ``n_blocks`` (cell spaces use it) and returns a :class:`SearchSpace`.
SPACES: Registry[SearchSpace] = Registry(
    "space", builtins=("neurosage.spaces.cell:register_spaces", "neurosage.spaces.layerwise:register_spaces"), contract=SearchSpace,
)


def get_space(name: str, n_blocks: int | None = None) -> SearchSpace:
    """A registered space (a cell space with ``n_blocks`` blocks per cell, 5 when not given, or a layer-wise space, whose
    depth is in its name: ``n_blocks`` other than 5 is refused there)."""
    SPACES.get(name)  # a name that is no string, or no registered space's, is refused by the registry (with the close match)
    check_arguments(get_space, locals())
    space = SPACES.create(name, n_blocks=5 if n_blocks is None else n_blocks)
    if getattr(space, "n_blocks", None) is None and n_blocks not in (None, 5):
        raise ConfigError(f"n_blocks = {n_blocks} does not apply to the layer-wise space {name!r}: its depth is fixed by its name",
                          f"leave n_blocks out for {name!r}, or use a cell space (pnas, nasnet) with n_blocks = {n_blocks}", field="n_blocks")
    return space


def space_for(name: str, n_blocks: int) -> SearchSpace:
    """The space a command's settings name: ``n_blocks`` applies where the space has cells, and a layer-wise space (whose
    depth is in its name) takes none (a config's own rules refuse an ``n_blocks`` set beside a layer-wise space)."""
    check_arguments(space_for, locals())
    space = get_space(name)
    return get_space(name, n_blocks) if getattr(space, "n_blocks", None) is not None else space


def parse_genotype(text: str) -> Genotype | LayerGenotype:
    """A cell :class:`Genotype` or a layer-wise :class:`LayerGenotype` from its string."""
    check_arguments(parse_genotype, locals())
    from neurosage.spaces.cell import Genotype
    from neurosage.spaces.layerwise import GENOTYPE_PREFIX, LayerGenotype

    return LayerGenotype.parse(text) if text.strip().startswith(GENOTYPE_PREFIX) else Genotype.parse(text)


_EXPORTS = {
    "OP_SETS": "primitives", "Block": "cell", "Cell": "cell", "Genotype": "cell", "CellSpace": "cell", "NASNET_A": "cell",
    "PNASNET_5": "cell", "Layer": "layerwise", "LayerGenotype": "layerwise", "LayerSpace": "layerwise",
    "GENOTYPE_PREFIX": "layerwise", "random_point": "contract", "to_indices": "contract", "from_indices": "contract",
}
__all__ = sorted([*_EXPORTS, "SPACES", "SearchSpace", "get_space", "space_for", "parse_genotype"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
