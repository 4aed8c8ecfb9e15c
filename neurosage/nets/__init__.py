"""Networks: the ops of the cell spaces, cell networks from genotypes (on a registered skeleton),
layer-wise networks, named models (torchvision and the project's own), parameters and FLOPs.

Registries: :data:`OPS` (the cell ops by the names genotypes use), :data:`SKELETONS` (where the stem and the
reductions go) and :data:`MODELS` (named models; torchvision names are resolved by :func:`build_model` too). Entries are plain factories:
``SKELETONS.create(name) -> Skeleton``, ``MODELS.create(name, num_classes=..., in_channels=...) -> nn.Module``.
"""

from neurosage.core.lazy import lazy_exports
from neurosage.core.registry import Registry

#: Skeletons by name: ``SKELETONS.create(name)`` returns the :class:`~neurosage.nets.skeletons.Skeleton`.
SKELETONS: Registry = Registry("skeleton", builtins=("neurosage.nets.skeletons:register_skeletons",))

_NASNET = "Zoph et al. 2018, Learning Transferable Architectures for Scalable Image Recognition"


def _register_ops() -> None:
    """Register the published ops as lazy targets in :mod:`neurosage.nets.ops` (run once, when :data:`OPS` is first queried)."""
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


#: Ops by name; a factory ``(c_in, c_out, stride) -> nn.Module``. ``@OPS.register("my_op")`` adds one, which genotypes may use at once.
OPS: Registry = Registry("op", builtins=(_register_ops,))
#: Models by name; ``MODELS.create(name, num_classes=..., in_channels=..., **options)`` returns an ``nn.Module``.
MODELS: Registry = Registry("model", builtins=("neurosage.nets.models:register_models",))

_EXPORTS = {
    "FactorizedReduce": "ops", "ReLUConvBN": "ops", "Identity": "ops", "SepConv": "ops", "DilConv": "ops",
    "FactorizedConv": "ops", "Pool": "ops",
    "Skeleton": "skeletons", "CellNetwork": "cells", "LayerNetwork": "layerwise", "concat_padded": "layerwise",
    "endpoint_set": "layerwise", "build_network": "build", "count_parameters": "measure", "count_flops": "measure",
    "build_model": "models", "load_weights": "models", "pretrained_cache_path": "models", "model_inputs": "models",
    "FeatureModel": "models", "cifar_resnet": "models",
}
__all__ = sorted([*_EXPORTS, "SKELETONS", "MODELS", "OPS"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
