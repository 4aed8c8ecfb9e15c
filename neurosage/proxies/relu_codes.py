"""``naswot``: how distinct the ReLU activation patterns of a batch's images are (Mellor et al. 2021, ICML)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.proxies.common import check_output, finite_score, working_copy

__all__ = ["naswot", "relu_kernel", "logdet_score", "RELUS"]

#: The rectifiers whose binary codes count, matched by class. The reference code hooks every module whose type
#: name contains "ReLU", which also catches containers such as ``neurosage.nets.ops.ReLUConvBN`` and counts their
#: ReLU's codes twice (on PNASNet-5, cifar skeleton, n_cells=1, filters=8: 135168 units added to its ReLUs'
#: 473088); by class, each rectifier counts once. For each of these, ``output > 0`` exactly where ``input > 0``, so
#: an in-place one gives the same code.
RELUS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.RReLU)


def relu_kernel(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: str | torch.device | None = None) -> np.ndarray:
    """``K[i, j]`` = the number of ReLU units at which images ``i`` and ``j`` agree (both active or both inactive).

    Each call of a ReLU module (nn.ReLU and its kin, :data:`RELUS`) gives image ``i`` a binary code ``c_i`` (its input
    > 0, flattened); ``K = sum over calls of (c c^T + (1 - c)(1 - c)^T)``, i.e. the number of units minus the Hamming
    distance. One forward pass, in training mode, without gradients (as the NASWOT measure of Abdelfattah et al.'s code,
    ``nwot.py``, and NAS-Bench-Suite-Zero). Rectifiers applied as functions (``F.relu``), not modules, are not seen,
    as in the reference code. Counts are exact (float32 sums of +-1 below 2^24 units per call, totals in float64).

    Returns
    -------
    numpy.ndarray
        ``(N, N)`` float64, symmetric, ``K[i, i]`` = the number of ReLU units.
    """
    check_arguments(relu_kernel, locals())
    with working_copy(model, images, labels, seed=seed, device=device, min_images=2) as (net, x, _):
        relus = [m for m in net.modules() if isinstance(m, RELUS)]
        if not relus:
            raise ConfigError(
                "the model has no ReLU module, so NASWOT has no binary codes to compare", "score a network with nn.ReLU modules, or leave naswot out",
                field="model",
            )
        n = x.shape[0]
        kernel = torch.zeros(n, n, dtype=torch.float64, device=x.device)

        def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            active = inputs[0].detach().reshape(inputs[0].shape[0], -1) > 0
            units = active.shape[1]
            # +1 active, -1 not: signs @ signs.T = agree - disagree, a sum of units terms of +-1, exact in float32 below 2^24
            signs = active.to(torch.float32 if units < 2**24 else torch.float64) * 2 - 1
            kernel.add_(((signs @ signs.T).double() + units) / 2)  # agreements = (units + agree - disagree) / 2

        handles = [m.register_forward_hook(count) for m in relus]
        try:
            with torch.no_grad():
                check_output(net(x), n)
        finally:
            for handle in handles:
                handle.remove()
        return kernel.cpu().numpy()


def logdet_score(kernel: np.ndarray) -> float:
    """``log|det K|`` by ``numpy.linalg.slogdet``, as the reference code (``-inf`` for a singular ``K``: two images with
    the same codes everywhere, or fewer distinct codes than images)."""
    check_arguments(logdet_score, locals())
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or not kernel.size:
        raise ConfigError(f"kernel must be a square (images x images) matrix, got shape {kernel.shape}", "give relu_kernel(codes) of a "
                          "batch (one row and one column per image)", field="kernel")
    if not np.isfinite(kernel).all():  # numpy's "invalid value encountered in slogdet" and a NaN score otherwise
        raise ConfigError(f"kernel holds {int((~np.isfinite(kernel)).sum())} NaN or infinite value(s)", "give relu_kernel(...) of a batch "
                          "(its entries are counts of agreeing ReLU codes, always finite)", field="kernel")
    _, logdet = np.linalg.slogdet(kernel)
    return float(logdet)


def naswot(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: str | torch.device | None = None) -> float:
    """NASWOT: ``log|det K|`` of the ReLU agreement kernel of the batch (:func:`relu_kernel`).

    A network that gives the images of a batch distinct activation patterns at initialisation scores high. ``K`` is
    summed over every ReLU call, in training mode, from one forward pass. A singular ``K`` (two images coded alike
    by every ReLU) gives ``-inf``, the value of the paper's code (``slogdet``): such a network ranks last. Labels are
    checked, not used. The paper uses a batch of 64-128 images.

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
        The score; higher = predicted better; ``-inf`` for a singular kernel.

    References
    ----------
    J. Mellor, J. Turner, A. Storkey, E. J. Crowley. Neural Architecture Search without Training. ICML 2021.
    """
    check_arguments(naswot, locals())
    score = logdet_score(relu_kernel(model, images, labels, seed=seed, device=device))
    return finite_score("naswot", score, fix="check the model's initialisation and the images", allow_minus_inf=True)
