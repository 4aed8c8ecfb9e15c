"""Torch devices and threads: refuse a device this machine lacks (naming the fix), give each Dask worker its own
GPU, and run a candidate with a fixed number of CPU threads (results then do not depend on the executor).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import torch

from neurosage.core.devices import check_device
from neurosage.core.errors import ConfigError
from neurosage.core.once import warn_once
from neurosage.core.validate import check_arguments

log = logging.getLogger(__name__)

__all__ = ["check_device", "check_threads", "worker_device", "torch_threads"]


def worker_device(device: str | None) -> str | None:
    """The device this process evaluates on: ``"cuda"`` on a Dask worker of a machine with several GPUs
    becomes the worker's own GPU (worker number modulo the GPU count), so workers spread over the GPUs;
    several workers per GPU share it. Any other device is returned as given."""
    check_arguments(worker_device, locals())
    if device != "cuda" or not torch.cuda.is_available() or torch.cuda.device_count() < 2:
        return device
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return device
    return f"cuda:{int(name) % torch.cuda.device_count()}" if isinstance(name, int) or str(name).isdigit() else device


def check_threads(n: object, cores: int | None = None, where: str = "this machine", *, warn: bool = True) -> None:
    """Refuse a per-candidate thread count that is not a positive integer; warn once when it exceeds this machine's cores
    (the threads then share cores: slower). A thread count is a setting like the seed: torch splits its sums by
    thread, so scores differ in the last digits between thread counts (round 4 #45: 4th decimal of TG, 1 vs 64)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"candidate threads must be a positive integer, got {n!r}", "set candidate-threads to e.g. 1 (--candidate-threads "
                          "on the command line, threads= of a CandidateTask in Python)", field="candidate_threads")
    cores = cores or os.cpu_count() or 1
    if warn and n > cores:
        warn_once(log, ("threads", n, where), "candidate-threads = %d is more than the %d core(s) of %s: the threads share cores (much "
                  "slower), and scores differ in the last digits from a run with another thread count (torch sums in another order); set "
                  "candidate-threads to at most %d", n, cores, where, cores)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Run the block with ``n`` torch intra-op CPU threads, then restore the previous count.

    Convolutions and reductions on the CPU split their work by thread count, so the same network and seed give
    results that differ in the last bits with another count, and those bits grow through training. A candidate
    run with the same ``n`` inline or on any Dask worker gives identical scores.
    """
    check_threads(n)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)
