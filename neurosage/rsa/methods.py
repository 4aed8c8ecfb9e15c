"""The RSA choices as two registries: how patterns become an RDM (:data:`RDM_METHODS`) and how RDMs are compared
(:data:`COMPARE_METHODS`).

One vocabulary for the API (``rdm_method=``, ``compare_method=``), TOML (``rdm-method``, ``compare-method``) and the
command line, checked in one place (:func:`check_rsa_methods`, :func:`rdm_method`, :func:`compare_method`, which read
the registries). Names are case-insensitive; rsatoolbox's spellings (``corr``, ``tau-a``, ``rho-a``) are aliases.

An entry is a function plus the properties everything else reads (ceilings, bootstrap, CKA, network layers, help):

- an RDM method follows :class:`RDMFunction` and declares :data:`RDM_PROPERTIES`: ``euclidean`` (its RDMs are Euclidean
  distances, so Gram matrices and CKA follow), ``squared`` (squared distances), ``needs_repetitions`` (computed from a
  recording's trials), ``for_models`` (the method network layers use instead: they have no repetitions), ``non_negative``
  (its patterns must be non-negative, as spike counts are; network layers are signed, so it needs ``for_models``),
  ``rsatoolbox`` (rsatoolbox's ``dissimilarity_measure``) and ``aliases``;
- a comparison follows :class:`CompareFunction` and declares :data:`COMPARE_PROPERTIES`: ``correlation`` (a split-half
  reliability by it is Spearman-Brown corrected and scores are divided by ceilings), ``needs_euclidean`` (it needs
  Euclidean RDMs), ``bootstrap`` (the comparison of RDM entry vectors a bootstrap sample is scored by; None: no
  interval, ``no_bootstrap`` says why) and ``aliases``.

Adding a method is one registration (``COMPARE_METHODS.register("name", function, description=..., correlation=True)``)
or an entry point in the group ``neurosage.rdm_methods`` / ``neurosage.compare_methods`` (a callable run once that
registers). The built-ins are registered by :func:`_register_builtins_rdm` and :func:`_register_builtins_compare`;
this module imports only the standard library.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from neurosage.core.errors import ConfigError
from neurosage.core.registry import Entry, Registry, check_contract, resolve
from neurosage.core.validate import check_arguments

__all__ = ["RDMFunction", "CompareFunction", "MethodRegistry", "RDM_PROPERTIES", "COMPARE_PROPERTIES", "RDM_METHODS", "COMPARE_METHODS",
           "rdm_method", "compare_method", "check_rsa_methods", "model_rdm_method", "method_function", "bootstrap_function",
           "check_bootstrap", "bootstrap_methods", "correlations", "euclidean_rdms", "methods_help", "REFUSED"]


class RDMFunction(Protocol):
    """An RDM method: ``f(patterns) -> rdm``, a ``(n_conditions, n_features)`` float tensor to its ``(n, n)`` dissimilarities.

    A method declared ``needs_repetitions`` gets a recording's trials instead, ``(n_trials, n_features)``, with
    ``conditions=`` (each trial's condition, ``0..n-1``) and ``folds=`` (each trial's repetition) as integer arrays. The
    result may be a tensor or an array; its diagonal is set to 0.
    """

    def __call__(self, patterns: Any) -> Any:
        """The full RDM of ``patterns``."""


class CompareFunction(Protocol):
    """A comparison: ``f(a, b, device=...) -> similarity``, every RDM of the stack ``a`` (``rdm x condition_row x
    condition_col``, ``k`` RDMs) with every RDM of the stack ``b`` (``m`` RDMs), as a ``(k, m)`` tensor or array.

    The stacks are aligned by condition label (at least 3 conditions) and keep their attrs (``a.attrs["method"]``: how they
    were computed); ``neurosage.rsa.rdm.upper_triangle(a)`` gives their entries. Extra keywords may be swallowed with ``**_``.
    """

    def __call__(self, a: Any, b: Any, *, device: Any) -> Any:
        """The ``(k, m)`` similarities."""


#: What an RDM method declares, with the defaults of a method that declares nothing.
RDM_PROPERTIES: dict[str, Any] = {"euclidean": False, "squared": False, "needs_repetitions": False, "for_models": None, "rsatoolbox": None,
                                  "non_negative": False, "aliases": ()}
#: What a comparison declares, with the defaults of a comparison that declares nothing.
COMPARE_PROPERTIES: dict[str, Any] = {
    "correlation": False, "needs_euclidean": False, "bootstrap": None, "aliases": (),
    "no_bootstrap": "it declares no comparison of resampled RDM entries (register it with bootstrap=...)",
}


class MethodRegistry(Registry):
    """A :class:`~neurosage.core.registry.Registry` of RSA methods: each entry declares ``properties`` (unknown ones are
    refused, missing ones take their defaults) and may be named by its ``aliases``; names are lower case."""

    def __init__(self, kind: str, *, properties: Mapping[str, Any], field: str, **kwargs: Any):
        super().__init__(kind, **kwargs)
        self.properties, self.field = dict(properties), field

    def register(self, name: str, target: Callable[..., Any] | str | None = None, *, description: str = "", citation: str = "", **meta: Any):
        """Register ``target`` under ``name`` with its declared properties (see :data:`RDM_PROPERTIES`, :data:`COMPARE_PROPERTIES`)."""
        unknown = sorted(set(meta) - set(self.properties))
        if unknown:
            raise ConfigError(f"{self.kind} {name!r} declares unknown properties {unknown}", f"declare only {sorted(self.properties)}",
                              field=self.kind)
        if not isinstance(name, str) or name != name.strip().lower() or not name:
            raise ConfigError(f"{self.kind} name {name!r} is not lower case", f"register it as {str(name).strip().lower()!r}", field=self.kind)
        meta["aliases"] = tuple(a.strip().lower() for a in meta.get("aliases", ()))
        taken = {n: n for n in self.names()} | {a: e.name for e in self.list() if e.name != name for a in e.aliases}
        clash = [a for a in (name, *meta["aliases"]) if a in taken and taken[a] != name and a != name]
        if clash:
            raise ConfigError(f"{self.kind} {name!r} would take the name {clash[0]!r}, which already means {taken[clash[0]]!r}",
                              "choose another alias", field=self.kind)
        for key in ("bootstrap", "for_models"):
            if isinstance(meta.get(key), str) and ":" in meta[key]:
                module = meta[key].partition(":")[0]
                try:  # a lazy target whose module does not exist is refused now, not in the middle of a bootstrap (nothing is imported)
                    found = importlib.util.find_spec(module) is not None
                except (ImportError, ValueError):
                    found = False
                if not found:
                    raise ConfigError(f"{self.kind} {name!r}: {key} target {meta[key]!r} names a module that cannot be found",
                                      "give a function or an importable 'module:function'", field=self.kind)
        return super().register(name, target, description=description, citation=citation, **{**self.properties, **meta})

    def resolve(self, name: Any, *, field: str | None = None) -> str:
        """The registered name ``name`` stands for (case and aliases aside), or an error listing the choices."""
        field = field or self.field
        if not isinstance(name, str):
            raise ConfigError(f"{field} must be a name, got {name!r}", f"choose one of {self.names()}", field=field)
        key = name.strip().lower()
        if key in self:
            return key
        for entry in self.list():
            if key in entry.aliases:
                return entry.name
        if key in REFUSED.get(self.field, {}):
            raise ConfigError(f"{self.kind} {name!r} is not offered: {REFUSED[self.field][key]}", f"choose one of {self.names()}", field=field)
        close = difflib.get_close_matches(key, self.names(), n=3, cutoff=0.6)
        raise ConfigError(f"unknown {self.kind} {name!r}" + (f"; did you mean {close}?" if close else ""), f"choose one of {self.names()}",
                          field=field)


#: rsatoolbox's methods neurosage does not offer, with the reason (``field`` of the registry -> name -> reason).
REFUSED: dict[str, dict[str, str]] = {
    "rdm_method": {
        "mahalanobis": "it needs the noise precision of each recording (rsatoolbox's noise=), which recordings here do not carry; without it "
                       "it is rsatoolbox's euclidean, neurosage's sqeuclidean; with repetitions use crossnobis (cross-validated Mahalanobis)",
        "poisson_cv": "it needs cross-validation folds of spike counts; use crossnobis over a recording's repetitions, or poisson",
    },
    "compare_method": {
        "bures_metric": "it is rsatoolbox's squared Bures distance (0 = identical), and every score here is a similarity (TG takes each "
                        "endpoint's best layer by the maximum, which a distance would invert); use bures, the similarity it comes from",
        "bures-metric": "see bures_metric: a distance; use bures",
    },
}


def _register_builtins_rdm() -> None:
    """The built-in RDM methods, as lazy ``module:function`` targets (listing them imports no torch)."""
    rdm = "neurosage.rsa.rdm"
    RDM_METHODS.register("correlation", f"{rdm}:correlation_distance", description="1 - Pearson r of the patterns (the paper's)")
    RDM_METHODS.register("cosine", f"{rdm}:cosine_distance", description="1 - cosine similarity of the patterns")
    RDM_METHODS.register("euclidean", f"{rdm}:euclidean_distance", description="Euclidean distance", euclidean=True)
    RDM_METHODS.register("sqeuclidean", f"{rdm}:sqeuclidean_distance", description="squared Euclidean distance / features (rsatoolbox's euclidean)",
                         euclidean=True, squared=True, rsatoolbox="squared euclidean")
    RDM_METHODS.register("poisson", f"{rdm}:poisson_distance", rsatoolbox="poisson", non_negative=True,
                         description="rsatoolbox's symmetrised KL divergence of Poisson rates (spike counts; non-negative patterns)")
    RDM_METHODS.register(
        "crossnobis", f"{rdm}:crossnobis_distance", euclidean=True, squared=True, needs_repetitions=True, for_models="sqeuclidean",
        description="rsatoolbox's cross-validated Mahalanobis distance over a recording's repetitions (network layers: sqeuclidean)",
        citation="Walther et al. 2016, Reliability of dissimilarity measures for multi-voxel pattern analysis",
    )


def _register_builtins_compare() -> None:
    """The built-in comparisons (fast paths in :mod:`neurosage.rsa.compare`, bootstrap forms in :mod:`neurosage.rsa.score`)."""
    cmp, score = "neurosage.rsa.compare", "neurosage.rsa.score"
    matrices = "it compares whole matrices, which a resample with repeated stimuli distorts"
    register = COMPARE_METHODS.register
    register("pearson", f"{cmp}:pearson_rdms", description="Pearson r of the upper triangles", correlation=True,
             bootstrap=f"{score}:pearson_rows", aliases=("corr", "correlation"))
    register("spearman", f"{cmp}:spearman_rdms", description="Spearman rho of the upper triangles", correlation=True,
             bootstrap=f"{score}:spearman_rows")
    register("kendall_tau_a", f"{cmp}:kendall_tau_a_rdms", description="Kendall's tau-a of the upper triangles", correlation=True,
             aliases=("tau-a", "tau_a"),
             no_bootstrap="tau-a has no bootstrap form here (it is computed pair by pair); rho_a, its rank-based relative, has one")
    register("rho_a", f"{cmp}:rho_a_rdms", description="Spearman's rho-a of the upper triangles (ties as rsatoolbox)", correlation=True,
             bootstrap=f"{score}:rho_a_rows", aliases=("rho-a",))
    register("cosine", f"{cmp}:cosine_rdms", description="cosine similarity of the upper triangles", bootstrap=f"{score}:cosine_rows")
    register("corr_cov", f"{cmp}:corr_cov_rdms", description="rsatoolbox's Pearson r whitened by the RDM entries' covariance", correlation=True,
             aliases=("corr-cov",), no_bootstrap=matrices)
    register("cosine_cov", f"{cmp}:cosine_cov_rdms", description="rsatoolbox's cosine whitened by the RDM entries' covariance",
             aliases=("cosine-cov",), no_bootstrap=matrices)
    register("bures", f"{cmp}:bures_rdms", description="rsatoolbox's Bures similarity of the RDMs' Gram matrices", no_bootstrap=matrices)
    register("kendall_tau_b", f"{cmp}:kendall_tau_b_rdms", description="rsatoolbox's Kendall tau-b of the upper triangles (ties corrected)",
             correlation=True, aliases=("kendall", "tau-b", "tau_b"),
             no_bootstrap="tau-b is computed by rsatoolbox pair by pair, with no resampling form here; spearman or rho_a have one")
    register("neg_riem_dist", f"{cmp}:neg_riem_dist_rdms", description="rsatoolbox's negative Riemannian distance of the RDMs' "
             "second-moment matrices (0 is identical; not a correlation)", aliases=("neg-riem-dist",), no_bootstrap=matrices, needs_euclidean=True,
             citation="Shahbazi et al. 2021, Using distance on the Riemannian manifold to compare representations in brain and in models")
    register("cka", f"{cmp}:cka_rdms", description="linear CKA from the Gram matrices of Euclidean RDMs", needs_euclidean=True, no_bootstrap=matrices,
             citation="Kornblith et al. 2019, Similarity of Neural Network Representations Revisited")
    register("cka_unbiased", f"{cmp}:cka_unbiased_rdms", description="linear CKA (Euclidean RDMs) with the unbiased HSIC", needs_euclidean=True,
             no_bootstrap=matrices, aliases=("cka-unbiased",), citation="Song et al. 2012, Feature Selection via Dependence Maximization")


#: RDM methods by name; each entry is an :class:`RDMFunction` with the :data:`RDM_PROPERTIES` it declares.
RDM_METHODS: MethodRegistry = MethodRegistry("RDM method", properties=RDM_PROPERTIES, field="rdm_method", builtins=(_register_builtins_rdm,),
                                             entry_point_group="neurosage.rdm_methods", contract=RDMFunction, contract_applies_to="factory")
#: Comparisons by name; each entry is a :class:`CompareFunction` with the :data:`COMPARE_PROPERTIES` it declares.
COMPARE_METHODS: MethodRegistry = MethodRegistry("RDM comparison", properties=COMPARE_PROPERTIES, field="compare_method",
                                                 builtins=(_register_builtins_compare,), entry_point_group="neurosage.compare_methods",
                                                 contract=CompareFunction, contract_applies_to="factory")


def rdm_method(name: str, *, field: str = "rdm_method") -> str:
    """The RDM method ``name`` in our spelling, or an error listing the choices."""
    check_arguments(rdm_method, locals())
    return RDM_METHODS.resolve(name, field=field)


def compare_method(name: str, *, field: str = "compare_method") -> str:
    """The comparison ``name`` in our spelling (rsatoolbox's accepted), or an error listing the choices."""
    check_arguments(compare_method, locals())
    return COMPARE_METHODS.resolve(name, field=field)


def check_rsa_methods(rdm: str, compare: str) -> tuple[str, str]:
    """Both choices checked and normalised; a comparison that needs Euclidean RDMs (CKA: Gram matrices) gets them."""
    check_arguments(check_rsa_methods, locals())
    rdm, compare = rdm_method(rdm), compare_method(compare)
    if COMPARE_METHODS.get(compare).needs_euclidean and not RDM_METHODS.get(rdm).euclidean:
        raise ConfigError(f"compare-method {compare!r} needs Euclidean RDMs (its Gram matrices come from them), but rdm-method is {rdm!r}",
                          f"set rdm-method to one of {euclidean_rdms()}, e.g. \"sqeuclidean\"", field="rdm_method")
    return rdm, compare


def model_rdm_method(rdm: str) -> str:
    """The method for network layers, which have no repetitions: the method's ``for_models`` (crossnobis: sqeuclidean,
    its noise-free expectation), else the method itself."""
    check_arguments(model_rdm_method, locals())
    entry = RDM_METHODS.get(rdm_method(rdm))
    target = entry.for_models or entry.name
    if entry.non_negative and not entry.for_models:
        raise ConfigError(f"rdm-method {entry.name!r} needs non-negative patterns (spike counts or rates), and network layers are signed "
                          "(batch-norm outputs), so no network's RDMs can use it", "use rdm-method correlation or sqeuclidean for anything a "
                          f"network is compared with; {entry.name} RDMs of a recording alone: neurosage.compute_rdm(recording, "
                          f"{entry.name!r})", field="rdm_method")
    if RDM_METHODS.get(rdm_method(target)).needs_repetitions:
        raise ConfigError(f"RDM method {entry.name!r} needs repetitions and names no method for network layers", "register it with "
                          "for_models='<a method without repetitions>'", field="rdm_method")
    return rdm_method(target)


def method_function(registry: Registry, name: str) -> Callable[..., Any]:
    """The function registered as ``name`` (a registered name, already resolved), checked against the registry's contract."""
    factory = registry.get(name).factory
    check_contract(factory, registry.contract, f"{registry.kind} {name!r}")
    return factory


def bootstrap_function(compare: str) -> Callable[..., Any]:
    """The entry-vector comparison a bootstrap sample is scored by (refused, with the reason, where there is none)."""
    target = COMPARE_METHODS.get(check_bootstrap(compare)).bootstrap
    return resolve(target) if isinstance(target, str) else target


def check_bootstrap(compare: str) -> str:
    """The comparison, checked to offer bootstrap intervals over stimuli; else the refusal with its declared reason."""
    entry = COMPARE_METHODS.get(compare_method(compare))
    if entry.bootstrap is None:
        raise ConfigError(f"bootstrap intervals over stimuli are not available for {entry.name!r}: {entry.no_bootstrap}",
                          f"give no bootstrap (n_bootstrap=0, --bootstrap 0), or compare by one of {bootstrap_methods()}", field="n_bootstrap")
    return entry.name


def _names(registry: Registry, prop: str) -> tuple[str, ...]:
    return tuple(e.name for e in registry.list() if e.meta.get(prop))


def bootstrap_methods() -> tuple[str, ...]:
    """The comparisons that offer bootstrap intervals over stimuli."""
    return _names(COMPARE_METHODS, "bootstrap")


def correlations() -> tuple[str, ...]:
    """The comparisons that are correlations (a split-half reliability by them is Spearman-Brown corrected)."""
    return _names(COMPARE_METHODS, "correlation")


def euclidean_rdms() -> tuple[str, ...]:
    """The RDM methods whose RDMs are (squared) Euclidean distances, from which a Gram matrix (and CKA) follows."""
    return _names(RDM_METHODS, "euclidean")


def methods_help(registry: MethodRegistry) -> str:
    """``name = description; ...`` of every registered method, then the aliases, for ``--help`` (``%`` escaped for argparse)."""
    entries: list[Entry] = registry.list()
    text = "; ".join(f"{e.name} = {e.description}" if e.description else e.name for e in entries)
    aliases = [f"{', '.join(e.aliases)} for {e.name}" for e in entries if e.aliases]
    return (text + (f"; also accepted: {'; '.join(aliases)}" if aliases else "")).replace("%", "%%")


#: The views of the registries that were tuples before they were registries (read now, so plug-ins are included).
_VIEWS = {"CORRELATIONS": correlations, "EUCLIDEAN_RDMS": euclidean_rdms, "BOOTSTRAP_METHODS": bootstrap_methods}


def __getattr__(name: str) -> Any:
    if name in _VIEWS:
        return _VIEWS[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
