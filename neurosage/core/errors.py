"""The project's errors: each names what is wrong, where (file, field) and the fix.

Every error neurosage raises on purpose for bad input derives from
:class:`NeurosageError`; the command line prints it as one line
(``error: ... fix: ...``) and exits with status 2.
"""

from __future__ import annotations

from os import PathLike

__all__ = ["NeurosageError", "UnknownName", "ConfigError", "WeightsMismatch", "RunFolderError", "RunFolderExists", "SearchFailed", "TrainingDiverged",
           "DataFormatError"]


class NeurosageError(Exception):
    """A problem with the user's input or run folder; the message names the file or field and the fix."""

    def __init__(self, problem: str, fix: str, *, file: str | PathLike | None = None, field: str | None = None):
        self.problem, self.fix = problem, fix
        self.file, self.field = (str(file) if file else None), field
        where = f"{self.file}: " if self.file else ""
        what = f"field {field!r}: " if field else ""
        super().__init__(f"{where}{what}{problem}; fix: {fix}")

    def __str__(self) -> str:  # also for subclasses of KeyError, whose str() would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownName(NeurosageError, KeyError):
    """A name (dataset, op, space, searcher, model, teacher kind...) that no registry knows."""


class ConfigError(NeurosageError, ValueError):
    """A setting has a value that cannot work (a negative budget, an infinite alpha, an absent device...)."""


class WeightsMismatch(ConfigError):
    """A weights file that loads but does not fit its network (other keys or shapes)."""


class RunFolderError(NeurosageError):
    """A run folder cannot be used as asked (another driver holds it, or resuming would change its settings)."""


class RunFolderExists(RunFolderError, FileExistsError):
    """The run folder already holds a search and resuming was not asked for."""


class DataFormatError(NeurosageError, ValueError):
    """A data file is missing, malformed or inconsistent (the message names the file and the field)."""


class SearchFailed(NeurosageError, RuntimeError):
    """A search cannot produce a result (every trial failed)."""


class TrainingDiverged(SearchFailed):
    """Most trainings of a run diverged (non-finite loss, or an ending at chance): the run stops, naming the learning rate."""
