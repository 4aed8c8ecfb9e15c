"""How far the RL controller's policy moves at neurosage's budgets (issue 27): entropy per decision over trials.

The controller (Zoph & Le defaults: Adam 0.0006, cubed reward, moving-average baseline) is told a cheap synthetic
score with the scale of a small-scale search's: ``mean + sd * z(genotype)``, where ``z`` is a standardised mix of
"3x3 kernels" and "few skips" (mean 0.70, sd 0.045: the powered run's pool of mature accuracies, whose spread is of
the order of the premature scores'). At checkpoints it prints the mean entropy per decision as a fraction of the
uniform policy's (1 = the controller still proposes uniformly at random), the last quarter's mean score, and how
many of the first ``--paired`` proposals of a P-guided and a P+TG-guided controller (same seed, scores differing by a
second synthetic term) are identical.

    python scripts/rl_policy_movement.py --space layers-10 --trials 1000
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import torch

from neurosage.search.rl import RLSearcher
from neurosage.spaces import get_space

log = logging.getLogger("rl_policy_movement")


def feature(genotype) -> float:
    """In [0, 1]: half the fraction of 3x3 kernels, half the fraction of skip decisions left out."""
    layers = genotype.layers
    pairs = max(1, sum(range(len(layers))))
    kernels = np.mean([layer.height == 3 and layer.width == 3 for layer in layers])
    return 0.5 * kernels + 0.5 * (1 - sum(len(layer.inputs) for layer in layers) / pairs)


def second_feature(genotype) -> float:
    """A TG-like second term: the fraction of layers with 64 filters."""
    return float(np.mean([layer.filters == max(other.filters for other in genotype.layers) for layer in genotype.layers]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="layers-10")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--learning-rates", default="0.0006,0.006")
    parser.add_argument("--skip", default="anchor", choices=("anchor", "pairwise"))
    parser.add_argument("--mean", type=float, default=0.70)
    parser.add_argument("--sd", type=float, default=0.045)
    parser.add_argument("--paired", type=int, default=8, help="the small-scale search budget")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    space = get_space(args.space)
    rng = np.random.default_rng(args.seed)
    sample = [feature(space.sample(rng)) for _ in range(2000)]
    mu, sd = float(np.mean(sample)), float(np.std(sample))
    checkpoints = {0, 8, 50, 200, 1000, args.trials}
    for lr in (float(x) for x in args.learning_rates.split(",")):
        searcher = RLSearcher(space, seed=args.seed, learning_rate=lr, skip=args.skip)
        scores = []
        for t in range(args.trials + 1):
            if t in checkpoints:
                recent = np.mean(scores[-max(1, t // 4):]) if scores else float("nan")
                log.info("%s lr %g trials %5d: entropy per decision %.4f of uniform; recent mean score %.4f",
                         args.space, lr, t, searcher.policy_entropy(32), recent)
            if t == args.trials:
                break
            tid, _, genotype = searcher.ask()
            scores.append(args.mean + args.sd * (feature(genotype) - mu) / sd)
            searcher.tell(tid, -scores[-1])
        p_only, p_tg = (RLSearcher(space, seed=args.seed, learning_rate=lr, skip=args.skip) for _ in range(2))
        same = 0
        for _ in range(args.paired):
            (tid, _, g1), (_, _, g2) = p_only.ask(), p_tg.ask()
            same += str(g1) == str(g2)
            p1 = args.mean + args.sd * (feature(g1) - mu) / sd
            p2 = args.mean + args.sd * (feature(g2) - mu) / sd
            p_only.tell(tid, -p1)
            p_tg.tell(tid, -(p2 + second_feature(g2)))
        log.info("%s lr %g: %d of the first %d proposals of a P- and a P+TG-guided controller (same seed) are identical",
                 args.space, lr, same, args.paired)


if __name__ == "__main__":
    main()
