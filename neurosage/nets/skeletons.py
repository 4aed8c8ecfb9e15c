"""Cell-network skeletons as data: where the stem and the reductions go (TF-slim's NASNet/PNASNet layouts)."""

from __future__ import annotations

from dataclasses import dataclass

from neurosage.core.validate import check_arguments, check_fields
from neurosage.nets import SKELETONS

__all__ = ["Skeleton", "register_skeletons", "final_side"]


@dataclass(frozen=True)
class Skeleton:
    """Where the stem and the reductions go."""

    name: str
    input_size: int
    imagenet_stem: bool
    stem_stride: int
    n_stem_cells: int
    stem_multiplier: float

    def final_side(self, side: int, n_stem_cells: int | None = None) -> int:
        """The side of the last stack's feature maps for ``side``-pixel images: the stem conv (stride 2 and no padding for
        ``imagenet224``), each stem reduction cell and the two reductions between the three stacks halve it (rounding up)."""
        check_arguments(Skeleton.final_side, locals())
        side = (side - 3) // 2 + 1 if self.imagenet_stem and self.stem_stride == 2 else side
        for _ in range((self.n_stem_cells if n_stem_cells is None else n_stem_cells) + 2):
            side = (side + 1) // 2
        return side

    def __post_init__(self) -> None:
        check_fields(self)


def final_side(skeleton: str, side: int, n_stem_cells: int | None = None) -> int:
    """:meth:`Skeleton.final_side` of the registered skeleton ``skeleton``."""
    return int(SKELETONS.create(skeleton).final_side(side, n_stem_cells))


_SLIM = "TF-slim nasnet.py / pnasnet.py (Zoph et al. 2018; Liu et al. 2018)"


def register_skeletons() -> None:
    """Register the three published skeletons (run once, when :data:`~neurosage.nets.SKELETONS` is first queried)."""
    for skeleton, description in (
        (Skeleton("cifar", 32, imagenet_stem=False, stem_stride=1, n_stem_cells=0, stem_multiplier=3.0), "3x3 conv stem, three stacks of N cells"),
        (Skeleton("imagenet64", 64, imagenet_stem=True, stem_stride=1, n_stem_cells=2, stem_multiplier=1.0),
         "ImageNet 64x64: stride-1 stem conv, two stem reduction cells"),
        (Skeleton("imagenet224", 224, imagenet_stem=True, stem_stride=2, n_stem_cells=2, stem_multiplier=1.0),
         "mobile ImageNet: stride-2 VALID stem conv, two stem cells"),
    ):
        SKELETONS.register(skeleton.name, lambda s=skeleton: s, description=description, citation=_SLIM)
