"""REINFORCE search with an LSTM controller (Zoph & Le 2017), in the ask/tell interface of the searchers.

The controller is a 2-layer LSTM (35 hidden units) that emits one softmax per
decision of the space (here: every ``hp.choice`` of a cell space, in a fixed
order); the sampled choice is embedded and fed back as the next input. It is
trained with REINFORCE: after each reward (the trial's score), Adam (learning
rate 0.0006) steps on ``-(reward - baseline) * log p(decisions)``, where the
baseline is an exponential moving average of rewards (decay 0.95).

Rewards are applied **in trial order**: a reward that arrives before an earlier
trial's is held until every earlier trial has been told (failed trials update
nothing but keep their place). The controller's state after trial ``k`` is
therefore a function of the seed and the first ``k`` rewards, whatever order
workers finish in, and replaying a journal through :meth:`RLSearcher.observe`
rebuilds it exactly, so a resumed search proposes what an uninterrupted one
would (``tests/search/test_rl.py``). Each proposal is sampled with a generator
seeded by ``derive_seed(seed, tid)``, so the seed is the only random state.

The search driver also saves the whole state (controller weights, Adam's moments,
baseline, applied count, held rewards and proposals) to ``searcher_state.pt`` in the
run folder after every tell (:meth:`RLSearcher.save_state`); on resume it loads that
file and replays only the journal rows after it (:meth:`RLSearcher.load_state`), and
the two routes give the same controller to the last bit (tested).

The controller works over any space with ``decisions()``: cell spaces and the
layer-wise spaces of :mod:`neurosage.spaces.layerwise`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hyperopt import space_eval
from torch import nn

from neurosage.core.atomic import atomic_path
from neurosage.core.errors import RunFolderError
from neurosage.core.seeding import derive_seed

__all__ = ["decisions", "Controller", "RLSearcher"]


def decisions(space) -> list[tuple[str, int]]:
    """The controller's decisions, in the space's order: ``(hyperopt label, number of choices)`` for every
    choice with more than one option (the labels of :meth:`CellSpace.hyperopt_space`)."""
    return [(label, len(options)) for label, options in space.decisions() if len(options) > 1]


class Controller(nn.Module):
    """2-layer LSTM over a sequence of categorical decisions; one linear softmax head per decision."""

    def __init__(self, sizes: list[int], hidden: int = 35, layers: int = 2):
        super().__init__()
        self.sizes = list(sizes)
        self.start = nn.Parameter(torch.zeros(1, 1, hidden))
        self.embed = nn.ModuleList(nn.Embedding(n, hidden) for n in self.sizes)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in self.sizes)

    def sample(self, generator: torch.Generator | None = None) -> list[int]:
        """Sample the decisions one at a time, each sampled choice embedded and fed back as the next input."""
        x, state, taken = self.start, None, []
        with torch.no_grad():
            for i, head in enumerate(self.heads):
                out, state = self.lstm(x, state)
                probs = torch.softmax(head(out[:, -1]), dim=-1)[0]
                taken.append(int(torch.multinomial(probs, 1, generator=generator)))
                x = self.embed[i](torch.tensor([[taken[-1]]]))
        return taken

    def log_prob(self, choices: list[int]) -> torch.Tensor:
        """log p(choices): the whole sequence in one LSTM call (the inputs are known), one head per step."""
        inputs = [self.start] + [self.embed[i](torch.tensor([[c]])) for i, c in enumerate(choices[:-1])]
        out, _ = self.lstm(torch.cat(inputs, dim=1))
        return sum(torch.log_softmax(head(out[:, i]), dim=-1)[0, c] for i, (head, c) in enumerate(zip(self.heads, choices)))


class RLSearcher:
    """REINFORCE with an LSTM controller (``--algo rl``); see the module docstring."""

    def __init__(self, space, seed: int = 0, learning_rate: float = 6e-4, baseline_decay: float = 0.95, hidden: int = 35):
        self.space, self.seed = space, seed
        self.hp_space = space.hyperopt_space()
        self.decisions = decisions(space)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(seed, 0, 2))  # path (0, 2): apart from proposals (tid,) and candidates (tid, 1)
            self.controller = Controller([n for _, n in self.decisions], hidden=hidden)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=learning_rate)
        self.baseline: float | None = None
        self.baseline_decay = baseline_decay
        self.next_tid = 0
        self.proposals: dict[int, dict[str, int]] = {}
        self.rewards: dict[int, float | None] = {}
        self.applied = 0  # trials 0..applied-1 have updated the controller

    def ask(self) -> tuple[int, dict[str, Any], Any]:
        tid = self.next_tid
        self.next_tid += 1
        gen = torch.Generator().manual_seed(derive_seed(self.seed, tid))
        choices = self.controller.sample(generator=gen)
        vals = {label: c for (label, _), c in zip(self.decisions, choices)}
        self.proposals[tid] = vals
        return tid, vals, self.genotype(vals)

    def genotype(self, vals: dict[str, Any]):
        return self.space.genotype(space_eval(self.hp_space, vals))

    def tell(self, tid: int, loss: float | None) -> None:
        """Record the trial's reward (``-loss``; None for a failed trial) and apply every reward now in order."""
        self.rewards[tid] = None if loss is None else -float(loss)
        while self.applied in self.rewards and self.applied in self.proposals:
            reward = self.rewards.pop(self.applied)
            vals = self.proposals.pop(self.applied)
            if reward is not None:
                self._update([vals[label] for label, _ in self.decisions], reward)
            self.applied += 1

    def _update(self, choices: list[int], reward: float) -> None:
        baseline = reward if self.baseline is None else self.baseline
        logp = self.controller.log_prob(choices)
        loss = -(reward - baseline) * logp
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.baseline = reward if self.baseline is None else self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward

    def observe(self, tid: int, vals: dict[str, Any], loss: float | None) -> None:
        """Replay a finished trial from a journal (resume): the same update, in trial order. A trial already
        applied in a loaded state (:meth:`load_state`) only advances ``next_tid``."""
        if tid < self.applied:
            self.next_tid = max(self.next_tid, tid + 1)
            return
        self.restore(tid, vals)
        self.tell(tid, loss)

    def state_dict(self) -> dict[str, Any]:
        """Everything that determines the next proposals: weights, optimiser, baseline, progress and held trials."""
        return {
            "kind": "rl", "seed": self.seed, "decisions": self.decisions,
            "controller": self.controller.state_dict(), "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline, "applied": self.applied, "next_tid": self.next_tid,
            "proposals": dict(self.proposals), "rewards": dict(self.rewards),
            "rng": "none held: proposal tid is sampled from torch.Generator().manual_seed(derive_seed(seed, tid))",
        }

    def save_state(self, path: str | Path) -> None:
        """Write :meth:`state_dict` to ``path`` atomically (the driver calls it after every tell)."""
        with atomic_path(Path(path)) as tmp:
            torch.save(self.state_dict(), tmp)

    def load_state(self, path: str | Path, finished: int | None = None) -> None:
        """Restore a state written by :meth:`save_state`; refuses a state of another seed or space, or one that
        has applied more than the ``finished`` trials of the journal it is resumed with."""
        state = torch.load(path, weights_only=False)
        fix = "resume with the run's own settings, or delete the file to rebuild the state from the journal"
        if state.get("kind") != "rl" or state["seed"] != self.seed or [tuple(d) for d in state["decisions"]] != self.decisions:
            raise RunFolderError(
                f"{path} holds the state of another RL search (seed {state.get('seed')}, {len(state.get('decisions', []))} decisions)", fix, file=path,
            )
        if finished is not None and state["applied"] > finished:
            raise RunFolderError(f"{path} has applied {state['applied']} rewards, but the journal holds {finished} finished trials", fix, file=path)
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline, self.applied, self.next_tid = state["baseline"], state["applied"], state["next_tid"]
        self.proposals, self.rewards = dict(state["proposals"]), dict(state["rewards"])

    def restore(self, tid: int, vals: dict[str, Any]) -> None:
        """Re-insert a proposal that is being evaluated (its reward is applied when it is told)."""
        self.proposals[tid] = {label: int(vals[label]) for label, _ in self.decisions}
        self.next_tid = max(self.next_tid, tid + 1)
