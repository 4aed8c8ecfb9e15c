"""Random search, the baseline: uniform random genotypes, seeded per trial.

Each proposal draws a point of the space's hyperopt space with a generator seeded by ``(seed, tid)``
and records it, like every searcher, as choice indices (:func:`~neurosage.spaces.contract.to_indices`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosage.core.validate import check_arguments
from neurosage.spaces.contract import SearchSpace, from_indices, to_indices

__all__ = ["RandomSearcher"]


class RandomSearcher:
    """Uniform random genotypes (the baseline); seeded per trial, so a resumed search proposes what an uninterrupted one would."""

    def __init__(self, space: SearchSpace, seed: int = 0):
        check_arguments(RandomSearcher.__init__, locals())
        self.space, self.seed = space, seed
        self.hp_space = space.hyperopt_space()
        self.labels = {label for label, options in space.decisions() if len(options) > 1}
        self.next_tid = 0

    def ask(self) -> tuple[int, dict[str, int], Any]:
        from hyperopt.pyll.stochastic import sample

        tid = self.next_tid
        self.next_tid += 1
        point = sample(self.hp_space, rng=np.random.default_rng([self.seed, tid]))
        vals = to_indices(self.space, {k: v for k, v in point.items() if k in self.labels})
        return tid, vals, self.genotype(vals)

    def genotype(self, vals: dict[str, int]) -> Any:
        check_arguments(RandomSearcher.genotype, locals())
        return self.space.genotype(from_indices(self.space, vals))

    def tell(self, tid: int, loss: float | None) -> None:
        check_arguments(RandomSearcher.tell, locals())
        pass

    def observe(self, tid: int, vals: dict[str, int], loss: float | None) -> None:
        check_arguments(RandomSearcher.observe, locals())
        self.restore(tid, vals)

    def restore(self, tid: int, vals: dict[str, int]) -> None:
        check_arguments(RandomSearcher.restore, locals())
        from_indices(self.space, vals)  # a point of this space, one index per decision
        self.next_tid = max(self.next_tid, tid + 1)
