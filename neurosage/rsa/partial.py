"""RDM similarity beyond a control: the partial correlation of two RDMs given one or more control RDMs.

A candidate can resemble a teacher for reasons the teacher did not learn: the stimuli's pixel geometry, their
categories, or what any random network of the teacher's architecture computes. "TG beyond a control" asks whether
the similarity survives when the control's RDM is partialled out of both sides:

    r_xy.z = (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2) (1 - r_yz^2))

with x a candidate RDM's upper triangle, y a teacher endpoint's, z the control's. It is computed as its definition
states, which also covers several controls at once: x and y are each residualised on ``[1, z_1 .. z_q]`` by least
squares (the projection onto an orthonormal basis of the centred controls), and the residuals are correlated. The
Spearman form does the same on the triangles' average ranks (the partial correlation of ranks).

Why the partial and not the semi-partial correlation (the teacher's RDM with the control partialled out, correlated
with the raw candidate)? The semi-partial equals the partial times ``sqrt(1 - r_xz^2)``: it also falls when the
candidate carries control variance besides the teacher's learned part, so it mixes "how much of the candidate is
pixels" into "does the candidate share what the teacher learned". The partial correlation is symmetric, in [-1, 1],
1 exactly when the parts of candidate and teacher that the control does not explain agree, and it is the form RSA
uses to remove low-level confounds (partial Spearman against pixel or early-vision model RDMs); Viviani, "Overcoming
bias in representational similarity analysis", arXiv:2102.08931 (2021), analyses partial correlations in RSA. The
references are gathered in ``shared/reference/proxies-and-controls.md`` ("Controls for TG, and TG beyond a control").

A noise ceiling bounds the plain correlation, not the partial one, so scores beyond a control carry no ceiling.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import torch
import xarray as xr

from neurosage.core.errors import ConfigError
from neurosage.rsa.compare import _ranks
from neurosage.rsa.methods import compare_method
from neurosage.rsa.rdm import COL, ROW, STACK, RDMAlignmentError, align_rdms, check_rdms, upper_triangle
from neurosage.rsa.score import TeacherScores, defined_samples, percentile_intervals, stimulus_resamples

__all__ = ["PARTIAL_METHODS", "partial_similarity", "partial_scores", "partial_correlation_vectors"]

log = logging.getLogger(__name__)


#: The comparisons with a partial form here (a partial correlation needs a correlation of linear residuals).
PARTIAL_METHODS = ("pearson", "spearman")

#: A residual this small relative to the centred RDM (or a control this flat) counts as zero.
_RELATIVE_ZERO = 1e-10

#: Upper-triangle entries gathered at once (about 256 MiB of float64): candidate stacks are residualised in chunks.
_CHUNK_ENTRIES = 1 << 25


def partial_similarity(
    candidate_rdms: xr.DataArray,
    teacher_rdms: xr.DataArray,
    control_rdm: xr.DataArray,
    method: str = "pearson",
    *,
    paired: bool = False,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Partial correlation of every candidate RDM with every teacher RDM, the control RDM(s) partialled out: ``(k, m)``.

    Parameters
    ----------
    candidate_rdms, teacher_rdms
        Single RDMs or stacks (leading ``"rdm"`` dim), ``k`` and ``m`` of them, aligned by condition label (the
        candidates are put in the teacher's order; different label sets are refused).
    control_rdm
        One control RDM, or a stack: all of its RDMs are partialled out together (least squares on all of them), or,
        with ``paired=True``, teacher RDM ``j`` gets the control RDM of the same name (e.g. the untrained network's
        same layer). It must be on exactly the teacher's stimuli (aligned by label; another set is refused).
    method
        ``"pearson"`` (residuals of the RDM entries) or ``"spearman"`` (residuals of their average ranks).
    device
        Where the products run; float64 everywhere.

    Residualising on ``[1, z]`` and correlating gives the closed form ``r_xy.z`` above to rounding (tests:
    ``tests/rsa/test_partial.py``). An RDM that the controls explain entirely (no residual) has no partial correlation:
    its similarities are 0, with a warning, as :func:`~neurosage.rsa.compare.compare_rdms` does for a constant RDM.
    A constant control is refused (there is nothing to partial out; a constant carries no structure).
    """
    method = partial_method(method)
    teacher = _stack(teacher_rdms, "teacher")
    candidate = _aligned(teacher, _stack(candidate_rdms, "candidate"), "candidate RDMs")
    control = _aligned(teacher, _stack(control_rdm, "control"), "control RDM")
    if teacher.sizes[ROW] < 4:
        raise RDMAlignmentError(f"the RDMs have {teacher.sizes[ROW]} conditions; a partial correlation needs at least 4", "use more stimuli",
                                field="condition labels")
    if not paired:
        return _partial_stack(candidate, teacher, control, method, device)
    endpoints = [str(e) for e in teacher[STACK].values]
    names = [str(c) for c in control[STACK].values]
    missing = [e for e in endpoints if e not in names]
    if missing:
        raise ConfigError(f"paired controls need one control RDM per teacher endpoint; none is named {missing}",
                          f"give a control with the teacher's endpoints ({endpoints}), e.g. the untrained network of the teacher's layers, "
                          "or partial out all the control's RDMs together (paired=False)", field="control")
    columns = [_partial_stack(candidate, teacher.isel({STACK: [j]}), control.sel({STACK: [e]}), method, device)
               for j, e in enumerate(endpoints)]
    return np.concatenate(columns, axis=1)


