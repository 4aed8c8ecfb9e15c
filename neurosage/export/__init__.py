"""Exports of a search's run folder for other tools, read through :class:`~neurosage.runs.folder.RunFolder`: a kept
trial as a Brain-Score model plugin (:mod:`neurosage.export.brainscore`, its code in the template files of
``neurosage/export/brainscore_plugin/``) and the trials as an Optuna study (:mod:`neurosage.export.optuna_study`)."""

from neurosage.core.lazy import lazy_exports

_EXPORTS = {
    "export_brainscore": "brainscore", "vendor_network_code": "brainscore", "endpoint_modules": "brainscore", "region_layer_map": "brainscore",
    "export_optuna": "optuna_study", "storage_url": "optuna_study",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
