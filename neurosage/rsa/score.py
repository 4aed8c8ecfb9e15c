"""TG-SAGE scores: teacher similarity, TG and P + alpha * TG (paper section 3.2).

S_i = max_j corr(M_Ti, M_Cj) over candidate layers j; TG = mean_i S_i.
The full endpoint x layer similarity matrix is kept, so users can ask which
layer matched which area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from neurosage.core.errors import ConfigError
from neurosage.rsa.compare import compare_rdms

__all__ = ["OBJECTIVES", "TeacherScores", "teacher_scores", "combined_score", "check_objective"]


OBJECTIVES = ("p", "tg", "p+tg")


@dataclass(frozen=True)
class TeacherScores:
    """Similarities (endpoint x layer), the per-endpoint best S_i, TG, and the best layer per endpoint."""

    similarity: xr.DataArray
    per_endpoint: dict[str, float]
    best_layer: dict[str, str]
    tg: float
    ceilings: dict[str, float] | None = None

    @property
    def per_endpoint_ceiled(self) -> dict[str, float] | None:
        """S_i divided by the endpoint's noise ceiling (None without ceilings)."""
        if not self.ceilings:
            return None
        return {e: s / self.ceilings[e] if (self.ceilings.get(e) or 0) > 0 else float("nan") for e, s in self.per_endpoint.items()}

    @property
    def tg_ceiled(self) -> float | None:
        """TG over ceiled S_i (None without ceilings)."""
        ceiled = self.per_endpoint_ceiled
        return None if ceiled is None else float(np.mean(list(ceiled.values())))


def teacher_scores(
    teacher_rdms: xr.DataArray, candidate_rdms: xr.DataArray, method: str = "pearson", ceilings: dict[str, float] | None = None
) -> TeacherScores:
    """Score candidate layer RDMs against teacher endpoint RDMs (stacks aligned by stimulus_id); ``ceilings`` per endpoint, if known."""
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
    )


def combined_score(p: float, tg: float | None, objective: str, alpha: float = 1.0) -> float:
    """The search objective: ``p``, ``tg`` or ``p+tg`` (= P + alpha * TG); higher is better."""
    if objective == "p":
        return float(p)
    if tg is None:
        raise ConfigError(f"objective {objective!r} needs a teacher", "give a teacher, or use objective 'p'", field="objective")
    if objective == "tg":
        return float(tg)
    if objective == "p+tg":
        return float(p + alpha * tg)
    raise ConfigError(f"unknown objective {objective!r}", f"choose from {OBJECTIVES}", field="objective")


def check_objective(objective: str, alpha: float) -> None:
    """Refuse an unknown objective or a non-finite TG weight."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}", f"choose one of {list(OBJECTIVES)}", field="objective")
    if not math.isfinite(alpha):
        raise ConfigError(f"alpha must be a finite number, got {alpha}", "give a finite weight for TG, e.g. --alpha 1", field="alpha")
