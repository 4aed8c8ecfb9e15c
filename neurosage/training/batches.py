"""Batches on any device: seeded training order (identical to a ``DataLoader`` with a seeded generator),
ordered evaluation batches, and the memory format a model prefers.

Data comes in whole batches: an :class:`~neurosage.data_adapters.imageset.ImageSet` gathers and converts a
batch in one call on its device; any other ``Dataset`` goes through a ``DataLoader``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sized

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, default_collate

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments

__all__ = ["training_batches", "ordered_batches", "memory_format_for", "place_model", "dataset_size", "training_size", "check_labels"]


def dataset_size(dataset: Dataset) -> int:
    """``len(dataset)``; a dataset without a length (an iterable-style one) is refused with the reason."""
    if not isinstance(dataset, Sized):
        raise TypeError(f"{type(dataset).__name__} has no len(): training and evaluation need a map-style dataset (__getitem__ and __len__)")
    return len(dataset)


def training_size(dataset: Dataset) -> int:
    """``len(dataset)`` of a training set, refused when it is 0 (epochs of no batch would never end)."""
    n = dataset_size(dataset)
    if not n:
        raise ConfigError(f"the training set ({getattr(dataset, 'name', type(dataset).__name__)}) has no images", "train on a dataset "
                          "with images (an empty subset, or a split that held out everything?)", field="dataset")
    return n


def check_labels(dataset: Dataset, who: str) -> None:
    """Refuse images without a class (label -1, an unlabelled stimulus) where labels are the targets of a loss or an
    accuracy (torch's "Target -1 is out of bounds" otherwise, or an accuracy that counts them as wrong)."""
    labels = getattr(dataset, "labels", None)
    if not isinstance(labels, torch.Tensor) or not labels.numel():
        return
    unlabelled = int((labels < 0).sum())
    if unlabelled:
        raise ConfigError(f"{who}: {unlabelled} of the {labels.numel()} images of {getattr(dataset, 'name', 'the dataset')} have no class "
                          f"(label -1), and {who} needs each image's class", "give them their class labels, or leave them out: "
                          "images.subset(np.flatnonzero(images.labels >= 0))", field="labels")


def _device(device: str | torch.device | None) -> torch.device:
    from neurosage.core.devices import check_device

    check_device(device)  # a device name torch does not know, or one this machine lacks, by name
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


def training_batches(
    dataset: Dataset, batch_size: int, *, seed: int, device: str | torch.device | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled batches, epoch after epoch, in exactly the order of ``DataLoader(shuffle=True, generator=seeded)``.

    Per epoch the DataLoader draws one int64 from the generator (its iterator's base seed),
    then ``RandomSampler`` draws the permutation and, at the end of the epoch, one more
    (for ``num_samples % n``); the same draws are made here, so both paths give the same batches.
    """
    check_arguments(training_batches, locals())
    gen = torch.Generator().manual_seed(seed)
    fetch, n = _fetch(dataset, _device(device)), training_size(dataset)
    while True:
        torch.empty((), dtype=torch.int64).random_(generator=gen)
        perm = torch.randperm(n, generator=gen)
        torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            yield fetch(perm[start : start + batch_size])


def ordered_batches(dataset: Dataset, batch_size: int, *, device: str | torch.device | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The dataset in order, one batch at a time (evaluation and activation extraction)."""
    check_arguments(ordered_batches, locals())
    fetch, n = _fetch(dataset, _device(device)), dataset_size(dataset)
    for start in range(0, n, batch_size):
        yield fetch(torch.arange(start, min(start + batch_size, n)))


def memory_format_for(model: nn.Module, device: torch.device, channels_last: bool = True) -> torch.memory_format:
    """channels_last where it measures faster: on CUDA, and on CPU for models with ``prefers_channels_last``."""
    check_arguments(memory_format_for, locals())
    faster = device.type == "cuda" or bool(getattr(model, "prefers_channels_last", False))
    return torch.channels_last if (channels_last and faster) else torch.contiguous_format


def place_model(model: nn.Module, device: torch.device, memory_format: torch.memory_format) -> nn.Module:
    """``model.to(device, memory_format=...)``, never in inference mode: a parameter copied there (e.g. a 1x1 conv
    weight of one input channel, whose strides fit both layouts) would become an inference tensor that later
    training steps cannot save for backward."""
    with torch.inference_mode(False):
        # torch's stub lists memory_format only in an overload of its own; Module.to takes it with a device
        return model.to(device, memory_format=memory_format)  # type: ignore[call-overload]


def _cycle(loader: DataLoader) -> Iterator:
    while True:
        yield from loader
