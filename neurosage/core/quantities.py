"""Quantities with units as users write them: parameter counts (``5.5M``) and amounts of memory (``4GB``).

A bare number that is implausible for the quantity (a network of 5.5 parameters, 4 bytes of memory) is refused with
the reading the user most likely meant, never taken literally.
"""

from __future__ import annotations

import re

from neurosage.core.errors import ConfigError

__all__ = ["parse_count", "check_memory", "MIN_PARAMETERS"]

_COUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgG]?)\s*$")
_SCALE = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}
_MEMORY = re.compile(r"^\s*[0-9]*\.?[0-9]+\s*([kKmMgGtTpP])(i?)[bB]?\s*$")
#: The fewest parameters a target may name: fewer is taken for a number written in millions.
MIN_PARAMETERS = 1000


def parse_count(value: object, *, field: str, minimum: float = MIN_PARAMETERS) -> float:
    """A parameter count from ``5500000``, ``5.5M``, ``5500k`` or ``5.5e6``; a bare number below ``minimum`` is refused."""
    if isinstance(value, bool):
        raise ConfigError(f"{field.replace('_', '-')} = {value!r} is not a parameter count", "write e.g. 5.5M or 5500000", field=field)
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    else:
        match = _COUNT.match(str(value))
        if not match:
            raise ConfigError(f"{field.replace('_', '-')} = {value!r} is not a parameter count", "write e.g. 5.5M, 300k or 5500000",
                              field=field)
        number, unit = float(match.group(1)), match.group(2).lower()
    count = number * _SCALE[unit]
    if not count > 0 or count != count or count == float("inf"):
        raise ConfigError(f"{field.replace('_', '-')} = {value!r} is not a positive parameter count", "write e.g. 5.5M", field=field)
    if count < minimum:
        hint = f"; did you mean {number:g}M = {number * 1e6:,.0f}?" if not unit and number < 1000 else ""
        raise ConfigError(f"{field.replace('_', '-')} = {value!r} is {count:,.0f} parameters, too few for a network{hint}",
                          f"write the count with its unit, e.g. {number:g}M, or in full", field=field)
    return count


def check_memory(value: object, *, field: str) -> str:
    """An amount of memory with its unit (``4GB``, ``500MB``, ``16GiB``); a bare number (bytes?) is refused."""
    if not isinstance(value, str) or not _MEMORY.match(value):
        bare = not isinstance(value, bool) and str(value).strip().replace(".", "", 1).isdigit()
        raise ConfigError(f"{field.replace('_', '-')} = {value!r} is not an amount of memory with a unit",
                          f"write it with its unit: {str(value).strip()}MB or {str(value).strip()}GB (Slurm reads a bare number as MB)" if bare
                          else "write it like 4GB or 500MB", field=field)
    return value
