"""REINFORCE search with an LSTM controller (Zoph & Le 2017), in the ask/tell interface of the searchers.

The controller is Zoph & Le's (section 3 and 4.1 of their paper): a 2-layer LSTM (35 hidden units, every
parameter initialised uniformly in [-0.08, 0.08]) that emits one softmax per categorical decision of the
space, in a fixed order, each sampled choice embedded and fed back as the next input. In a layer-wise space
(decisions ``l<i>/...``) each layer ends with an **anchor point**: one LSTM step whose output ``h_i`` stands
for layer ``i``; whether layer ``i`` reads earlier layer ``j`` is a Bernoulli draw with

    P(j -> i) = sigmoid(v^T tanh(W_prev h_j + W_curr h_i)),

``v``, ``W_prev`` and ``W_curr`` shared by every pair, so a preference learned for one connection carries over
to the others. After an anchor point the next input is the mean of the chosen layers' anchors,
``sum_j skip_j h_j / (1 + sum_j skip_j)`` (Zoph & Le do not write this step down; this is ENAS's reading of it,
Pham et al. 2018). ``skip="pairwise"`` keeps the earlier per-pair 2-way softmax heads instead (one head per
``(i, j)``: nothing shared).

Training is REINFORCE: after each reward, Adam (learning rate 0.0006) steps on
``-(R - b) * log p(decisions)``. Zoph & Le's reward is the validation accuracy *cubed* (``reward="cubed"``,
the default; here the trial's score, P + alpha TG, cubed with its sign); ``reward="score"`` uses the score itself.
The baseline ``b`` is an exponential moving average of earlier rewards (decay 0.95; Zoph & Le give no value).

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

How far the policy has moved: :meth:`RLSearcher.policy_entropy` (mean entropy per decision as a fraction of the
uniform policy's; 1 = still uniform).
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any, Literal

import torch
from hyperopt import space_eval
from torch import nn

from neurosage.core.atomic import atomic_path
from neurosage.core.errors import ConfigError, RunFolderError
from neurosage.core.seeding import derive_seed
from neurosage.core.validate import check_arguments, check_choices, is_whole_number
from neurosage.spaces.contract import from_indices, layer_of, skip_of

__all__ = ["decisions", "Controller", "RLSearcher", "SKIP_HEADS", "REWARDS"]

#: How skip connections are predicted: Zoph & Le's shared anchor attention, or one softmax head per pair.
SKIP_HEADS = ("anchor", "pairwise")
#: The reward of a trial with score s: Zoph & Le's s**3, or s.
REWARDS = ("cubed", "score")


def decisions(space) -> list[tuple[str, int]]:
    """The controller's decisions, in the space's order: ``(hyperopt label, number of choices)`` for every
    choice with more than one option (the labels of :meth:`CellSpace.hyperopt_space`)."""
    return [(label, len(options)) for label, options in space.decisions() if len(options) > 1]


class Controller(nn.Module):
    """2-layer LSTM over a sequence of decisions: a softmax head per categorical decision, and (``skip="anchor"``)
    anchor-point attention for the ``l<i>/in<j>`` decisions of a layer-wise space. See the module docstring."""

    def __init__(self, decisions: list[tuple[str, int]], hidden: int = 35, layers: int = 2,
                 skip: Literal["anchor", "pairwise"] = "anchor", init_range: float = 0.08):
        check_arguments(Controller.__init__, locals())
        check_choices(Controller.__init__, locals())
        super().__init__()
        bad = [d for d in decisions if not (isinstance(d, (tuple, list)) and len(d) == 2 and is_whole_number(d[1]) and d[1] >= 1)]
        if bad or not decisions:
            raise ConfigError(f"Controller: decisions are (label, number of options >= 1) pairs, got {bad[0] if bad else 'none'!r}",
                              "pass [(label, len(options)) for label, options in space.decisions()]", field="decisions")
        self.labels = [label for label, _ in decisions]
        self.sizes = [int(n) for _, n in decisions]
        pairs = {k: skip_of(label) for k, label in enumerate(self.labels)} if skip == "anchor" else {}
        skips = {k: pair for k, pair in pairs.items() if pair is not None and self.sizes[k] == 2}
        self.skip = skip if skips else "none"
        self.steps = self._plan(skips)
        self.start = nn.Parameter(torch.zeros(1, 1, hidden))
        choices = [k for k in range(len(self.sizes)) if k not in skips]
        self.embed = nn.ModuleDict({str(k): nn.Embedding(self.sizes[k], hidden) for k in choices})
        self.heads = nn.ModuleDict({str(k): nn.Linear(hidden, self.sizes[k]) for k in choices})
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True)
        if skips:
            self.w_prev = nn.Linear(hidden, hidden, bias=False)
            self.w_curr = nn.Linear(hidden, hidden, bias=False)
            self.v = nn.Linear(hidden, 1, bias=False)
        for p in self.parameters():
            nn.init.uniform_(p, -init_range, init_range)

    def _plan(self, skips: dict[int, tuple[int, int]]) -> list[tuple[Any, ...]]:
        """The LSTM steps: ``("choice", k)`` for decision ``k``; ``("anchor", i, {j: k})`` ends layer ``i``."""
        if not skips:
            return [("choice", k) for k in range(len(self.sizes))]
        by_layer: dict[int, list[int]] = {}
        for k, label in enumerate(self.labels):
            i = layer_of(label)
            if i is None:
                raise ConfigError(f"decision {label!r} belongs to no layer, but the space has anchor-point decisions",
                                  "label every decision of a layer-wise space l<i>/..., or use skip='pairwise'", field="skip")
            by_layer.setdefault(i, []).append(k)
        steps: list[tuple[Any, ...]] = []
        for i in range(max(by_layer) + 1):
            steps += [("choice", k) for k in by_layer.get(i, []) if k not in skips]
            steps.append(("anchor", i, {skips[k][1]: k for k in by_layer.get(i, []) if k in skips}))
        return steps

    def _walk(self, choices: list[int] | None = None, generator: torch.Generator | None = None):
        """Run the controller once: sample (``choices=None``) or score given choices. Returns the choices,
        the sum of their log-probabilities and the sum of the decisions' entropies."""
        taken = list(choices) if choices is not None else [0] * len(self.sizes)
        x: torch.Tensor = self.start
        state: tuple[torch.Tensor, torch.Tensor] | None = None
        logp, entropy = torch.zeros(()), torch.zeros(())
        anchors: dict[int, torch.Tensor] = {}
        projected: dict[int, torch.Tensor] = {}
        for step in self.steps:
            out, state = self.lstm(x, state)
            h = out[:, -1]
            if step[0] == "choice":
                k = step[1]
                log_probs = torch.log_softmax(self.heads[str(k)](h), dim=-1)[0]
                if choices is None:
                    taken[k] = int(torch.multinomial(log_probs.exp(), 1, generator=generator))
                logp = logp + log_probs[taken[k]]
                entropy = entropy - (log_probs.exp() * log_probs).sum()
                x = self.embed[str(k)](torch.tensor([[taken[k]]]))
                continue
            _, i, sources = step
            anchors[i], projected[i] = h, self.w_prev(h)
            current = self.w_curr(h)
            chosen = []
            for j, k in sorted(sources.items()):
                logit = self.v(torch.tanh(projected[j] + current))[0, 0]
                if choices is None:
                    taken[k] = int(torch.bernoulli(torch.sigmoid(logit), generator=generator))
                logp = logp + nn.functional.logsigmoid(logit if taken[k] else -logit)
                p = torch.sigmoid(logit)
                entropy = entropy - (p * nn.functional.logsigmoid(logit) + (1 - p) * nn.functional.logsigmoid(-logit))
                if taken[k]:
                    chosen.append(anchors[j])
            x = (torch.stack(chosen).sum(0) if chosen else torch.zeros_like(h)).unsqueeze(1) / (1 + len(chosen))
        return taken, logp, entropy

    def sample(self, generator: torch.Generator | None = None) -> list[int]:
        """One choice per decision (in the order of ``decisions``), sampled step by step."""
        check_arguments(Controller.sample, locals())
        with torch.no_grad():
            return self._walk(generator=generator)[0]

    def log_prob(self, choices: list[int]) -> torch.Tensor:
        """log p(choices) under the controller (differentiable): one choice index per decision, in the order of ``decisions``."""
        check_arguments(Controller.log_prob, locals())
        taken = list(choices)
        if len(taken) != len(self.sizes):
            raise ConfigError(f"Controller.log_prob: {len(taken)} choice(s) for {len(self.sizes)} decisions", "give one choice index per "
                              f"decision, in order ({self.labels[:2]}...), e.g. controller.sample()", field="choices")
        bad = next((k for k, c in enumerate(taken) if not (is_whole_number(c) and 0 <= c < self.sizes[k])), None)
        if bad is not None:
            raise ConfigError(f"Controller.log_prob: choice {taken[bad]!r} of decision {self.labels[bad]!r} is no index of its "
                              f"{self.sizes[bad]} options", f"give an index 0..{self.sizes[bad] - 1} (choices are indices, not options)",
                              field="choices")
        return self._walk([int(c) for c in taken])[1]

    def entropy(self, n_samples: int = 32, generator: torch.Generator | None = None) -> float:
        """Mean entropy per decision along sampled sequences, as a fraction of the uniform policy's (1 = uniform)."""
        check_arguments(Controller.entropy, locals())
        if n_samples < 1:
            raise ConfigError(f"Controller.entropy: n_samples must be at least 1, got {n_samples}", "use e.g. 32", field="n_samples")
        uniform = sum(math.log(n) for n in self.sizes)
        with torch.no_grad():
            total = sum(float(self._walk(generator=generator)[2]) for _ in range(n_samples))
        return total / n_samples / uniform if uniform else 0.0


