"""Evaluation of a trained network: loss and top-k accuracy on a labelled set, and BatchNorm recalibration.

After a few dozen SGD steps the BatchNorm running statistics (momentum 0.1, started at mean 0 and
variance 1) have barely moved towards the network's real activation statistics, so a network evaluated in
eval mode is read through stale normalisation, and that, more than its weights, sets its premature accuracy
and activations. :func:`recalibrate_bn` resets the running statistics and recomputes them as a cumulative
average over a fixed, seeded set of training batches, in train mode and without gradients (the standard
"precise BN" estimate). Every premature measurement in neurosage (P, the activations behind TG, reranking,
predictability checkpoints, channel-search metrics) is taken after it (``TrainConfig.bn_recalibration``
batches; 0 turns it off).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.training.batches import (
    _device,
    check_labels,
    dataset_size,
    memory_format_for,
    ordered_batches,
    place_model,
    training_batches,
)
from neurosage.training.configs import check_bn_recalibration

__all__ = ["evaluate", "recalibrate_bn"]


#: The accuracies a search records (top-1 is P; top-5 beside it).
_DEFAULT_TOPK = (1, 5)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    topk: tuple[int, ...] = (1, 5),
) -> dict[str, float]:
    """Top-k accuracies (``top1``, ``top5``) and mean loss on ``dataset`` (counted on the device, read once). A ``topk`` asked
    for of at least the network's classes is refused; the default's top-5 of a network with at most 5 classes is 1."""
    check_arguments(evaluate, locals())
    if not topk or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in topk):
        raise ConfigError(f"topk must list whole numbers of at least 1, got {topk!r}", "give e.g. topk=(1, 5)", field="topk")
    check_labels(dataset, "evaluation")
    dev = _device(device)
    memory_format = memory_format_for(model, dev)
    place_model(model, dev, memory_format).eval()
    correct = torch.zeros(len(topk), dtype=torch.long, device=dev)
    loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
    n = 0
    for images, labels in ordered_batches(dataset, batch_size, device=dev):
        logits = model(images.contiguous(memory_format=memory_format)).float()
        if n == 0 and tuple(topk) != _DEFAULT_TOPK and max(topk) >= logits.shape[1] > 1:  # every answer is in the top k: 1 by construction
            raise ConfigError(f"topk asks for top-{max(topk)} accuracy of a network with {logits.shape[1]} classes, which is 1 whatever it "
                              "learnt", f"ask for k below {logits.shape[1]}, e.g. topk=(1,)", field="topk")
        loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum").double()
        k_max = min(max(topk), logits.shape[1])
        hits = logits.topk(k_max, dim=1).indices == labels[:, None]
        correct += torch.stack([hits[:, : min(k, k_max)].any(dim=1).sum() for k in topk])
        n += int(labels.shape[0])
    if n == 0:
        raise ConfigError("cannot evaluate on an empty dataset", "check the split sizes (n-val, n-stimuli)", field="dataset")
    counts = correct.tolist()
    out = {f"top{k}": counts[i] / n for i, k in enumerate(topk)}
    out["loss"] = float(loss_sum) / n
    return out


def recalibrate_bn(
    model: nn.Module,
    dataset: Dataset,
    *,
    n_batches: int,
    batch_size: int = 64,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> int:
    """Recompute every BatchNorm's running mean and variance from ``n_batches`` seeded training batches.

    The statistics are reset, then accumulated as an equal-weight average over the batches (``momentum=None``)
    in train mode without gradients; the model's mode and the layers' momenta are restored. The batches are the
    first ``n_batches`` of :func:`~neurosage.training.batches.training_batches` with ``seed`` (the same images
    for every candidate given the same seed). Returns the number of images used: 0 when ``n_batches`` is 0 or the
    model has no BatchNorm (nothing changes).
    """
    check_bn_recalibration(n_batches)
    check_arguments(recalibrate_bn, locals())
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    n_images = dataset_size(dataset)
    if n_batches == 0 or not norms or n_images == 0:
        return 0
    dev = _device(device)
    memory_format = memory_format_for(model, dev)
    place_model(model, dev, memory_format)
    was_training, momenta = model.training, [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches
    model.train()
    seen = 0
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(seed)  # dropout and drop-path in train mode draw from a seeded state
            for i, (images, _) in enumerate(training_batches(dataset, batch_size, seed=seed, device=dev)):
                if i >= n_batches or (i > 0 and seen >= n_images):
                    break
                model(images.contiguous(memory_format=memory_format))
                seen += int(images.shape[0])
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        model.train(was_training)
    return seen
