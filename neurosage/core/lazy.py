"""Lazy public names for a package (PEP 562): a name is imported from its module when first touched.

A package's ``__init__`` lists where each public name lives and calls :func:`lazy_exports`, so
``import neurosage.training`` imports no torch until ``neurosage.training.train`` is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public name ``n`` lives in submodule ``exports[n]``.

    Parameters
    ----------
    package
        The package's ``__name__``.
    exports
        Public name -> submodule name relative to the package (``"rdm"`` for ``package.rdm``).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # later reads skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
