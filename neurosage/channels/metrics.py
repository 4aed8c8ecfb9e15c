"""Layer metrics for channel-size search: CONetV2's QC from the weights, and a teacher's RDM similarity.

CONetV2 (``docs/reference/conetv2.md`` section 3) scores each conv weight ``W`` of shape
``(C_out, C_in, k, k)`` through its two unfoldings, mode 3 (``C_in x C_out k k``, the "input"
side) and mode 4 (``C_out x C_in k k``, the "output" side). On each unfolding, empirical
variational Bayes matrix factorisation (EVBMF, Nakajima et al. 2013) keeps ``r`` singular
values ``sigma_1 >= ... >= sigma_r`` (the VB estimates, not the raw ones); with ``C`` the
channels of that side:

- rank ``R = r / C``;
- knowledge gain ``KG = (sum_i sigma_i / sigma_1) / C``;
- mapping condition ``MC = sigma_1 / sigma_r`` (0 when nothing is retained);
- ``QC = arctan2(R, 1 - 1/MC)``, with ``1 - 1/MC`` taken as 1 when ``MC = 0`` and as 1e-4 when it is 0.

The teacher metric of a layer is the RDM similarity of its output with the teacher's endpoints
(the best endpoint), computed with the project's one model -> RDMs -> scores chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments

__all__ = ["evbmf", "LayerQuality", "quality_from_singular_values", "layer_quality", "teacher_layer_scores"]


def _tau(x: np.ndarray, alpha: float) -> np.ndarray:
    return 0.5 * (x - (1 + alpha) + np.sqrt((x - (1 + alpha)) ** 2 - 4 * alpha))


def _free_energy(sigma2: float, L: int, M: int, s: np.ndarray, residual: float, xubar: float) -> float:
    """EVBMF's objective in the noise variance (Nakajima et al. 2013), up to constants."""
    H, alpha = len(s), L / M
    x = s**2 / (M * sigma2)
    z1, z2 = x[x > xubar], x[x <= xubar]
    tau_z1 = _tau(z1, alpha)
    return float(
        np.sum(z2 - np.log(z2)) + np.sum(z1 - tau_z1) + np.sum(np.log((tau_z1 + 1) / z1))
        + alpha * np.sum(np.log(tau_z1 / alpha + 1)) + residual / (M * sigma2) + (L - H) * np.log(sigma2)
    )


def evbmf(matrix: np.ndarray, sigma2: float | None = None) -> tuple[np.ndarray, float]:
    """The singular values that EVBMF retains, as VB estimates (largest first), and the noise variance.

    ``sigma2=None`` estimates the variance by minimising the free energy over Nakajima et al.'s bounds;
    a matrix taller than wide is transposed first (its singular values are the same).
    """
    check_arguments(evbmf, locals())
    Y = np.asarray(matrix, dtype=float)
    if Y.ndim != 2 or 0 in Y.shape or not np.isfinite(Y).all():
        raise ConfigError(f"evbmf takes a finite 2-D matrix with rows and columns, got shape {Y.shape}" + ("" if np.isfinite(Y).all()
                          else " holding NaN or infinite values"), "give a layer weight's unfolding (e.g. weight.reshape(C_out, -1))",
                          field="matrix")
    if sigma2 is not None and not sigma2 > 0:
        raise ConfigError(f"sigma2 is a noise variance, above 0, got {sigma2!r}", "leave sigma2 out (None) to estimate it, or give a "
                          "positive variance", field="sigma2")
    if Y.shape[0] > Y.shape[1]:
        Y = Y.T
    L, M = Y.shape
    alpha = L / M
    tauubar = 2.5129 * math.sqrt(alpha)
    s = np.linalg.svd(Y, compute_uv=False)
    if sigma2 is None:
        xubar = (1 + tauubar) * (1 + alpha / tauubar)
        eH_ub = int(min(math.ceil(L / (1 + alpha)) - 1, L)) - 1
        upper = float(np.sum(s**2)) / (L * M)
        tail = s[eH_ub + 1:] if eH_ub + 1 < L else s[-1:]
        lower = max(float(tail[0] ** 2) / (M * xubar), float(np.mean(tail**2)) / M)
        if not 0 < lower < upper:  # a matrix of rank <= 1 or all zeros: no interval to search
            sigma2 = max(upper, np.finfo(float).tiny)
        else:
            sigma2 = float(minimize_scalar(_free_energy, args=(L, M, s, 0.0, xubar), bounds=(lower, upper), method="bounded").x)
    threshold = math.sqrt(M * sigma2 * (1 + tauubar) * (1 + alpha / tauubar))
    kept = s[s > threshold]
    shrink = 1 - (L + M) * sigma2 / kept**2
    d = kept / 2 * (shrink + np.sqrt(shrink**2 - 4 * L * M * sigma2**2 / kept**4))
    return d, float(sigma2)


