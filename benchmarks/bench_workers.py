"""Benchmark: CPU training throughput of one pool architecture in this process vs on Dask worker processes.

Ratios in the same run: a Dask worker (one thread) against this process at one thread, with and without the
nanny's default ``MALLOC_TRIM_THRESHOLD_=65536`` (which :func:`neurosage.search.executors.local_client` drops),
and two one-thread workers together against one two-thread process. The network is the powered predictability
run's (a random genotype of the 10-layer space at width 0.25, 28x28 grey images, batch 64).

Usage: python benchmarks/bench_workers.py [--steps 30]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch


def steps_per_second(steps: int, threads: int, seed: int = 0) -> float:
    """SGD steps/s of the powered pool's network on random data (best of two timings after a warm-up)."""
    import numpy as np
    from torch import nn

    from neurosage.nets.build import build_network
    from neurosage.spaces import get_space

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    net = build_network(get_space("layers-10").sample(np.random.default_rng(seed)), num_classes=10, in_channels=1, width_multiplier=0.25)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, time.perf_counter() - t0)
    return steps / best


@contextlib.contextmanager
def _cluster(workers: int, trim: bool):
    import dask
    from distributed import Client, LocalCluster

    from neurosage.search.executors import local_client

    if not trim:
        with local_client(workers) as client:
            yield client
        return
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 65536}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        yield client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    inline1 = steps_per_second(args.steps, 1)
    inline2 = steps_per_second(args.steps, 2)
    print(f"this process, 1 thread: {inline1:.2f} steps/s; 2 threads: {inline2:.2f} steps/s ({inline2 / inline1:.2f}x)")
    with _cluster(1, False) as client:
        one = client.submit(steps_per_second, args.steps, 1, pure=False).result()
    print(f"one Dask worker, 1 thread, local_client (no trim threshold): {one:.2f} steps/s = {one / inline1:.2f}x this process")
    with _cluster(2, False) as client:
        both = sum(client.gather([client.submit(steps_per_second, args.steps, 1, seed, pure=False) for seed in (0, 0)]))
    print(f"two 1-thread workers together: {both:.2f} steps/s = {both / inline2:.2f}x one 2-thread process")
    # last: the nanny leaves the variable in this process's environment, where later workers would inherit it
    with _cluster(1, True) as client:
        trimmed = client.submit(steps_per_second, args.steps, 1, pure=False).result()
    print(f"one Dask worker, 1 thread, with the nanny's MALLOC_TRIM_THRESHOLD_=65536: {trimmed:.2f} steps/s = {trimmed / inline1:.2f}x this process")

if __name__ == "__main__":
    main()
