"""``synflow``: the synaptic flow of Tanaka et al. 2020, a data-free score, as Abdelfattah et al. 2021 compute it."""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from neurosage.core.validate import check_arguments
from neurosage.proxies.common import check_output, finite_score, measured_weights, working_copy

__all__ = ["synflow"]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def synflow(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: str | torch.device | None = None) -> float:
    """Synaptic flow: ``sum over conv/linear weights of |W * dR/dW|``, ``R = sum of the outputs`` of the network with
    every parameter replaced by its absolute value, fed one all-ones input, in float64.

    For a bias-free chain of linear layers ``R = 1^T |W_L| ... |W_1| 1`` and the score is ``L * R``. Choices, each as
    the reference code of Abdelfattah et al. (``synflow.py``: the ``synflow`` measure, ``bn=False``):

    - **BatchNorm off**: every BatchNorm layer is the identity (their ``copynet(bn=False)`` replaces its forward by a
      no-op); a BatchNorm of one all-ones image would otherwise divide by a zero batch variance.
    - **float64**: the whole network and the input are cast to double, as the product of many ``|W|`` overflows float32
      in deep networks.
    - **absolute values**: every floating parameter and buffer (their ``state_dict``) is replaced by its absolute value;
      their code restores the signs afterwards, here the measurement runs on a copy so the model is never changed.
    - **evaluation mode**: dropout and drop path are off, so the score is a deterministic function of the weights (their
      copies are in training mode, where the networks they score have no dropout: the same thing).

    The images are used only for their shape (one all-ones image of the same shape); the labels are not used.

    Parameters
    ----------
    model
        The network; measured on a float64 copy; left unchanged.
    images, labels
        One batch ``(N, ...)`` (its image shape is used) and its ``N`` class indices (checked, not used).
    seed
        Seeds torch's generators during the measurement (the score does not depend on it).
    device
        Where to compute; default the model's device.

    Returns
    -------
    float
        The score; higher = predicted better.

    References
    ----------
    H. Tanaka, D. Kunin, D. L. K. Yamins, S. Ganguli. Pruning neural networks without any data by iteratively
    conserving synaptic flow. NeurIPS 2020.
    M. S. Abdelfattah, A. Mehrotra, L. Dudziak, N. D. Lane. Zero-Cost Proxies for Lightweight NAS. ICLR 2021.
    """
    check_arguments(synflow, locals())
    with working_copy(model, images, labels, seed=seed, device=device, train=False) as (net, x, _):
        for module in net.modules():
            if isinstance(module, _BatchNorm):
                setattr(module, "forward", _identity)  # an instance attribute shadows the class's forward, on the copy only
        net.double()
        with torch.no_grad():
            for tensor in itertools.chain(net.parameters(), net.buffers()):
                if tensor.is_floating_point():
                    tensor.abs_()
        weights = measured_weights(net)  # after the cast, whatever it does to the parameter objects
        ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64, device=x.device)
        r = check_output(net(ones), 1).sum()
        grads = torch.autograd.grad(r, weights, allow_unused=True) if r.requires_grad else [None] * len(weights)
        parts = [(w.detach() * g).abs().sum() for w, g in zip(weights, grads) if g is not None]
        score = float(torch.stack(parts).sum()) if parts else 0.0
    return finite_score(
        "synflow", score,
        fix="the synaptic flow overflows even in float64: the network is too deep or its weights too large for synflow; leave synflow out for it",
    )