def _check_settings(space, reward, learning_rate, baseline_decay, hidden, init_range) -> None:
    """Refuse an RL searcher that cannot learn what it is told, by the setting's name."""
    if not hasattr(space, "decisions") or not hasattr(space, "hyperopt_space"):
        raise ConfigError(f"space must be a search space, got {type(space).__name__} {space!r}"[:200],
                          "pass get_space('layers-10') (neurosage.spaces.get_space), not its name", field="space")
    for name, value, ok, fix in (
        ("learning_rate", learning_rate, lambda v: 0 < v <= 1, "use Zoph & Le's 0.0006 (up to about 0.01 for fast synthetic tests)"),
        ("baseline_decay", baseline_decay, lambda v: 0 <= v < 1, "use a decay in [0, 1), e.g. 0.95"),
        ("init_range", init_range, lambda v: 0 < v <= 1, "use Zoph & Le's 0.08"),
    ):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or not ok(value):
            raise ConfigError(f"{name} {value!r} is out of range" + (" (it is text: pass a number)" if isinstance(value, str) else ""), fix,
                              field=name)
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
        raise ConfigError(f"hidden must be a positive number of LSTM units, got {hidden!r}", "use Zoph & Le's 35", field="hidden")


class RLSearcher:
    """REINFORCE with an LSTM controller (``--algo rl``); see the module docstring."""

    def __init__(self, space, seed: int = 0, learning_rate: float = 6e-4, baseline_decay: float = 0.95, hidden: int = 35,
                 skip: Literal["anchor", "pairwise"] = "anchor", reward: Literal["cubed", "score"] = "cubed", init_range: float = 0.08):
        check_choices(RLSearcher.__init__, locals())
        _check_settings(space, reward, learning_rate, baseline_decay, hidden, init_range)
        self.space, self.seed, self.reward, self.skip = space, seed, reward, skip
        self.hp_space = space.hyperopt_space()
        self.decisions = decisions(space)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(seed, 0, 2))  # path (0, 2): apart from proposals (tid,) and candidates (tid, 1)
            self.controller = Controller(self.decisions, hidden=hidden, skip=skip, init_range=init_range)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=learning_rate)
        self.baseline: float | None = None
        self.baseline_decay = baseline_decay
        self.next_tid = 0
        self.proposals: dict[int, dict[str, int]] = {}
        self.rewards: dict[int, float | None] = {}
        self.applied = 0  # trials 0..applied-1 have updated the controller

    def policy_entropy(self, n_samples: int = 32) -> float:
        """How far the policy has moved: mean entropy per decision over ``n_samples`` sequences (seeded by the
        searcher's seed and progress), as a fraction of the uniform policy's (1 = uniform, 0 = deterministic)."""
        check_arguments(RLSearcher.policy_entropy, locals())
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise ConfigError(f"n_samples must be a positive number of sampled sequences, got {n_samples!r}", "use e.g. 32", field="n_samples")
        gen = torch.Generator().manual_seed(derive_seed(self.seed, self.applied, 3))
        return self.controller.entropy(n_samples, generator=gen)

    def ask(self) -> tuple[int, dict[str, Any], Any]:
        tid = self.next_tid
        self.next_tid += 1
        gen = torch.Generator().manual_seed(derive_seed(self.seed, tid))
        choices = self.controller.sample(generator=gen)
        vals = {label: c for (label, _), c in zip(self.decisions, choices)}
        self.proposals[tid] = vals
        return tid, vals, self.genotype(vals)

    def genotype(self, vals: dict[str, Any]):
        check_arguments(RLSearcher.genotype, locals())
        from_indices(self.space, vals)  # labels of this space, each an index of its options: hyperopt's own errors name neither
        return self.space.genotype(space_eval(self.hp_space, vals))

    def tell(self, tid: int, loss: float | None) -> None:
        """Record the trial's reward (from its score ``-loss``; None for a failed trial) and apply every reward now in order."""
        if tid not in self.proposals or tid in self.rewards or tid < self.applied:
            raise ConfigError(f"trial {tid} was {'already told' if tid in self.rewards or tid < self.applied else 'never asked'}",
                              "tell each trial returned by ask() exactly once", field="tid")
        if loss is not None and (isinstance(loss, bool) or not isinstance(loss, numbers.Real) or not math.isfinite(loss)):
            raise ConfigError(f"trial {tid}'s loss must be a finite number or None (failed), got {loss!r}",
                              "tell None for a failed or diverged trial", field="loss")
        check_arguments(RLSearcher.tell, locals())
        score = None if loss is None else -float(loss)
        self.rewards[tid] = None if score is None else score**3 if self.reward == "cubed" else score
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
        check_arguments(RLSearcher.observe, locals())
        if tid < self.applied:
            self.next_tid = max(self.next_tid, tid + 1)
            return
        self.restore(tid, vals)
        self.tell(tid, loss)

    def state_dict(self) -> dict[str, Any]:
        """Everything that determines the next proposals: weights, optimiser, baseline, progress and held trials."""
        return {
            "kind": "rl", "seed": self.seed, "decisions": self.decisions, "skip": self.controller.skip, "reward": self.reward,
            "controller": self.controller.state_dict(), "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline, "applied": self.applied, "next_tid": self.next_tid,
            "proposals": dict(self.proposals), "rewards": dict(self.rewards),
            "rng": "none held: proposal tid is sampled from torch.Generator().manual_seed(derive_seed(seed, tid))",
        }

    def save_state(self, path: str | Path) -> None:
        """Write :meth:`state_dict` to ``path`` atomically (the driver calls it after every tell)."""
        check_arguments(RLSearcher.save_state, locals())
        with atomic_path(Path(path)) as tmp:
            torch.save(self.state_dict(), tmp)

    def load_state(self, path: str | Path, finished: int | None = None) -> None:
        """Restore a state written by :meth:`save_state`; refuses a state of another seed or space, or one that
        has applied more than the ``finished`` trials of the journal it is resumed with."""
        check_arguments(RLSearcher.load_state, locals())
        state = torch.load(path, weights_only=False)
        fix = "resume with the run's own settings, or delete the file to rebuild the state from the journal"
        if state.get("kind") != "rl" or state["seed"] != self.seed or [tuple(d) for d in state["decisions"]] != self.decisions:
            raise RunFolderError(
                f"{path} holds the state of another RL search (seed {state.get('seed')}, {len(state.get('decisions', []))} decisions)",
                fix, file=path,
            )
        if (state.get("skip"), state.get("reward")) != (self.controller.skip, self.reward):
            raise RunFolderError(f"{path} holds an RL controller with skip head {state.get('skip')!r} and reward {state.get('reward')!r} "
                                 f"(this search: {self.controller.skip!r}, {self.reward!r}; "
                                 "states before neurosage's Zoph & Le controller have neither)",
                                 fix, file=path)
        if finished is not None and state["applied"] > finished:
            raise RunFolderError(f"{path} has applied {state['applied']} rewards, but the journal holds {finished} finished trials", fix, file=path)
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline, self.applied, self.next_tid = state["baseline"], state["applied"], state["next_tid"]
        self.proposals, self.rewards = dict(state["proposals"]), dict(state["rewards"])

    def restore(self, tid: int, vals: dict[str, Any]) -> None:
        """Re-insert a proposal that is being evaluated (its reward is applied when it is told)."""
        check_arguments(RLSearcher.restore, locals())
        from_indices(self.space, vals)  # a point of this space, one index per decision
        self.proposals[tid] = {label: int(vals[label]) for label, _ in self.decisions}
        self.next_tid = max(self.next_tid, tid + 1)
