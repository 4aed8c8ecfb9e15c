"""Any teacher scored against a built pool from its stored checkpoints: S_i per endpoint, TG, the best layer.

Nothing is trained: each architecture's network is rebuilt at each stored step, its layers' RDMs are computed once
per stimulus set and RDM method (so a teacher and its controls on the same stimuli share them), and each teacher's
endpoints are compared with them by the teacher's own comparison.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.pool.pool import Pool
from neurosage.rsa.partial import PARTIAL_METHODS, partial_scores
from neurosage.rsa.rdm import COL, ROW, upper_triangle
from neurosage.rsa.score import teacher_scores
from neurosage.training.configs import RDMOptions

__all__ = ["score_teachers", "SCORE_COLUMNS"]

log = logging.getLogger(__name__)

#: One row per teacher, endpoint, architecture and step.
SCORE_COLUMNS = ("teacher", "endpoint", "arch", "step", "S", "best_layer")


#: Comparisons scored from the kept triangles by one product of standardised rows (ranks first for Spearman); equal to
#: ``compare_rdms``/``partial_scores`` of the same RDMs (tested), and much faster over a whole pool.
_FAST = ("pearson", "spearman")


def _unit_rows(triangles: np.ndarray, method: str) -> np.ndarray:
    """Rows centred and scaled to unit norm (ranked first for Spearman): their products are Pearson correlations. A
    constant row stays 0 (it compares as 0 with everything, as ``compare_rdms`` scores a constant RDM)."""
    x = scipy.stats.rankdata(triangles, axis=1) if method == "spearman" else np.asarray(triangles, dtype=np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _fast_scores(sim: np.ndarray, endpoints: list[str], layers: list[str]) -> dict[str, tuple[float, str]]:
    best = np.nanargmax(sim, axis=1)
    return {e: (float(sim[i, best[i]]), layers[best[i]]) for i, e in enumerate(endpoints)}


def _beyond(sim: np.ndarray, teacher_z: np.ndarray, candidate_z: np.ndarray) -> np.ndarray:
    """Partial correlations given one control from the three Pearson correlations (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2));
    0 where the control explains a side entirely."""
    denominator = np.sqrt(np.clip(1 - teacher_z**2, 0, None)[:, None] * np.clip(1 - candidate_z**2, 0, None)[None, :])
    return np.divide(sim - teacher_z[:, None] * candidate_z[None, :], denominator, out=np.zeros_like(sim), where=denominator > 1e-12)


def _partial_method(compare_method: str) -> str:
    """The partial correlation for a teacher's comparison: Spearman for rank comparisons, else Pearson."""
    return "spearman" if compare_method in ("spearman", "kendall_tau_a", "rho_a") and "spearman" in PARTIAL_METHODS else "pearson"


def _stimulus_key(teacher: Any) -> tuple[str, tuple[str, ...]]:
    return teacher.rdm_method, tuple(str(s) for s in teacher.stimulus_ids)


