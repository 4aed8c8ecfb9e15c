"""The one registry idiom: ``register``, ``list``, ``create``, with lazy factories.

Datasets, ops, spaces, skeletons, searchers, models, teacher kinds, analyses
and figures are each a :class:`Registry`. An entry holds a factory and what a
user needs to know about it (a description, a citation, free-form metadata such
as a dataset's ``needs``). The factory may be given as a ``"module:attribute"``
string, which is imported only when the entry is first created, so listing a
registry (``neurosage datasets``) imports nothing heavy.

Third-party packages plug in through an entry-point group: each entry point
names a callable that is run once, the first time the registry is queried, and
registers its entries (``registry.register(...)``). A broken plug-in is logged
and skipped; it never breaks the others.

This module imports only the standard library.
"""

from __future__ import annotations

import builtins
import difflib
import fnmatch
import importlib
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from neurosage.core.errors import ConfigError, UnknownName
from neurosage.core.validate import check_arguments

__all__ = ["T", "contract_members", "check_contract", "resolve", "Entry", "Registry"]


log = logging.getLogger(__name__)


T = TypeVar("T")


def contract_members(contract: type) -> list[str]:
    """The methods and attributes a ``typing.Protocol`` (or ABC) declares, private names aside."""
    names = [n for n in vars(contract) if not n.startswith("_") and (callable(vars(contract)[n]) or isinstance(vars(contract)[n], property))]
    names += [n for n in getattr(contract, "__annotations__", {}) if not n.startswith("_")]
    if "__call__" in vars(contract):
        names.append("__call__")
    return list(dict.fromkeys(names))


_ABSENT = object()

