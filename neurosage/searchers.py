"""Ask/tell searchers over a search space (:class:`~neurosage.space.CellSpace` or
:class:`~neurosage.layer_space.LayerSpace`): hyperopt TPE, random, and REINFORCE (``rl``,
:mod:`neurosage.rl_searcher`, imported only when used).

``ask()`` returns ``(tid, vals, genotype)``; ``tell(tid, loss)`` reports a
result (``loss=None`` for a failed trial, which TPE treats as +inf);
``observe(tid, vals, loss)`` replays a journal row when resuming, and
``restore(tid, vals)`` re-inserts a proposal that was in flight when the driver
stopped (it is then evaluated again and told as usual).

TPE uses ``hyperopt.tpe.suggest`` one suggestion per call, inserting each
suggestion before the next, with a per-trial seed derived from ``(seed, tid)``,
so the same history gives the same next proposal. Pending trials count as
+inf ("constant liar") in TPE, which spreads parallel proposals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hyperopt import JOB_STATE_DONE, STATUS_FAIL, STATUS_OK, Domain, Trials, space_eval, tpe

from neurosage.registry import Registry
from neurosage.seeding import derive_seed
from neurosage.space import CellSpace, Genotype
from neurosage.layer_space import LayerGenotype, LayerSpace

Space = CellSpace | LayerSpace

__all__ = ["SEARCHERS", "TPESearcher", "RandomSearcher", "make_searcher"]

#: Searchers by name; ``SEARCHERS.create(name, space, seed, **options)``. Plug-ins register through the
#: entry-point group ``neurosage.searchers`` (a callable run once that calls ``SEARCHERS.register``).
SEARCHERS: Registry = Registry("searcher", entry_point_group="neurosage.searchers")


@SEARCHERS.register(
    "tpe", description="hyperopt's Tree-structured Parzen Estimator, one suggestion per ask",
    citation="Bergstra et al. 2011, Algorithms for Hyper-Parameter Optimization",
)
class TPESearcher:
    """hyperopt TPE in an ask/tell loop."""

    def __init__(self, space: Space, seed: int = 0, n_startup_jobs: int = 20, gamma: float = 0.25):
        self.space, self.seed = space, seed
        self.hp_space = space.hyperopt_space()
        self.domain = Domain(None, self.hp_space)
        self.trials = Trials()
        self.next_tid = 0
        self.n_startup_jobs, self.gamma = n_startup_jobs, gamma

    def _doc(self, tid: int) -> dict[str, Any]:
        for doc in self.trials._dynamic_trials:
            if doc["tid"] == tid:
                return doc
        raise KeyError(f"no trial {tid}")

    def ask(self) -> tuple[int, dict[str, Any], Genotype]:
        tid = self.next_tid
        self.next_tid += 1
        self.trials.refresh()
        docs = tpe.suggest(
            [tid], self.domain, self.trials, derive_seed(self.seed, tid),
            n_startup_jobs=self.n_startup_jobs, gamma=self.gamma,
        )
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        vals = {k: int(v[0]) for k, v in self._doc(tid)["misc"]["vals"].items() if v}
        return tid, vals, self.genotype(vals)

    def genotype(self, vals: dict[str, Any]) -> Genotype | LayerGenotype:
        return self.space.genotype(space_eval(self.hp_space, vals))

    def tell(self, tid: int, loss: float | None) -> None:
        doc = self._doc(tid)
        doc["state"] = JOB_STATE_DONE
        doc["result"] = {"status": STATUS_OK, "loss": float(loss)} if loss is not None else {"status": STATUS_FAIL}
        self.trials.refresh()

    def observe(self, tid: int, vals: dict[str, Any], loss: float | None) -> None:
        """Insert a finished trial from a journal (resume)."""
        self.restore(tid, vals)
        self.tell(tid, loss)

    def restore(self, tid: int, vals: dict[str, Any]) -> None:
        """Insert a proposal that is being evaluated (it counts as pending until told)."""
        labels = list(self.domain.params)
        misc = {
            "tid": tid, "cmd": self.domain.cmd, "workdir": None,
            "idxs": {k: [tid] if k in vals else [] for k in labels},
            "vals": {k: [vals[k]] if k in vals else [] for k in labels},
        }
        docs = self.trials.new_trial_docs([tid], [None], [self.domain.new_result()], [misc])
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        self.next_tid = max(self.next_tid, tid + 1)


@SEARCHERS.register("random", description="uniform random genotypes (the baseline)")
class RandomSearcher:
    """Uniform random genotypes (the baseline); seeded per trial."""

    def __init__(self, space: Space, seed: int = 0):
        self.space, self.seed = space, seed
        self.hp_space = space.hyperopt_space()
        self.labels = {label for label, options in space.decisions() if len(options) > 1}
        self.next_tid = 0

    def ask(self) -> tuple[int, dict[str, Any], Genotype | LayerGenotype]:
        from hyperopt.pyll.stochastic import sample

        tid = self.next_tid
        self.next_tid += 1
        point = sample(self.hp_space, rng=np.random.default_rng([self.seed, tid]))
        vals = {k: v for k, v in point.items() if k in self.labels}  # the chosen values, not indices
        return tid, vals, self.genotype(vals)

    def genotype(self, vals: dict[str, Any]) -> Genotype | LayerGenotype:
        return self.space.genotype(vals)

    def tell(self, tid: int, loss: float | None) -> None:
        pass

    def observe(self, tid: int, vals: dict[str, Any], loss: float | None) -> None:
        self.restore(tid, vals)

    def restore(self, tid: int, vals: dict[str, Any]) -> None:
        self.next_tid = max(self.next_tid, tid + 1)


SEARCHERS.register(
    "rl", "neurosage.rl_searcher:RLSearcher",
    description="REINFORCE with a 2-layer LSTM controller and a moving-average baseline; rewards applied in trial order",
    citation="Zoph & Le 2017, Neural Architecture Search with Reinforcement Learning",
)


def make_searcher(algo: str, space: Space, seed: int = 0, **kwargs):
    """The searcher registered as ``algo`` (``"tpe"``, ``"random"`` or a plug-in)."""
    return SEARCHERS.create(algo, space, seed, **kwargs)