def score_teachers(
    pool: Pool | Any, teachers: Mapping[str, Any], *, steps: Sequence[int] | None = None, archs: Sequence[int] | None = None,
    beyond: Mapping[str, Any] | None = None, rdm: RDMOptions | None = None, device: str | None = None, seed: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """S_i of every endpoint of every teacher, for every (trained) architecture of ``pool`` at every stored step.

    Parameters
    ----------
    pool
        A :class:`~neurosage.pool.pool.Pool` (or its folder).
    teachers
        Name -> :class:`~neurosage.teachers.teacher.Teacher` (a teacher and its controls; any kind).
    steps, archs
        Subsets of the stored steps and of the architectures (default: all).
    beyond
        Teacher name -> a control teacher (one endpoint, e.g. the pixel RDM, on the same stimuli): that teacher is also
        scored *beyond* the control, as the partial correlation of the RDMs given the control's
        (:func:`~neurosage.rsa.partial.partial_scores`), under the name ``"<teacher> beyond <control endpoint>"``.
    rdm, seed
        Feature subsampling of the candidates' layer RDMs and the seed of its subsets (default: the pool's, the paper's
        10 x 1000). Teachers on the pool's own stimuli with the pool's RDM method and these defaults read the layer RDMs
        the pool kept (no network runs); others rebuild each network from its weights.

    Returns
    -------
    pandas.DataFrame
        :data:`SCORE_COLUMNS`, one row per teacher, endpoint, architecture and step.
    """
    check_arguments(score_teachers, locals())
    from neurosage.core.progress import progress_bar
    from neurosage.teachers.teacher import Teacher

    for kind, given in (("teachers", teachers), ("beyond", beyond or {})):
        if not isinstance(given, Mapping) or not all(isinstance(t, Teacher) for t in given.values()):
            shown = next((t for t in given.values() if not isinstance(t, Teacher)), given) if isinstance(given, Mapping) else given
            raise ConfigError(f"score_teachers: {kind} is a mapping of name -> Teacher, got {type(shown).__name__} {str(shown)[:50]!r}"
                              + (" (one teacher, not a mapping)" if not isinstance(given, Mapping) else ""),
                              "build each with neurosage.teachers.teacher_from_spec(spec, pool.stimuli()), e.g. "
                              "{'pixels': teacher_from_spec('control:pixels', pool.stimuli())}", field=kind)
    scorer = _Scorer(pool if isinstance(pool, Pool) else Pool(pool), teachers, beyond or {}, rdm, device, seed)
    archs, steps = scorer.chosen(archs, steps)
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with progress_bar(total=len(archs) * len(steps), desc="teacher bench", enabled=progress) as bar, \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for arch in archs:
            for step in steps:
                rows += scorer.rows(arch, step)
                bar.update(1)
    _say_once(caught, len(archs) * len(steps))
    log.info("scored %d teacher(s) on %d architectures x %d steps in %.1f s", len(teachers), len(archs), len(steps), time.perf_counter() - t0)
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def _say_once(caught: list[warnings.WarningMessage], measured: int) -> None:
    """The warnings of a whole pool's scoring, each said once: the same warning for many architectures (a layer the
    control explains entirely, once per architecture) is one line with its count."""
    seen: dict[tuple[type[Warning], str], list[str]] = {}
    for item in caught:
        text = str(item.message)
        seen.setdefault((item.category, re.sub(r"\d+", "N", text)), []).append(text)
    for (category, _), texts in seen.items():
        same = "the same" if len(set(texts)) == 1 else "alike"
        said = texts[0] if len(texts) == 1 else f"{texts[0]} (said {len(texts)} times, {same}, over the {measured} architecture-steps scored)"
        warnings.warn(said, category, stacklevel=3)


class _Scorer:
    """The teachers (checked against the pool), grouped by stimulus set, and the ones scored from the kept triangles."""

    def __init__(self, pool: Pool, teachers: Mapping[str, Any], beyond: Mapping[str, Any], rdm: RDMOptions | None, device: str | None,
                 seed: int | None):
        if not isinstance(teachers, Mapping) or not teachers:
            raise ConfigError(f"teachers must be a non-empty mapping name -> Teacher, got {type(teachers).__name__}", "give e.g. {'mine': teacher}",
                              field="teachers")
        for name, control in beyond.items():
            if name not in teachers:
                raise ConfigError(f"beyond names {name!r}, which is not among the teachers {sorted(teachers)}", "name a teacher given in teachers",
                                  field="beyond")
            if _stimulus_key(control)[1] != _stimulus_key(teachers[name])[1]:
                raise ConfigError(f"the control for {name!r} is on other stimuli than the teacher", "build the control on the teacher's stimuli",
                                  field="beyond")
        self.pool, self.teachers, self.beyond, self.rdm, self.device = pool, teachers, beyond, rdm, device
        self.seed = pool.spec.seed if seed is None else seed
        self.groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for name, teacher in teachers.items():
            self.groups.setdefault(_stimulus_key(teacher), []).append(name)
        ids = pool.stimulus_ids()
        self.kept = rdm is None and self.seed == pool.spec.seed and bool(ids)
        self.pool_key = (pool.spec.rdm_method, tuple(ids))

        def units(t: Any, method: str) -> np.ndarray:
            return _unit_rows(upper_triangle(t.rdms.sel({ROW: ids, COL: ids})), method)

        self.fast = {name: units(t, t.compare_method) for name, t in teachers.items() if self.kept and _stimulus_key(t) == self.pool_key
                     and t.compare_method in _FAST and len(getattr(beyond.get(name), "endpoints", [0])) == 1}
        self.control = {name: (str(c.endpoints[0]), units(c, teachers[name].compare_method)[0]) for name, c in beyond.items() if name in self.fast}

    def chosen(self, archs: Sequence[int] | None, steps: Sequence[int] | None) -> tuple[list[int], list[int]]:
        """The architectures and steps asked for, checked against what the pool trained and stored."""
        table = self.pool.architectures()
        trained = [int(a) for a in table.loc[table.status == "ok", "arch"]]
        chosen = trained if archs is None else [int(a) for a in archs]
        missing = sorted(set(chosen) - set(trained))
        if missing:
            raise ConfigError(f"architectures {missing[:5]} are not trained in the pool", f"choose among the {len(trained)} trained ones",
                              file=self.pool.folder.pool_architectures, field="archs")
        for name, given in (("archs", archs), ("steps", steps)):
            if given is not None and not len(given):  # an empty list scores nothing: None means all
                raise ConfigError(f"{name} is empty, so nothing would be scored", f"leave {name} out (None) for all of them, or list some",
                                  field=name)
        stored = list(self.pool.spec.steps)
        at = stored if steps is None else [int(s) for s in steps]
        unknown = sorted(set(at) - set(stored))
        if unknown:
            raise ConfigError(f"steps {unknown} are not stored in the pool", f"choose among {stored}", field="steps")
        return chosen, at

    def rows(self, arch: int, step: int) -> list[dict[str, Any]]:
        kept = self.pool.layer_triangles(arch, step) if self.fast else None
        scored = self._fast(kept) if kept is not None else {}
        slow = [n for n in self.teachers if n not in self.fast or kept is None]
        scored.update(self._chain(arch, step, slow))
        return [{"teacher": label, "endpoint": e, "arch": arch, "step": step, "S": s, "best_layer": layer}
                for label, per in scored.items() for e, (s, layer) in per.items()]

    def _fast(self, kept: tuple[list[str], np.ndarray]) -> dict[str, dict[str, tuple[float, str]]]:
        """Pearson/Spearman teachers (and beyond one control) from the kept triangles: one product of standardised rows."""
        layers, triangles = kept
        units = {m: _unit_rows(triangles, m) for m in {self.teachers[n].compare_method for n in self.fast}}
        out = {}
        for name, teacher_units in self.fast.items():
            endpoints = self.teachers[name].endpoints
            candidate_units = units[self.teachers[name].compare_method]
            sim = teacher_units @ candidate_units.T
            out[name] = _fast_scores(sim, endpoints, layers)
            if name in self.control:
                endpoint, z = self.control[name]
                out[f"{name} beyond {endpoint}"] = _fast_scores(_beyond(sim, teacher_units @ z, candidate_units @ z), endpoints, layers)
        return out

    def _chain(self, arch: int, step: int, names: list[str]) -> dict[str, dict[str, tuple[float, str]]]:
        """The other teachers through the general chain: the kept RDMs, or the network rebuilt from its weights."""
        from neurosage.training.activations import model_rdms

        out: dict[str, dict[str, tuple[float, str]]] = {}
        net = None
        for key, group in self.groups.items():
            group = [n for n in group if n in names]
            if not group:
                continue
            first = self.teachers[group[0]]
            candidate = self.pool.layer_rdms(arch, step) if self.kept and key == self.pool_key else None
            if candidate is None:
                net = self.pool.network(arch, step, device=self.device) if net is None else net
                layers = [n for n in net.endpoints if n not in ("stem", "pool")]
                options = replace(self.rdm or self.pool.spec.rdm_options(), rdm_method=first.rdm_method)
                candidate = model_rdms(net, first.images, layers, rdm=options, device=self.device, seed=self.seed)
            for name in group:
                teacher = self.teachers[name]
                scores = {name: teacher_scores(teacher.rdms, candidate, teacher.compare_method)}
                control = self.beyond.get(name)
                if control is not None:
                    scores[f"{name} beyond {', '.join(control.endpoints)}"] = partial_scores(
                        teacher.rdms, candidate, control.rdms, _partial_method(teacher.compare_method), control_name=", ".join(control.endpoints),
                        device=self.device)
                out.update({label: {e: (s, sc.best_layer[e]) for e, s in sc.per_endpoint.items()} for label, sc in scores.items()})
        return out

