"""TG-SAGE scores: teacher similarity, TG and P + alpha * TG (paper section 3.2).

S_i = max_j corr(M_Ti, M_Cj) over candidate layers j; TG = mean_i S_i.
The full endpoint x layer similarity matrix is kept, so users can ask which
layer matched which area.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from neurosage.core.errors import ConfigError
from neurosage.core.once import warn_once
from neurosage.core.validate import check_arguments, choice, is_whole_number
from neurosage.rsa.ceiling import CEILING_CONVENTIONS, ceiled
from neurosage.rsa.compare import _ranks, compare_rdms
from neurosage.rsa.methods import bootstrap_function, bootstrap_methods, check_bootstrap
from neurosage.rsa.rdm import STACK, align_rdms, check_rdms

__all__ = ["bootstrap_scores", "stimulus_resamples", "defined_samples", "percentile_intervals", "check_bootstrap_method", "OBJECTIVES",
           "TeacherScores", "teacher_scores", "combined_score", "check_objective", "pearson_rows", "spearman_rows", "rho_a_rows", "cosine_rows"]

log = logging.getLogger(__name__)


OBJECTIVES = ("p", "tg", "p+tg")


def __getattr__(name: str):
    if name == "BOOTSTRAP_METHODS":  # the comparisons with bootstrap intervals over stimuli: a view of the registry, plug-ins included
        return bootstrap_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class TeacherScores:
    """Similarities (endpoint x layer), the per-endpoint best S_i, TG, and the best layer per endpoint."""

    similarity: xr.DataArray
    per_endpoint: dict[str, float]
    best_layer: dict[str, str]
    tg: float
    ceilings: dict[str, float] | None = None
    ceiling_convention: str = "sqrt"
    #: 95% percentile-bootstrap intervals over stimuli (``n_bootstrap`` > 0): per endpoint S_i, and TG
    intervals: dict[str, tuple[float, float]] | None = None
    tg_interval: tuple[float, float] | None = None
    n_bootstrap: int = 0
    #: the same intervals for every endpoint x layer similarity (``endpoint x layer x bound``, bound ``low``/``high``)
    layer_intervals: xr.DataArray | None = None

    def __post_init__(self) -> None:
        choice(self.ceiling_convention, "ceiling_convention", CEILING_CONVENTIONS)  # now, not when tg_ceiled is first read
        if not self.ceilings:
            return
        for endpoint, value in self.ceilings.items():  # a ceiling is a reliability (a correlation): at most 1
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value <= 1:
                raise ConfigError(f"the noise ceiling of {endpoint!r} is {value!r}: a ceiling is a split-half reliability (a correlation), "
                                  "a number of at most 1", "give the ceilings noise_ceilings(recording) computed (their .value), or a "
                                  "Teacher's .ceilings", field="ceilings")
        for endpoint, value in self.ceilings.items():
            if endpoint in self.per_endpoint and not value > 0:  # an unreliable recording (split halves that do not agree): said
                warn_once(log, ("ceiling not positive", endpoint, float(value)), "the noise ceiling of %r is %g (not positive: its split "
                          "halves do not agree), so its ceiled score is NaN and so is TG ceiled; the raw S_i and TG stand", endpoint, value)
        if not set(self.ceilings) & set(self.per_endpoint):
            raise ConfigError(f"the ceilings name {sorted(self.ceilings)}, and no endpoint of the teacher ({sorted(self.per_endpoint)}): every "
                              "ceiled score would be NaN", "key the ceilings by the teacher's endpoint names", field="ceilings")

    @property
    def per_endpoint_ceiled(self) -> dict[str, float] | None:
        """S_i over the endpoint's noise ceiling (None without ceilings; NaN where a ceiling is not positive)."""
        if not self.ceilings:
            return None
        return {e: ceiled(s, self.ceilings.get(e) or 0.0, self.ceiling_convention) for e, s in self.per_endpoint.items()}

    @property
    def tg_ceiled(self) -> float | None:
        """TG over ceiled S_i (None without ceilings)."""
        ceiled = self.per_endpoint_ceiled
        return None if ceiled is None else float(np.mean(list(ceiled.values())))


