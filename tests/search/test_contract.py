"""The searcher contract: plug-ins are checked against ``Searcher`` when registered or created."""

import pytest

from neurosage.core.errors import ConfigError
from neurosage.search import SEARCHERS, Searcher, make_searcher
from neurosage.search.random_search import RandomSearcher
from neurosage.spaces import get_space


class _NoTell:
    def __init__(self, space, seed=0):
        self.space = space

    def ask(self):
        return 0, {}, None

    def observe(self, tid, vals, loss):
        pass

    def restore(self, tid, vals):
        pass

    def genotype(self, vals):
        return None


def test_a_plugin_searcher_missing_tell_is_refused_naming_tell():
    with pytest.raises(ConfigError, match=r"searcher 'no-tell' does not follow the Searcher contract: it lacks tell; fix: implement tell"):
        SEARCHERS.register("no-tell", _NoTell)
    assert "no-tell" not in SEARCHERS


def test_a_lazily_registered_plugin_is_checked_when_created():
    SEARCHERS.register("no-tell-lazy", f"{__name__}:_NoTell")
    try:
        with pytest.raises(ConfigError, match="lacks tell"):
            make_searcher("no-tell-lazy", get_space("pnas", 2))
    finally:
        SEARCHERS.unregister("no-tell-lazy")


@pytest.mark.parametrize("name", ["tpe", "random", "rl"])
def test_the_builtin_searchers_follow_the_contract(name):
    searcher = make_searcher(name, get_space("pnas", 2), 0)
    assert isinstance(searcher, Searcher)


def test_a_complete_plugin_registers_and_runs():
    class Mine(RandomSearcher):
        pass

    SEARCHERS.register("mine", Mine)
    try:
        tid, vals, genotype = make_searcher("mine", get_space("pnas", 2), 1).ask()
        assert tid == 0 and genotype is not None and all(isinstance(v, int) for v in vals.values())
    finally:
        SEARCHERS.unregister("mine")
