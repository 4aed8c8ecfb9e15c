"""Op names of the cell search spaces, without torch (as DARTS keeps PRIMITIVES apart from operations).

The modules behind the names are registered in :data:`neurosage.nets.OPS` (a layer up, with torch); a genotype's
op names are checked against that registry when its network is built, so an op a plug-in registers there can be
used in genotypes at once.
"""

from __future__ import annotations

__all__ = ["OP_SETS"]

#: The two published op sets, in the published order.
OP_SETS: dict[str, tuple[str, ...]] = {
    # PNAS (Liu et al. 2018), as NNI's PNAS_OPS
    "pnas": (
        "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "conv_1x7_7x1",
        "skip_connect", "avg_pool_3x3", "max_pool_3x3", "dil_conv_3x3",
    ),
    # NASNet (Zoph et al. 2018, section 3), as NNI's NASNET_OPS
    "nasnet": (
        "skip_connect", "conv_1x3_3x1", "conv_1x7_7x1", "dil_conv_3x3",
        "avg_pool_3x3", "max_pool_3x3", "max_pool_5x5", "max_pool_7x7",
        "conv_1x1", "conv_3x3", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
    ),
}  # fmt: skip
