"""Training, evaluation and activation extraction for candidate networks.

Training runs for a number of steps, a fraction of an epoch (the paper's
premature 1/5 epoch) or whole epochs, with SGD + momentum, a cosine / step /
constant schedule and optional label smoothing. On CUDA it can use AMP and
channels_last. On CPU a seed makes it bit-reproducible: the seed fixes the data
order (a ``torch.Generator``) and every random op inside a forked RNG state, so
the caller's global RNG is untouched. A NaN/inf loss stops training and is
reported in the result, never raised.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import xarray as xr
from torch import nn
from torch.utils.data import DataLoader, Dataset

from neurosage.assembly import make_assembly
from neurosage.candidate import TrainConfig
from neurosage.errors import ConfigError

__all__ = ["TrainConfig", "TrainResult", "train", "evaluate", "extract_activations", "resolve_steps"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What happened during training."""

    steps: int
    examples: int
    final_loss: float
    wall_time: float
    status: Literal["ok", "diverged"] = "ok"
    error: str | None = None
    losses: list[float] = field(default_factory=list)


def resolve_steps(config: TrainConfig, n_examples: int) -> int:
    """Number of SGD steps for the configured budget (at least 1)."""
    if (config.steps is None) == (config.epochs is None):
        raise ConfigError("set exactly one of TrainConfig.steps or TrainConfig.epochs", "give steps=N or epochs=x, not both or neither", field="steps")
    if config.steps is not None:
        return max(1, int(config.steps))
    return max(1, math.ceil(config.epochs * n_examples / config.batch_size))


def _lr_lambda(config: TrainConfig, total: int):
    if config.schedule == "cosine":
        return lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total))
    if config.schedule == "step":
        marks = [int(m * total) for m in config.step_milestones]
        return lambda s: config.step_gamma ** sum(s >= m for m in marks)
    if config.schedule == "constant":
        return lambda s: 1.0
    raise ConfigError(f"unknown schedule {config.schedule!r}", "use cosine, step or constant", field="schedule")


def _device(device: str | torch.device | None) -> torch.device:
    return torch.device(device) if device is not None else torch.device("cpu")


def _loader(dataset: Dataset, batch_size: int, *, shuffle: bool, seed: int, num_workers: int = 0) -> DataLoader:
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=num_workers, drop_last=False
    )


def _cycle(loader: DataLoader) -> Iterable:
    while True:
        yield from loader


