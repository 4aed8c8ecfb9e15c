"""Networks: the ops of the cell spaces, cell networks from genotypes (on a registered skeleton),
layer-wise networks, named models (torchvision and the project's own), parameters and FLOPs.

Registries: :data:`SKELETONS` (where the stem and the reductions go) and :data:`MODELS` (named
models; torchvision names are resolved by :func:`build_model` too). Entries are plain factories:
``SKELETONS.create(name) -> Skeleton``, ``MODELS.create(name, num_classes=..., in_channels=...) -> nn.Module``.
"""

from neurosage.core.lazy import lazy_exports
from neurosage.core.registry import Registry

#: Skeletons by name: ``SKELETONS.create(name)`` returns the :class:`~neurosage.nets.skeletons.Skeleton`.
SKELETONS: Registry = Registry("skeleton", builtins=("neurosage.nets.skeletons:register_skeletons",))
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
__all__ = sorted([*_EXPORTS, "SKELETONS", "MODELS"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
