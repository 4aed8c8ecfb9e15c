"""Evaluation of a trained network: loss and top-k accuracy on a labelled set.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from neurosage.core.errors import ConfigError
from neurosage.training.batches import _device, memory_format_for, ordered_batches

__all__ = ["evaluate"]


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    topk: tuple[int, ...] = (1, 5),
) -> dict[str, float]:
    """Top-k accuracies (``top1``, ``top5``) and mean loss on ``dataset`` (counted on the device, read once)."""
    dev = _device(device)
    memory_format = memory_format_for(model, dev)
    model.to(dev, memory_format=memory_format).eval()
    correct = torch.zeros(len(topk), dtype=torch.long, device=dev)
    loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
    n = 0
    for images, labels in ordered_batches(dataset, batch_size, device=dev):
        logits = model(images.contiguous(memory_format=memory_format)).float()
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