def teacher_scores(
    teacher_rdms: xr.DataArray, candidate_rdms: xr.DataArray, method: str = "pearson", ceilings: dict[str, float] | None = None,
    *, ceiling_convention: str = "sqrt", n_bootstrap: int = 0, seed: int = 0,
) -> TeacherScores:
    """Score candidate layer RDMs against teacher endpoint RDMs (stacks aligned by stimulus_id); ``ceilings`` per endpoint, if known.

    With ``n_bootstrap`` > 0, S_i and TG get 95% intervals from :func:`bootstrap_scores` (stimuli resampled, seeded).
    """
    check_arguments(teacher_scores, locals())
    teacher_rdms, candidate_rdms = check_rdms(teacher_rdms, "teacher"), check_rdms(candidate_rdms, "candidate")  # single RDMs: stacks of one
    _say_swapped(teacher_rdms, candidate_rdms)
    sim = compare_rdms(teacher_rdms, candidate_rdms, method).rename(rdm_a="endpoint", rdm_b="layer")
    values = sim.values
    best = np.nanargmax(values, axis=1)
    endpoints = [str(e) for e in sim.endpoint.values]
    layers = [str(layer) for layer in sim.layer.values]
    per_endpoint = {e: float(values[i, best[i]]) for i, e in enumerate(endpoints)}
    return TeacherScores(
        similarity=sim,
        per_endpoint=per_endpoint,
        best_layer={e: layers[best[i]] for i, e in enumerate(endpoints)},
        tg=float(np.mean(list(per_endpoint.values()))),
        ceilings=ceilings,
        ceiling_convention=ceiling_convention,
        **(bootstrap_scores(teacher_rdms, candidate_rdms, method, n_bootstrap, seed) if n_bootstrap else {}),
    )


#: Names of visual areas (Brain-Score's regions and IT's subregions): a candidate stack named so was likely given as the teacher's.
_VISUAL_AREAS = frozenset({"V1", "V2", "V4", "IT", "pIT", "cIT", "aIT"})


def _say_swapped(teacher_rdms: xr.DataArray, candidate_rdms: xr.DataArray) -> None:
    """Warn when the candidate RDMs are named like brain areas and the teacher's are not: the two arguments were most likely
    given the other way round (the result would call the layers endpoints and the areas layers)."""
    teacher = {str(n) for n in teacher_rdms[STACK].values}
    candidate = {str(n) for n in candidate_rdms[STACK].values}
    if candidate & _VISUAL_AREAS and not teacher & _VISUAL_AREAS:
        warn_once(log, ("swapped", frozenset(teacher), frozenset(candidate)), "teacher_scores: the candidate RDMs are named like brain "
                  "areas (%s) and the teacher's are not (%s): the teacher's RDMs go first, teacher_scores(teacher_rdms, "
                  "candidate_rdms)", sorted(candidate & _VISUAL_AREAS), sorted(teacher)[:4])


