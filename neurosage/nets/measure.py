"""What a network costs: trainable parameters (published convention) and FLOPs / multiply-adds of one forward
pass (``torch.utils.flop_counter``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["count_parameters", "count_flops"]



def count_parameters(model: nn.Module, *, include_aux: bool = False) -> int:
    """Trainable parameters, excluding the auxiliary head unless asked (published convention)."""
    return sum(
        p.numel() for n, p in model.named_parameters() if p.requires_grad and (include_aux or not n.startswith("aux."))
    )


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> dict[str, int]:
    """FLOPs of one forward pass of one image (``torch.utils.flop_counter``).

    Returns ``{"flops": ..., "macs": ...}``; ``macs`` (multiply-adds) = flops / 2,
    the unit NASNet/PNAS papers report. Pooling, BN and additions are not counted.
    """
    param = next(model.parameters())
    x = torch.zeros(1, *input_shape, device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
    flops = int(counter.get_total_flops())
    return {"flops": flops, "macs": flops // 2}
