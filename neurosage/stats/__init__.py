"""Statistics for comparing predictors and searches: paired estimates with intervals, p and detectable effects."""

from neurosage.core.lazy import lazy_exports

_EXPORTS = {
    "PairedResult": "paired", "compare_correlations": "paired", "williams_t": "paired", "paired_difference": "paired",
    "correlation": "paired",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
