"""Benchmark: cost of one TPE ask/tell step as the history grows (PNAS and NASNet spaces, B=5).

Feeds a synthetic loss so no training is involved; prints the seconds per
``ask`` (one ``tpe.suggest`` + ``space_eval``) around 20/100/500/1000 trials,
and the same for random search as the baseline.

Usage: python benchmarks/bench_search.py [--trials 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neurosage.search.random_search import RandomSearcher
from neurosage.search.tpe import TPESearcher
from neurosage.spaces import get_space


def loss(genotype) -> float:
    return -sum(op.startswith("sep") for b in genotype.normal.blocks for op in b.ops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=1000)
    args = parser.parse_args()
    marks = sorted({m for m in (20, 100, 500, 1000, args.trials) if m <= args.trials})
    for name in ("pnas", "nasnet"):
        space = get_space(name)
        for algo, searcher in (("tpe", TPESearcher(space, seed=0)), ("random", RandomSearcher(space, seed=0))):
            times = []
            t_total = time.perf_counter()
            for _ in range(args.trials):
                t0 = time.perf_counter()
                tid, _, g = searcher.ask()
                times.append(time.perf_counter() - t0)
                searcher.tell(tid, loss(g))
            total = time.perf_counter() - t_total
            per = ", ".join(f"{m}: {np.mean(times[max(0, m - 10):m]) * 1e3:.1f} ms" for m in marks)
            print(f"{name:6s} {algo:6s} ask() per call near trial {per} | whole run {total:.1f} s")


if __name__ == "__main__":
    main()
