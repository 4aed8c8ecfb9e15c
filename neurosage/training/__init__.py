"""Training a candidate: configs as plain data, batches on any device, the training loop, evaluation
(with BatchNorm recalibration) and activations as assemblies."""

from neurosage.core.lazy import lazy_exports

_EXPORTS = {
    "NetworkConfig": "configs", "TrainConfig": "configs", "RDMOptions": "configs",
    "TrainResult": "loop", "train": "loop", "resolve_steps": "loop",
    "evaluate": "evaluation", "recalibrate_bn": "evaluation",
    "extract_activations": "activations", "model_rdms": "activations",
    "training_batches": "batches", "ordered_batches": "batches", "memory_format_for": "batches",
    "worker_device": "devices", "check_device": "devices",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
