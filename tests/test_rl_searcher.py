import numpy as np
import torch

from neurosage.rl_searcher import RLSearcher, decisions
from neurosage.search import run_search
from neurosage.searchers import RandomSearcher, make_searcher
from neurosage.space import get_space
from search_helpers import ask_tell_history, tiny_task


def _reward(genotype):
    """A cheap synthetic objective over the real cell space: separable 3x3 convs fed from state 0 are good."""
    ops = [op for b in genotype.normal.blocks for op in b.ops]
    ins = [i for b in genotype.normal.blocks for i in b.inputs]
    return sum(op == "sep_conv_3x3" for op in ops) + 0.5 * sum(i == 0 for i in ins)


def _rewards(searcher, n):
    out = []
    for _ in range(n):
        tid, _, genotype = searcher.ask()
        out.append(_reward(genotype))
        searcher.tell(tid, -out[-1])
    return out


def test_decisions_cover_the_hyperopt_space_in_order():
    space = get_space("nasnet", n_blocks=2)
    labels = [label for label, _ in decisions(space)]
    assert sorted(labels) == sorted(k for k in space.hyperopt_space() if k != "output")
    assert dict(decisions(space))["normal/b1/in0"] == 3


def test_controller_learns_more_than_random_search_over_5_seeds():
    space = get_space("pnas", n_blocks=3)
    n = 160
    rl = [np.mean(_rewards(RLSearcher(space, seed=s, learning_rate=0.02), n)[-n // 4 :]) for s in range(5)]
    rnd = [np.mean(_rewards(RandomSearcher(space, seed=s), n)[-n // 4 :]) for s in range(5)]
    assert np.mean(rl) > np.mean(rnd) + 0.5, (rl, rnd)


def test_same_seed_same_proposals_and_the_global_rng_is_untouched():
    space = get_space("pnas", n_blocks=2)
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    a = _rewards(RLSearcher(space, seed=4, learning_rate=0.05), 12)
    assert torch.equal(torch.rand(1), expected)
    assert a == _rewards(RLSearcher(space, seed=4, learning_rate=0.05), 12)


def test_rewards_told_out_of_order_are_applied_in_trial_order():
    space = get_space("pnas", n_blocks=2)
    in_order, shuffled = RLSearcher(space, seed=1, learning_rate=0.05), RLSearcher(space, seed=1, learning_rate=0.05)
    for searcher, order in ((in_order, [0, 1, 2, 3]), (shuffled, [2, 0, 3, 1])):
        asked = [searcher.ask() for _ in range(4)]
        for i in order:
            tid, _, genotype = asked[i]
            searcher.tell(tid, None if tid == 1 else -_reward(genotype))
    assert in_order.ask()[1] == shuffled.ask()[1]
    for p, q in zip(in_order.controller.parameters(), shuffled.controller.parameters()):
        assert torch.equal(p, q)


def test_journal_replay_rebuilds_the_controller():
    space = get_space("nasnet", n_blocks=2)
    live = RLSearcher(space, seed=3, learning_rate=0.05)
    history = ask_tell_history(live, 6, lambda genotype: -_reward(genotype), failed_tid=2)
    replayed = RLSearcher(space, seed=3, learning_rate=0.05)
    for row in history:
        replayed.observe(*row)
    assert live.ask()[1:] == replayed.ask()[1:]
    assert replayed.baseline == live.baseline


def test_a_resumed_rl_search_proposes_what_an_uninterrupted_one_does(tmp_path):
    space = get_space("pnas", n_blocks=2)
    kw = dict(space=space, task=tiny_task(objective="p"), algo="rl", seed=2, progress=False)
    whole = run_search(tmp_path / "whole", budget=5, **kw)
    run_search(tmp_path / "cut", budget=3, **kw)
    resumed = run_search(tmp_path / "cut", budget=5, resume=True, **kw)
    assert list(resumed.trials.sort_values("tid").genotype) == list(whole.trials.sort_values("tid").genotype)
    assert make_searcher("rl", space, 0).__class__ is RLSearcher