@dataclass(frozen=True)
class LayerQuality:
    """One unfolding's rank R, knowledge gain KG, mapping condition MC and QC."""

    rank: float
    knowledge_gain: float
    mapping_condition: float
    qc: float


def quality_from_singular_values(d: np.ndarray, channels: int) -> LayerQuality:
    """R, KG, MC and QC from the retained singular values ``d`` of an unfolding with ``channels`` rows."""
    check_arguments(quality_from_singular_values, locals())
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 1 or not np.isfinite(d).all() or (d < 0).any() or (np.diff(d) > 0).any() or len(d) > channels or (len(d) and d[-1] == 0):
        raise ConfigError(f"d must be the retained singular values of an unfolding with {channels} rows: at most {channels} finite "
                          f"positive values in decreasing order, got {np.array2string(d.ravel()[:6], precision=3)} (shape {d.shape})",
                          "give evbmf(unfolding)[0] (the values it retains), or np.linalg.svd(unfolding, compute_uv=False) without its "
                          "zeros", field="d")
    if len(d) == 0:
        return LayerQuality(0.0, 0.0, 0.0, math.atan2(0.0, 1.0))
    rank = len(d) / channels
    kg = float(np.sum(d / d[0])) / channels
    mc = float(d[0] / d[-1])
    mc_prime = 1 - 1 / mc if mc != 0 else 1.0
    mc_prime = mc_prime if mc_prime != 0 else 1e-4
    return LayerQuality(rank, kg, mc, math.atan2(rank, mc_prime))


def layer_quality(weight: torch.Tensor) -> dict[str, LayerQuality]:
    """CONetV2's metrics of a conv weight ``(C_out, C_in, k, k)`` (or a linear ``(out, in)``): ``{"in": mode 3, "out": mode 4}``."""
    check_arguments(layer_quality, locals())
    if weight.ndim not in (2, 4):  # a BatchNorm's or a bias' 1-D weight has no input and output channels to unfold
        raise ConfigError(f"layer_quality takes a conv weight (C_out, C_in, k, k) or a linear one (out, in), got shape {tuple(weight.shape)}",
                          "give the weight of a Conv2d or Linear layer (module.weight); a BatchNorm's or a bias has no channel modes",
                          field="weight")
    w = weight.detach().to("cpu", torch.float64)
    w = w.reshape(*w.shape, 1, 1) if w.ndim == 2 else w
    c_out, c_in = w.shape[:2]
    unfold_in = w.transpose(0, 1).reshape(c_in, -1).numpy()
    unfold_out = w.reshape(c_out, -1).numpy()
    return {
        "in": quality_from_singular_values(evbmf(unfold_in)[0], c_in),
        "out": quality_from_singular_values(evbmf(unfold_out)[0], c_out),
    }


def teacher_layer_scores(model: torch.nn.Module, teacher, layers: list[str], **options) -> dict[str, float]:
    """Each layer's best RDM similarity over the teacher's endpoints (network or brain), on the teacher's stimuli.

    ``model`` must offer ``extract`` (wrap other modules in :class:`~neurosage.nets.models.FeatureModel`); ``options``
    go to :func:`~neurosage.teachers.scoring.score_model` (``compare_method``, ``rdm``, ``device``, ``seed``...).
    """
    check_arguments(teacher_layer_scores, locals())
    from neurosage.teachers.scoring import score_model

    similarity = score_model(model, teacher, layers, **options).similarity  # endpoint x layer
    return {str(layer): float(similarity.sel(layer=layer).max()) for layer in similarity.layer.values}
