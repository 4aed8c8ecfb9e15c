"""The loss-gradient proxies: ``grad_norm``, ``snip`` and ``grasp``, each a sum over the weights of the model's
convolutions and linear layers of a quantity built from the gradient of the cross-entropy on one batch.

Definitions follow Abdelfattah et al. 2021 and their reference code (SamsungLabs/zero-cost-nas,
``foresight/pruners/measures``): the network is measured in training mode (BatchNorm normalises with the batch's
statistics, as their ``get_prunable_copy`` leaves it), the loss is the mean cross-entropy of the whole batch, and
only the weights of ``Conv`` and ``Linear`` layers are summed (biases and BatchNorm parameters are not).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from neurosage.core.validate import check_arguments
from neurosage.proxies.common import check_logits, finite_score, measured_weights, working_copy

__all__ = ["grad_norm", "snip", "grasp"]

_FIX = "check the model's initialisation and the images' scale (a loss of inf or NaN gives no gradient)"


def _weight_gradients(
    net: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, create_graph: bool = False,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The measured weights and dL/dW of the mean cross-entropy on the batch (zeros for weights the loss does not reach)."""
    weights = measured_weights(net)
    loss = F.cross_entropy(check_logits(net(images), labels), labels)
    grads = torch.autograd.grad(loss, weights, allow_unused=True, create_graph=create_graph)
    return weights, [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads)]


def _total(parts: list[torch.Tensor]) -> float:
    return float(torch.stack([p.detach().double() for p in parts]).sum()) if parts else 0.0


def grad_norm(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: str | torch.device | None = None) -> float:
    """Sum over the convolutions and linear layers of the Euclidean norm of the loss gradient of their weights.

    ``grad_norm = sum_l ||dL/dW_l||_2`` with ``L`` the mean cross-entropy of the batch (one norm per layer, over all of
    its weights), as in Abdelfattah et al. 2021 (``grad_norm.py`` of their code).

    Parameters
    ----------
    model
        The network; returns logits ``(N, classes)``. Measured on a copy in training mode; left unchanged.
    images, labels
        One batch ``(N, ...)`` and its ``N`` class indices.
    seed
        Seeds torch's generators for the measurement (dropout, drop path); the global state is restored.
    device
        Where to compute (``"cpu"``, ``"cuda:0"``...); default the model's device.

    Returns
    -------
    float
        The score; higher = predicted better.

    References
    ----------
    M. S. Abdelfattah, A. Mehrotra, L. Dudziak, N. D. Lane. Zero-Cost Proxies for Lightweight NAS. ICLR 2021.
    """
    check_arguments(grad_norm, locals())
    with working_copy(model, images, labels, seed=seed, device=device) as (net, x, y):
        _, grads = _weight_gradients(net, x, y)
        score = _total([g.double().norm() for g in grads])
    return finite_score("grad_norm", score, fix=_FIX)


def snip(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: str | torch.device | None = None) -> float:
    """SNIP's connection sensitivity summed over the weights: ``sum |W * dL/dW|``.

    Lee et al. define the saliency of a weight as ``|dL/dc|`` for a multiplicative mask ``c`` at 1 (``W * c``); by the
    chain rule ``dL/dc = W * dL/dW``, which is what is computed here (Abdelfattah et al.'s code takes the mask
    gradient; the two are equal). ``L`` is the mean cross-entropy of the batch; the network is in training mode.

    Parameters
    ----------
    model
        The network; returns logits ``(N, classes)``. Measured on a copy in training mode; left unchanged.
    images, labels
        One batch ``(N, ...)`` and its ``N`` class indices.
    seed
        Seeds torch's generators for the measurement (dropout, drop path); the global state is restored.
    device
        Where to compute; default the model's device.

    Returns
    -------
    float
        The score; higher = predicted better.

    References
    ----------
    N. Lee, T. Ajanthan, P. H. S. Torr. SNIP: Single-shot Network Pruning based on Connection Sensitivity. ICLR 2019.
    M. S. Abdelfattah et al. Zero-Cost Proxies for Lightweight NAS. ICLR 2021.
    """
    check_arguments(snip, locals())
    with working_copy(model, images, labels, seed=seed, device=device) as (net, x, y):
        weights, grads = _weight_gradients(net, x, y)
        score = _total([(w.detach() * g).double().abs().sum() for w, g in zip(weights, grads)])
    return finite_score("snip", score, fix=_FIX)


def grasp(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: str | torch.device | None = None) -> float:
    """GraSP's gradient-flow score summed over the weights: ``sum -W * (H g)``, ``g = dL/dW``, ``H`` the Hessian of ``L``.

    ``H g`` is the gradient of ``g_detached . dL/dW`` (a Hessian-vector product). Wang et al. prune the weights with
    the largest ``W * Hg``; Abdelfattah et al. negate it so that higher = predicted better (their ``grasp.py``:
    temperature 1, one iteration). One forward pass serves both gradients (their code runs two identical ones; with
    dropout the masks would differ). The network is in training mode.

    Parameters
    ----------
    model
        The network; returns logits ``(N, classes)``. Measured on a copy in training mode; left unchanged.
    images, labels
        One batch ``(N, ...)`` and its ``N`` class indices.
    seed
        Seeds torch's generators for the measurement; the global state is restored.
    device
        Where to compute; default the model's device.

    Returns
    -------
    float
        The score; higher = predicted better (it may be negative).

    References
    ----------
    C. Wang, G. Zhang, R. Grosse. Picking Winning Tickets Before Training by Preserving Gradient Flow. ICLR 2020.
    M. S. Abdelfattah et al. Zero-Cost Proxies for Lightweight NAS. ICLR 2021.
    """
    check_arguments(grasp, locals())
    with working_copy(model, images, labels, seed=seed, device=device) as (net, x, y):
        weights, grads = _weight_gradients(net, x, y, create_graph=True)
        z = sum((g.detach() * g).sum() for g in grads if g.requires_grad)
        if isinstance(z, torch.Tensor) and z.requires_grad:
            hg = torch.autograd.grad(z, weights, allow_unused=True)
            score = _total([(-w.detach() * h).double().sum() for w, h in zip(weights, hg) if h is not None])
        else:  # the loss is linear in every weight: H g = 0
            score = 0.0
    return finite_score("grasp", score, fix=_FIX)