def train(
    model: nn.Module,
    dataset: Dataset,
    config: TrainConfig,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train ``model`` in place on ``dataset`` (items: ``(image, label)``).

    Returns a :class:`TrainResult`; a non-finite loss ends training with
    ``status="diverged"`` and the step at which it happened.
    """
    dev = _device(device)
    total = resolve_steps(config, len(dataset))
    cuda = dev.type == "cuda"
    use_amp = config.amp and cuda
    memory_format = torch.channels_last if (config.channels_last and cuda) else torch.contiguous_format
    model.to(dev, memory_format=memory_format).train()
    if hasattr(model, "set_drop_path"):
        model.set_drop_path(config.drop_path)
    opt = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        nesterov=config.nesterov and config.momentum > 0,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(config, total))
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    amp_dtype = torch.bfloat16 if (cuda and torch.cuda.is_bf16_supported()) else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    batches = _cycle(_loader(dataset, config.batch_size, shuffle=True, seed=seed, num_workers=config.num_workers))
    losses: list[float] = []
    examples = 0
    t0 = time.perf_counter()
    bar = _progress(total, progress, "train")
    with torch.random.fork_rng(devices=[dev] if cuda else []):
        torch.manual_seed(seed)
        for step in range(total):
            images, labels = next(batches)
            images = images.to(dev, non_blocking=True, memory_format=memory_format)
            labels = labels.to(dev, non_blocking=True)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=use_amp):
                if hasattr(model, "forward_with_aux"):
                    logits, aux = model.forward_with_aux(images)
                else:
                    logits, aux = model(images), None
                loss = criterion(logits, labels)
                if aux is not None:
                    loss = loss + config.aux_weight * criterion(aux, labels)
            value = float(loss.detach())
            if not math.isfinite(value):
                bar.close()
                msg = f"loss became {value} at step {step + 1}/{total} (lr {sched.get_last_lr()[0]:.3g})"
                log.warning("training diverged: %s", msg)
                return TrainResult(step, examples, value, time.perf_counter() - t0, "diverged", msg, losses)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.grad_clip:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            losses.append(value)
            examples += int(labels.shape[0])
            bar.update(1)
            bar.set_postfix(loss=f"{value:.3f}", refresh=False)
    bar.close()
    return TrainResult(total, examples, losses[-1], time.perf_counter() - t0, "ok", None, losses)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    topk: tuple[int, ...] = (1, 5),
) -> dict[str, float]:
    """Top-k accuracies (``top1``, ``top5``) and mean loss on ``dataset``."""
    dev = _device(device)
    model.to(dev).eval()
    correct = dict.fromkeys(topk, 0)
    n, loss_sum = 0, 0.0
    for images, labels in _loader(dataset, batch_size, shuffle=False, seed=0):
        images, labels = images.to(dev), labels.to(dev)
        logits = model(images).float()
        loss_sum += float(nn.functional.cross_entropy(logits, labels, reduction="sum"))
        k_max = min(max(topk), logits.shape[1])
        pred = logits.topk(k_max, dim=1).indices
        hits = pred == labels[:, None]
        for k in topk:
            correct[k] += int(hits[:, : min(k, k_max)].any(dim=1).sum())
        n += int(labels.shape[0])
    if n == 0:
        raise ConfigError("cannot evaluate on an empty dataset", "check the split sizes (n-val, n-stimuli)", field="dataset")
    out = {f"top{k}": correct[k] / n for k in topk}
    out["loss"] = loss_sum / n
    return out


@torch.inference_mode()
def extract_activations(
    model: nn.Module,
    images: Dataset | torch.Tensor,
    endpoints: Iterable[str],
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    max_features: int | None = None,
    seed: int = 0,
    stimulus_ids: Sequence[str] | None = None,
) -> xr.DataArray:
    """Activations of the named endpoints as one ``presentation x neuroid`` assembly.

    Each neuroid is a unit of one endpoint: ``region`` is the endpoint (layer) name,
    ``neuroid_id`` is ``"<layer>/<unit>"`` and ``unit_index`` the unit's index in the
    flattened layer output. Presentations are labelled by ``stimulus_id``: the image
    set's ``stimulus_ids``, else ``stimulus_ids``, else the image's position.

    The model must offer ``extract(x, names)`` (as :class:`~neurosage.network.CellNetwork`
    does; wrap other modules with :class:`~neurosage.models.FeatureModel`).
    With ``max_features``, a layer with more features keeps a fixed random subset
    of that size (chosen once per layer from ``seed``), so memory stays bounded.
    Dataset items may be ``(image, label)`` pairs or images.
    """
    dev = _device(device)
    model.to(dev).eval()
    names = list(endpoints)
    rng = np.random.default_rng(seed)
    subsets: dict[str, torch.Tensor] = {}
    chunks: dict[str, list[np.ndarray]] = {n: [] for n in names}
    if isinstance(images, torch.Tensor):
        batches: Iterable = (images[i : i + batch_size] for i in range(0, len(images), batch_size))
    else:
        batches = (b[0] if isinstance(b, (list, tuple)) else b for b in _loader(images, batch_size, shuffle=False, seed=0))
    for x in batches:
        feats: Mapping[str, torch.Tensor] = model.extract(x.to(dev), names)
        for name in names:
            flat = feats[name].flatten(1)
            if name not in subsets:
                n_feat = flat.shape[1]
                keep = max_features is not None and n_feat > max_features
                subsets[name] = torch.as_tensor(np.sort(rng.choice(n_feat, max_features, replace=False)) if keep else np.arange(n_feat))
                if keep:
                    flat = flat.index_select(1, subsets[name].to(dev))
            elif len(subsets[name]) < flat.shape[1]:
                flat = flat.index_select(1, subsets[name].to(dev))
            chunks[name].append(flat.float().cpu().numpy())
    values = {n: np.concatenate(c, axis=0) for n, c in chunks.items()}
    n_images = next(iter(values.values())).shape[0] if values else 0
    ids = getattr(images, "stimulus_ids", None)
    ids = stimulus_ids if ids is None else ids
    ids = np.arange(n_images).astype(str) if ids is None else np.asarray(ids)
    return make_assembly(
        np.concatenate([values[n] for n in names], axis=1),
        stimulus_id=ids,
        region=np.concatenate([np.full(len(subsets[n]), n, dtype=object) for n in names]).astype(str),
        neuroid_id=[f"{n}/{u}" for n in names for u in subsets[n].tolist()],
        neuroid_coords={"unit_index": np.concatenate([subsets[n].numpy() for n in names])},
        name="activations",
    )


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False)
