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

import difflib
import inspect
import os
import types
import typing
from collections import abc
from collections.abc import Callable
from typing import Any

from neurosage.core.errors import UnknownName
from neurosage.core.registry import Entry, Registry
from neurosage.core.validate import check_arguments

__all__ = [
    "DATASETS",
    "DatasetEntry",
    "register_neural",
    "register_images",
    "list_datasets",
    "load_neural",
    "load_images",
    "get_entry",
    "loader_arguments",
    "loader_parameters",
    "reload_plugins",
    "ENTRY_POINT_GROUP",
]

ENTRY_POINT_GROUP = "neurosage.datasets"
DATASETS: Registry = Registry(
    "dataset", builtins=("neurosage.data_adapters.builtin:register_builtins",), entry_point_group=ENTRY_POINT_GROUP
)
DatasetEntry = Entry


def register_neural(name: str, factory: Callable[..., Any] | str | None = None, *, description: str = "", needs: tuple[str, ...] = (),
                    citation: str = "", stimuli: str | None = None):
    """Register ``factory(**kw) -> assembly`` as neural dataset ``name`` (a decorator without ``factory``). ``stimuli``: a
    ``"module:function"`` that loads the recording's own stimulus images from the same ``path=`` (``function(path, **conversion)``
    -> ImageSet), for a file that holds them (HvM's HDF5); a teacher of it then needs no ``--teacher-images``."""
    return DATASETS.register(name, factory, description=description, citation=citation, kind="neural", needs=tuple(needs),
                             **({"stimuli": stimuli} if stimuli else {}))


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
    """Registered datasets whose name matches the glob ``pattern`` (of ``kind``, ``"images"`` or ``"neural"``, when given)."""
    check_arguments(list_datasets, locals())
    if kind is not None and kind not in ("images", "neural"):
        raise UnknownName(f"unknown dataset kind {kind!r}", "give kind='images' or kind='neural' (or leave it out)", field="kind")
    if pattern in ("images", "neural") and pattern not in DATASETS:  # the kind given where the name pattern goes
        raise UnknownName(f"{pattern!r} was given as the name pattern (the first argument), and it is a kind", f"give "
                          f"list_datasets(kind={pattern!r})", field="pattern")
    found = DATASETS.list(pattern, **({"kind": kind} if kind else {}))
    if not found and not any(c in pattern for c in "*?["):  # a name, not a glob: say which were meant
        import difflib

        names = [e.name for e in DATASETS.list("*", **({"kind": kind} if kind else {}))]
        typed = pattern.casefold()
        close = [n for n in names if typed and n.casefold().startswith(typed)] or difflib.get_close_matches(typed, names, n=3, cutoff=0.6)
        raise UnknownName(f"no dataset is named {pattern!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""),
                          f"give a listed name, or a glob such as {pattern + '*'!r} (neurosage datasets lists all {len(names)})",
                          field="pattern")
    return found


def get_entry(name: str, kind: str | None = None) -> Entry:
    """The entry for ``name``; unknown names raise ``KeyError`` listing close matches."""
    return DATASETS.get(name, **({"kind": kind} if kind else {}))


def load_neural(name: str, **kwargs: Any):
    """Load registered neural dataset ``name`` as a validated assembly (arguments checked by :func:`loader_arguments`)."""
    check_arguments(load_neural, locals())
    from neurosage.assembly import validate

    factory = get_entry(name, "neural").factory
    return validate(factory(**loader_arguments(factory, kwargs, name)), source=name)


def load_images(name: str, split: str = "train", **kwargs: Any):
    """Load split ``split`` of registered image dataset ``name`` (arguments checked by :func:`loader_arguments`)."""
    check_arguments(load_images, locals())
    if name not in DATASETS and os.path.isdir(name):  # a data folder given as the dataset's name
        raise UnknownName(f"{name!r} is a folder, and load_images takes a registered dataset's name first", f"give the folder as root: "
                          f"load_images('image-folder', split, root={name!r}) for class folders of images, or "
                          f"load_images('fashion-mnist', split, root={name!r}) for its idx files", field="name")
    factory = get_entry(name, "images").factory
    return factory(split, **loader_arguments(factory, kwargs, name, skip=1))


