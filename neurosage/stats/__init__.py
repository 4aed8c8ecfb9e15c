"""Statistics for comparing predictors and searches: paired estimates with intervals, p and detectable effects."""

from neurosage.core.lazy import lazy_exports

_EXPORTS = {
    "PairedResult": "paired", "compare_correlations": "paired", "williams_t": "paired", "paired_difference": "paired",
    "correlation": "paired",
    "partial_correlation": "predictors", "predictor_value": "predictors", "rank_agreement": "predictors", "cv_alpha": "predictors",
    "simulate_selection": "selection", "successive_halving": "selection",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