def partial_scores(
    teacher_rdms: xr.DataArray,
    candidate_rdms: xr.DataArray,
    control_rdm: xr.DataArray,
    method: str = "pearson",
    *,
    paired: bool = False,
    n_bootstrap: int = 0,
    seed: int = 0,
    control_name: str = "control",
    device: str | torch.device | None = None,
) -> TeacherScores:
    """:func:`~neurosage.rsa.score.teacher_scores` beyond a control: S_i (best layer per endpoint) and TG = mean S_i, from the
    partial similarity of :func:`partial_similarity` (``endpoint x layer``), without ceilings (they bound the plain correlation).

    The similarity's attrs say what was done: ``method`` (``"partial pearson"`` ...), ``beyond`` (``control_name``) and
    ``paired``. With ``n_bootstrap`` > 0, 95% percentile intervals over bootstrap samples of the stimuli, as
    :func:`~neurosage.rsa.score.bootstrap_scores` (pairs of a stimulus with its own copy left out; the partial correlation
    recomputed in every sample; samples where a control is constant are left out).
    """
    method = partial_method(method)
    values = partial_similarity(candidate_rdms, teacher_rdms, control_rdm, method, paired=paired, device=device).T
    teacher, candidate = _stack(teacher_rdms, "teacher"), _stack(candidate_rdms, "candidate")
    endpoints = [str(e) for e in teacher[STACK].values]
    layers = [str(layer) for layer in candidate[STACK].values]
    sim = xr.DataArray(values, dims=("endpoint", "layer"), coords={"endpoint": endpoints, "layer": layers},
                       attrs={"method": f"partial {method}", "beyond": control_name, "paired": int(paired)})
    best = np.nanargmax(values, axis=1)
    per_endpoint = {e: float(values[i, best[i]]) for i, e in enumerate(endpoints)}
    extra = _bootstrap(teacher, candidate, control_rdm, method, paired, n_bootstrap, seed) if n_bootstrap else {}
    return TeacherScores(similarity=sim, per_endpoint=per_endpoint, best_layer={e: layers[best[i]] for i, e in enumerate(endpoints)},
                         tg=float(np.mean(list(per_endpoint.values()))), ceilings=None, **extra)


