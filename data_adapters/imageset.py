"""An image dataset with uint8 storage, index views, explicit transforms and batched conversion.

Images stay uint8 ``(N, C, H, W)`` wherever they live: in memory, in a memory-mapped
cache file (:func:`~neurosage.data_adapters.images.load_imagenet64`), or on the
training device. Subsets are index views of the same storage (no copy), so a
1.28M-image training set split into train/validation/stimuli exists once.
:meth:`ImageSet.batch` gathers, moves and converts a whole batch at once, which
is what the training loop uses; ``ImageSet[i]`` converts one image the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from neurosage.core.devices import check_device
from neurosage.core.errors import ConfigError, DataFormatError
from neurosage.core.validate import check_arguments

__all__ = ["ImageSet", "open_uint8_memmap", "shares_a_split"]


def open_uint8_memmap(path: str | Path, shape: Sequence[int]) -> torch.Tensor:
    """A uint8 tensor over a raw file, memory-mapped copy-on-write (pages shared between processes)."""
    array = np.memmap(path, dtype=np.uint8, mode="c", shape=tuple(int(s) for s in shape))
    return torch.from_numpy(array)


def shares_a_split(identical: np.ndarray) -> bool:
    """The split rule on pixels: more than 1% (and more than one) of a set identical to another set's images means the two
    share images (a file copied over another); fewer are the exact duplicates some datasets hold."""
    return int(np.sum(identical)) > max(1, 0.01 * len(identical))


class ImageSet(Dataset):
    """Images stored as uint8 ``(N, C, H, W)``; items are ``(float image, label)``.

    The conversion applied to every image is explicit: scale to [0, 1], convert
    channels (``channels=1`` averages RGB, ``channels=3`` repeats grey), resize
    to ``size`` (bilinear, antialiased), optional ``transform`` (e.g. augmentation
    on the float tensor; applied per image), then normalise with ``mean``/``std``.

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
    source
        The raw file ``images`` maps (see :func:`open_uint8_memmap`); a pickled set then
        carries the path instead of the pixels, so worker processes share one copy.
    """

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        labels: Sequence[int] | np.ndarray | torch.Tensor | None = None,
        *,
        stimulus_ids: Sequence[str] | np.ndarray | None = None,
        classes: Sequence[str] | None = None,
        size: int | None = None,
        channels: int | None = None,
        mean: Sequence[float] | float | None = None,
        std: Sequence[float] | float | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        name: str = "images",
        source: str | Path | None = None,
    ):
        check_arguments(ImageSet.__init__, locals())
        images = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.require(images, requirements=["W", "C"]))
        if images.ndim == 4 and images.shape[1] not in (1, 3) and images.shape[-1] in (1, 3):
            raise DataFormatError(f"{name}: images of shape {tuple(images.shape)} look like (N, H, W, C)", "transpose them to (N, C, H, W): "
                                  "x.transpose(0, 3, 1, 2)", file=None, field="images")
        if images.dtype == torch.uint8 and images.ndim != 4:
            hint = "add the channel axis: x[:, None] for grey images" if images.ndim == 3 else \
                "drop the extra axis (e.g. x[..., 0] for a trailing axis of 1)" if images.ndim == 5 and 1 in images.shape[1:] else \
                "give one (C, H, W) image per row"
            raise DataFormatError(f"{name}: images must be (N, C, H, W), got shape {tuple(images.shape)}", hint, file=None, field="images")
        if images.dtype != torch.uint8 or images.ndim != 4:
            floating = images.numel() and images.is_floating_point()
            top, low = (float(images.max()), float(images.min())) if floating else (None, None)
            convert = (f"rescale them to 0..255: their values span {low:g}..{top:g}, beyond 8 bits, e.g. "
                       "((x - x.min()) / (x.max() - x.min()) * 255).round().astype(np.uint8)"
                       if top is not None and low is not None and (top > 255 or low < 0) else
                       "convert with np.round(x).astype(np.uint8) (the values already span 0..255)" if top is not None and top > 1.0 else
                       "convert with (x * 255).round().astype(np.uint8) (the values span 0..1)" if top is not None else
                       "convert with x.astype(np.uint8)")
            axis = " and add a channel axis (x[:, None] for grey images)" if images.ndim == 3 else ""
            raise DataFormatError(f"{name}: images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}",
                                  f"{convert}{axis}", file=None, field="images")
        n = images.shape[0]
        raw = None if labels is None or isinstance(labels, torch.Tensor) else np.asarray(labels)
        whole = raw is not None and raw.dtype.kind == "f" and bool(np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)))
        if raw is not None and not (raw.dtype.kind in "biu" or whole):
            raise DataFormatError(f"{name}: labels must be integer class indices, got {raw.dtype} (e.g. {raw.ravel()[:2].tolist()})",
                                  "map class names to 0..n_classes-1 and pass the names as classes=", file=None, field="labels")
        labels_t = torch.full((n,), -1, dtype=torch.long) if labels is None else torch.as_tensor(np.asarray(labels), dtype=torch.long)
        if labels_t.shape != (n,):
            raise DataFormatError(f"{name}: {labels_t.shape[0]} labels for {n} images", "give one label per image", file=None, field="labels")
        if n and int(labels_t.min()) < -1:
            raise DataFormatError(f"{name}: labels go down to {int(labels_t.min())}; a label is a class index 0..n_classes-1, or -1 for an "
                                  "unlabelled image", "map class names to 0..n_classes-1 (leave labels out for unlabelled stimuli)",
                                  file=None, field="labels")
        if classes is not None and n and int(labels_t.max()) >= len(classes):
            raise DataFormatError(f"{name}: labels span {int(labels_t.min())}..{int(labels_t.max())} but there are {len(classes)} classes",
                                  "give one class name per label value (labels 0..n_classes-1; -1 for unlabelled images)", file=None, field="labels")
        self._storage, self._labels = images, labels_t.to(images.device)
        self._index: torch.Tensor | None = None
        self._source = None if source is None else str(source)
        self.name = name
        self.stimulus_ids = stimulus_ids
        self.classes = list(classes) if classes is not None else None
        self._set_conversion(size=size, channels=channels, mean=mean, std=std, transform=transform)

    def _set_conversion(self, *, size, channels, mean, std, transform) -> None:
        side = "a whole number of pixels (the image side), at least 1, e.g. 32"
        for field, value, allowed in (("size", size, side), ("channels", channels, "1 (grey) or 3 (RGB)")):
            valid = value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1)
            if not valid or (field == "channels" and value not in (None, 1, 3)):
                raise DataFormatError(f"{self.name}: {field} must be {allowed}, got {value!r}",
                                      f"set {field} to {allowed} (or None to keep the stored one)", file=None, field=field)
        if transform is not None and not callable(transform):
            raise DataFormatError(f"{self.name}: transform must be callable, got {type(transform).__name__}",
                                  "pass a function of a float image tensor, or None", file=None, field="transform")
        if (mean is None) != (std is None):  # one alone used to fail at the first image (mean) or be ignored (std)
            given, missing = ("mean", "std") if std is None else ("std", "mean")
            raise DataFormatError(f"{self.name}: {given} was given without {missing}; images are normalised as (x - mean) / std",
                                  f"give {missing} too (e.g. mean=0.5, std=0.25), or neither", file=None, field=missing)
        self.size, self.channels, self.transform = size, channels, transform
        out_c = channels or self._storage.shape[1]
        self._mean, self._std = self._per_channel("mean", mean, out_c), self._per_channel("std", std, out_c)

    def _per_channel(self, field: str, value: Any, out_c: int) -> torch.Tensor | None:
        """``mean``/``std`` as a ``(C, 1, 1)`` tensor: one finite value, or one per output channel (std > 0)."""
        if value is None:
            return None
        try:
            values = torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=torch.float32).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"{self.name}: {field} {value!r} is not a number or a list of numbers ({exc})",
                                  f"give {field} as one number or {out_c} numbers", file=None, field=field) from None
        if values.numel() not in (1, out_c):
            raise DataFormatError(f"{self.name}: {values.numel()} {field} values for {out_c} channel(s)",
                                  f"give {field} as one number or {out_c} numbers", file=None, field=field)
        if not torch.isfinite(values).all() or (field == "std" and (values <= 0).any()):
            raise DataFormatError(f"{self.name}: {field} must be finite{' and positive' if field == 'std' else ''}, got {value!r}",
                                  f"use the training images' per-channel {field} (e.g. 0.5)", file=None, field=field)
        if (values.abs() > 1.5).any():  # pixels are scaled to 0..1 before (x - mean) / std: 128 is in 0..255 units
            scaled = [round(float(v) / 255, 4) for v in values]
            raise DataFormatError(f"{self.name}: {field} {value!r} is in 0..255 units, and the images are scaled to 0..1 before "
                                  "(x - mean) / std", f"give {field}={scaled[0] if len(scaled) == 1 else scaled} (the value / 255)",
                                  file=None, field=field)
        return values.reshape(-1, 1, 1).expand(out_c, 1, 1)

    # ------------------------------------------------------------------ size, ids, storage

    def __len__(self) -> int:
        return int(self._index.shape[0]) if self._index is not None else int(self._storage.shape[0])

    @property
    def stimulus_ids(self) -> np.ndarray | None:
        """One id (a str) per image, or None; ids pair images with recordings and RDM conditions."""
        return self._stimulus_ids

    @stimulus_ids.setter
    def stimulus_ids(self, ids: Sequence[str] | np.ndarray | None) -> None:
        if ids is not None and len(ids) != len(self):
            raise DataFormatError(f"{getattr(self, 'name', 'images')}: {len(ids)} stimulus ids for {len(self)} images", "give one id per image",
                                  file=None, field="stimulus_ids")
        if ids is not None:
            unique, counts = np.unique(np.asarray(ids).astype(str), return_counts=True)
            repeated = unique[counts > 1]
            if len(repeated):  # ids pair images with recordings and RDM conditions: one image per id
                raise DataFormatError(f"{getattr(self, 'name', 'images')}: {len(repeated)} stimulus id(s) are repeated (e.g. "
                                      f"{repeated[:3].tolist()}); each image needs its own id", "give every image a distinct id "
                                      "(e.g. its file name); images of one category share a label, not an id", file=None, field="stimulus_ids")
        self._stimulus_ids = None if ids is None else np.asarray(ids).astype(str)

    @property
    def images(self) -> torch.Tensor:
        """This set's uint8 images ``(N, C, H, W)`` (a copy when the set is an index view)."""
        return self._storage if self._index is None else self._storage[self._index]

    @property
    def labels(self) -> torch.Tensor:
        """This set's labels (``-1`` where unknown)."""
        return self._labels if self._index is None else self._labels[self._index]

    @property
    def stored_shape(self) -> tuple[int, int, int]:
        """Shape ``(C, H, W)`` of the stored uint8 images (before conversion)."""
        c, h, w = (int(d) for d in self._storage.shape[1:])  # the storage is (N, C, H, W), checked when made
        return c, h, w

    @property
    def device(self) -> torch.device:
        """Where the uint8 images live."""
        return self._storage.device

    def _positions(self, indices: torch.Tensor) -> torch.Tensor:
        indices = indices.to(self._storage.device)
        return indices if self._index is None else self._index[indices]

    # ------------------------------------------------------------------ items and batches

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(index, slice) or not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"{self.name}: an ImageSet is indexed by one position (images[i] is one converted image and its label); "
                            f"for several images use images.subset(range(...)) (got {type(index).__name__})")
        if not -len(self) <= index < len(self):
            raise IndexError(f"{self.name}: index {index} out of range for {len(self)} images")
        pos = int(self._index[index]) if self._index is not None else index
        return self.convert(self._storage[pos]), self._labels[pos]

    def batch(
        self, indices: Sequence[int] | np.ndarray | torch.Tensor, device: str | torch.device | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Converted images and labels at ``indices`` (positions; negative ones count from the end, as in
        :meth:`subset`), gathered as uint8, moved to ``device``, converted there.

        Equal to stacking ``self[i]`` for each index (the conversion is the same); one gather,
        one transfer and one conversion per batch, without per-image Python.
        """
        check_arguments(ImageSet.batch, locals())
        pos = self._positions(self._checked_indices(indices, "batch"))
        raw, labels = self._storage.index_select(0, pos), self._labels.index_select(0, pos)
        if device is not None and not (isinstance(device, torch.device) and device == raw.device):
            check_device(device)  # used here: a device this machine lacks is refused by name
        if device is not None and torch.device(device) != raw.device:
            cuda = torch.device(device).type == "cuda"
            raw = (raw.pin_memory() if cuda and raw.device.type == "cpu" else raw).to(device, non_blocking=cuda)
            labels = labels.to(device, non_blocking=cuda)
        return self.convert(raw), labels

    def _checked_indices(self, indices: Any, method: str) -> torch.Tensor:
        """``indices`` as a 1-D long tensor of positions in ``0..len(self)-1`` (negative ones counted from the end); one
        check for :meth:`batch` and :meth:`subset`: whole numbers (not floats, which would be truncated, nor a boolean
        mask, which would be read as positions 0 and 1), one axis, within the set."""
        if isinstance(indices, torch.Tensor):
            idx, kind = indices, ("b" if indices.dtype == torch.bool else "f" if indices.is_floating_point() or indices.is_complex() else "i")
        else:
            try:
                values = np.asarray(indices)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{self.name}.{method}: indices {str(indices)[:40]!r} are not a list of positions ({exc})",
                                  "pass positions as a list or array of whole numbers, e.g. [0, 1, 2] or range(10)", field="indices") from None
            kind = "b" if values.dtype.kind == "b" else "i" if values.dtype.kind in "iu" or (values.size == 0 and values.dtype.kind == "f") else "f"
            idx = torch.as_tensor(values.astype(np.int64) if kind == "i" else np.zeros(0, np.int64))
        if kind == "b":
            raise ConfigError(f"{self.name}.{method}: indices are a boolean mask, and they are positions (True would be read as 1, "
                              "False as 0)", "pass the positions of the True values: np.flatnonzero(mask)", field="indices")
        if kind != "i":
            shown = (indices.flatten() if isinstance(indices, torch.Tensor) else np.asarray(indices).ravel())[:3].tolist()
            raise ConfigError(f"{self.name}.{method}: indices must be whole numbers (positions), got {shown} (they would be cut "
                              "to whole numbers)", "pass integer positions, e.g. np.arange(...) or a list of ints", field="indices")
        if idx.ndim != 1:
            raise ConfigError(f"{self.name}.{method}: indices must be one list of positions, got shape {tuple(idx.shape)}",
                              "pass a 1-D list or array (flatten it, or give [i] for one image)", field="indices")
        n = len(self)
        low, high = (int(idx.min()), int(idx.max())) if len(idx) else (0, -1)
        if low < -n or high >= n:
            bad = high if high >= n else low
            raise ConfigError(f"{self.name}.{method}: index {bad} is outside the set of {n} images (positions 0..{n - 1}, or -{n}..-1 "
                              "from the end)", f"pass positions below {n}" + (" (the set is empty)" if not n else ""), field="indices")
        return torch.where(idx < 0, idx + n, idx) if low < 0 else idx

    def convert(self, image: torch.Tensor) -> torch.Tensor:
        """Apply the configured conversion to one uint8 ``(C, H, W)`` image or a batch ``(B, C, H, W)``."""
        check_arguments(ImageSet.convert, locals())
        if not isinstance(image, torch.Tensor) or image.dtype != torch.uint8 or image.ndim not in (3, 4):
            got = f"{type(image).__name__}" if not isinstance(image, torch.Tensor) else f"a {image.dtype} tensor of shape {tuple(image.shape)}"
            raise ConfigError(f"{self.name}.convert takes a stored uint8 image tensor (C, H, W) or batch (B, C, H, W) with values "
                              f"0..255, got {got}" + (" (a float image would be divided by 255 a second time)"
                                                      if isinstance(image, torch.Tensor) and image.is_floating_point() else ""),
                              "for converted images use images[i] or images.batch(indices); to convert your own uint8 pixels, pass "
                              "torch.from_numpy(x) of dtype uint8", field="image")
        x = image.float().div_(255.0)
        c_axis = x.ndim - 3
        if self.channels is not None and x.shape[c_axis] != self.channels:
            if self.channels == 1:
                x = x.mean(dim=c_axis, keepdim=True)
            elif x.shape[c_axis] == 1:
                x = x.repeat_interleave(self.channels, dim=c_axis)
            else:
                raise DataFormatError(f"{self.name}: cannot convert {x.shape[c_axis]} channels to {self.channels}",
                                      "use channels=1 (grey) or 3 (RGB)", file=None, field="channels")
        if self.size is not None and tuple(x.shape[-2:]) != (self.size, self.size):
            batch = x if x.ndim == 4 else x[None]
            batch = torch.nn.functional.interpolate(batch, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
            x = batch if x.ndim == 4 else batch[0]
        if self.transform is not None:
            x = torch.stack([self.transform(item) for item in x]) if x.ndim == 4 else self.transform(x)
        if self._mean is not None and self._std is not None:  # both or neither (_set_conversion)
            x = (x - self._mean.to(x.device)) / self._std.to(x.device)
        return x

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape ``(C, H, W)`` of converted images."""
        if not len(self):
            return (0, 0, 0)
        shape = tuple(self[0][0].shape)
        if len(shape) != 3:
            raise DataFormatError(f"{self.name}: converted images have shape {shape}, not (C, H, W)", "make the transform return one (C, H, W) image",
                                  file=None, field="transform")
        c, h, w = shape
        return c, h, w

    @property
    def conversion(self) -> dict[str, Any]:
        """The conversion settings as plain data: ``channels``, ``size`` (None: as stored), per-channel ``mean`` and
        ``std`` (None: not normalised), and whether a ``transform`` runs (it cannot be recorded)."""
        return {"channels": self.channels, "size": self.size,
                "mean": None if self._mean is None else self._mean.flatten().tolist(),
                "std": None if self._std is None else self._std.flatten().tolist(), "transform": self.transform is not None}

    def stored_kind(self, sample: int = 64) -> tuple[str, int, int]:
        """``(kind, height, width)`` of the stored images before conversion: kind ``"grey"`` (one channel, or three
        equal ones in the first ``sample`` images) or ``"colour"``."""
        check_arguments(ImageSet.stored_kind, locals())
        stored = self._storage[: max(1, sample)] if len(self._storage) else self._storage
        grey = stored.shape[1] == 1 or bool((stored[:, :1] == stored[:, 1:]).all())
        return ("grey" if grey else "colour"), int(stored.shape[2]), int(stored.shape[3])

    @property
    def num_classes(self) -> int:
        return len(self.classes) if self.classes else int(self.labels.max()) + 1

    # ------------------------------------------------------------------ views and copies

    def _view(self) -> ImageSet:
        out = ImageSet.__new__(ImageSet)
        out.__dict__.update(self.__dict__)
        return out

    def subset(self, indices: Sequence[int] | np.ndarray | range) -> ImageSet:
        """The images at ``indices``, as a view of the same storage (same conversion, no copy of pixels)."""
        check_arguments(ImageSet.subset, locals())
        idx = self._checked_indices(indices, "subset")
        if self.stimulus_ids is not None and len(torch.unique(idx)) < len(idx):  # each image of a set has its own id
            repeated = int(next(i for i, c in zip(*np.unique(idx.numpy(), return_counts=True)) if c > 1))
            raise ConfigError(f"{self.name}.subset: position {repeated} is given more than once, and a set's images each have their own "
                              "stimulus id", "give each position once (e.g. np.unique(indices)); to draw images with replacement, "
                              "use images.batch(indices)", field="indices")
        out = self._view()
        out._index = self._positions(idx)
        out._stimulus_ids = None if self.stimulus_ids is None else self.stimulus_ids[idx.numpy()]
        return out

    def to(self, device: str | torch.device | None) -> ImageSet:
        """This set with its uint8 images (only its own rows) resident on ``device``; itself when already there."""
        check_arguments(ImageSet.to, locals())
        check_device(device)
        device = torch.device(device or "cpu")
        if device == self.device or (device.type == self.device.type and device.index is None):
            return self
        out = self._view()
        out._storage, out._labels, out._index, out._source = self.images.to(device), self.labels.to(device), None, None
        return out

    def with_conversion(self, **kwargs) -> ImageSet:
        """A view of the same images with other conversion settings (size, channels, mean, std, transform)."""
        check_arguments(ImageSet.with_conversion, locals())
        known = ("size", "channels", "mean", "std", "transform", "name", "classes", "stimulus_ids")
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            close = difflib.get_close_matches(unknown[0], known, n=1)
            raise ConfigError(f"{self.name}.with_conversion: unknown setting(s) {unknown}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                              f"use the settings {', '.join(known)}", field=unknown[0])
        settings: dict[str, Any] = dict(size=self.size, channels=self.channels, transform=self.transform)
        settings["mean"] = None if self._mean is None else self._mean.flatten().tolist()
        settings["std"] = None if self._std is None else self._std.flatten().tolist()
        out = self._view()
        for key in ("name", "classes", "stimulus_ids"):
            if key in kwargs:
                setattr(out, key, kwargs.pop(key))
        settings.update(kwargs)
        mean, std = settings["mean"], settings["std"]
        mean = None if mean is None else np.atleast_1d(mean).tolist()
        std = None if std is None else np.atleast_1d(std).tolist()
        if settings["channels"] is not None and mean is not None and std is not None and len(mean) not in (1, settings["channels"]):
            mean, std = float(np.mean(mean)), float(np.mean(std))
        out._set_conversion(size=settings["size"], channels=settings["channels"], mean=mean, std=std, transform=settings["transform"])
        return out

    def pixel_hashes(self, chunk: int = 4096) -> np.ndarray:
        """One 64-bit hash of each stored image's pixels (uint64, ``len(self)``): equal images hash equal, whatever
        their ids, so the split rule can compare pixels where ids cannot be trusted."""
        check_arguments(ImageSet.pixel_hashes, locals())
        weights = np.random.default_rng(0x5EED).integers(1, 2**63, size=int(np.prod(self._storage.shape[1:])), dtype=np.uint64) | np.uint64(1)
        out = np.empty(len(self), dtype=np.uint64)
        for start in range(0, len(self), chunk):
            block = self._storage[self._positions(torch.arange(start, min(start + chunk, len(self))))] if self._index is not None \
                else self._storage[start:start + chunk]
            flat = block.reshape(block.shape[0], -1).cpu().numpy().astype(np.uint64)
            with np.errstate(over="ignore"):
                out[start:start + len(flat)] = (flat * weights).sum(axis=1, dtype=np.uint64) ^ (flat.sum(axis=1, dtype=np.uint64) << np.uint64(40))
        return out

    def identical_to(self, others: ImageSet) -> np.ndarray:
        """Which of these images are pixel-identical to an image of ``others`` (bool, ``len(self)``; none when the two are
        stored at another shape, which cannot hold the same files)."""
        check_arguments(ImageSet.identical_to, locals())
        if self.stored_shape != others.stored_shape:
            return np.zeros(len(self), dtype=bool)
        return np.isin(self.pixel_hashes(), others.pixel_hashes())

    def split_holdout(self, n_holdout: int, *, seed: int = 0) -> tuple[ImageSet, ImageSet]:
        """Split off ``n_holdout`` random images (e.g. the paper's 50,000 ImageNet validation images)."""
        check_arguments(ImageSet.split_holdout, locals())
        if not 0 < n_holdout < len(self):
            raise DataFormatError(f"{self.name}: cannot hold out {n_holdout} of {len(self)} images", f"hold out between 1 and {len(self) - 1} images",
                                  file=None, field="n_val")
        perm = np.random.default_rng(seed).permutation(len(self))
        return self.subset(np.sort(perm[n_holdout:])), self.subset(np.sort(perm[:n_holdout]))

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self._source is not None:  # the file travels by name; workers map the same pages
            state["_storage"] = tuple(self._storage.shape)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("_source") is not None and isinstance(state["_storage"], tuple):
            path = Path(state["_source"])
            if not path.exists():
                raise DataFormatError("the image cache this set maps is gone", "rebuild it (load the dataset again) on a disk every worker can read",
                                      file=path, field=None)
            state["_storage"] = open_uint8_memmap(path, state["_storage"])
        self.__dict__.update(state)
