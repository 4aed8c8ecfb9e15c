"""Op names of the cell search spaces, without torch (as DARTS keeps PRIMITIVES apart from operations).

:data:`OPS` is the op registry: ``OPS.create(name, c_in, c_out, stride)`` builds the
``nn.Module`` (the factories live in :mod:`neurosage.nets.ops` and are imported only then).
A custom op is registered with ``@OPS.register("my_op")`` on a factory
``(c_in, c_out, stride) -> nn.Module``; genotypes may use it at once.
"""

from __future__ import annotations

from neurosage.spaces import OPS

__all__ = ["OP_SETS", "register_ops"]

_NASNET = "Zoph et al. 2018, Learning Transferable Architectures for Scalable Image Recognition"


def register_ops() -> None:
    """Register the published ops (run once, when :data:`~neurosage.spaces.OPS` is first queried)."""
    for name, target, description in (
        ("skip_connect", "identity", "identity (1x1 ReLU-conv-BN at stride 2 or a width change)"),
        ("sep_conv_3x3", "sep_conv_3x3", "depthwise-separable 3x3 conv, applied twice"),
        ("sep_conv_5x5", "sep_conv_5x5", "depthwise-separable 5x5 conv, applied twice"),
        ("sep_conv_7x7", "sep_conv_7x7", "depthwise-separable 7x7 conv, applied twice"),
        ("conv_1x7_7x1", "conv_1x7_7x1", "1x7 then 7x1 conv"),
        ("conv_1x3_3x1", "conv_1x3_3x1", "1x3 then 3x1 conv"),
        ("dil_conv_3x3", "dil_conv_3x3", "3x3 depthwise conv with dilation 2, pointwise conv"),
        ("avg_pool_3x3", "avg_pool_3x3", "3x3 average pooling"),
        ("max_pool_3x3", "max_pool_3x3", "3x3 max pooling"),
        ("max_pool_5x5", "max_pool_5x5", "5x5 max pooling"),
        ("max_pool_7x7", "max_pool_7x7", "7x7 max pooling"),
        ("conv_1x1", "conv_1x1", "1x1 ReLU-conv-BN"),
        ("conv_3x3", "conv_3x3", "3x3 ReLU-conv-BN"),
    ):
        OPS.register(name, f"neurosage.nets.ops:{target}", description=description, citation=_NASNET)


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
