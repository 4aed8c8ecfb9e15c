"""hyperopt's TPE in an ask/tell loop (the interface of :mod:`neurosage.search.contract`).

TPE uses ``hyperopt.tpe.suggest`` one suggestion per call, inserting each
suggestion before the next, with a per-trial seed derived from ``(seed, tid)``,
so the same history gives the same next proposal. Pending trials count as
+inf ("constant liar") in TPE, which spreads parallel proposals. A failed trial
(``loss=None``) is told as a failure, which TPE treats as +inf.
"""

from __future__ import annotations

from typing import Any

from hyperopt import (
    JOB_STATE_DONE,
    STATUS_FAIL,
    STATUS_OK,
    Domain,
    Trials,
    space_eval,
    tpe,
)

from neurosage.core.errors import ConfigError
from neurosage.core.seeding import derive_seed
from neurosage.core.validate import check_arguments
from neurosage.spaces.cell import Genotype
from neurosage.spaces.contract import SearchSpace, from_indices
from neurosage.spaces.layerwise import LayerGenotype

__all__ = ["TPESearcher"]


class TPESearcher:
    """hyperopt TPE in an ask/tell loop."""

    def __init__(self, space: SearchSpace, seed: int = 0, n_startup_jobs: int = 20, gamma: float = 0.25):
        check_arguments(TPESearcher.__init__, locals())
        from neurosage.core.validate import whole

        whole(n_startup_jobs, "n_startup_jobs", 1, fix="use e.g. 20 random trials before the model (startup-trials)")
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0 < gamma <= 1:
            raise ConfigError(f"TPE's gamma must lie in (0, 1], got {gamma!r}", "use e.g. 0.25 (hyperopt's) or 1.0 (tpe-gamma)", field="gamma")
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
        raise ConfigError(f"trial {tid} was never asked (or restored) by this searcher", "tell each trial returned by ask() (or given to "
                          "restore()) once", field="tid")

    def ask(self) -> tuple[int, dict[str, Any], Genotype | LayerGenotype]:
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
        check_arguments(TPESearcher.genotype, locals())
        from_indices(self.space, vals)  # labels of this space, each an index of its options: hyperopt's own errors name neither
        return self.space.genotype(space_eval(self.hp_space, vals))

    def tell(self, tid: int, loss: float | None) -> None:
        check_arguments(TPESearcher.tell, locals())
        doc = self._doc(tid)
        doc["state"] = JOB_STATE_DONE
        doc["result"] = {"status": STATUS_OK, "loss": float(loss)} if loss is not None else {"status": STATUS_FAIL}
        self.trials.refresh()

    def observe(self, tid: int, vals: dict[str, Any], loss: float | None) -> None:
        """Insert a finished trial from a journal (resume)."""
        check_arguments(TPESearcher.observe, locals())
        self.restore(tid, vals)
        self.tell(tid, loss)

    def restore(self, tid: int, vals: dict[str, Any]) -> None:
        """Insert a proposal that is being evaluated (it counts as pending until told)."""
        check_arguments(TPESearcher.restore, locals())
        from_indices(self.space, vals)  # a point of this space, one index per decision: hyperopt would take anything into its history
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
