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
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from torch.utils.data import Dataset

from neurosage.core.errors import ConfigError
from neurosage.core.once import warn_once
from neurosage.core.validate import check_arguments
from neurosage.training.batches import (
    _cycle,
    _device,
    _loader,
    check_labels,
    memory_format_for,
    training_batches,
    training_size,
)
from neurosage.training.configs import TrainConfig

__all__ = ["TrainResult", "resolve_steps", "train"]


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
    check_arguments(resolve_steps, locals())
    if config.steps is not None and config.epochs is None:
        return max(1, int(config.steps))
    if config.epochs is not None and config.steps is None:
        if n_examples < 1:  # an epoch of no examples: "at least 1 step" would train on nothing as if it were a budget
            raise ConfigError(f"epochs = {config.epochs} of {n_examples} training examples is no training", "give a training set with "
                              "images (n-train), or steps=N", field="n_examples")
        return max(1, math.ceil(config.epochs * n_examples / config.batch_size))
    raise ConfigError("set exactly one of TrainConfig.steps or TrainConfig.epochs", "give steps=N or epochs=x, not both or neither", field="steps")


def _lr_lambda(config: TrainConfig, total: int):
    if config.schedule == "cosine":
        return lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total))
    if config.schedule == "step":
        marks = [int(m * total) for m in config.step_milestones]
        return lambda s: config.step_gamma ** sum(s >= m for m in marks)
    if config.schedule == "constant":
        return lambda s: 1.0
    raise ConfigError(f"unknown schedule {config.schedule!r}", "use cosine, step or constant", field="schedule")


def train(
    model: nn.Module,
    dataset: Dataset,
    config: TrainConfig,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
    sync_every: int | None = None,
    measure_at: Collection[int] = (),
    measure: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``dataset`` (items: ``(image, label)``).

    Returns a :class:`TrainResult`; a non-finite loss ends training with
    ``status="diverged"`` and the step at which it happened. ``sync_every``: how
    often losses are read back to check them (default: every step on CPU, where
    it costs nothing, every 32 steps on CUDA, where it stalls the device). ``measure(k)`` is called after the
    ``k``-th step for each ``k`` in ``measure_at`` (checkpoints of one run: the schedule, the optimiser state and
    the data order go on undisturbed); it runs in its own RNG state, and the model is put back in training mode after it.
    """
    check_arguments(train, locals())
    dev = _device(device)
    n = training_size(dataset)
    total = resolve_steps(config, n)
    check_labels(dataset, "training")
    if config.batch_size > n:  # legal, but not what the numbers say
        warn_once(log, ("batch", config.batch_size, n), "batch_size %d is more than the %d training images: every batch is all %d (set "
                  "batch_size to at most %d for batches of the size asked)", config.batch_size, n, n, n)
    cuda = dev.type == "cuda"
    sync_every = max(1, sync_every or (32 if cuda else 1))
    use_amp = config.amp and cuda
    memory_format = memory_format_for(model, dev, config.channels_last)
    # torch's stub takes memory_format only in an overload of its own; Module.to accepts it with a device
    model.to(dev, memory_format=memory_format).train()  # type: ignore[call-overload]
    set_drop_path = getattr(model, "set_drop_path", None)  # cell networks
    if set_drop_path is not None:
        set_drop_path(config.drop_path)
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
        loader = _loader(dataset, config.batch_size, shuffle=True, seed=seed, num_workers=config.num_workers)
        batches: Iterator[tuple[torch.Tensor, torch.Tensor]] = _cycle(loader)
    else:
        batches = training_batches(dataset, config.batch_size, seed=seed, device=dev)
    losses: list[float] = []
    unread: list[tuple[torch.Tensor, int]] = []  # (loss on the device, batch size) of steps not yet checked
    examples = 0
    t0 = time.perf_counter()
    bar = _progress(total, progress, "train")
    measure_at = set(measure_at)
    if measure_at and (measure is None or not all(isinstance(k, int) and 1 <= k <= total for k in measure_at)):
        raise ConfigError(f"measure_at must be steps 1..{total} with a measure callback, got {sorted(measure_at)}",
                          "pass measure= and steps within the training budget", field="measure_at")
    with torch.random.fork_rng(devices=[dev] if cuda else []):
        torch.manual_seed(seed)
        for step in range(total):
            images, labels = next(batches)
            images = images.to(dev, non_blocking=True, memory_format=memory_format)
            labels = labels.to(dev, non_blocking=True)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=use_amp):
                forward_with_aux = getattr(model, "forward_with_aux", None)  # cell networks with an auxiliary head
                if forward_with_aux is not None:
                    logits, aux = forward_with_aux(images)
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
            if step + 1 in measure_at and measure is not None:  # measure is set whenever measure_at is (checked above)
                with torch.random.fork_rng(devices=[dev] if cuda else []):
                    measure(step + 1)
                model.train()
    bar.close()
    return TrainResult(total, examples, losses[-1], time.perf_counter() - t0, "ok", None, losses)


def _lr_at(config: TrainConfig, total: int, step: int) -> float:
    return config.lr * _lr_lambda(config, total)(step)


def _progress(total: int, enabled: bool, desc: str):
    from neurosage.core.progress import progress_bar

    return progress_bar(total=total, desc=desc, enabled=enabled, leave=False)
