from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import ask_tell_history, tiny_task
from neurosage.core.errors import RunFolderError
from neurosage.runs import RunFolder
from neurosage.search import make_searcher
from neurosage.search.driver import run_search
from neurosage.search.random_search import RandomSearcher
from neurosage.search.rl import RLSearcher, decisions
from neurosage.spaces import get_space


def _reward(genotype):
    """A cheap synthetic objective over the real cell space: separable 3x3 convs fed from state 0 are good."""
    ops = [op for b in genotype.normal.blocks for op in b.ops]
    ins = [i for b in genotype.normal.blocks for i in b.inputs]
    return sum(op == "sep_conv_3x3" for op in ops) + 0.5 * sum(i == 0 for i in ins)


def _rewards(searcher, n, objective=None):
    """Ask and tell ``n`` trials scored by ``objective`` (default :func:`_reward`); their rewards in order."""
    objective = objective or _reward
    out = []
    for _ in range(n):
        tid, _, genotype = searcher.ask()
        out.append(objective(genotype))
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
    rl = [np.mean(_rewards(RLSearcher(space, seed=s, learning_rate=0.02, reward="score"), n)[-n // 4 :]) for s in range(5)]
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
    return sum(layer.height == 3 and layer.width == 3 for layer in genotype.layers) + 0.5 * sum(layer.filters == 64 for layer in genotype.layers)


@pytest.mark.slow  # 15-40 s; the layer space's learning stays in the default suite by the Zoph & Le controller's layers-20 test
def test_controller_learns_over_the_layer_space_more_than_random_search_over_5_seeds():
    space = get_space("layers-10")
    n = 40

    def last_quarter(searcher):
        return np.mean(_rewards(searcher, n, _layer_reward)[-n // 4:])

    rl = [last_quarter(RLSearcher(space, seed=s, learning_rate=0.05, reward="score")) for s in range(5)]
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
    state = torch.load(RunFolder(tmp_path / "cut").searcher_state, weights_only=False)
    assert state["applied"] == 3 and state["next_tid"] == 3
    updates, update = [], RLSearcher._update
    monkeypatch.setattr(RLSearcher, "_update", lambda self, choices, reward: updates.append(reward) or update(self, choices, reward))
    resumed = run_search(tmp_path / "cut", budget=5, resume=True, **kw)
    assert len(updates) == 2  # the state was loaded: only trials 3 and 4 update the controller, none is replayed
    assert list(resumed.trials.sort_values("tid").genotype) == list(whole.trials.sort_values("tid").genotype)
    whole_state = torch.load(RunFolder(tmp_path / "whole").searcher_state, weights_only=False)
    resumed_state = torch.load(RunFolder(tmp_path / "cut").searcher_state, weights_only=False)
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


def _sparse_accuracy(genotype):
    """An accuracy-like objective in [0, 1] over a layer-wise space: 3x3 kernels, and few skip connections."""
    layers = genotype.layers
    pairs = sum(i for i in range(len(layers)))
    kernels = np.mean([layer.height == 3 and layer.width == 3 for layer in layers])
    return 0.5 * kernels + 0.5 * (1 - sum(len(layer.inputs) for layer in layers) / pairs)


def test_the_zoph_le_controller_learns_layers_20_faster_than_random_search():
    space = get_space("layers-20")
    n = 30

    def last_third(searcher):  # an accuracy: Zoph & Le's cubed reward, as the default
        return np.mean(_rewards(searcher, n, _sparse_accuracy)[-n // 3:])

    rl = [last_third(RLSearcher(space, seed=s, learning_rate=0.01)) for s in range(3)]
    rnd = [last_third(RandomSearcher(space, seed=s)) for s in range(3)]
    assert min(rl) > max(rnd) + 0.05, (rl, rnd)


def test_skip_connections_come_from_one_shared_anchor_attention():
    space = get_space("layers-20")
    anchor, pairwise = RLSearcher(space, seed=0).controller, RLSearcher(space, seed=0, skip="pairwise").controller
    skips = [label for label, _ in decisions(space) if "/in" in label]
    assert len(skips) == 190 and anchor.skip == "anchor"
    assert not any(label in skips for label in np.array(anchor.labels)[[int(k) for k in anchor.heads]])  # no per-pair head
    assert len(pairwise.heads) == len(decisions(space))  # the per-pair variant: one head per decision, 190 for the pairs
    n_attention = sum(p.numel() for m in (anchor.w_prev, anchor.w_curr, anchor.v) for p in m.parameters())
    assert n_attention == 2 * 35 * 35 + 35  # W_prev, W_curr, v: the same for 45 or 190 pairs
    assert RLSearcher(get_space("layers-10"), seed=0).controller.w_prev.weight.shape == anchor.w_prev.weight.shape


def test_the_skip_probability_has_zoph_and_le_form():
    """P(j -> i) = sigmoid(v^T tanh(W_prev h_j + W_curr h_i)), h the LSTM's outputs at the anchor points."""
    from neurosage.spaces.layerwise import LayerSpace

    space = LayerSpace("two", 2, heights=(1, 3), widths=(3,), filters=(24,))
    controller = RLSearcher(space, seed=1).controller
    labels = controller.labels
    assert labels == ["l0/height", "l1/height", "l1/in0"]
    with torch.no_grad():
        x, state = controller.start, None
        out, state = controller.lstm(x, state)  # l0/height
        x = controller.embed["0"](torch.tensor([[1]]))
        h0, state = controller.lstm(x, state)  # anchor of layer 0
        out, state = controller.lstm(torch.zeros(1, 1, 35), state)  # l1/height, after an anchor with no skip chosen
        x = controller.embed["1"](torch.tensor([[0]]))
        h1, state = controller.lstm(x, state)  # anchor of layer 1
        p = torch.sigmoid(controller.v(torch.tanh(controller.w_prev(h0[:, -1]) + controller.w_curr(h1[:, -1]))))[0, 0]
        logp = controller.log_prob([1, 0, 1]) - controller.log_prob([1, 0, 0])
    assert float(logp) == pytest.approx(float(torch.log(p) - torch.log(1 - p)), abs=1e-6)


def test_the_controller_starts_uniform_in_zoph_and_le_range_and_the_reward_is_the_score_cubed():
    searcher = RLSearcher(get_space("layers-10"), seed=3)
    weights = torch.cat([p.flatten() for p in searcher.controller.parameters()])
    assert weights.abs().max() <= 0.08 and weights.std() > 0.03  # uniform in [-0.08, 0.08]
    assert searcher.policy_entropy() > 0.99  # near uniform at the start
    tid, _, _ = searcher.ask()
    searcher.tell(tid, -0.7)
    assert searcher.baseline == pytest.approx(0.7**3)
    plain = RLSearcher(get_space("layers-10"), seed=3, reward="score")
    tid, _, _ = plain.ask()
    plain.tell(tid, -0.7)
    assert plain.baseline == pytest.approx(0.7)
    with pytest.raises(Exception, match="unknown reward 'square'"):
        RLSearcher(get_space("layers-10"), reward="square")
    with pytest.raises(Exception, match="unknown skip 'shared'"):
        RLSearcher(get_space("layers-10"), skip="shared")


def test_the_policy_entropy_falls_as_the_controller_learns_and_a_state_of_another_controller_is_refused(tmp_path):
    space = get_space("layers-10")
    searcher = RLSearcher(space, seed=0, learning_rate=0.05)
    before = searcher.policy_entropy()
    _rewards(searcher, 30, _sparse_accuracy)
    assert searcher.policy_entropy() < before - 0.1
    searcher.save_state(tmp_path / "state.pt")
    with pytest.raises(RunFolderError, match="skip head 'anchor'"):
        RLSearcher(space, seed=0, skip="pairwise").load_state(tmp_path / "state.pt")
    with pytest.raises(RunFolderError, match="reward 'cubed'"):
        RLSearcher(space, seed=0, reward="score").load_state(tmp_path / "state.pt")