def check_contract(obj: Any, contract: type | None, what: str) -> None:
    """Refuse ``obj`` (a plug-in class, instance or function) when it lacks a member of ``contract``.

    A class is checked for the methods (its instances may set the attributes); an instance or function
    for every member. A function contract (``__call__``) also needs the keyword parameters it names.
    """
    check_arguments(check_contract, locals())
    if contract is None:
        return
    members = contract_members(contract)
    is_class = inspect.isclass(obj)
    missing = []
    for name in members:
        if name == "__call__":
            if not callable(obj):
                missing.append("__call__")
            continue
        declared = vars(contract).get(name)
        if is_class and declared is None:  # an attribute its instances set
            continue
        value = getattr(obj, name, _ABSENT)  # a declared attribute may hold None (a layer space's n_blocks)
        if value is _ABSENT or (callable(declared) and not callable(value)):
            missing.append(name)
    if not missing and "__call__" in members and not is_class:
        wanted = [p for p in inspect.signature(vars(contract)["__call__"]).parameters if p != "self"]
        try:
            params: Mapping[str, inspect.Parameter] = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            params = {}
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        positional = [p for p in params.values() if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        missing = [f"parameter {w!r}" for i, w in enumerate(wanted) if w not in params and not takes_any and i >= len(positional)]
    if missing:
        raise ConfigError(
            f"{what} does not follow the {contract.__name__} contract: it lacks {', '.join(missing)}",
            f"implement {', '.join(missing)} as {contract.__module__}.{contract.__qualname__} declares",
            field=what.split(" ")[0],
        )


def resolve(target: str) -> Any:
    """The object named by ``"package.module:attribute"``."""
    check_arguments(resolve, locals())
    module, _, attr = target.partition(":")
    if not attr:
        raise ValueError(f"{target!r} is not of the form 'module:attribute'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Entry:
    """A registered name: a (possibly lazy) factory plus its description, citation and metadata."""

    name: str
    target: Callable[..., Any] | str
    description: str = ""
    citation: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def factory(self) -> Callable[..., Any]:
        """The factory, imported now if it was registered as a ``"module:attribute"`` string."""
        return resolve(self.target) if isinstance(self.target, str) else self.target

    def __getattr__(self, key: str) -> Any:  # metadata reads like attributes: entry.kind, entry.needs
        meta = self.__dict__.get("meta", {})
        if key in meta:
            return meta[key]
        raise AttributeError(f"{type(self).__name__} {self.__dict__.get('name')!r} has no attribute {key!r}")


class Registry(Generic[T]):
    """Named factories of one kind of thing.

    Parameters
    ----------
    kind
        What the entries are (``"dataset"``, ``"op"``, ...), used in messages.
    builtins
        ``"module:function"`` strings (or callables) run once, on first query, each
        registering built-in entries; keeps imports out of module import time.
    entry_point_group
        Entry-point group through which installed packages add entries.
    contract
        A ``typing.Protocol`` that entries must follow (checked by :func:`check_contract`).
    contract_applies_to
        ``"created"``: what :meth:`create` returns follows the contract (a class registered directly is
        checked when registered); ``"factory"``: the registered callable itself does (checked before it is called).
    """

    def __init__(self, kind: str, *, builtins: tuple[str | Callable[[], Any], ...] = (), entry_point_group: str | None = None,
                 contract: type | None = None, contract_applies_to: str = "created"):
        self.kind = kind
        self.contract, self.contract_applies_to = contract, contract_applies_to
        self.entry_point_group = entry_point_group
        self._builtins = builtins
        self._entries: dict[str, Entry] = {}
        self._loaded = {"builtins": not builtins, "plugins": entry_point_group is None}

    # ------------------------------------------------------------------ registering
    def register(
        self,
        name: str,
        target: Callable[..., Any] | str | None = None,
        *,
        description: str = "",
        citation: str = "",
        **meta: Any,
    ):
        """Register ``target`` under ``name``; without ``target``, a decorator.

        Registering another factory under a taken name raises ``ValueError``.
        """
        check_arguments(Registry.register, locals())

        def add(factory: Callable[..., Any] | str):
            known = self._entries.get(name)
            if known is not None and known.target is not factory and known.target != factory:
                where = known.target if isinstance(known.target, str) else getattr(known.target, "__module__", "?")
                raise ConfigError(f"{self.kind} {name!r} is already registered (by {where})", "register it under another name", field=self.kind)
            if not isinstance(factory, str) and (inspect.isclass(factory) or self.contract_applies_to == "factory"):
                check_contract(factory, self.contract, f"{self.kind} {name!r}")
            self._entries[name] = Entry(name, factory, description, citation, dict(meta))
            return factory

        return add if target is None else add(target)

    def unregister(self, name: str) -> None:
        """Remove an entry (tests, interactive sessions)."""
        check_arguments(Registry.unregister, locals())
        self._entries.pop(name, None)

    # ------------------------------------------------------------------ querying
    def _ensure_loaded(self) -> None:
        if not self._loaded["builtins"]:
            self._loaded["builtins"] = True
            for builtin in self._builtins:
                (resolve(builtin) if isinstance(builtin, str) else builtin)()
        if not self._loaded["plugins"] and self.entry_point_group is not None:  # no group: "plugins" is always True
            self._loaded["plugins"] = True
            for ep in entry_points(group=self.entry_point_group):
                try:
                    ep.load()()
                except Exception as exc:  # a broken plug-in must not break the others
                    log.warning("%s plug-in %r (%s) failed to load: %s", self.kind, ep.name, ep.value, exc)

    def reload_plugins(self) -> None:
        """Run the entry-point plug-ins again (after installing one in a running session)."""
        self._loaded["plugins"] = self.entry_point_group is None
        self._ensure_loaded()

    def list(self, pattern: str = "*", **meta: Any) -> list[Entry]:
        """Entries whose name matches the glob ``pattern`` in any case (and whose metadata equals ``meta``), sorted by name."""
        check_arguments(Registry.list, locals())
        self._ensure_loaded()
        return [
            e for n, e in sorted(self._entries.items())
            if fnmatch.fnmatchcase(n.casefold(), pattern.casefold()) and all(e.meta.get(k) == v for k, v in meta.items())
        ]

    def names(self, **meta: Any) -> builtins.list[str]:  # builtins: ``list`` here is the method above
        check_arguments(Registry.names, locals())
        return [e.name for e in self.list(**meta)]

    def get(self, name: str, **meta: Any) -> Entry:
        """The entry for ``name``; an unknown name raises ``KeyError`` listing close matches."""
        self._ensure_loaded()
        if not isinstance(name, str):  # get_space(5), a list of names: a name is one string
            raise UnknownName(f"a {self.kind} is named by a string, got {type(name).__name__} {name!r}", f"choose one of {self.names(**meta)}",
                              field=self.kind)
        check_arguments(Registry.get, locals())
        entry = self._entries.get(name)
        if entry is None or any(entry.meta.get(k) != v for k, v in meta.items()):
            names = self.names(**meta)
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
            hint = f"; did you mean {close}?" if close else ""
            qualifier = " ".join(str(v) for v in meta.values())
            raise UnknownName(f"unknown {qualifier + ' ' if qualifier else ''}{self.kind} {name!r}{hint}", f"choose one of {names}", field=self.kind)
        return entry

    def create(self, name: str, /, *args: Any, **kwargs: Any) -> T:
        """Call the factory registered under ``name`` with ``args`` and ``kwargs`` (the result is checked against the contract)."""
        check_arguments(Registry.create, locals())
        factory = self.get(name).factory
        _refuse_unknown_keywords(factory, kwargs, f"{self.kind} {name!r}")
        if self.contract_applies_to == "factory":
            check_contract(factory, self.contract, f"{self.kind} {name!r}")
            return factory(*args, **kwargs)
        made = factory(*args, **kwargs)
        check_contract(made, self.contract, f"{self.kind} {name!r}")
        return made

    # mapping-style reads: ``name in registry``, ``registry[name]`` (the factory), ``sorted(registry)``
    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return name in self._entries

    def __getitem__(self, name: str) -> Callable[..., T]:
        return self.get(name).factory

    def __iter__(self) -> Iterator[str]:
        self._ensure_loaded()
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"


def _refuse_unknown_keywords(factory: Callable[..., Any], kwargs: Mapping[str, Any], what: str) -> None:
    """Refuse keywords ``factory`` does not take (Python's bare TypeError otherwise), naming the ones it does take."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin or C factory: its own error
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    takes = [n for n, p in parameters.items() if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    unknown = [k for k in kwargs if k not in takes]
    if unknown:
        close = difflib.get_close_matches(unknown[0], takes, n=1)
        raise ConfigError(f"the {what} takes no option {unknown[0]!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                          f"give only its options: {[t for t in takes if t not in ('self', 'space', 'seed')]} (options of another one, "
                          "e.g. TPE's n_startup_jobs, do not apply to it)", field=unknown[0])
