"""Readers for published image-set formats, returning :class:`ImageSet` objects.

- Fashion-MNIST idx files (gzipped or not; Debian's ``dataset-fashion-mnist``
  installs them in ``/usr/share/datasets/fashion-mnist``),
- CIFAR-100 python pickles (``cifar-100-python/{train,test,meta}``),
- downsampled ImageNet 64x64 (``train_data_batch_1..10``, ``val_data``; pickle or npz),
- image folders (``root/class_name/*.png|jpg``),
- the stimulus images of a neural dataset (stimulus-set CSV + folder or zip).
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import pickle
import re
import tarfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from neurosage.core.errors import DataFormatError
from neurosage.data_adapters.imageset import ImageSet
from neurosage.data_adapters.stimulus_sets import read_stimulus_csv

if TYPE_CHECKING:
    import torch

__all__ = [
    "read_idx",
    "load_fashion_mnist",
    "load_cifar100",
    "load_imagenet64",
    "load_image_folder",
    "load_stimulus_images",
    "image_folder_dataset",
    "stimuli_dataset",
    "FASHION_MNIST_DEFAULT",
]

log = logging.getLogger(__name__)
FASHION_MNIST_DEFAULT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
_IDX_DTYPES: dict[int, npt.DTypeLike] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataFormatError(f"corrupt gzip data ({exc})", "download or reinstall the file", file=path, field=None) from exc
    return raw


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an idx file (MNIST format: 2 zero bytes, dtype code, ndim, big-endian sizes, data)."""
    path = Path(path)
    data = _open(path)
    if data[:2] == b"\x1f\x8b":  # what gunzip left is gzip again
        raise DataFormatError("the file is gzip-compressed twice (unpacked once, it is still gzip)", f"unpack it once more: gunzip -c {path} "
                              f"| gunzip > {path.with_name(path.name.removesuffix('.gz'))} (then remove {path})", file=path, field="data")
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataFormatError(f"not an idx file (header {data[:4].hex()})", "pass an idx file such as train-images-idx3-ubyte.gz", file=path,
                              field="magic")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError("file ends inside the header", "the file is truncated; reinstall it", file=path, field="dimensions")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataFormatError(f"header promises {shape} ({expected} bytes) but {len(data) - header} bytes follow",
                              "the file is truncated or corrupt; reinstall it", file=path, field="data")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def _find(root: Path, stem: str) -> Path:
    for candidate in (root / stem, root / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    if root.is_file():
        raise DataFormatError("the dataset is read from a folder, and this is a file", _held_instead(root, "fashion-mnist") or "", file=root,
                              field="data")
    near = _renamed(root, stem)
    if near is not None:  # the file under another name: upper case, a browser's "(1)" copy, dots for dashes
        wanted = stem + (".gz" if near.name.lower().endswith(".gz") else "")
        raise DataFormatError(f"no file {stem}[.gz] in {root}, but it holds {near.name!r}, which looks like it under another name",
                              f"rename it, and the other idx files alike, to the names the dataset's files have: mv '{near}' "
                              f"'{root / wanted}'", file=root, field=stem)
    raise DataFormatError(f"no file {stem}[.gz] in {root}", _held_instead(root, "fashion-mnist") or
                          "point --data (root=) at the folder holding the idx files", file=root, field=stem)


def _renamed(root: Path, stem: str) -> Path | None:
    """A file in ``root`` that is ``stem`` (or ``stem.gz``) under another name: other case, a download's copy number
    (``name (1).gz``, ``name(2)``), dots or underscores for dashes; None when there is none."""
    if not root.is_dir():
        return None

    def plain(name: str) -> str:
        name = re.sub(r"\s*\(\d+\)", "", name.lower())
        return re.sub(r"[._\s]", "-", name.removesuffix(".gz"))

    return next((f for f in sorted(root.iterdir()) if f.is_file() and plain(f.name) == plain(stem)), None)


_ARCHIVES = (".tar.gz", ".tgz", ".tar", ".zip")


def _extract(archive: Path, into: Path) -> str:
    """The shell command that extracts ``archive`` into the folder ``into``."""
    return f"unzip {archive} -d {into}" if archive.name.endswith(".zip") else f"mkdir -p {into} && tar xf {archive} -C {into}"


def _held_instead(root: Path, dataset: str) -> str | None:
    """A fix naming what a data folder that lacks ``dataset``'s files holds instead (an archive, another dataset's files, a
    recording's stimulus images), or None when it is none of these."""
    if root.is_file():  # --data tiny.zip, or one of the dataset's files
        if root.name.endswith(_ARCHIVES):
            folder = root.parent / root.name.split(".")[0]
            return f"{root.name} is an archive, not a folder: extract it ({_extract(root, folder)}), then give --data {folder}"
        return f"{root.name} is a file, not a folder: give the folder that holds the dataset's files (e.g. --data {root.parent})"
    if not root.is_dir():
        return None
    names = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    archives = [n for n in names if n.endswith(_ARCHIVES)]
    if archives:
        return f"extract the archive first: {_extract(root / archives[0], root)} (then give --data {root})"
    if dataset != "fashion-mnist" and any("idx" in n for n in names):
        return "this folder holds Fashion-MNIST's idx files: use --dataset fashion-mnist"
    images = [n for n in names if Path(n).suffix.lower() in _IMAGE_SUFFIXES]
    tables = sorted((n for n in names if n.lower().endswith(".csv")), key=lambda n: "stim" not in n.lower())  # the stimulus table first
    if images and tables:
        return (f"this folder holds stimulus images and {tables[0]} (a recording's stimuli?): --data is the training dataset; give stimuli "
                f"to the teacher with --stimuli {root / tables[0]} --images {root} (neurosage rdm), or --teacher-images {root} (search)")
    if dataset != "image-folder" and any((root / n).is_dir() and any(Path(f).suffix.lower() in _IMAGE_SUFFIXES for f in os.listdir(root / n))
                                         for n in names):
        return "this folder holds class sub-folders of images: use --dataset image-folder"
    return None


def load_fashion_mnist(split: str = "train", root: str | os.PathLike | None = None, **conversion) -> ImageSet:
    """Fashion-MNIST from idx files (default: ``$NEUROSAGE_FASHION_MNIST`` or Debian's path)."""
    default: str | Path = os.environ.get("NEUROSAGE_FASHION_MNIST", FASHION_MNIST_DEFAULT)
    root = Path(root or default)
    if not root.exists():
        raise DataFormatError("Fashion-MNIST folder not found" + ("" if root.is_absolute() else f" (looked for {root.absolute()}: a relative "
                              "path, on the command line or in a TOML file, is read from the folder neurosage runs in)"),
                              "install it with 'sudo apt-get install dataset-fashion-mnist', or give the folder with the idx files "
                              "(--data FOLDER; root= in Python)", file=root,
                              field=None)
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise DataFormatError(f"Fashion-MNIST has no split {split!r}", "use 'train' or 'test'", file=None, field="split")
    images_path = _find(root, f"{prefix}-images-idx3-ubyte")
    images = read_idx(images_path)
    if images.ndim != 3 or images.dtype != np.uint8 or images.shape[1:] != (28, 28):
        raise DataFormatError(f"images are {images.dtype.name} of shape {images.shape}, expected uint8 (N, 28, 28)",
                              "use Fashion-MNIST's own idx3 image file", file=images_path, field="images")
    labels_path = _find(root, f"{prefix}-labels-idx1-ubyte")
    labels = read_idx(labels_path)
    if labels.shape != (images.shape[0],):
        raise DataFormatError(f"{labels.shape} labels for images {images.shape}", "use matching image and label files", file=labels_path,
                              field="labels")
    if labels.size and (labels.min() < 0 or labels.max() >= len(FASHION_MNIST_CLASSES)):
        raise DataFormatError(f"labels span {labels.min()}..{labels.max()}; Fashion-MNIST's are 0..{len(FASHION_MNIST_CLASSES) - 1}",
                              "use Fashion-MNIST's own idx1 label file (or the dataset-fashion-mnist package)", file=labels_path, field="labels")
    return ImageSet(images[:, None], labels.astype(np.int64), classes=FASHION_MNIST_CLASSES, name=f"fashion-mnist/{split}", **conversion)


def _unpickle(path: Path, required: Sequence[str]) -> dict:
    try:
        with path.open("rb") as fh:
            obj = pickle.load(fh, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise DataFormatError(f"cannot unpickle ({exc})", "the file is truncated or not a pickle; re-extract it", file=path, field=None) from exc
    if not isinstance(obj, dict):
        raise DataFormatError(f"expected a pickled dict, got {type(obj).__name__}", "use the python-format release", file=path, field=None)
    obj = {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}
    for key in required:
        if key not in obj:
            raise DataFormatError(f"missing key (keys: {sorted(obj)})", "use the original python-format release", file=path, field=key)
    return obj


def _chw_rows(path: Path, data: np.ndarray, side: int) -> np.ndarray:
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] != 3 * side * side or data.dtype != np.uint8:
        raise DataFormatError(f"expected uint8 (N, {3 * side * side}), got {data.dtype} {data.shape}", "use the original release", file=path,
                              field="data")
    return data.reshape(-1, 3, side, side)


def _require_files(root: Path, names: Sequence[str], dataset: str, release: str) -> None:
    """Refuse a ``root`` that lacks one of a dataset's files, saying what it holds instead (an archive to extract, another
    dataset's files)."""
    missing = [n for n in names if not (root / n).is_file()]
    if not missing:
        return
    held = sorted(p.name for p in root.iterdir())[:6] if root.is_dir() else []
    archives = [n for n in held if n.endswith((".tar.gz", ".tgz", ".tar", ".zip"))]
    if not root.is_dir():
        fix = f"give the folder of {dataset}'s files (--data FOLDER; root= in Python)"
    elif archives:
        fix = f"extract the archive first: tar xzf {root / archives[0]} -C {root} (then give --data {root})"
    else:
        instead = _held_instead(root, dataset)
        fix = f"{instead}, or give the folder of {release}" if instead else f"give the folder of {release}"
    raise DataFormatError(f"no {missing[0]!r} file for {dataset} here (the folder holds "
                          f"{held if held else 'nothing'})", fix, file=root, field=missing[0])


def load_cifar100(split: str = "train", root: str | os.PathLike = ".", *, label: str = "fine", **conversion) -> ImageSet:
    """CIFAR-100, python pickle format (``root`` holds ``train``, ``test``, ``meta``)."""
    root = Path(root)
    if (root / "cifar-100-python").is_dir():
        root = root / "cifar-100-python"
    release = "the extracted cifar-100-python release (train, test, meta)"
    _require_files(root, [split], "CIFAR-100", release)
    key = f"{label}_labels"
    batch = _unpickle(root / split, ["data", key])
    _require_files(root, ["meta"], "CIFAR-100", release)
    meta = _unpickle(root / "meta", [f"{label}_label_names"])
    images = _chw_rows(root / split, batch["data"], 32)
    labels = np.asarray(batch[key], dtype=np.int64)
    if labels.shape != (images.shape[0],):
        raise DataFormatError(f"{labels.shape[0]} labels for {images.shape[0]} images", "use the original release", file=root / split, field=key)
    names = list(meta[f"{label}_label_names"])
    if labels.size and (labels.min() < 0 or labels.max() >= len(names)):  # the pickles pair by position: name both files
        raise DataFormatError(f"{key} span {labels.min()}..{labels.max()}, and {root / 'meta'} names {len(names)} {label} classes "
                              f"(CIFAR-100's {label} labels are 0..{99 if label == 'fine' else 19})",
                              "use the train, test and meta files of one original python-format release (cifar-100-python.tar.gz)",
                              file=root / split, field=key)
    return ImageSet(images, labels, classes=names, name=f"cifar100/{split}", **conversion)


def load_imagenet64(
    split: str = "train",
    root: str | os.PathLike = ".",
    *,
    batches: Sequence[int] = tuple(range(1, 11)),
    remap: Mapping[int, int] | Callable[[np.ndarray], np.ndarray] | None = None,
    cache: str | os.PathLike | bool = True,
    **conversion,
) -> ImageSet:
    """Downsampled ImageNet 64x64 (Chrabaszcz et al. 2017), pickle or npz batches.

    Labels in the files are 1..1000 (``map_clsloc.txt`` order) and become 0-based.
    ``remap`` maps the 0-based labels to other classes (dict or vectorised function);
    images whose label maps to a negative value are left out (an index view, no copy).

    ``cache``: True (default) reads the batches once into a memory-mapped uint8 cache in
    :func:`~neurosage.data_adapters.image_cache.default_cache_dir` (a folder to use another
    place; False to hold the pixels in memory instead). Later loads open the cache in
    milliseconds, and worker processes that receive the set map the same file instead of
    each holding a copy (the full training set is 15.7 GB).
    """
    root = Path(root)
    if split not in ("train", "val"):
        raise DataFormatError(f"Imagenet64 has no split {split!r}", "use 'train' or 'val'", file=None, field="split")
    names = [f"train_data_batch_{i}" for i in batches] if split == "train" else ["val_data"]
    sources = [_imagenet64_path(root, name) for name in names]

    def read_batches():
        for path in sources:
            obj = _imagenet64_read(path)
            x = _chw_rows(path, obj["data"], 64)
            y = np.asarray(obj["labels"], dtype=np.int64)
            if y.shape != (x.shape[0],):
                raise DataFormatError(f"{y.shape[0]} labels for {x.shape[0]} images", "re-extract the file", file=path, field="labels")
            if y.min() < 1 or y.max() > 1000:
                raise DataFormatError(f"labels span {y.min()}..{y.max()}, expected 1..1000", "use the original release", file=path, field="labels")
            yield x, y - 1

    source = None
    x: np.ndarray | torch.Tensor  # in memory, or mapped from the cache
    if cache is False:
        parts = list(read_batches())
        x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    else:
        from neurosage.data_adapters.image_cache import default_cache_dir, open_or_build

        cache_dir = default_cache_dir() if cache is True else Path(cache)
        x, y, source = open_or_build(f"imagenet64-{split}", sources, read_batches, cache_dir)
    keep = None
    if remap is not None:
        y = np.vectorize(remap.get, otypes=[np.int64])(y, -1) if isinstance(remap, Mapping) else np.asarray(remap(y), dtype=np.int64)
        keep = np.flatnonzero(y >= 0)
        y = np.where(y >= 0, y, -1)
    images = ImageSet(x, y, name=f"imagenet64/{split}", source=source, **conversion)
    return images if keep is None or len(keep) == len(y) else images.subset(keep)


def _imagenet64_path(root: Path, name: str) -> Path:
    for path in (root / name, root / f"{name}.npz", root / f"{name}.pickle", root / f"{name}.pkl"):
        if path.exists():
            return path
    raise DataFormatError(f"no {name}[.npz] in {root}", "point root= at the extracted Imagenet64 folder", file=root, field=name)


def _imagenet64_read(path: Path) -> dict:
    if path.suffix != ".npz":
        return _unpickle(path, ["data", "labels"])
    try:
        with np.load(path, allow_pickle=False) as npz:
            obj = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataFormatError(f"cannot read npz ({exc})", "the file is truncated; re-extract it", file=path, field=None) from exc
    for key in ("data", "labels"):
        if key not in obj:
            raise DataFormatError(f"missing array (arrays: {sorted(obj)})", "use the Imagenet64 npz release", file=path, field=key)
    return obj


_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
#: Image formats an image folder does not read: a class folder holding them is refused, never read in part.
_UNREAD_IMAGE_SUFFIXES = {".gif", ".webp", ".ppm", ".pgm", ".pbm", ".jp2", ".heic", ".heif", ".svg", ".ico", ".avif", ".npy"}


#: Pillow modes holding more than 8 bits per pixel, and the largest value of their range.
_WIDE_MODES = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535}


