"""The one error type adapters raise for bad input: it names the file, the field and the fix."""

from __future__ import annotations

from os import PathLike

from neurosage.core.errors import NeurosageError

__all__ = ["DataFormatError"]


class DataFormatError(NeurosageError, ValueError):
    """A data file is missing, malformed or inconsistent."""

    def __init__(self, file: str | PathLike | None, field: str | None, problem: str, fix: str):
        super().__init__(problem, fix, file=file, field=field)
