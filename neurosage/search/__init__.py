"""Architecture search: the driver (ask, evaluate, tell, journal), executors (inline, Dask), searchers
(TPE, random, RL) behind one contract, one candidate's evaluation, and the trials' export.

Registry: :data:`SEARCHERS` (``SEARCHERS.create(name, space, seed, **options)`` returns a
:class:`~neurosage.search.contract.Searcher`, checked against the contract). Plug-ins register through the
entry-point group ``neurosage.searchers`` (a callable run once that calls ``SEARCHERS.register``).
"""

from __future__ import annotations

from typing import Any

from neurosage.core.lazy import lazy_exports
from neurosage.core.registry import Registry
from neurosage.core.validate import check_arguments
from neurosage.search.contract import Searcher, StatefulSearcher  # noqa: F401  (re-exported)


#: Searchers by name; ``SEARCHERS.create(name, space, seed, **options)``.
def _register_builtins() -> None:
    """The built-in searchers, as lazy ``module:class`` targets (listing them imports neither hyperopt nor torch)."""
    SEARCHERS.register(
        "tpe", "neurosage.search.tpe:TPESearcher", description="hyperopt's Tree-structured Parzen Estimator, one suggestion per ask",
        citation="Bergstra et al. 2011, Algorithms for Hyper-Parameter Optimization",
    )
    SEARCHERS.register("random", "neurosage.search.random_search:RandomSearcher", description="uniform random genotypes (the baseline)")
    SEARCHERS.register(
        "rl", "neurosage.search.rl:RLSearcher",
        description="REINFORCE with a 2-layer LSTM controller and a moving-average baseline; rewards applied in trial order",
        citation="Zoph & Le 2017, Neural Architecture Search with Reinforcement Learning",
    )


SEARCHERS: Registry[Searcher] = Registry("searcher", builtins=(_register_builtins,), entry_point_group="neurosage.searchers", contract=Searcher)


def make_searcher(algo: str, space: Any, seed: int = 0, **kwargs: Any) -> Searcher:
    """The searcher registered as ``algo`` (``"tpe"``, ``"random"``, ``"rl"`` or a plug-in)."""
    check_arguments(make_searcher, locals())
    from neurosage.core.errors import ConfigError
    from neurosage.core.validate import whole

    if isinstance(space, str):
        raise ConfigError(f"make_searcher takes a search space, got its name {space!r}", f"pass get_space({space!r}) (neurosage.spaces)",
                          field="space")
    whole(seed, "seed", 0, fix="pass seed as a whole number >= 0, e.g. seed=0")
    return SEARCHERS.create(algo, space, seed, **kwargs)


_EXPORTS = {
    "CandidateTask": "candidate", "evaluate_candidate": "candidate", "score_network": "candidate", "resident_task": "candidate",
    "SearchResult": "driver", "run_search": "driver", "check_budget": "driver", "Search": "driver", "ExecutorOptions": "driver",
    "InlineExecutor": "executors", "DaskExecutor": "executors", "share_cores": "executors",
    "TPESearcher": "tpe", "RandomSearcher": "random_search", "RLSearcher": "rl", "Controller": "rl",
}
__all__ = sorted([*_EXPORTS, "SEARCHERS", "Searcher", "StatefulSearcher", "make_searcher"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
