"""What a network costs: trainable parameters (published convention) and FLOPs / multiply-adds of one forward
pass (``torch.utils.flop_counter``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from neurosage.core.errors import ConfigError
from neurosage.core.once import warn_once
from neurosage.core.validate import check_arguments, is_whole_number

log = logging.getLogger(__name__)

__all__ = ["count_parameters", "count_flops"]


def _module(model: object, function: str) -> nn.Module:
    """``model`` if it is a torch module, else one error saying how to get one."""
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{function} takes a torch network, got {type(model).__name__} {str(model)[:60]!r}",
                          "build it first: kept_network(RUN_DIR, trial) for a search's trial, build_network(genotype) for a genotype, "
                          "build_model(name) for a named model", field="model")
    return model



def count_parameters(model: nn.Module, *, include_aux: bool = False) -> int:
    """Trainable parameters, excluding the auxiliary head unless asked (published convention)."""
    model = _module(model, "count_parameters")
    check_arguments(count_parameters, locals())
    return sum(
        p.numel() for n, p in model.named_parameters() if p.requires_grad and (include_aux or not n.startswith("aux."))
    )


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> dict[str, int]:
    """FLOPs of one forward pass of one image (``torch.utils.flop_counter``).

    Returns ``{"flops": ..., "macs": ...}``; ``macs`` (multiply-adds) = flops / 2,
    the unit NASNet/PNAS papers report. Pooling, BN and additions are not counted.
    """
    model = _module(model, "count_flops")
    check_arguments(count_flops, locals())
    shape = tuple(input_shape) if isinstance(input_shape, Sequence) and not isinstance(input_shape, str) else ()
    if len(shape) != 3 or not all(is_whole_number(n) and n >= 1 for n in shape):
        raise ConfigError(f"input_shape is one image's (channels, height, width), got {input_shape!r}",
                          "give three positive sizes, e.g. (1, 28, 28) for a grey 28-pixel image (no batch axis)", field="input_shape")
    skeleton: Any = getattr(model, "skeleton", None)
    if hasattr(skeleton, "final_side"):  # a cell network laid out for larger images: its last cells would see padding
        n_stem = sum(1 for name in getattr(model, "names", []) if str(name).startswith("stem_cell"))
        last = skeleton.final_side(min(shape[1:]), n_stem)
        if last < 2:
            warn_once(log, ("flops of padding", skeleton.name, shape, n_stem), "count_flops: skeleton %r reduces %d-pixel images to %d "
                      "pixel(s) before its last stack, so its last cells compute on padding (a search refuses this network for these "
                      "images; the cifar skeleton suits small images)", skeleton.name, min(shape[1:]), last)
    param = next(model.parameters())
    x = torch.zeros(1, *shape, device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
    flops = int(counter.get_total_flops())
    return {"flops": flops, "macs": flops // 2}
