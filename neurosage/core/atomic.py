"""Atomic file writes: a file is written to a temporary sibling and renamed into place.

A reader never sees a half-written file: after a crash or a full disk the old
file (or none) is there, never a truncated one.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments

__all__ = ["atomic_path", "write_text", "write_json", "json_default", "file_in_the_way"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    The temporary name keeps ``path``'s suffix, so writers that choose a format by suffix
    (matplotlib, pandas, xarray) behave as for ``path`` itself.
    """
    check_arguments(atomic_path, locals())
    path = Path(path)
    if path.is_dir():  # os.replace would fail naming the temporary file
        raise ConfigError("this is a folder, and a file is written here (the folder is left as it is)",
                          "give a file name inside the folder, e.g. its path followed by /name.ext", file=path, field="path")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a result file gets the mode any new file would
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
        torch_full = isinstance(exc, RuntimeError) and ("No space left" in str(exc) or "failed writing file" in str(exc))
        if full or torch_full:
            raise OSError(errno.ENOSPC, "no space left on the disk", str(path)) from exc  # names the file (torch.save's own text does not)
        raise


@functools.cache
def _umask() -> int:
    """The process's umask (read once: reading it means setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns ``path``."""
    check_arguments(write_text, locals())
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def json_default(obj: Any) -> Any:
    """The JSON value of an object JSON has no type for: a dataclass its dict, numpy arrays and numbers and torch tensors their
    lists and numbers (the same setting given as an array or a list writes alike), a set its sorted list (its str follows
    the hash order, which changes between processes), anything else (a path) its str."""
    if hasattr(obj, "__dataclass_fields__") and not isinstance(obj, type):
        return asdict(obj)
    if callable(getattr(obj, "tolist", None)):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        try:
            return sorted(obj)
        except TypeError:
            return sorted(obj, key=repr)
    return str(obj)


def write_json(path: str | os.PathLike, data: Any, default: Callable[[Any], Any] = json_default) -> Path:
    """Write ``data`` as indented JSON (:func:`json_default` for other objects), atomically."""
    check_arguments(write_json, locals())
    return write_text(path, json.dumps(data, indent=2, default=default))


def file_in_the_way(path: str | os.PathLike) -> Path | None:
    """The file among ``path`` and its parents, when one of them is a file (so ``path`` cannot be made a folder), else None."""
    for candidate in (Path(path), *Path(path).parents):
        if candidate.is_file():
            return candidate
    return None
