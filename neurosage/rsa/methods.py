"""The RSA choices: how patterns become an RDM (``rdm_method``) and how two RDMs are compared (``compare_method``).

One vocabulary for the API, TOML (``rdm-method``, ``compare-method``) and the command line, checked in one place
(:func:`check_rsa_methods`). rsatoolbox's spellings (``corr``, ``tau-a``, ``rho-a``) are accepted and mapped to
ours.

RDM methods: ``correlation`` (1 - Pearson r of patterns, the paper's), ``cosine``, ``euclidean``, ``sqeuclidean``
(squared Euclidean / features, rsatoolbox's ``euclidean``) and ``crossnobis`` (rsatoolbox's cross-validated
Mahalanobis distance with identity noise, over a recording's repetitions). Network layers have no repetitions: with
``crossnobis`` they use ``sqeuclidean``, the noise-free expectation of crossnobis.

Comparisons: ``pearson``, ``spearman``, ``kendall_tau_a``, ``rho_a`` and ``cosine`` of the upper triangles (fast
paths, equal to rsatoolbox's), rsatoolbox's ``corr_cov``, ``cosine_cov`` and ``bures`` (computed by rsatoolbox),
and linear CKA, ``cka`` (biased, Kornblith et al. 2019) and ``cka_unbiased`` (the unbiased HSIC of Song et al.
2012), from the Gram matrices of Euclidean RDMs (so they need ``euclidean`` or ``sqeuclidean`` RDMs).
"""

from __future__ import annotations

from neurosage.core.errors import ConfigError

__all__ = ["RDM_METHODS", "COMPARE_METHODS", "CORRELATIONS", "EUCLIDEAN_RDMS", "check_rsa_methods", "compare_method", "rdm_method",
           "model_rdm_method"]

RDM_METHODS = ("correlation", "cosine", "euclidean", "sqeuclidean", "crossnobis")
COMPARE_METHODS = ("pearson", "spearman", "kendall_tau_a", "rho_a", "cosine", "corr_cov", "cosine_cov", "bures", "cka", "cka_unbiased")
#: comparisons that are correlations of RDM entries (a split-half reliability of them is Spearman-Brown corrected)
CORRELATIONS = ("pearson", "spearman", "kendall_tau_a", "rho_a", "corr_cov")
#: RDMs that are (squared) Euclidean distances, from which a Gram matrix (and CKA) follows
EUCLIDEAN_RDMS = ("euclidean", "sqeuclidean", "crossnobis")

_COMPARE_ALIASES = {"corr": "pearson", "correlation": "pearson", "tau-a": "kendall_tau_a", "tau_a": "kendall_tau_a", "rho-a": "rho_a",
                    "cka-unbiased": "cka_unbiased", "cosine-cov": "cosine_cov", "corr-cov": "corr_cov"}


def compare_method(name: str, *, field: str = "compare_method") -> str:
    """The comparison ``name`` in our spelling (rsatoolbox's accepted), or an error listing the choices."""
    if not isinstance(name, str):
        raise ConfigError(f"{field} must be a name, got {name!r}", f"choose one of {list(COMPARE_METHODS)}", field=field)
    key = _COMPARE_ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in COMPARE_METHODS:
        raise ConfigError(f"unknown RDM comparison {name!r}", f"choose one of {list(COMPARE_METHODS)}", field=field)
    return key


def rdm_method(name: str, *, field: str = "rdm_method") -> str:
    """The RDM method ``name``, checked."""
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in RDM_METHODS:
        raise ConfigError(f"unknown RDM method {name!r}", f"choose one of {list(RDM_METHODS)}", field=field)
    return key


def check_rsa_methods(rdm: str, compare: str) -> tuple[str, str]:
    """Both choices checked and normalised; CKA needs Euclidean RDMs (its Gram matrices come from them)."""
    rdm, compare = rdm_method(rdm), compare_method(compare)
    if compare.startswith("cka") and rdm not in EUCLIDEAN_RDMS:
        raise ConfigError(f"compare-method {compare!r} (linear CKA) needs Euclidean RDMs, but rdm-method is {rdm!r}",
                          "set rdm-method = \"sqeuclidean\" (CKA's Gram matrices are recovered from squared distances)", field="rdm_method")
    return rdm, compare


def model_rdm_method(rdm: str) -> str:
    """The method for network layers (no repetitions): ``crossnobis`` becomes ``sqeuclidean``, its noise-free expectation."""
    return "sqeuclidean" if rdm_method(rdm) == "crossnobis" else rdm
