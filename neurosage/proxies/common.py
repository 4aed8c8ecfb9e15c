"""What every proxy shares: the checks of a batch, a seeded working copy of the model (so the model measured is
never touched), the layers a score sums over, and the check of the result.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator

import torch
from torch import nn

from neurosage.core.errors import ConfigError
from neurosage.core.validate import is_whole_number
from neurosage.training.devices import check_device

__all__ = [
    "MEASURED_LAYERS", "check_batch", "check_seed", "resolve_device", "working_copy", "measured_weights", "check_logits", "check_output",
    "finite_score",
]

#: The layers whose weights a per-weight score sums over: convolutions and fully connected layers, as the
#: reference code of Abdelfattah et al. 2021 (``foresight/pruners/p_utils.py``: ``nn.Conv2d`` and ``nn.Linear``).
MEASURED_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def check_batch(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, min_images: int = 1) -> None:
    """Refuse a model that is not a module, and a batch that a proxy cannot score, naming the argument and the fix.

    ``images`` must be a floating tensor ``(N, ...)`` with ``N >= min_images`` finite entries; ``labels`` an integer
    tensor of ``N`` class indices.
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"model is a {type(model).__name__}, not a torch.nn.Module", "pass the network itself (e.g. neurosage.nets.build_network(...))",
            field="model",
        )
    if not isinstance(images, torch.Tensor):
        raise ConfigError(
            f"images is a {type(images).__name__}, not a torch.Tensor", "pass one batch as a tensor (N, channels, height, width)", field="images",
        )
    if images.dim() < 2:
        raise ConfigError(
            f"images has shape {tuple(images.shape)}, not a batch (N, ...)",
            "pass one batch with the images along the first axis, e.g. (N, 3, 32, 32)", field="images",
        )
    if images.shape[0] < max(min_images, 1):
        what = "is empty" if images.shape[0] == 0 else f"holds {images.shape[0]} image(s)"
        raise ConfigError(
            f"the batch {what}; this proxy needs at least {max(min_images, 1)}", "pass a larger batch (the papers use 64-128 images)", field="images",
        )
    if not images.is_floating_point():
        raise ConfigError(f"images has dtype {images.dtype}", "convert the images to floats, preprocessed as for training", field="images")
    if not bool(torch.isfinite(images).all()):
        raise ConfigError("images holds inf or NaN values", "check the image loading and normalisation", field="images")
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1 or labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        got = f"shape {tuple(labels.shape)}, dtype {labels.dtype}" if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ConfigError(
            f"labels must be a 1-D integer tensor of class indices, got {got}", "pass the batch's class indices, e.g. torch.tensor([3, 0, ...])",
            field="labels",
        )
    if labels.shape[0] != images.shape[0]:
        single = images.dim() == 3 and labels.shape[0] == 1
        raise ConfigError(f"{labels.shape[0]} labels for {images.shape[0]} images" + (" (images looks like one image without its batch axis)"
                          if single else ""), "add the batch axis: images[None]" if single else "pass one label per image", field="labels")
    first = next((m for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d))), None)
    if first is not None and images.dim() >= 2 and images.shape[1] != first.in_channels:
        hint = " (channels last? pass images.permute(0, 3, 1, 2))" if images.dim() == 4 and images.shape[-1] == first.in_channels else ""
        raise ConfigError(f"images have {images.shape[1]} channels (shape {tuple(images.shape)}) but the model's first convolution takes "
                          f"{first.in_channels}{hint}", "pass images as the model was built for: (N, channels, height, width)", field="images")


def check_seed(seed: object) -> None:
    """Refuse a seed that is not a non-negative integer."""
    if not is_whole_number(seed) or seed < 0:
        raise ConfigError(
            f"seed must be a non-negative integer, got {seed!r}", "pass seed=0 (or the seed the network was initialised with)", field="seed",
        )


def resolve_device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    """The device given (refused if this machine lacks it), else the device of the model's first parameter or buffer."""
    if device is not None:
        check_device(str(device))
        return torch.device(device)
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's CPU generator (and the device's CUDA generator) for the block; restore them afterwards."""
    cuda = device.type == "cuda"
    index = (device.index if device.index is not None else torch.cuda.current_device()) if cuda else None
    with torch.random.fork_rng(devices=[index] if cuda else []):
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


@contextlib.contextmanager
def working_copy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: str | torch.device | None,
    train: bool = True, min_images: int = 1,
) -> Iterator[tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    """Check the batch, then yield a copy of the model on ``device`` (in training mode unless ``train=False``, every
    parameter requiring gradients, none held), the images in the copy's dtype and the labels as ``long``, with torch's
    generators seeded by ``seed`` (restored afterwards: no global random state is consumed).

    A proxy measures the copy, as the reference code measures ``copy.deepcopy(net)``: the model given keeps its
    weights, buffers (BatchNorm statistics), gradients, ``requires_grad`` flags and mode.
    """
    check_batch(model, images, labels, min_images=min_images)
    check_seed(seed)
    dev = resolve_device(model, device)
    net = copy.deepcopy(model).to(dev)
    net.train(train)
    for p in net.parameters():
        p.grad = None
        if p.is_floating_point():
            p.requires_grad_(True)
    dtype = next((p.dtype for p in net.parameters() if p.is_floating_point()), images.dtype)
    with _seeded(seed, dev):
        yield net, images.detach().to(dev, dtype), labels.detach().to(dev, torch.long)


def measured_weights(model: nn.Module) -> list[torch.Tensor]:
    """The weights of the model's convolutions and linear layers (:data:`MEASURED_LAYERS`), in module order; a model
    without any is refused."""
    weights: list[torch.Tensor] = [m.weight for m in model.modules() if isinstance(m, MEASURED_LAYERS)]
    if not weights:
        raise ConfigError("the model has no convolution or linear layer to score", "score a network of nn.Conv*/nn.Linear layers", field="model")
    return weights


def check_output(output: object, n: int) -> torch.Tensor:
    """The model's output, refused unless it is a tensor with one row per image."""
    if not isinstance(output, torch.Tensor) or output.dim() < 1 or output.shape[0] != n:
        got = f"shape {tuple(output.shape)}" if isinstance(output, torch.Tensor) else type(output).__name__
        raise ConfigError(
            f"the model returned {got} for {n} images", "score a model whose forward returns one tensor of logits (N, classes)", field="model",
        )
    return output


def check_logits(logits: object, labels: torch.Tensor) -> torch.Tensor:
    """Logits ``(N, classes)`` that the labels index, else a :class:`ConfigError` naming the fix."""
    logits = check_output(logits, labels.shape[0])
    if logits.dim() != 2:
        raise ConfigError(
            f"the model returned shape {tuple(logits.shape)}, not logits (N, classes)", "score a classifier whose forward returns (N, classes)",
            field="model",
        )
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= logits.shape[1]:
        raise ConfigError(
            f"labels range over [{lo}, {hi}] but the model has {logits.shape[1]} classes", "pass class indices in [0, classes)", field="labels",
        )
    return logits


def finite_score(name: str, value: float, *, fix: str, allow_minus_inf: bool = False) -> float:
    """``value`` as a float, refused (naming ``fix``) if it is NaN or infinite (``-inf`` allowed where the paper allows it)."""
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not (allow_minus_inf and value < 0)):
        raise ConfigError(f"{name} of this model on this batch is {value}", fix, field="model")
    return value
