"""Training, evaluation and activation extraction for candidate networks.

Training runs for a number of steps, a fraction of an epoch (the paper's
premature 1/5 epoch) or whole epochs, with SGD + momentum, a cosine / step /
constant schedule and optional label smoothing. On CUDA it uses AMP (bf16) and
channels_last; on CPU it uses channels_last for models that declare
``prefers_channels_last`` (cell networks: 2-2.5x faster there, see
``docs/performance.md``). On CPU a seed makes it bit-reproducible: the seed fixes
the data order (a ``torch.Generator``) and every random op inside a forked RNG
state, so the caller's global RNG is untouched.

Data comes in whole batches: an :class:`~neurosage.data_adapters.imageset.ImageSet`
gathers, moves and converts a batch at once (on the device when its images live
there), in exactly the order a shuffling ``DataLoader`` with the same generator
gives (:func:`training_batches`). A NaN/inf loss stops training and is reported in
the result, never raised; on CUDA losses are read back every ``sync_every`` steps,
not at every step.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import xarray as xr
from torch import nn
from torch.utils.data import DataLoader, Dataset, default_collate

from neurosage.assembly import make_assembly
from neurosage.candidate import TrainConfig
from neurosage.errors import ConfigError

__all__ = [
    "TrainConfig", "TrainResult", "train", "evaluate", "extract_activations", "resolve_steps",
    "training_batches", "ordered_batches", "memory_format_for",
]

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


def _fetch(dataset: Dataset, device: torch.device) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Batch fetcher: ``dataset.batch`` (one gather + conversion) when it has one, else items collated."""
    if hasattr(dataset, "batch"):
        return lambda idx: dataset.batch(idx, device)

    def collate(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = default_collate([dataset[i] for i in idx.tolist()])
        return images.to(device, non_blocking=True), labels.to(device, non_blocking=True)

    return collate


def training_batches(dataset: Dataset, batch_size: int, *, seed: int, device: str | torch.device | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled batches, epoch after epoch, in exactly the order of ``DataLoader(shuffle=True, generator=seeded)``.

    Per epoch the DataLoader draws one int64 from the generator (its iterator's base seed),
    then ``RandomSampler`` draws the permutation and, at the end of the epoch, one more
    (for ``num_samples % n``); the same draws are made here, so both paths give the same batches.
    """
    gen = torch.Generator().manual_seed(seed)
    fetch, n = _fetch(dataset, _device(device)), len(dataset)
    while True:
        torch.empty((), dtype=torch.int64).random_(generator=gen)
        perm = torch.randperm(n, generator=gen)
        torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            yield fetch(perm[start : start + batch_size])


def ordered_batches(dataset: Dataset, batch_size: int, *, device: str | torch.device | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The dataset in order, one batch at a time (evaluation and activation extraction)."""
    fetch = _fetch(dataset, _device(device))
    for start in range(0, len(dataset), batch_size):
        yield fetch(torch.arange(start, min(start + batch_size, len(dataset))))


def memory_format_for(model: nn.Module, device: torch.device, channels_last: bool = True) -> torch.memory_format:
    """channels_last where it measures faster: on CUDA, and on CPU for models with ``prefers_channels_last``."""
    faster = device.type == "cuda" or bool(getattr(model, "prefers_channels_last", False))
    return torch.channels_last if (channels_last and faster) else torch.contiguous_format


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
    sync_every: int | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``dataset`` (items: ``(image, label)``).

    Returns a :class:`TrainResult`; a non-finite loss ends training with
    ``status="diverged"`` and the step at which it happened. ``sync_every``: how
    often losses are read back to check them (default: every step on CPU, where
    it costs nothing, every 32 steps on CUDA, where it stalls the device).
    """
    dev = _device(device)
    total = resolve_steps(config, len(dataset))
    cuda = dev.type == "cuda"
    sync_every = max(1, sync_every or (32 if cuda else 1))
    use_amp = config.amp and cuda
    memory_format = memory_format_for(model, dev, config.channels_last)
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
    if config.num_workers and not hasattr(dataset, "batch"):
        batches: Iterable = _cycle(_loader(dataset, config.batch_size, shuffle=True, seed=seed, num_workers=config.num_workers))
    else:
        batches = training_batches(dataset, config.batch_size, seed=seed, device=dev)
    losses: list[float] = []
    unread: list[tuple[torch.Tensor, int]] = []  # (loss on the device, batch size) of steps not yet checked
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
            unread.append((loss.detach().float(), int(labels.shape[0])))
            if len(unread) >= sync_every or step == total - 1:
                values = torch.stack([v for v, _ in unread]).tolist()
                bad = next((i for i, v in enumerate(values) if not math.isfinite(v)), len(values))
                losses.extend(values[:bad])
                examples += sum(size for _, size in unread[:bad])
                unread.clear()
                if bad < len(values):
                    bar.close()
                    at = len(losses)
                    msg = f"loss became {values[bad]} at step {at + 1}/{total} (lr {_lr_at(config, total, at):.3g})"
                    log.warning("training diverged: %s", msg)
                    return TrainResult(at, examples, values[bad], time.perf_counter() - t0, "diverged", msg, losses)
                bar.update(len(values))
                bar.set_postfix(loss=f"{values[-1]:.3f}", refresh=False)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.grad_clip:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
    bar.close()
    return TrainResult(total, examples, losses[-1], time.perf_counter() - t0, "ok", None, losses)


def _lr_at(config: TrainConfig, total: int, step: int) -> float:
    return config.lr * _lr_lambda(config, total)(step)


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


#: Chooses the units of a layer to keep: ``(layer name, number of units) -> sorted unit indices`` (None: all).
FeatureSelector = Callable[[str, int], "np.ndarray | None"]


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
    select: FeatureSelector | None = None,
) -> xr.DataArray:
    """Activations of the named endpoints as one ``presentation x neuroid`` assembly.

    Each neuroid is a unit of one endpoint: ``region`` is the endpoint (layer) name,
    ``neuroid_id`` is ``"<layer>/<unit>"`` and ``unit_index`` the unit's index in the
    flattened layer output. Presentations are labelled by ``stimulus_id``: the image
    set's ``stimulus_ids``, else ``stimulus_ids``, else the image's position.

    The model must offer ``extract(x, names)`` (as :class:`~neurosage.network.CellNetwork`
    does; wrap other modules with :class:`~neurosage.models.FeatureModel`).
    Only the kept units of a layer are ever copied off the device: ``select`` chooses them
    (called once per layer with its unit count), or, with ``max_features``, a layer with
    more units keeps a fixed random subset of that size (chosen once per layer from ``seed``).
    Dataset items may be ``(image, label)`` pairs or images.
    """
    dev = _device(device)
    memory_format = memory_format_for(model, dev)
    model.to(dev, memory_format=memory_format).eval()
    names = list(endpoints)
    if select is None:
        rng = np.random.default_rng(seed)

        def select(name: str, n_units: int) -> np.ndarray | None:
            keep = max_features is not None and n_units > max_features
            return np.sort(rng.choice(n_units, max_features, replace=False)) if keep else None

    subsets: dict[str, torch.Tensor | None] = {}
    units: dict[str, np.ndarray] = {}
    chunks: dict[str, list[np.ndarray]] = {n: [] for n in names}
    if isinstance(images, torch.Tensor):
        batches: Iterable = (images[i : i + batch_size] for i in range(0, len(images), batch_size))
    elif hasattr(images, "batch"):
        batches = (x for x, _ in ordered_batches(images, batch_size, device=dev))
    else:
        batches = (b[0] if isinstance(b, (list, tuple)) else b for b in _loader(images, batch_size, shuffle=False, seed=0))
    for x in batches:
        feats: Mapping[str, torch.Tensor] = model.extract(x.to(dev).contiguous(memory_format=memory_format), names)
        for name in names:
            flat = feats[name].flatten(1)
            if name not in units:
                chosen = select(name, flat.shape[1])
                units[name] = np.arange(flat.shape[1]) if chosen is None else np.asarray(chosen, dtype=np.int64)
                subsets[name] = None if chosen is None else torch.as_tensor(units[name], device=dev)
            if subsets[name] is not None:
                flat = flat.index_select(1, subsets[name])
            chunks[name].append(flat.float().cpu().numpy())
    values = {n: np.concatenate(c, axis=0) for n, c in chunks.items()}
    n_images = next(iter(values.values())).shape[0] if values else 0
    ids = getattr(images, "stimulus_ids", None)
    ids = stimulus_ids if ids is None else ids
    ids = np.arange(n_images).astype(str) if ids is None else np.asarray(ids)
    return make_assembly(
        np.concatenate([values[n] for n in names], axis=1),
        stimulus_id=ids,
        region=np.concatenate([np.full(len(units[n]), n, dtype=object) for n in names]).astype(str),
        neuroid_id=[f"{n}/{u}" for n in names for u in units[n].tolist()],
        neuroid_coords={"unit_index": np.concatenate([units[n] for n in names])},
        name="activations",
    )


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False)
