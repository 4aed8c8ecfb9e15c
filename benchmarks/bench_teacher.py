"""Benchmark: scoring a teacher (and its controls) against a pool, as the issue's budget asks: 128 architectures x 3
checkpoints in at most 3 minutes on 2 cores.

A pool of ``--architectures`` random ``layers-10`` networks (width 0.125) on Fashion-MNIST-sized images is built with a
trivially short protocol (training length does not change what scoring costs), then ``bench_teacher`` scores a
ResNet-8 teacher with its pixel, category and untrained controls and "beyond pixels" against every architecture at
``--steps`` stored steps. The baseline in the same run: one ``score_model`` call of one architecture against the
teacher alone (what a search pays per candidate for TG), times the number of (architecture, step) pairs.

Usage: python benchmarks/bench_teacher.py [--architectures 128] [--steps 3] [--stimuli 300] [--pool runs/bench-pool]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from neurosage.data_adapters.imageset import ImageSet
from neurosage.nets.models import cifar_resnet
from neurosage.pool import PoolSpec, bench_teacher, build_pool
from neurosage.teachers.scoring import score_model
from neurosage.teachers.teacher import network_teacher
from neurosage.training.configs import NetworkConfig


def _images(n: int, seed: int) -> ImageSet:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 1, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n)
    data = ImageSet(images, labels, mean=0.286, std=0.353)
    data.stimulus_ids = [f"s{seed}-{i}" for i in range(n)]
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--architectures", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3, help="premature checkpoints scored (initialisation is stored too, not scored)")
    parser.add_argument("--stimuli", type=int, default=300)
    parser.add_argument("--pool", default="runs/bench-teacher-pool", help="the pool folder (kept: a second run only scores)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one thread, as a search's candidates run (and no oversubscription on a shared machine)
    train, val, test, stimuli = _images(640, 0), _images(200, 1), _images(200, 2), _images(args.stimuli, 3)
    spec = PoolSpec(n_architectures=args.architectures, checkpoints=tuple(range(1, args.steps + 1)), mature_steps=args.steps + 1,
                    second_seed=0, long_subset=0, network=NetworkConfig(width_multiplier=0.125), bn_recalibration=1, batch_size=64)
    t0 = time.perf_counter()
    pool = build_pool(Path(args.pool), spec, train, val, test, stimuli=stimuli, workers=1, progress=False)
    print(f"pool of {args.architectures} architectures ready in {time.perf_counter() - t0:.0f} s (built now or read)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = cifar_resnet(n=1, num_classes=10, in_channels=1, width=16)
    teacher = network_teacher(net, pool.stimuli(), ["stack1", "stack2", "stack3"], seed=0)
    candidate = pool.network(0, args.steps)
    layers = [e for e in candidate.endpoints if e not in ("stem", "pool")]
    one = float("inf")
    for _ in range(3):  # best of 3: what a search pays per candidate for TG
        t0 = time.perf_counter()
        score_model(candidate, teacher, layers)
        one = min(one, time.perf_counter() - t0)
    pairs = args.architectures * args.steps
    t0 = time.perf_counter()
    result = bench_teacher(pool, teacher, spec="net:cifar_resnet-1:stack1,stack2,stack3", n_bootstrap=2000, progress=False)
    whole = time.perf_counter() - t0
    teachers = result.scores.teacher.nunique()
    print(f"score_model, one architecture, teacher alone: {one:.3f} s; x {pairs} (architecture, step) pairs = {one * pairs:.0f} s")
    print(f"bench_teacher: {teachers} teachers incl. controls and beyond-pixels, {args.architectures} architectures x {args.steps + 1} stored steps, "
          f"statistics included: {whole:.0f} s ({whole / (one * pairs):.2f} x the baseline's {one * pairs:.0f} s)")


if __name__ == "__main__":
    main()
