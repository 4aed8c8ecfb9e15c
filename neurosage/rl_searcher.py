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
would (``tests/test_rl_searcher.py``). Each proposal is sampled with a generator
seeded by ``derive_seed(seed, tid)``.
"""

from __future__ import annotations

from typing import Any

import torch
from hyperopt import space_eval
from torch import nn

from neurosage.seeding import derive_seed
from neurosage.space import CellSpace, Genotype

__all__ = ["Controller", "RLSearcher", "decisions"]


def decisions(space: CellSpace) -> list[tuple[str, int]]:
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

    def log_prob(self, choices: list[int] | None = None, generator: torch.Generator | None = None) -> tuple[list[int], torch.Tensor]:
        """Sample the decisions (``choices=None``, with ``generator``) or score given ones; returns them and their log-probability."""
        x, state, total, taken = self.start, None, torch.zeros(()), []
        for i, head in enumerate(self.heads):
            out, state = self.lstm(x, state)
            logp = torch.log_softmax(head(out[:, -1]), dim=-1)[0]
            choice = int(torch.multinomial(logp.exp(), 1, generator=generator)) if choices is None else int(choices[i])
            taken.append(choice)
            total = total + logp[choice]
            x = self.embed[i](torch.tensor([[choice]]))
        return taken, total


class RLSearcher:
    """REINFORCE with an LSTM controller (``--algo rl``); see the module docstring."""

    def __init__(self, space: CellSpace, seed: int = 0, learning_rate: float = 6e-4, baseline_decay: float = 0.95, hidden: int = 35):
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

    def ask(self) -> tuple[int, dict[str, Any], Genotype]:
        tid = self.next_tid
        self.next_tid += 1
        gen = torch.Generator().manual_seed(derive_seed(self.seed, tid))
        with torch.no_grad():
            choices, _ = self.controller.log_prob(generator=gen)
        vals = {label: c for (label, _), c in zip(self.decisions, choices)}
        self.proposals[tid] = vals
        return tid, vals, self.genotype(vals)

    def genotype(self, vals: dict[str, Any]) -> Genotype:
        return Genotype.from_hyperopt(space_eval(self.hp_space, vals))

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
        _, logp = self.controller.log_prob(choices)
        loss = -(reward - baseline) * logp
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.baseline = reward if self.baseline is None else self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward

    def observe(self, tid: int, vals: dict[str, Any], loss: float | None) -> None:
        """Replay a finished trial from a journal (resume): the same update, in trial order."""
        self.restore(tid, vals)
        self.tell(tid, loss)

    def restore(self, tid: int, vals: dict[str, Any]) -> None:
        """Re-insert a proposal that is being evaluated (its reward is applied when it is told)."""
        self.proposals[tid] = {label: int(vals[label]) for label, _ in self.decisions}
        self.next_tid = max(self.next_tid, tid + 1)