def _eight_bit(img, source: str):
    """An 8-bit image: 16-bit greyscale (Pillow modes ``I;16*`` and ``I``, e.g. a 16-bit PNG) scaled by 255/65535
    (Pillow's own ``convert`` clips such images to white); float and other wide modes are refused by name."""
    from PIL import Image

    if img.mode == "F" or (img.mode not in _WIDE_MODES and img.mode.startswith(("I", "F"))):
        raise DataFormatError(f"image mode {img.mode!r} ({'32-bit float' if img.mode == 'F' else 'wide integer'} pixels) has no defined 0-255 scale",
                              "save the stimuli as 8- or 16-bit PNG/JPEG", file=source, field="mode")
    if img.mode not in _WIDE_MODES:
        return img
    values = np.asarray(img, dtype=np.float64)
    if values.min() < 0 or values.max() > _WIDE_MODES[img.mode]:
        raise DataFormatError(f"{img.mode} pixel values span {values.min():g}..{values.max():g}, outside 0..65535",
                              "save the stimuli as 8- or 16-bit PNG/JPEG", file=source, field="mode")
    return Image.fromarray(np.rint(values * (255 / 65535)).astype(np.uint8), mode="L")


def _decode(data: bytes, source: str, storage_size: int | None, grey: bool, sizes: set[tuple[int, int]] | None = None) -> np.ndarray:
    """One image file as uint8 ``(C, H, W)``, resized to ``storage_size``; its own ``(height, width)`` is added to ``sizes``."""
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        img.load()
        img = _eight_bit(img, source).convert("L" if grey else "RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise DataFormatError(f"cannot decode image ({exc})", "replace the file with a valid image", file=source, field=None) from exc
    if sizes is not None:
        sizes.add((img.size[1], img.size[0]))
    if storage_size is not None and img.size != (storage_size, storage_size):
        img = img.resize((storage_size, storage_size), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


#: The first bytes of the image files an image folder reads, and their format (to name images saved without an extension).
_IMAGE_MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8\xff\xe0": "JPEG", b"\xff\xd8\xff\xe1": "JPEG", b"\xff\xd8\xff\xdb": "JPEG",
                b"\xff\xd8\xff\xee": "JPEG"}


def load_image_folder(root: str | os.PathLike, *, storage_size: int = 64, grey: bool = False, **conversion) -> ImageSet:
    """Images in ``root/<class>/<file>``; classes are the sorted folder names."""
    root = Path(root)
    if root.is_file():
        raise DataFormatError(f"image-folder reads a folder, and {root.name} is a file" + (" (a zip archive)" if zipfile.is_zipfile(root) else ""),
                              f"extract it first (e.g. unzip {root} -d {root.with_suffix('')}), then give that folder (the one holding "
                              "one sub-folder per class)", file=root, field="data")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    classes = [name for name in folders if not name.startswith(".") and name != "__MACOSX"]  # .git, a macOS zip's metadata: no class
    if len(classes) < len(folders):
        log.info("%s: folders %s are not classes (hidden, or a macOS zip's metadata)", root, sorted(set(folders) - set(classes)))
    if not classes:
        raise DataFormatError("no class folders found", _held_instead(root, "image-folder") or "arrange images as root/<class_name>/<image "
                              "file>", file=root, field=None)
    images, labels = [], []
    for label, cls in enumerate(classes):
        found = 0
        unread = sorted(f.name for f in (root / cls).iterdir() if f.suffix.lower() in _UNREAD_IMAGE_SUFFIXES)
        if unread:
            kinds = ", ".join(sorted({Path(name).suffix.lower() for name in unread}))
            raise DataFormatError(f"class folder {cls!r} holds {len(unread)} image file(s) in a format image folders do not read ({kinds}, "
                                  f"e.g. {unread[0]}); they would be left out", f"convert them to PNG (e.g. with Pillow: "
                                  f"Image.open(f).save(f.with_suffix('.png'))) and remove the {kinds} files, or move them out of {root / cls}",
                                  file=root / cls, field=None)
        for f in sorted((root / cls).iterdir()):
            if f.suffix.lower() in _IMAGE_SUFFIXES:
                images.append(_decode(f.read_bytes(), str(f), storage_size, grey))
                labels.append(label)
                found += 1
        if not found:  # an empty class would count as a class: the network's outputs and chance would be wrong
            nested = [p.name for p in (root / cls).iterdir() if p.is_dir()]
            if len(nested) >= 2 and len(classes) == 1:  # one wrapping folder: the classes are one level down
                fix = f"the classes seem to be one level down: give {root / cls} as the folder (--data {root / cls})"
            elif nested:  # this class keeps its images in a sub-folder; the others do not
                fix = f"move the images of {root / cls / nested[0]} up into {root / cls} (each class folder holds its images directly)"
            elif unnamed := [f for f in sorted((root / cls).iterdir()) if f.is_file() and f.read_bytes()[:4] in _IMAGE_MAGIC]:
                kind = _IMAGE_MAGIC[unnamed[0].read_bytes()[:4]]
                fix = (f"its {len(unnamed)} image file(s) have no image extension (e.g. {unnamed[0].name}, a {kind}): name them with "
                       f"theirs (e.g. {unnamed[0].name}.{kind.lower()})")
            else:
                fix = f"add its images, or move the folder out of {root}"
            if any("idx" in p.name for p in root.iterdir()):  # a Fashion-MNIST folder given as an image folder
                fix = f"{root} holds Fashion-MNIST's idx files: use --dataset fashion-mnist with it (image-folder reads class sub-folders)"
            raise DataFormatError(f"class folder {cls!r} holds no images ({', '.join(sorted(_IMAGE_SUFFIXES))})", fix, file=root / cls, field=None)
    return ImageSet(np.stack(images), labels, classes=classes, name=f"folder:{root.name}", **conversion)


def load_stimulus_images(
    stimulus_csv: str | os.PathLike,
    images: str | os.PathLike,
    *,
    stimulus_ids: Sequence[str] | None = None,
    file_column: str | None = None,
    storage_size: int | None = 128,
    grey: bool = False,
    **conversion,
) -> ImageSet:
    """The images a neural dataset showed, in the order of ``stimulus_ids`` (default: CSV order), labelled by the CSV's
    ``category_name`` (or ``category``) column when it has one.

    ``images`` is a folder or a zip (Brain-Score stimulus sets ship a zip whose
    member names are the CSV's ``filename``). The CSV needs ``stimulus_id`` (or
    ``image_id``) and a file column (``filename``, ``image_file_name`` or
    ``image_path``).
    """
    csv = Path(stimulus_csv)
    columns = [file_column] if file_column else ["filename", "image_file_name", "image_path"]
    table = read_stimulus_csv(csv, columns=columns)
    file_column = file_column or next((c for c in ("filename", "image_file_name", "image_path") if c in table), None)
    if file_column is None:
        raise DataFormatError("no file-name column", "add a 'filename' column naming each image file", file=csv, field="filename")
    empty = table.index[table[file_column].isna() | (table[file_column].astype(str).str.strip() == "")]
    if len(empty):  # a spreadsheet's total or note row, or a stimulus whose file was never filled in: 'nan' would be looked for
        row = int(empty[0]) + 2
        shown = ", ".join(str(v) for v in table.loc[empty[0]].tolist()[:3])
        raise DataFormatError(f"row {row} ({shown}) names no image file in the {file_column} column", "give each stimulus its file, or "
                              "delete rows that are no stimulus (a spreadsheet's Total row)", file=stimulus_csv, field=file_column)
    table = table.drop_duplicates("stimulus_id").set_index("stimulus_id")
    order = list(table.index) if stimulus_ids is None else list(stimulus_ids)
    missing = [s for s in order if s not in table.index]
    if missing:
        raise DataFormatError(f"{len(missing)} stimulus id(s) not in the stimulus set, e.g. {missing[:3]}",
                              "use the stimulus set that belongs to the recordings", file=csv, field="stimulus_id")
    source = Path(images)
    if source.is_file() and source.suffix != ".zip":  # a tar archive, a single image...: neither a folder nor a zip
        kind = "a tar archive" if tarfile.is_tarfile(source) else "a file"
        raise DataFormatError(f"the stimulus images are read from a folder or a zip, and {source.name} is {kind}",
                              f"extract it first (e.g. mkdir imgs && tar xf {source} -C imgs) and give that folder" if kind != "a file" else
                              "give the folder (or zip) that holds the stimulus images", file=source, field="images")
    named = table.loc[order, file_column].astype(str)
    shared = named[named.duplicated(keep=False)]
    if len(shared):  # two stimuli named by one file: one of them would be paired with the other's image
        first = shared.iloc[0]
        ids = [str(i) for i in shared.index[shared == first][:3]]
        raise DataFormatError(f"stimuli {ids} all name the file {first!r} in the {file_column} column; each stimulus is its own image",
                              "correct the rows so that each stimulus_id names its own image file", file=stimulus_csv, field=file_column)
    reader = _zip_reader(source) if source.suffix == ".zip" else _folder_reader(source)
    arrays: list[np.ndarray] = []
    read_from: dict[str, str] = {}  # file read -> the name that resolved to it
    sizes: set[tuple[int, int]] = set()
    for stimulus in order:
        name = str(table.at[stimulus, file_column])
        member, data = reader(name)
        if read_from.setdefault(member, name) != name:  # e.g. cars/001.png and faces/001.png against a flattened folder
            raise DataFormatError(f"{read_from[member]!r} and {name!r} both resolve to {member}", "give each image's own relative path and "
                                  "keep the stimulus folder's sub-folders", file=source, field=file_column)
        arrays.append(_decode(data, f"{source}:{name}", storage_size, grey, sizes))
    stored = np.stack(arrays)
    labels, classes = None, None
    column = next((c for c in ("category_name", "category") if c in table.columns), None)
    if column is not None and table.loc[order, column].notna().any():  # the categories a category control or a sorted RDM reads
        given = table.loc[order, column]
        present = given.notna().to_numpy()
        names = [str(v) for v in given.to_numpy()]  # not astype(str): pandas' string dtype keeps a missing cell missing
        classes = sorted({name for name, there in zip(names, present) if there})
        index = {name: k for k, name in enumerate(classes)}
        labels = np.array([index[name] if there else -1 for name, there in zip(names, present)], dtype=np.int64)  # -1: none given
    files = ", ".join(f"{h}x{w}" for h, w in sorted(sizes)[:3]) + (" ..." if len(sizes) > 3 else "")
    said = f", files {files} stored at {stored.shape[2]}x{stored.shape[3]}" if sizes != {stored.shape[2:]} else ""  # the files' own size
    return ImageSet(stored, labels, classes=classes, stimulus_ids=order, name=f"stimuli:{csv.stem}{said}", **conversion)


def _zip_reader(path: Path) -> Callable[[str], tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, FileNotFoundError) as exc:
        raise DataFormatError(f"cannot open zip ({exc})", "pass the stimulus-set zip or an extracted folder", file=path, field=None) from exc
    members = [n for n in archive.namelist() if not n.endswith("/") and not n.startswith("__MACOSX/")]
    exact = set(members)
    by_tail: dict[str, list[str]] = {}  # every trailing part of a member's path (b/c.png, c.png for a/b/c.png) -> members
    for member in members:
        parts = member.split("/")
        for i in range(1, len(parts)):
            by_tail.setdefault("/".join(parts[i:]), []).append(member)

    def read(name: str) -> tuple[str, bytes]:
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        if "/".join(parts) in exact:
            return "/".join(parts), archive.read("/".join(parts))
        # the longest trailing part of the name that members end in: a zip with a top folder (stimuli/cars/001.png for
        # cars/001.png), or an absolute path from the CSV (Brain-Score's image_path) for a member cars/001.png
        found: list[str] = []
        for i in range(len(parts)):
            tail = "/".join(parts[i:])
            found = ([tail] if tail in exact else []) + by_tail.get(tail, [])
            if found:
                break
        if len(found) != 1:
            problem = f"{name!r} is not in the zip" if not found else f"{name!r} matches {len(found)} members ({found[:3]})"
            raise DataFormatError(problem, "give each image's path inside the zip in the CSV's file column (e.g. cars/001.png), "
                                  "or use the zip that belongs to the stimulus CSV", file=path, field="filename")
        return found[0], archive.read(found[0])

    return read


def _folder_reader(root: Path) -> Callable[[str], tuple[str, bytes]]:
    def read(name: str) -> tuple[str, bytes]:
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        for i in range(len(parts)):  # the longest trailing part of the name found under root (an absolute path from the CSV too)
            candidate = root.joinpath(*parts[i:])
            if candidate.is_file():
                return str(candidate), candidate.read_bytes()
        hint = "point images= (--teacher-images) at the folder holding the stimulus files"
        if Path(root).is_dir():
            wanted = Path(name)
            names = [p.name for p in Path(root).iterdir()]
            other_case = [n for n in names if n.lower() == wanted.name.lower()]
            other_suffix = [n for n in names if Path(n).stem == wanted.stem and n != wanted.name]
            below = next((p for pattern in (f"*/{wanted.name}", f"*/*/{wanted.name}") for p in sorted(Path(root).glob(pattern))), None)
            if below is not None:  # the images sit one or two folders down
                hint = (f"{wanted.name} is in {below.parent}: give that folder as the images (neurosage rdm: --images {below.parent}; "
                        f"search: --teacher-images {below.parent}; Python: images={str(below.parent)!r})")
            elif other_case:
                hint = f"the folder has {other_case[0]!r}: the names differ in case (file names are case-sensitive); fix the CSV's filename column"
            elif other_suffix:
                hint = (f"the folder has {other_suffix[0]!r}: the stimulus CSV names another file type; fix the CSV's filename column (the "
                        "images are found; the CSV's names are not theirs)")
        raise DataFormatError(f"image {name!r} not found", hint, file=root, field="filename")

    return read




def image_folder_dataset(split: str = "train", root: str | os.PathLike = ".", **conversion) -> ImageSet:
    """Registry adapter: an image folder has one split, ``"train"`` (all its images); another split is refused (a ``"test"``
    split would be the same images as ``"train"``)."""
    if split != "train":
        raise DataFormatError(f"an image folder has one split, 'train' (all its images), and {split!r} would load the same images",
                              "load split 'train' and hold images out with images.split_holdout(n), or keep test images in a folder of "
                              "their own: load_images('image-folder', 'train', root=TEST_FOLDER)", file=None, field="split")
    return load_image_folder(root, **conversion)


def stimuli_dataset(split: str = "all", *, stimulus_csv: str | os.PathLike, images: str | os.PathLike, **kwargs) -> ImageSet:
    """Registry adapter: a stimulus set has one split; ``split`` is accepted and ignored."""
    return load_stimulus_images(stimulus_csv, images, **kwargs)
