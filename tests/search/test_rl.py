from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from neurosage.core.errors import RunFolderError
from neurosage.search.driver import SEARCHER_STATE

from neurosage.search.rl import RLSearcher, decisions
from neurosage.search.driver import run_search
from neurosage.search.random_search import RandomSearcher
from neurosage.search import make_searcher
from neurosage.spaces import get_space
from helpers import ask_tell_history, tiny_task


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


def _layer_reward(genotype):
    """A cheap synthetic objective over layers-10: 3x3 kernels and 64 filters are good."""
    return sum(l.height == 3 and l.width == 3 for l in genotype.layers) + 0.5 * sum(l.filters == 64 for l in genotype.layers)


def test_controller_learns_over_the_layer_space_more_than_random_search_over_5_seeds():
    space = get_space("layers-10")
    n = 40

    def last_quarter(searcher):
        rewards = []
        for _ in range(n):
            tid, _, genotype = searcher.ask()
            rewards.append(_layer_reward(genotype))
            searcher.tell(tid, -rewards[-1])
        return np.mean(rewards[-n // 4:])

    rl = [last_quarter(RLSearcher(space, seed=s, learning_rate=0.05)) for s in range(5)]
    rnd = [last_quarter(RandomSearcher(space, seed=s)) for s in range(5)]
    assert np.mean(rl) > np.mean(rnd) + 1.5 and min(rl) > max(rnd) - 0.5, (rl, rnd)


def test_saved_state_equals_replay_and_a_stale_or_foreign_state_is_refused(tmp_path):
    space = get_space("layers-10")
    live = RLSearcher(space, seed=5, learning_rate=0.05)
    history = ask_tell_history(live, 4, lambda genotype: -_layer_reward(genotype), failed_tid=1)
    pending = live.ask()  # in flight when the state is saved
    live.save_state(tmp_path / "state.pt")
    loaded = RLSearcher(space, seed=5, learning_rate=0.05)
    loaded.load_state(tmp_path / "state.pt", finished=4)
    for row in history:
        loaded.observe(*row)  # already applied: only advances next_tid
    replayed = RLSearcher(space, seed=5, learning_rate=0.05)
    for row in history:
        replayed.observe(*row)
    replayed.restore(pending[0], pending[1])
    for other in (loaded, replayed):
        assert other.applied == live.applied == 4 and other.baseline == live.baseline and other.proposals == live.proposals
        for p, q in zip(live.controller.parameters(), other.controller.parameters()):
            assert torch.equal(p, q)
    assert loaded.ask()[1:] == replayed.ask()[1:] == live.ask()[1:]
    with pytest.raises(RunFolderError, match="another RL search"):
        RLSearcher(space, seed=6).load_state(tmp_path / "state.pt")
    with pytest.raises(RunFolderError, match="applied 4 rewards, but the journal holds 2"):
        RLSearcher(space, seed=5).load_state(tmp_path / "state.pt", finished=2)


def test_a_killed_rl_search_over_layers_resumes_from_its_saved_state(tmp_path, monkeypatch):
    space = get_space("layers-10")
    task = tiny_task(objective="p")
    task = replace(task, network=replace(task.network, width_multiplier=0.125), training=replace(task.training, steps=1))
    kw = dict(space=space, task=task, algo="rl", seed=2, progress=False, searcher_kwargs={"learning_rate": 0.05})
    whole = run_search(tmp_path / "whole", budget=5, **kw)
    run_search(tmp_path / "cut", budget=3, **kw)
    state = torch.load(tmp_path / "cut" / SEARCHER_STATE, weights_only=False)
    assert state["applied"] == 3 and state["next_tid"] == 3
    updates, update = [], RLSearcher._update
    monkeypatch.setattr(RLSearcher, "_update", lambda self, choices, reward: updates.append(reward) or update(self, choices, reward))
    resumed = run_search(tmp_path / "cut", budget=5, resume=True, **kw)
    assert len(updates) == 2  # the state was loaded: only trials 3 and 4 update the controller, none is replayed
    assert list(resumed.trials.sort_values("tid").genotype) == list(whole.trials.sort_values("tid").genotype)
    whole_state = torch.load(tmp_path / "whole" / SEARCHER_STATE, weights_only=False)
    resumed_state = torch.load(tmp_path / "cut" / SEARCHER_STATE, weights_only=False)
    for name, weight in whole_state["controller"].items():
        assert torch.equal(weight, resumed_state["controller"][name])
    assert all(g.startswith("layers: ") for g in resumed.trials.genotype)


RL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from dataclasses import replace
from neurosage.search.driver import run_search
from neurosage.spaces import get_space
from helpers import tiny_task
task = tiny_task(objective="p")
task = replace(task, network=replace(task.network, width_multiplier=0.125), training=replace(task.training, steps=2))
run_search({run!r}, get_space("layers-10"), task, budget=8, algo="rl", seed=7, progress=False, searcher_kwargs={{"learning_rate": 0.05}})
"""


def test_a_sigkilled_rl_search_resumes_with_the_proposals_of_an_uninterrupted_one(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from neurosage.runs.journal import Journal

    tests = str(Path(__file__).parents[1])
    for name in ("whole", "killed"):
        proc = subprocess.Popen([sys.executable, "-c", RL_SCRIPT.format(tests=tests, run=str(tmp_path / name))])
        if name == "whole":
            assert proc.wait(timeout=300) == 0
            continue
        journal = tmp_path / name / "journal.sqlite"
        deadline = time.time() + 120
        while time.time() < deadline and (not journal.exists() or len(Journal(journal)) < 3):
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert 3 <= len(Journal(journal)) < 8, "the search should have been killed mid-run"
    task = tiny_task(objective="p")
    task = replace(task, network=replace(task.network, width_multiplier=0.125), training=replace(task.training, steps=2))
    resumed = run_search(tmp_path / "killed", get_space("layers-10"), task, budget=8, algo="rl", seed=7, resume=True, progress=False,
                         searcher_kwargs={"learning_rate": 0.05})
    whole = pd.read_csv(tmp_path / "whole" / "trials.csv")
    assert list(resumed.trials.sort_values("tid").genotype) == list(whole.sort_values("tid").genotype)