#: Image conversion settings a loader's ``**conversion`` passes to :class:`~neurosage.data_adapters.imageset.ImageSet`.
_CONVERSION = {"size": int, "channels": int, "mean": float, "std": float, "transform": None}
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def loader_arguments(factory: Callable[..., Any], kwargs: dict[str, Any], dataset: str, *, skip: int = 0) -> dict[str, Any]:
    """``kwargs`` checked against the loader's declared parameters and typed by their annotations.

    Unknown names are refused with the closest known one; text values (from ``--teacher-arg KEY=VALUE`` or TOML) become the
    declared type: ``bool`` from true/false/yes/no/1/0 (so ``average=false`` is False, not a true string), ``int``,
    ``float``, and tuples or lists from comma-separated text. ``skip`` leading positional parameters (the split) are
    not arguments.
    """
    from neurosage.core.errors import ConfigError

    params = list(inspect.signature(factory).parameters.values())[skip:]
    named = {p.name: p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    var_kw = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # an annotation that cannot be resolved: names are still checked
        hints = {}
    known = sorted(named) + (sorted(_CONVERSION) if var_kw == "conversion" else [])
    out = {}
    for key, value in kwargs.items():
        if key not in named and (var_kw is None or (var_kw == "conversion" and key not in _CONVERSION)):
            close = difflib.get_close_matches(key, known, n=1)
            raise ConfigError(f"dataset {dataset!r} has no loader argument {key!r}{f' (did you mean {close[0]!r}?)' if close else ''}",
                              f"use one of {known} (neurosage datasets {dataset} lists them)", field=key)
        expected = hints.get(key) if key in named else _CONVERSION.get(key)
        out[key] = _typed(value, expected, key, dataset)
    required = [p.name for p in named.values() if p.default is p.empty and p.name not in out and p.name != "regions"]
    if required:  # the loader would fail with Python's "missing required argument"
        call = f"load_{'images' if skip else 'neural'}({dataset!r}{', split' if skip else ''}, {required[0]}=...)"
        raise ConfigError(f"dataset {dataset!r} needs the loader argument(s) {required}, which were not given",
                          f"give {required[0]}=VALUE: in Python as a keyword of the loading call ({call}, or teacher_args for a teacher), "
                          f"on the command line as --teacher-arg {required[0]}=VALUE, in TOML in a [teacher] table; neurosage datasets "
                          f"{dataset} lists every argument", field=required[0])
    return out


def loader_parameters(entry: Entry) -> list[str]:
    """The loader arguments of a registered dataset as ``name: type = default`` lines (``--teacher-arg``/``[teacher]`` keys)."""
    factory = entry.factory
    params = list(inspect.signature(factory).parameters.values())[1 if entry.meta.get("kind") == "images" else 0:]
    try:
        hints = typing.get_type_hints(factory)
    except Exception:
        hints = {}
    out = []
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            out += [f"{k} (image conversion)" for k in _CONVERSION] if p.name == "conversion" else [f"**{p.name}"]
        elif p.kind is not p.VAR_POSITIONAL:
            hint = hints.get(p.name, p.annotation)
            kind = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
            out.append(f"{p.name}: {kind}" + ("" if p.default is p.empty else f" = {p.default!r}"))
    return out


def _typed(value: Any, hint: Any, key: str, dataset: str) -> Any:
    """``value`` as the annotated type when it is text and the annotation is a bool, int, float or a sequence of them."""
    from neurosage.core.errors import ConfigError

    optional = typing.get_origin(hint) in (typing.Union, types.UnionType)
    options = [a for a in typing.get_args(hint) if a is not type(None)] if optional else [hint]
    if bool in options and not isinstance(value, (bool, str)):
        raise ConfigError(f"{dataset}: {key} = {value!r} is not true or false", f"write {key}=true or {key}=false", field=key)
    if hint is None or not isinstance(value, str):
        return value
    if optional and value.lower() == "none":
        return None
    for option in options:
        origin = typing.get_origin(option) or option
        if option is bool:
            if value.lower() not in _TRUE | _FALSE:
                raise ConfigError(f"{dataset}: {key} = {value!r} is not true or false", f"write {key}=true or {key}=false", field=key)
            return value.lower() in _TRUE
        if option in (int, float):
            try:
                return option(value)
            except ValueError:
                raise ConfigError(f"{dataset}: {key} = {value!r} is not {'an integer' if option is int else 'a number'}",
                                  f"write {key} as {'e.g. 3' if option is int else 'e.g. 0.5'}", field=key) from None
        if origin in (tuple, list, abc.Sequence):
            inner = (typing.get_args(option) or (str,))[0]
            items = [_typed(v.strip(), inner if inner in (bool, int, float) else None, key, dataset) for v in value.split(",") if v.strip()]
            return items if origin is list else tuple(items)
    return value
