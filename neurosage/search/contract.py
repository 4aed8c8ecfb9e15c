"""What a searcher offers the search driver (:class:`Searcher`), and the optional state it may save.

The driver asks for one proposal at a time and tells each result, in any order:

- ``ask()`` returns ``(tid, vals, genotype)``; ``vals`` are choice *indices* per decision label of the space
  (:func:`~neurosage.spaces.contract.to_indices`), the same meaning for every searcher;
- ``tell(tid, loss)`` reports a result (``loss=None`` for a failed trial);
- ``observe(tid, vals, loss)`` replays a journal row when a search resumes;
- ``restore(tid, vals)`` re-inserts a proposal that was in flight when the driver stopped;
- ``genotype(vals)`` rebuilds the genotype of a proposal.

A searcher that also has ``save_state(path)`` and ``load_state(path, finished=...)`` (:class:`StatefulSearcher`)
has its state saved in the run folder after every tell and loaded on resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from neurosage.core.errors import ConfigError

__all__ = ["Searcher", "StatefulSearcher"]


@runtime_checkable
class Searcher(Protocol):
    """The contract of a registered searcher (``SEARCHERS``): ask/tell plus replay on resume."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # a protocol is no searcher: say how to make one
        raise ConfigError(f"{type(self).__name__} is the contract searchers follow, not a searcher", "make one with neurosage.search."
                          "make_searcher('tpe', space) (or 'rl', 'random'; neurosage.search.SEARCHERS lists them)", field="searcher")

    def ask(self) -> tuple[int, dict[str, int], Any]:
        """The next proposal: ``(tid, vals, genotype)``."""

    def tell(self, tid: int, loss: float | None) -> None:
        """The result of proposal ``tid`` (lower is better; None for a failed trial)."""

    def observe(self, tid: int, vals: dict[str, int], loss: float | None) -> None:
        """Replay a finished trial from the journal."""

    def restore(self, tid: int, vals: dict[str, int]) -> None:
        """Re-insert a proposal that is being evaluated again."""

    def genotype(self, vals: dict[str, int]) -> Any:
        """The genotype of a proposal's ``vals``."""


@runtime_checkable
class StatefulSearcher(Searcher, Protocol):
    """A searcher whose own state (e.g. the RL controller's weights) is saved in the run folder after every tell."""

    def save_state(self, path: Path) -> None:
        """Write the state to ``path`` atomically."""

    def load_state(self, path: Path, *, finished: int) -> None:
        """Load the state saved after ``finished`` trials."""
