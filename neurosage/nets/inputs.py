"""The input check of the networks handed to users (a kept trial, a named model): wrong input is named before torch sees it.

A forward pre-hook (:class:`InputCheck`, picklable) refuses a numpy array, a batch that is not ``(N, C, H, W)``, another
channel count than the first convolution takes, another dtype than the weights' (outside autocast) and another device,
each with the conversion that fixes it. Traced graphs (torch.fx) do not run the root's hooks, so tracing is unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from neurosage.core.errors import ConfigError

__all__ = ["InputCheck", "guard_inputs"]


class InputCheck:
    """Forward pre-hook of :func:`guard_inputs`: checks the first positional input against the network's own weights."""

    def __init__(self, name: str, channels: int | None) -> None:
        self.name, self.channels = name, channels

    def __call__(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if not args:
            return
        x = args[0]
        if type(x).__module__ == "numpy":
            raise ConfigError(f"{self.name} was given a numpy array; it takes a torch tensor", "convert it with torch.from_numpy(x).float()",
                              field="input")
        if not isinstance(x, torch.Tensor):
            return  # traced proxies and other objects are torch's to judge
        shape = tuple(x.shape)
        if x.ndim != 4:
            hint = "add the batch axis with x[None]" if x.ndim == 3 else "give a batch of shape (N, C, H, W)"
            raise ConfigError(f"{self.name} takes a batch of images (N, C, H, W), got a tensor of shape {shape}", hint, field="input")
        if self.channels is not None and shape[1] != self.channels:
            if shape[-1] == self.channels:  # (N, H, W, C): channels last, as images are stored
                raise ConfigError(f"{self.name} takes (N, C, H, W) images and was given shape {shape}, channels last (N, H, W, C)",
                                  "move the channels first: x.permute(0, 3, 1, 2)", field="input")
            convert = ("x.mean(1, keepdim=True) for RGB images (or neurosage.nets.models.model_inputs for an ImageSet)" if self.channels == 1
                       and shape[1] == 3 else f"x.expand(-1, {self.channels}, -1, -1)" if shape[1] == 1
                       else "an image set converted with neurosage.nets.models.model_inputs")
            raise ConfigError(f"{self.name} takes {self.channels}-channel images, got {shape[1]} channels (input shape {shape})",
                              f"convert the input, e.g. {convert}", field="input")
        weight = next((p for p in module.parameters()), None)
        if weight is None:
            return
        if x.device != weight.device:
            raise ConfigError(f"{self.name} is on {weight.device} and its input on {x.device}",
                              f"move one of them: x.to('{weight.device}') or model.to('{x.device}')", field="input")
        if x.dtype != weight.dtype and not torch.is_autocast_enabled(x.device.type):
            raise ConfigError(f"{self.name} has {weight.dtype} weights and was given {x.dtype} input",
                              f"convert the input with x.to({weight.dtype}) (images as floats, scaled as model_inputs does)", field="input")


def guard_inputs(model: nn.Module, name: str | None = None) -> nn.Module:
    """Register :class:`InputCheck` on ``model`` (once) with the first convolution's input channels; returns ``model``."""
    if any(isinstance(hook, InputCheck) for hook in model._forward_pre_hooks.values()):
        return model
    first_conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    model.register_forward_pre_hook(InputCheck(name or type(model).__name__, first_conv.in_channels if first_conv is not None else None))
    return model
