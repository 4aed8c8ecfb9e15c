"""Executors: where candidates are evaluated (in this process, or on a Dask cluster), behind one small interface
(``scatter``, ``submit``, ``wait_any``).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable
from typing import Any

__all__ = ["InlineExecutor", "DaskExecutor", "share_cores"]



class InlineExecutor:
    """Evaluate in the calling process (reproducible; the default for one worker)."""

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # surface as a failed trial, like a remote worker would
            fut.set_exception(exc)
        return fut

    def scatter(self, obj: Any) -> Any:
        return obj

    def wait_any(self, futures: list) -> list:
        return [f for f in futures if f.done()] or futures[:1]


class DaskExecutor:
    """Evaluate on a Dask ``distributed.Client`` (LocalCluster, scheduler address, dask-jobqueue)."""

    def __init__(self, client: Any):
        self.client = client

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        return self.client.submit(fn, *args, pure=False, **kwargs)

    def scatter(self, obj: Any) -> Any:
        return self.client.scatter(obj, broadcast=True)

    def wait_any(self, futures: list) -> list:
        from distributed import wait

        done, _ = wait(futures, return_when="FIRST_COMPLETED")
        return list(done)


def share_cores(n_workers: int) -> None:
    """Give each of ``n_workers`` worker processes on this machine its share of the cores for torch (no oversubscription)."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // n_workers))
