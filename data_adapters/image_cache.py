"""Memory-mapped uint8 image caches, built once from a dataset's batch files.

A cache is a folder ``<cache_dir>/<name>-<key>/`` holding ``images.u8`` (raw
``(N, C, H, W)`` uint8), ``labels.npy`` and ``meta.json`` (shape and sources).
The key hashes every source file's path, size and modification time, so a
changed source gets a new cache and a stale one is never read. The folder is
built under a temporary name and renamed into place, so a killed build leaves
no half-written cache. Opening one maps the file copy-on-write: it takes
milliseconds, and every process that opens it shares the same pages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from neurosage.core.errors import DataFormatError
from neurosage.data_adapters.imageset import open_uint8_memmap

__all__ = ["default_cache_dir", "open_or_build", "cache_key"]

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$NEUROSAGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/neurosage``, else ``~/.cache/neurosage``."""
    if os.environ.get("NEUROSAGE_CACHE_DIR"):
        return Path(os.environ["NEUROSAGE_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "neurosage"


def cache_key(sources: Sequence[Path], extra: object = None) -> str:
    """Hash of the sources' resolved paths, sizes and modification times (and ``extra``)."""
    stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in sources]
    return hashlib.sha256(json.dumps([stats, extra], default=str).encode()).hexdigest()[:16]


def open_or_build(
    name: str,
    sources: Sequence[Path],
    read_batches: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]],
    cache_dir: str | os.PathLike,
    extra: object = None,
) -> tuple[torch.Tensor, np.ndarray, Path]:
    """The cached ``(images, labels, images file)`` for ``sources``, building the cache first if needed.

    ``read_batches`` yields validated ``(uint8 (n, C, H, W), int64 labels (n,))`` pairs, one source
    at a time, so a build holds one batch in memory, never the whole set.
    """
    folder = Path(cache_dir) / f"{name}-{cache_key(sources, extra)}"
    if not (folder / "meta.json").exists():
        _build(folder, sources, read_batches)
    meta = json.loads((folder / "meta.json").read_text())
    images_file = folder / "images.u8"
    if images_file.stat().st_size != int(np.prod(meta["shape"])):
        raise DataFormatError(f"cache holds {images_file.stat().st_size} bytes, meta.json promises shape {meta['shape']}",
                              f"delete {folder} and load again to rebuild it", file=images_file, field=None)
    return open_uint8_memmap(images_file, meta["shape"]), np.load(folder / "labels.npy"), images_file


def _build(folder: Path, sources: Sequence[Path], read_batches: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as exc:
        raise DataFormatError(f"cannot create the image cache here ({exc.strerror})",
                              "set NEUROSAGE_CACHE_DIR to a writable folder with room for the images, or load with cache=False", file=folder.parent,
                              field=None) from None
    log.info("building image cache %s from %d file(s) (once; later loads map it)", folder, len(sources))
    try:
        labels, shape = [], None
        with (tmp / "images.u8").open("wb") as fh:  # a full disk raises here, and the partial build is removed
            for images, batch_labels in read_batches():
                if shape is not None and images.shape[1:] != shape[1:]:
                    raise DataFormatError(f"batch of shape {images.shape[1:]} after batches of {shape[1:]}", "use files of one release", file=folder,
                                          field="data")
                shape = (0 if shape is None else shape[0]) + images.shape[0], *images.shape[1:]
                fh.write(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
                labels.append(np.asarray(batch_labels, dtype=np.int64))
        if shape is None:
            raise DataFormatError("there are no images to cache (no source file gave a batch)", "give at least one source file", file=folder,
                                  field="data")
        np.save(tmp / "labels.npy", np.concatenate(labels))
        (tmp / "meta.json").write_text(json.dumps({"shape": list(shape), "sources": [str(p) for p in sources]}, indent=1))
        try:
            os.replace(tmp, folder)
        except OSError:  # another process built it first
            if not (folder / "meta.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
