"""Registry of datasets: lazy factories for neural recordings and image sets.

Built-in adapters register themselves when the registry is first queried;
third-party packages plug in through the entry-point group
``neurosage.datasets`` (each entry point is a callable run once, which calls
:func:`register_neural` / :func:`register_images`). Nothing is loaded until
:func:`load_neural` / :func:`load_images` is called.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

__all__ = [
    "DatasetEntry",
    "register_neural",
    "register_images",
    "list_datasets",
    "load_neural",
    "load_images",
    "get_entry",
    "ENTRY_POINT_GROUP",
]

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "neurosage.datasets"
_BUILTIN_MODULES = (
    "neurosage.data_adapters.majajhong2015",
    "neurosage.data_adapters.hvm_hdf5",
    "neurosage.data_adapters.generic",
    "neurosage.data_adapters.images",
)
_REGISTRY: dict[str, DatasetEntry] = {}
_loaded = {"builtins": False, "plugins": False}


@dataclass(frozen=True)
class DatasetEntry:
    """A registered dataset: a lazy factory plus what a user needs to know."""

    name: str
    kind: Literal["neural", "images"]
    factory: Callable[..., Any]
    description: str = ""
    needs: tuple[str, ...] = field(default_factory=tuple)
    citation: str = ""


def _register(kind: Literal["neural", "images"], name: str, description: str, needs: tuple[str, ...], citation: str):
    def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name].factory is not factory:
            raise ValueError(f"dataset {name!r} is already registered (by {_REGISTRY[name].factory.__module__})")
        _REGISTRY[name] = DatasetEntry(name, kind, factory, description, tuple(needs), citation)
        return factory

    return deco


def register_neural(name: str, *, description: str = "", needs: tuple[str, ...] = (), citation: str = ""):
    """Decorator: register ``factory(**kw) -> assembly`` as neural dataset ``name``."""
    return _register("neural", name, description, needs, citation)


def register_images(name: str, *, description: str = "", needs: tuple[str, ...] = (), citation: str = ""):
    """Decorator: register ``factory(split, **kw) -> ImageSet`` as image dataset ``name``."""
    return _register("images", name, description, needs, citation)


def _ensure_loaded() -> None:
    if not _loaded["builtins"]:
        _loaded["builtins"] = True
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)
    if not _loaded["plugins"]:
        _loaded["plugins"] = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                ep.load()()
            except Exception as exc:  # a broken plug-in must not break the others
                log.warning("dataset plug-in %r (%s) failed to load: %s", ep.name, ep.value, exc)


def reload_plugins() -> None:
    """Look for entry-point plug-ins again (after installing one in a running session)."""
    _loaded["plugins"] = False
    _ensure_loaded()


def list_datasets(pattern: str = "*", kind: str | None = None) -> list[DatasetEntry]:
    """Registered datasets whose name matches the glob ``pattern``."""
    _ensure_loaded()
    return [
        e for n, e in sorted(_REGISTRY.items()) if fnmatch.fnmatch(n, pattern) and (kind is None or e.kind == kind)
    ]


def get_entry(name: str, kind: str | None = None) -> DatasetEntry:
    """The entry for ``name``; unknown names raise ``KeyError`` listing close matches."""
    _ensure_loaded()
    entry = _REGISTRY.get(name)
    if entry is None or (kind is not None and entry.kind != kind):
        names = [n for n, e in _REGISTRY.items() if kind is None or e.kind == kind]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
        hint = f"; did you mean {close}?" if close else ""
        raise KeyError(f"unknown {kind or ''} dataset {name!r}{hint} Registered: {sorted(names)}")
    return entry


def load_neural(name: str, **kwargs: Any):
    """Load registered neural dataset ``name`` as a validated assembly."""
    from neurosage.assembly import validate

    return validate(get_entry(name, "neural").factory(**kwargs), source=name)


def load_images(name: str, split: str = "train", **kwargs: Any):
    """Load split ``split`` of registered image dataset ``name``."""
    return get_entry(name, "images").factory(split, **kwargs)
