"""The one config loader: defaults, then a TOML file, then explicit values, into a config dataclass.

Every command uses the same vocabulary: a config key is a field name of the
command's config class, written with ``-`` or ``_`` (``n-blocks = 3`` and
``n_blocks = 3`` are the same key); a flag is ``--`` plus the dashed key.
Unknown keys are refused with the closest known keys.
"""

from __future__ import annotations

import difflib
import tomllib
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["load_config", "config_keys", "field_types"]

C = TypeVar("C")


def config_keys(cls: type) -> list[str]:
    """The keys a config class accepts (dashed, as written in TOML and on the command line)."""
    return [f.name.replace("_", "-") for f in fields(cls)]


def field_types(cls: type) -> dict[str, type]:
    """Each field's value type: ``int``, ``float``, ``str``, ``bool`` or ``tuple`` (``X | None`` gives ``X``)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in fields(cls):
        hint = hints[f.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        base = typing.get_origin(hint)
        if base is tuple or hint is tuple:
            out[f.name] = tuple
        elif args and base is not tuple:
            out[f.name] = args[0] if len(args) == 1 else str
        else:
            out[f.name] = hint
    return out


def load_config(cls: type[C], path: str | Path | None = None, **overrides: Any) -> C:
    """A ``cls`` instance from its defaults, the TOML file ``path``, then ``overrides`` (``None`` values are skipped)."""
    values: dict[str, Any] = {}
    if path:
        values.update({k.replace("-", "_"): v for k, v in tomllib.loads(Path(path).read_text()).items()})
    values.update({k.replace("-", "_"): v for k, v in overrides.items() if v is not None})
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        hints = {k: difflib.get_close_matches(k, known, n=1) for k in unknown}
        close = "; ".join(f"{k!r}: did you mean {m[0]!r}?" for k, m in hints.items() if m)
        where = f" in {path}" if path else ""
        raise ValueError(
            f"unknown option(s) {unknown}{where} for {cls.__name__}{'; ' + close if close else ''}; known: {known}"
        )
    types = field_types(cls)
    for name, value in values.items():
        if types[name] is tuple and isinstance(value, list):
            values[name] = tuple(value)
    return cls(**values)
