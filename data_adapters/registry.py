"""The dataset registry: lazy factories for neural recordings and image sets.

One :class:`~neurosage.core.registry.Registry` holds both kinds (an entry's ``kind``
is ``"neural"`` or ``"images"``). Built-ins are declared in
:mod:`neurosage.data_adapters.builtin` without importing their loaders;
third-party packages plug in through the entry-point group
``neurosage.datasets`` (each entry point is a callable run once, which calls
:func:`register_neural` / :func:`register_images`). Nothing is loaded until
:func:`load_neural` / :func:`load_images` is called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neurosage.core.registry import Entry, Registry

__all__ = [
    "DATASETS",
    "DatasetEntry",
    "register_neural",
    "register_images",
    "list_datasets",
    "load_neural",
    "load_images",
    "get_entry",
    "reload_plugins",
    "ENTRY_POINT_GROUP",
]

ENTRY_POINT_GROUP = "neurosage.datasets"
DATASETS: Registry = Registry(
    "dataset", builtins=("neurosage.data_adapters.builtin:register_builtins",), entry_point_group=ENTRY_POINT_GROUP
)
DatasetEntry = Entry


def register_neural(name: str, factory: Callable[..., Any] | str | None = None, *, description: str = "", needs: tuple[str, ...] = (), citation: str = ""):
    """Register ``factory(**kw) -> assembly`` as neural dataset ``name`` (a decorator without ``factory``)."""
    return DATASETS.register(name, factory, description=description, citation=citation, kind="neural", needs=tuple(needs))


def register_images(
    name: str, factory: Callable[..., Any] | str | None = None, *, description: str = "", needs: tuple[str, ...] = (),
    citation: str = "", splits: tuple[str, ...] = ("train", "test"),
):
    """Register ``factory(split, **kw) -> ImageSet`` as image dataset ``name`` (a decorator without ``factory``)."""
    return DATASETS.register(
        name, factory, description=description, citation=citation, kind="images", needs=tuple(needs), splits=tuple(splits)
    )


def reload_plugins() -> None:
    """Look for entry-point plug-ins again (after installing one in a running session)."""
    DATASETS.reload_plugins()


def list_datasets(pattern: str = "*", kind: str | None = None) -> list[Entry]:
    """Registered datasets whose name matches the glob ``pattern``."""
    return DATASETS.list(pattern, **({"kind": kind} if kind else {}))


def get_entry(name: str, kind: str | None = None) -> Entry:
    """The entry for ``name``; unknown names raise ``KeyError`` listing close matches."""
    return DATASETS.get(name, **({"kind": kind} if kind else {}))


def load_neural(name: str, **kwargs: Any):
    """Load registered neural dataset ``name`` as a validated assembly."""
    from neurosage.assembly import validate

    return validate(get_entry(name, "neural").factory(**kwargs), source=name)


def load_images(name: str, split: str = "train", **kwargs: Any):
    """Load split ``split`` of registered image dataset ``name``."""
    return get_entry(name, "images").factory(split, **kwargs)
