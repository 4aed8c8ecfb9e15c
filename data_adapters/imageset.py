"""An in-memory image dataset with uint8 storage and explicit transforms."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from neurosage.data_adapters.errors import DataFormatError

__all__ = ["ImageSet"]


class ImageSet(Dataset):
    """Images stored as uint8 ``(N, C, H, W)``; items are ``(float image, label)``.

    The conversion applied to every item is explicit: scale to [0, 1], convert
    channels (``channels=1`` averages RGB, ``channels=3`` repeats grey), resize
    to ``size`` (bilinear, antialiased), optional ``transform`` (e.g. augmentation
    on the float tensor), then normalise with ``mean``/``std``.

    Parameters
    ----------
    images
        uint8 array or tensor ``(N, C, H, W)``.
    labels
        Integer class per image (``-1`` where unknown, e.g. stimulus images).
    stimulus_ids
        Optional id per image, to pair images with neural recordings.
    classes
        Optional class names, indexed by label.
    """

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        labels: Sequence[int] | np.ndarray | torch.Tensor | None = None,
        *,
        stimulus_ids: Sequence[str] | None = None,
        classes: Sequence[str] | None = None,
        size: int | None = None,
        channels: int | None = None,
        mean: Sequence[float] | float | None = None,
        std: Sequence[float] | float | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        name: str = "images",
    ):
        images = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.require(images, requirements=["W", "C"]))
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise DataFormatError(None, "images", f"{name}: images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}", "convert with (x * 255).astype(np.uint8) and add a channel axis")
        n = images.shape[0]
        labels_t = torch.full((n,), -1, dtype=torch.long) if labels is None else torch.as_tensor(np.asarray(labels), dtype=torch.long)
        if labels_t.shape != (n,):
            raise DataFormatError(None, "labels", f"{name}: {labels_t.shape[0]} labels for {n} images", "give one label per image")
        if classes is not None and n and (int(labels_t.max()) >= len(classes) or int(labels_t.min()) < -1):
            raise DataFormatError(
                None, "labels", f"{name}: labels span {int(labels_t.min())}..{int(labels_t.max())} but there are {len(classes)} classes",
                "give one class name per label value (labels 0..n_classes-1; -1 for unlabelled images)",
            )
        if stimulus_ids is not None and len(stimulus_ids) != n:
            raise DataFormatError(None, "stimulus_ids", f"{name}: {len(stimulus_ids)} stimulus ids for {n} images", "give one id per image")
        self.images, self.labels = images, labels_t
        self.stimulus_ids = stimulus_ids
        self.classes = list(classes) if classes is not None else None
        self.size, self.channels, self.transform, self.name = size, channels, transform, name
        out_c = channels or images.shape[1]
        self._mean = None if mean is None else torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1).expand(out_c, 1, 1)
        self._std = None if std is None else torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1).expand(out_c, 1, 1)

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def stimulus_ids(self) -> np.ndarray | None:
        """One id (a str) per image, or None; ids pair images with recordings and RDM conditions."""
        return self._stimulus_ids

    @stimulus_ids.setter
    def stimulus_ids(self, ids: Sequence[str] | np.ndarray | None) -> None:
        if ids is not None and len(ids) != len(self):
            raise DataFormatError(None, "stimulus_ids", f"{getattr(self, 'name', 'images')}: {len(ids)} stimulus ids for {len(self)} images", "give one id per image")
        self._stimulus_ids = None if ids is None else np.asarray(ids).astype(str)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.convert(self.images[index]), self.labels[index]

    def convert(self, image: torch.Tensor) -> torch.Tensor:
        """Apply the configured conversion to one uint8 ``(C, H, W)`` image (or a batch)."""
        x = image.float().div_(255.0)
        c_axis = x.ndim - 3
        if self.channels is not None and x.shape[c_axis] != self.channels:
            if self.channels == 1:
                x = x.mean(dim=c_axis, keepdim=True)
            elif x.shape[c_axis] == 1:
                x = x.repeat_interleave(self.channels, dim=c_axis)
            else:
                raise DataFormatError(None, "channels", f"{self.name}: cannot convert {x.shape[c_axis]} channels to {self.channels}", "use channels=1 (grey) or 3 (RGB)")
        if self.size is not None and tuple(x.shape[-2:]) != (self.size, self.size):
            batch = x if x.ndim == 4 else x[None]
            batch = torch.nn.functional.interpolate(batch, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
            x = batch if x.ndim == 4 else batch[0]
        if self.transform is not None:
            x = self.transform(x)
        if self._mean is not None:
            x = (x - self._mean) / self._std
        return x

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape ``(C, H, W)`` of converted images."""
        return tuple(self[0][0].shape) if len(self) else (0, 0, 0)

    @property
    def num_classes(self) -> int:
        return len(self.classes) if self.classes else int(self.labels.max()) + 1

    def subset(self, indices: Sequence[int] | np.ndarray) -> ImageSet:
        """A new set holding the images at ``indices`` (same conversion)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        out = ImageSet.__new__(ImageSet)
        out.__dict__.update(self.__dict__)
        out.images, out.labels = self.images[idx], self.labels[idx]
        out._stimulus_ids = None if self.stimulus_ids is None else self.stimulus_ids[idx.numpy()]
        return out

    def with_conversion(self, **kwargs) -> ImageSet:
        """A view of the same images with other conversion settings (size, channels, mean, std...)."""
        settings = dict(
            stimulus_ids=self.stimulus_ids,
            classes=self.classes,
            size=self.size,
            channels=self.channels,
            transform=self.transform,
            name=self.name,
        )
        settings.update(kwargs)
        mean = kwargs.get("mean", None if self._mean is None else self._mean.flatten().tolist())
        std = kwargs.get("std", None if self._std is None else self._std.flatten().tolist())
        settings.pop("mean", None), settings.pop("std", None)
        mean = None if mean is None else np.atleast_1d(mean).tolist()
        std = None if std is None else np.atleast_1d(std).tolist()
        if settings["channels"] is not None and mean is not None and len(mean) not in (1, settings["channels"]):
            mean, std = float(np.mean(mean)), float(np.mean(std))
        return ImageSet(self.images, self.labels, mean=mean, std=std, **settings)

    def split_holdout(self, n_holdout: int, *, seed: int = 0) -> tuple[ImageSet, ImageSet]:
        """Split off ``n_holdout`` random images (e.g. the paper's 50,000 ImageNet validation images)."""
        if not 0 < n_holdout < len(self):
            raise DataFormatError(None, "n_val", f"{self.name}: cannot hold out {n_holdout} of {len(self)} images", f"hold out between 1 and {len(self) - 1} images")
        perm = np.random.default_rng(seed).permutation(len(self))
        return self.subset(np.sort(perm[n_holdout:])), self.subset(np.sort(perm[:n_holdout]))
