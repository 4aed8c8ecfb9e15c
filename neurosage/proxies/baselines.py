"""The trivial baselines, as proxies: the parameter count and the FLOPs (``neurosage.nets.measure``).

"A Deeper Look at Zero-Cost Proxies for Lightweight NAS" (ICLR 2022 blog track) and NAS-Bench-Suite-Zero
(Krishnakumar et al. 2022) find them competitive with several zero-cost proxies, so every proxy is reported beside them.
"""

from __future__ import annotations

import torch
from torch import nn

from neurosage.core.validate import check_arguments
from neurosage.nets.measure import count_flops, count_parameters
from neurosage.proxies.common import check_batch, check_seed, working_copy

__all__ = ["params", "flops"]


def params(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: str | torch.device | None = None) -> float:
    """The number of trainable parameters, the auxiliary head aside (:func:`~neurosage.nets.measure.count_parameters`).

    The batch is checked like every proxy's but not used; ``seed`` and ``device`` do not matter.

    References
    ----------
    A. Krishnakumar, C. White, A. Zela, R. Tu, M. Safari, F. Hutter. NAS-Bench-Suite-Zero: Accelerating Research on
    Zero Cost Proxies. NeurIPS 2022 Datasets and Benchmarks.
    """
    check_arguments(params, locals())
    check_batch(model, images, labels)
    check_seed(seed)
    return float(count_parameters(model))


def flops(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: str | torch.device | None = None) -> float:
    """FLOPs of one forward pass of one image of the batch's shape (:func:`~neurosage.nets.measure.count_flops`,
    ``torch.utils.flop_counter``: convolutions and matrix products; pooling, BN and additions are not counted).

    Counted on a copy in evaluation mode on ``device`` (default the model's); the labels are checked, not used.

    References
    ----------
    A. Krishnakumar, C. White, A. Zela, R. Tu, M. Safari, F. Hutter. NAS-Bench-Suite-Zero: Accelerating Research on
    Zero Cost Proxies. NeurIPS 2022 Datasets and Benchmarks.
    """
    check_arguments(flops, locals())
    with working_copy(model, images, labels, seed=seed, device=device, train=False) as (net, x, _):
        if not any(True for _ in net.parameters()):
            return 0.0
        return float(count_flops(net, tuple(x.shape[1:]))["flops"])
