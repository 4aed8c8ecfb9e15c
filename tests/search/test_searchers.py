import numpy as np

from helpers import ask_tell_history
from neurosage.search.random_search import RandomSearcher
from neurosage.search.tpe import TPESearcher
from neurosage.spaces import get_space


def _objective(genotype):
    """A cheap synthetic loss over the real cell space: fewer separable convs and more inputs from state 0 is worse."""
    ops = [op for b in genotype.normal.blocks for op in b.ops]
    ins = [i for b in genotype.normal.blocks for i in b.inputs]
    return -(sum(op == "sep_conv_3x3" for op in ops) + 0.5 * sum(i == 0 for i in ins))


def _best_after(searcher, n):
    best = np.inf
    for _ in range(n):
        tid, _, g = searcher.ask()
        loss = _objective(g)
        searcher.tell(tid, loss)
        best = min(best, loss)
    return best


def test_tpe_beats_random_on_average():
    space = get_space("pnas", n_blocks=3)
    tpe = [_best_after(TPESearcher(space, seed=s, n_startup_jobs=10), 60) for s in range(5)]
    rnd = [_best_after(RandomSearcher(space, seed=s), 60) for s in range(5)]
    assert np.mean(tpe) < np.mean(rnd), (tpe, rnd)


def test_tpe_replay_gives_same_next_proposal():
    space = get_space("nasnet", n_blocks=2)
    a = TPESearcher(space, seed=3, n_startup_jobs=3)
    history = ask_tell_history(a, 5, _objective, failed_tid=2)
    b = TPESearcher(space, seed=3, n_startup_jobs=3)
    for row in history:
        b.observe(*row)
    assert a.ask()[1:] == b.ask()[1:]


def _proposals(gamma, losses, n_ask=4):
    """Genotypes TPE proposes after observing ``losses`` for its startup samples, telling each proposal a fixed loss."""
    searcher = TPESearcher(get_space("pnas", n_blocks=2), seed=0, n_startup_jobs=len(losses), gamma=gamma)
    for loss in losses:
        tid, _, _ = searcher.ask()
        searcher.tell(tid, loss)
    out = []
    for _ in range(n_ask):
        tid, _, g = searcher.ask()
        out.append(str(g))
        searcher.tell(tid, 0.0)
    return out


def test_small_gamma_makes_tpe_depend_only_on_the_best_trial():
    # hyperopt keeps ceil(gamma * sqrt(n)) trials as "good": with gamma=0.25 and n <= 16 that is the best one only,
    # so two scores that agree on the best trial but rank the others differently give identical proposals.
    same_best = [-5.0, -1.0, -2.0, -3.0, -4.0, -0.5]
    reranked = [-5.0, -4.0, -3.0, -2.0, -1.0, -0.5]
    assert _proposals(0.25, same_best) == _proposals(0.25, reranked)
    assert _proposals(1.0, same_best) != _proposals(1.0, reranked)
