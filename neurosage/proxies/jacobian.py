"""``jacob_cov``: how decorrelated the input Jacobians of a batch are (Mellor et al. 2020, first version)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.proxies.common import check_output, finite_score, working_copy

__all__ = ["jacob_cov", "correlation_score"]

#: The constant ``k`` of the score (Mellor et al. 2020; Abdelfattah et al. 2021, ``jacob_cov.py``).
K = 1e-5


def correlation_score(jacobians: np.ndarray, k: float = K) -> float:
    """``-sum(log(v + k) + 1 / (v + k))`` over the eigenvalues ``v`` of the correlation matrix of the rows of ``jacobians``.

    The correlation matrix is symmetric, so its eigenvalues are taken with ``numpy.linalg.eigvalsh`` (real; the
    reference code's ``numpy.linalg.eig`` gives the same values up to rounding). The score is largest when the rows
    are uncorrelated (every ``v = 1``: ``-N (log(1 + k) + 1 / (1 + k))``).

    Parameters
    ----------
    jacobians
        ``(N, D)``: one flattened Jacobian per image, ``N >= 2``.
    k
        Keeps the logarithm and the inverse finite at ``v = 0``.
    """
    check_arguments(correlation_score, locals())
    if not k > 0:  # log(v + k) of an eigenvalue v near 0 would be NaN
        raise ConfigError(f"k must be above 0 (it keeps log(v + k) finite at an eigenvalue v = 0), got {k!r}", "leave k out (1e-5, the "
                          "reference code's)", field="k")
    j = np.asarray(jacobians, dtype=np.float64)
    if j.ndim != 2 or j.shape[0] < 2:
        raise ConfigError(
            f"jacobians has shape {j.shape}; the score needs (N >= 2, D)", "pass one flattened Jacobian per image, two images or more",
            field="jacobians",
        )
    if not np.isfinite(j).all():
        raise ConfigError("the input Jacobians hold inf or NaN values", "check the model's initialisation and the images' scale", field="model")
    constant = np.flatnonzero(np.ptp(j, axis=1) == 0)
    if constant.size:
        raise ConfigError(
            f"the input Jacobian of image(s) {constant[:5].tolist()} is constant, so its correlation with the others is undefined",
            "check that the model's output depends on its input (no dead network, no zero images)", field="model",
        )
    v = np.linalg.eigvalsh(np.corrcoef(j))
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def jacob_cov(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: str | torch.device | None = None) -> float:
    """Jacobian covariance: :func:`correlation_score` of the images' input Jacobians ``J_i = d(sum of outputs)/d x_i``.

    The Jacobian of image ``i`` is the gradient of the sum of all the batch's outputs with respect to that image
    (one backward pass of ``ones``), flattened; the network is in training mode, as in the reference code of
    Abdelfattah et al. (``jacob_cov.py``; their copy is in training mode, so BatchNorm couples the images of the
    batch). Labels are checked, not used.

    Parameters
    ----------
    model
        The network; measured on a copy in training mode; left unchanged.
    images, labels
        One batch ``(N, ...)``, ``N >= 2``, and its ``N`` class indices.
    seed
        Seeds torch's generators for the measurement (dropout, drop path); the global state is restored.
    device
        Where to compute; default the model's device.

    Returns
    -------
    float
        The score (negative; higher = predicted better).

    References
    ----------
    J. Mellor, J. Turner, A. Storkey, E. J. Crowley. Neural Architecture Search without Training.
    arXiv:2006.04647v1, 2020 (the first version; the ICML 2021 version replaced it by :func:`naswot`).
    M. S. Abdelfattah, A. Mehrotra, L. Dudziak, N. D. Lane. Zero-Cost Proxies for Lightweight NAS. ICLR 2021.
    """
    check_arguments(jacob_cov, locals())
    with working_copy(model, images, labels, seed=seed, device=device, min_images=2) as (net, x, _):
        x = x.clone().requires_grad_(True)
        y = check_output(net(x), x.shape[0])
        if not y.requires_grad:
            raise ConfigError(
                "the model's output does not depend on its input", "score a network whose output is computed from the images", field="model",
            )
        (jac,) = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y), allow_unused=True)
        if jac is None:
            raise ConfigError(
                "the model's output does not depend on its input", "score a network whose output is computed from the images", field="model",
            )
        jacobians = jac.detach().reshape(x.shape[0], -1).double().cpu().numpy()
    return finite_score("jacob_cov", correlation_score(jacobians), fix="check the model's initialisation and the images (an inf or NaN Jacobian)")
