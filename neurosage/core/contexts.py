"""Context managers that say when they were called without ``with`` (they did nothing then)."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Generic, ParamSpec, TypeVar

__all__ = ["context_only"]

P = ParamSpec("P")
T = TypeVar("T")


class _MustEnter(Generic[T]):
    """A context manager that warns, when it is dropped, if it was never entered."""

    __slots__ = ("_cm", "_entered", "_name")

    def __init__(self, cm: contextlib.AbstractContextManager[T], name: str):
        self._cm, self._entered, self._name = cm, False, name

    def __enter__(self) -> T:
        self._entered = True
        return self._cm.__enter__()

    def __exit__(self, *exc: Any) -> bool | None:
        return self._cm.__exit__(*exc)

    def __del__(self) -> None:
        if not getattr(self, "_entered", True):
            warnings.warn(f"{self._name}(...) was called without `with`, so it did nothing: write `with {self._name}(...) as ...:` around "
                          "the work it records or guards", RuntimeWarning, stacklevel=2)


def context_only(fn: Callable[P, Iterator[T]]) -> Callable[P, _MustEnter[T]]:
    """:func:`contextlib.contextmanager` whose result warns when it is dropped without having been entered (``record_run(...)``
    called without ``with`` records nothing, silently otherwise)."""
    manager = contextlib.contextmanager(fn)

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> _MustEnter[T]:
        return _MustEnter(manager(*args, **kwargs), fn.__name__)

    return wrapper