def partial_correlation_vectors(x: Any, y: Any, z: Any, method: str = "pearson") -> np.ndarray:
    """Partial correlation of every row of ``x`` ``(k, p)`` with every row of ``y`` ``(m, p)`` given the rows of ``z``
    ``(q, p)`` (or one ``(p,)`` control), as ``(k, m)``: the entry-vector form :func:`partial_similarity` applies to RDMs."""
    method = partial_method(method)
    tx, ty, tz = (torch.atleast_2d(torch.as_tensor(np.asarray(v, dtype=np.float64))) for v in (x, y, z))
    if not tx.shape[1] == ty.shape[1] == tz.shape[1]:
        raise ConfigError(f"the vectors have {tx.shape[1]}, {ty.shape[1]} and {tz.shape[1]} entries", "give x, y and z the same entries",
                          field="z")
    basis = _control_basis(tz, method, names=[str(i) for i in range(tz.shape[0])])
    return (_residual_units(tx, basis, method) @ _residual_units(ty, basis, method).T).clamp_(-1.0, 1.0).numpy()


def partial_method(method: str) -> str:
    """The comparison ``method`` (aliases resolved), checked to have a partial form; else the choices."""
    name = compare_method(method, field="compare_method")
    if name not in PARTIAL_METHODS:
        raise ConfigError(f"similarity beyond a control is a partial correlation, and {name!r} is not one of the correlations it is defined for",
                          f"compare by one of {list(PARTIAL_METHODS)} (compare-method) to score beyond a control", field="compare_method")
    return name


def _stack(rdms: Any, what: str) -> xr.DataArray:
    return check_rdms(rdms, what)


def _aligned(teacher: xr.DataArray, other: xr.DataArray, what: str) -> xr.DataArray:
    """``other`` in the teacher's stimulus order; refused, naming the difference, unless both list the same stimuli."""
    ours, theirs = (np.asarray(r[ROW].values).astype(str) for r in (teacher, other))
    if set(ours) != set(theirs) or len(ours) != len(theirs):
        only_teacher = sorted(set(ours) - set(theirs))[:3]
        only_other = sorted(set(theirs) - set(ours))[:3]
        raise RDMAlignmentError(f"the {what} and the teacher's RDMs are on different stimuli ({len(theirs)} vs {len(ours)} stimulus ids; "
                                f"only the teacher's e.g. {only_teacher}, only the {what.split()[0]}'s e.g. {only_other})",
                                "build the control on the teacher's own stimuli (e.g. pixel_teacher(teacher.images)), matched by stimulus_id",
                                field="stimulus_id")
    other = other.assign_coords({ROW: np.asarray(other[ROW].values).astype(str), COL: np.asarray(other[COL].values).astype(str)})
    teacher = teacher.assign_coords({ROW: ours, COL: np.asarray(teacher[COL].values).astype(str)})
    return align_rdms(teacher, other)[1]


def _triangles(rdms: xr.DataArray, device) -> torch.Tensor:
    values = torch.as_tensor(np.atleast_2d(upper_triangle(rdms)).astype(np.float64, copy=False), device=device)
    if not bool(torch.isfinite(values).all()):
        raise RDMAlignmentError(f"the RDM(s) {[str(n) for n in rdms[STACK].values]} hold non-finite dissimilarities",
                                "compute RDMs from finite data", field="dissimilarities")
    return values


