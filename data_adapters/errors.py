"""The one error type adapters raise for bad input: it names the file, the field and the fix."""

from __future__ import annotations

from os import PathLike

__all__ = ["DataFormatError"]


class DataFormatError(ValueError):
    """A data file is missing, malformed or inconsistent."""

    def __init__(self, file: str | PathLike | None, field: str | None, problem: str, fix: str):
        self.file, self.field, self.problem, self.fix = (str(file) if file else None), field, problem, fix
        where = f"{self.file}: " if self.file else ""
        what = f"field {field!r}: " if field else ""
        super().__init__(f"{where}{what}{problem}; fix: {fix}")
