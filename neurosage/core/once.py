"""Warnings said once per process: a setting checked by the command and again by the code it calls is warned about once."""

from __future__ import annotations

import logging
from collections.abc import Hashable

__all__ = ["warn_once"]

#: (logger name, key) of every warning already said.
_SAID: set[tuple[str, Hashable]] = set()
#: Objects whose id is part of a key, held so that the id is never reused by another object.
_HELD: list[object] = []


def warn_once(log: logging.Logger, key: Hashable, message: str, *args: object, about: object | None = None) -> bool:
    """``log.warning(message, *args)`` the first time ``key`` is seen by ``log``; True when it was said now.

    ``about``: an unhashable object the warning concerns (a config holding a dict): its id joins the key and it is held, so a
    later object cannot reuse the id and silence its own warning.
    """
    if about is not None:
        key = (id(about), key)
    if (log.name, key) in _SAID:
        return False
    _SAID.add((log.name, key))
    if about is not None:
        _HELD.append(about)
    log.warning(message, *args)
    return True