def _partial_stack(candidate: xr.DataArray, teacher: xr.DataArray, control: xr.DataArray, method: str, device) -> np.ndarray:
    """``(k, m)`` partial correlations; the candidates are residualised a chunk at a time (bounded memory)."""
    basis = _control_basis(_triangles(control, device), method, names=[str(n) for n in control[STACK].values])
    ry = _residual_units(_triangles(teacher, device), basis, method)
    n_pairs = ry.shape[1]
    chunk = max(1, _CHUNK_ENTRIES // max(1, n_pairs))
    out = []
    for start in range(0, candidate.sizes[STACK], chunk):
        rx = _residual_units(_triangles(candidate.isel({STACK: slice(start, start + chunk)}), device), basis, method)
        out.append((rx @ ry.T).clamp_(-1.0, 1.0))
    return torch.cat(out).cpu().numpy()


def _control_basis(z: torch.Tensor, method: str, *, names: list[str]) -> torch.Tensor:
    """Orthonormal basis ``(p, r)`` of the centred controls (ranks for Spearman): projecting on it and on 1 is least squares
    on ``[1, z_1 .. z_q]``. A constant control is refused."""
    z = _ranks(z) if method == "spearman" else z
    zc = z - z.mean(dim=1, keepdim=True)
    flat = torch.linalg.vector_norm(zc, dim=1) <= _RELATIVE_ZERO * z.abs().amax(dim=1).clamp_min(1e-300)
    if bool(flat.any()):
        bad = [n for n, f in zip(names, flat.tolist()) if f]
        raise ConfigError(f"the control RDM(s) {bad} are constant: there is no structure to partial out",
                          "use a control that varies over the stimuli (a category control needs at least 2 categories)", field="control")
    u, s, _ = torch.linalg.svd(zc.T, full_matrices=False)
    return u[:, s > _RELATIVE_ZERO * s.max()]  # collinear controls count once


def _residual_units(v: torch.Tensor, basis: torch.Tensor, method: str, *, warn: bool = True) -> torch.Tensor:
    """Rows of ``v`` (ranks for Spearman) residualised on ``[1, controls]``, scaled to unit norm; a row the controls explain
    entirely (or a constant one) becomes 0, with a warning."""
    v = _ranks(v) if method == "spearman" else v
    vc = v - v.mean(dim=1, keepdim=True)
    scale = torch.linalg.vector_norm(vc, dim=1)
    r = vc - (vc @ basis) @ basis.T
    norm = torch.linalg.vector_norm(r, dim=1)
    none = norm <= _RELATIVE_ZERO * scale
    if bool(none.any()):
        if warn:
            warnings.warn(f"{int(none.sum())} RDM(s) are explained entirely by the control (or constant): partial correlation undefined, "
                          "reported as 0", RuntimeWarning, stacklevel=4)
        norm = torch.where(none, torch.ones_like(norm), norm)
        r = torch.where(none[:, None], torch.zeros_like(r), r)
    return r / norm[:, None]


def _bootstrap(teacher: xr.DataArray, candidate: xr.DataArray, control_rdm: xr.DataArray, method: str, paired: bool, n_bootstrap: int,
               seed: int, level: float = 0.95) -> dict:
    """Percentile intervals of S_i and TG beyond the control over bootstrap samples of the stimuli."""
    candidate = _aligned(teacher, candidate, "candidate RDMs")
    control = _aligned(teacher, _stack(control_rdm, "control"), "control RDM")
    endpoints = [str(e) for e in teacher[STACK].values]
    if paired:
        control = control.sel({STACK: endpoints})
    ta, tb, tc = (torch.as_tensor(np.asarray(r.transpose(STACK, ROW, COL).values), dtype=torch.float64) for r in (teacher, candidate, control))
    n = ta.shape[-1]
    s_values = []
    for i, j in stimulus_resamples(n, n_bootstrap, seed):
        y, x, z = ta[:, i, j], tb[:, i, j], tc[:, i, j]
        try:
            bases = [_control_basis(z[e:e + 1], method, names=[endpoints[e]]) for e in range(len(endpoints))] if paired else \
                [_control_basis(z, method, names=[str(c) for c in control[STACK].values])]
        except ConfigError:  # a sample whose control is constant (e.g. the stimuli of one category) has no partial correlation
            s_values.append(np.full(len(endpoints), np.nan))
            continue
        rx = [_residual_units(x, b, method, warn=False) for b in bases]  # candidates beyond each basis
        sim = torch.stack([rx[e if paired else 0] @ _residual_units(y[e:e + 1], bases[e if paired else 0], method, warn=False)[0]
                           for e in range(len(endpoints))], dim=1)  # (layers, endpoints)
        s_values.append(sim.max(dim=0).values.numpy())
    s_arr = np.asarray(s_values)
    defined = defined_samples(s_arr, f"no bootstrap sample of the {n} stimuli leaves a control that varies", "use more stimuli",
                              "have a constant control")
    return {**percentile_intervals(s_arr[defined], endpoints, level), "n_bootstrap": n_bootstrap}