def stimulus_resamples(n: int, n_bootstrap: object, seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The pattern bootstrap's samples of ``n`` stimuli: for each of ``n_bootstrap`` draws with replacement (from ``seed``), the
    row and column indices of the upper triangle of the resampled RDM, pairs of a stimulus with its own copy left out (their
    dissimilarity is 0 by construction, as rsatoolbox leaves them out)."""
    if not is_whole_number(n_bootstrap) or n_bootstrap < 10:  # checked now, not at the first draw; as the command line's --bootstrap
        raise ConfigError(f"n_bootstrap must be an integer of at least 10, got {n_bootstrap!r} (a 95% interval from fewer resamples is "
                          "little more than their extremes)", "use e.g. 1000, or n_bootstrap=0 for no intervals", field="n_bootstrap")
    rows, cols = torch.triu_indices(n, n, offset=1)
    rng = np.random.default_rng(seed)

    def draws() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for _ in range(int(n_bootstrap)):
            pick = torch.as_tensor(rng.integers(0, n, size=n))
            i, j = pick[rows], pick[cols]
            keep = i != j
            yield i[keep], j[keep]

    return draws()


def defined_samples(s_arr: np.ndarray, problem: str, fix: str, left_out: str) -> np.ndarray:
    """The mask of bootstrap samples (rows of ``s_arr``) whose every S_i is defined; none is an error (``problem``, ``fix``), some
    left out are warned about (``left_out``, e.g. "have a constant control")."""
    defined = np.isfinite(s_arr).all(axis=1)
    if not defined.any():
        raise ConfigError(problem, fix, field="n_bootstrap")
    if not defined.all():
        log.warning("%d of %d bootstrap samples %s and are left out of the intervals", int((~defined).sum()), len(s_arr), left_out)
    return defined


def percentile_intervals(s_arr: np.ndarray, endpoints: list[str], level: float) -> dict:
    """Percentile intervals of each endpoint's S_i (columns of ``s_arr``) and of TG (their mean per sample) at ``level``."""
    q = [50 * (1 - level), 50 * (1 + level)]
    lo, hi = np.percentile(s_arr, q, axis=0)
    return {"intervals": {e: (float(lo[k]), float(hi[k])) for k, e in enumerate(endpoints)},
            "tg_interval": tuple(float(v) for v in np.percentile(s_arr.mean(axis=1), q))}


def bootstrap_scores(teacher_rdms: xr.DataArray, candidate_rdms: xr.DataArray, method: str, n_bootstrap: int, seed: int = 0,
                     level: float = 0.95) -> dict:
    """Percentile intervals of S_i and TG over bootstrap samples of the stimuli (rsatoolbox's pattern bootstrap).

    Each sample draws the stimuli with replacement and takes the same rows and columns of every teacher and
    candidate RDM; pairs of a stimulus with its own copy are left out (their dissimilarity is 0 by construction,
    as rsatoolbox leaves them out). Both RDMs' correlations, the best layer per endpoint (S_i) and their mean (TG) are
    recomputed in every sample, by the comparison's registered entry-vector form (its ``bootstrap`` property,
    :mod:`neurosage.rsa.methods`); a comparison without one is refused with its reason.
    """
    compare_vectors = bootstrap_function(method)
    a, b = align_rdms(teacher_rdms, candidate_rdms)
    ta, tb = torch.as_tensor(a.values, dtype=torch.float64), torch.as_tensor(b.values, dtype=torch.float64)
    n = ta.shape[-1]
    s_values, sims = [], []
    for i, j in stimulus_resamples(n, n_bootstrap, seed):
        sim = torch.as_tensor(compare_vectors(ta[:, i, j], tb[:, i, j]), dtype=torch.float64)
        s_values.append(torch.nan_to_num(sim, nan=-torch.inf).max(dim=1).values.numpy())
        sims.append(sim.numpy())
    s_arr, sim_arr = np.asarray(s_values), np.asarray(sims)
    # a sample of too few distinct stimuli (or constant RDMs) has no correlation
    defined = defined_samples(s_arr, f"no bootstrap sample of the {n} stimuli gives a defined correlation", "use more stimuli (at least 10)",
                              f"of {n} stimuli have an undefined correlation (too few distinct stimuli)")
    s_arr, sim_arr = s_arr[defined], sim_arr[defined]
    q = [50 * (1 - level), 50 * (1 + level)]
    layer_bounds = xr.DataArray(np.stack(np.nanpercentile(sim_arr, q, axis=0), axis=-1), dims=("endpoint", "layer", "bound"),
                                coords={"endpoint": [str(e) for e in a[STACK].values], "layer": [str(x) for x in b[STACK].values],
                                        "bound": ["low", "high"]})
    return {**percentile_intervals(s_arr, [str(e) for e in a[STACK].values], level), "n_bootstrap": n_bootstrap,
            "layer_intervals": layer_bounds}


def check_bootstrap_method(method: str) -> str:
    """The comparison, checked to have bootstrap intervals over stimuli (:func:`neurosage.rsa.methods.check_bootstrap`)."""
    return check_bootstrap(method)


def cosine_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every row of ``a`` with every row of ``b`` (NaN for a zero row): ``cosine``'s bootstrap form."""
    norm = a.norm(dim=1, keepdim=True) * b.norm(dim=1, keepdim=True).T
    return torch.where(norm > 0, (a @ b.T) / norm, torch.full_like(norm, float("nan")))


def pearson_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson r of every row of ``a`` with every row of ``b`` (NaN for a constant row): ``pearson``'s bootstrap form."""
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    return cosine_rows(a, b)


def spearman_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rho of every row pair (Pearson r of average ranks): ``spearman``'s bootstrap form."""
    return pearson_rows(_ranks(a), _ranks(b))


def rho_a_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """rho-a of every row pair: Pearson r of the ranks scaled by their variance over the untied one (``rho_a``'s bootstrap form)."""
    ra, rb = _ranks(a), _ranks(b)
    m = ra.shape[1]
    spread_a, spread_b = ((r - r.mean(dim=1, keepdim=True)).norm(dim=1) for r in (ra, rb))
    return pearson_rows(ra, rb) * spread_a[:, None] * spread_b[None, :] * 12 / (m**3 - m)


def combined_score(p: float, tg: float | None, objective: str, alpha: float = 1.0) -> float:
    """The search objective: ``p``, ``tg`` or ``p+tg`` (= P + alpha * TG); higher is better. ``p`` is a fraction of
    correct answers (0..1), ``alpha`` a weight >= 0; a TG that is not a finite number is refused (a network without a
    similarity has no score: the search records it diverged)."""
    check_objective(objective, alpha)
    if isinstance(p, str):  # '0.5' read from a text file: a number is meant
        raise ConfigError(f"P = {p!r} is text, not a number", f"pass P as a number, e.g. float({p!r})", field="p")
    if not (isinstance(p, (int, float, np.floating, np.integer)) and not isinstance(p, bool)) or not 0 <= p <= 1:  # NaN too
        raise ConfigError(f"P = {p!r} is not a fraction of correct answers (0..1)", "give P as a fraction, e.g. 0.8 for 80% (not a percentage)",
                          field="p")
    if objective == "p":
        return float(p)
    if tg is None:
        raise ConfigError(f"objective {objective!r} needs a teacher", "give a teacher, or use objective 'p'", field="objective")
    if isinstance(tg, bool) or not isinstance(tg, (int, float, np.floating, np.integer)) or not np.isfinite(tg):
        raise ConfigError(f"TG = {tg!r} is not a finite similarity, so P + alpha * TG would be {tg!r} too", "score only networks with a "
                          "finite TG (a NaN TG is a network whose activations or RDM are degenerate), or use objective 'p'", field="tg")
    check_arguments(combined_score, locals())
    if objective == "tg":
        return float(tg)
    if objective == "p+tg":
        return float(p + alpha * tg)
    raise ConfigError(f"unknown objective {objective!r}", f"choose from {OBJECTIVES}", field="objective")


def check_objective(objective: str, alpha: float) -> None:
    """Refuse an unknown objective or a non-finite TG weight."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}", f"choose one of {list(OBJECTIVES)}", field="objective")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating, np.integer)) or not math.isfinite(alpha) or alpha < 0:
        raise ConfigError(f"alpha must be a finite number >= 0, got {alpha!r}", "give a non-negative weight for TG, e.g. --alpha 1 (alpha=1 in "
                          "Python)", field="alpha")
    check_arguments(check_objective, locals())
