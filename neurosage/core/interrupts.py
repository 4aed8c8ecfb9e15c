"""SIGINT and SIGTERM end a command the same way: the work in flight is abandoned, the session is marked
``interrupted`` in ``run.json``, and the command line exits 130 (SIGINT) or 143 (SIGTERM) with one line saying how to
resume. Inside :func:`terminate_as_interrupt` both signals raise :class:`Interrupted` (a ``KeyboardInterrupt``), so they
travel the same ``finally`` blocks (locks released, trials written, clusters closed); inside :func:`deferred` (a
finished trial's bookkeeping: journal row, searcher update, ``trials.csv``) the signal waits until the block ends, so
no record is left half written and no import is cut in two.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import TypedDict

__all__ = ["Interrupted", "terminate_as_interrupt", "deferred", "signal_name", "exit_code"]


class _DeferState(TypedDict):
    deferring: int  # nesting depth of deferred() blocks
    pending: int | None  # the signal that arrived inside one, raised when the outermost ends


_state: _DeferState = {"deferring": 0, "pending": None}


class Interrupted(KeyboardInterrupt):
    """A command stopped by a signal (``signum``)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal number: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


def _handler(signum, frame):  # noqa: ARG001
    if _state["deferring"]:
        _state["pending"] = signum
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside the ``with`` body, SIGINT and SIGTERM raise :class:`Interrupted` in the main thread (or wait for the end
    of a :func:`deferred` block). Outside the main thread: no change."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A block that a signal does not cut: one that arrives inside it is raised when the block ends."""
    _state["deferring"] += 1
    try:
        yield
    finally:
        _state["deferring"] -= 1
        if not _state["deferring"] and _state["pending"] is not None:
            signum, _state["pending"] = _state["pending"], None
            raise Interrupted(signum)
