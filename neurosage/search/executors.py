"""Executors: where candidates are evaluated (in this process, or on a Dask cluster), behind one small interface
(``scatter``, ``submit``, ``wait_any``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

from neurosage.core.validate import check_arguments, check_client
from neurosage.runs.provenance import now_text

__all__ = ["InlineExecutor", "DaskExecutor", "where_am_i", "end_roster", "share_cores", "local_client", "local_executor"]

log = logging.getLogger(__name__)



class InlineExecutor:
    """Evaluate in the calling process (reproducible; the default for one worker)."""

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> cf.Future:
        check_arguments(InlineExecutor.submit, locals())
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # surface as a failed trial, like a remote worker would
            fut.set_exception(exc)
        return fut

    def scatter(self, obj: Any) -> Any:
        check_arguments(InlineExecutor.scatter, locals())
        return obj

    def wait_any(self, futures: list, on_wait: Callable[[], None] | None = None) -> list:
        check_arguments(InlineExecutor.wait_any, locals())
        return [f for f in futures if f.done()] or futures[:1]

    def placement(self, futures: list) -> dict[Any, str | None]:
        """Where each future runs: here (an inline future has already run)."""
        check_arguments(InlineExecutor.placement, locals())
        return {f: "this process" for f in futures}

    def slots(self) -> int:
        """Candidates this executor runs at once: one."""
        return 1


def where_am_i() -> dict[str, Any]:
    """Where the calling worker process runs: its node, pid and Slurm job id (None outside a Slurm job)."""
    return {"node": os.environ.get("SLURMD_NODENAME") or socket.gethostname(), "pid": os.getpid(),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID")}


class DaskExecutor:
    """Evaluate on a Dask ``distributed.Client`` (LocalCluster, scheduler address, dask-jobqueue).

    ``roster`` holds every worker seen since the executor was made (see :meth:`workers`), those that left included."""

    def __init__(self, client: Any):
        check_client(client, optional=False)
        self.client = client
        self.roster: dict[str, dict[str, Any]] = {}
        self._announced = False  # the workers there at the start are not news; later ones are

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        check_arguments(DaskExecutor.submit, locals())
        return self.client.submit(fn, *args, pure=False, **kwargs)

    def scatter(self, obj: Any) -> Any:
        """``obj`` copied to every worker (waiting, in short waits that keep Ctrl-C working, while there is none)."""
        check_arguments(DaskExecutor.scatter, locals())
        while not self.client.scheduler_info(n_workers=1).get("workers"):
            log.warning("no Dask worker is connected; waiting for one")
            with contextlib.suppress(TimeoutError):
                self.client.wait_for_workers(1, timeout=10)
        return self.client.scatter(obj, broadcast=True)

    def wait_any(self, futures: list, on_wait: Callable[[], None] | None = None, poll: float = 10.0) -> list:
        """The futures done once at least one is; ``on_wait`` is called before and every ``poll`` seconds while waiting."""
        check_arguments(DaskExecutor.wait_any, locals())
        from concurrent.futures import CancelledError

        from distributed import wait

        while True:
            if on_wait is not None:
                on_wait()
            try:
                done, _ = wait(futures, return_when="FIRST_COMPLETED", timeout=poll if on_wait is not None else None)
            except TimeoutError:
                continue
            except CancelledError:  # a future the scheduler forgot (its worker died holding it): returned as done, its result raises
                return [f for f in futures if f.status == "cancelled"] or list(futures[:1])
            return list(done)

    def placement(self, futures: list) -> dict[Any, str | None]:
        """The worker each future is running on now, or None while it waits for one."""
        check_arguments(DaskExecutor.placement, locals())
        try:
            running = {key: worker for worker, keys in self.client.processing().items() for key in keys}
        except Exception:  # the scheduler is busy or gone: nothing is known; the next wait reports a real failure
            running = {}
        return {f: running.get(f.key) for f in futures}

    def slots(self) -> int:
        """Candidates the cluster runs at once now: its workers' threads (asked each time, so workers that join or leave
        count); at least 1, so an adaptive deployment with no worker yet gets work that makes it scale up."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # the scheduler is busy or gone: keep what is in flight, the next wait reports a real failure
            return 1

    def workers(self) -> dict[str, dict[str, Any]]:
        """Every worker seen so far, by address: host, node, pid, Slurm job id, threads, memory limit, when it joined
        and, once it is gone (a lost or replaced job), when it left; recorded per session in run.json. Each call asks
        the scheduler again and logs who joined and who left."""
        try:
            info = self.client.scheduler_info(n_workers=-1).get("workers", {})
        except Exception:  # the scheduler is busy or gone: keep what is known; the next wait reports a real failure
            return self.roster
        now = now_text()
        new = [address for address in info if address not in self.roster]
        places: dict[str, Any] = {}
        if new:
            try:
                places = self.client.run(where_am_i, workers=new, on_error="return")
            except Exception:  # a worker that left again at once: recorded without its place
                places = {}
        for address in new:
            w, place = info[address], places.get(address)
            self.roster[address] = {"host": w.get("host"), **(place if isinstance(place, dict) else {}), "threads": w.get("nthreads"),
                                    "memory_limit": w.get("memory_limit"), "joined": now, "left": None}
            if self._announced:
                log.warning("worker joined: %s%s", address, _job_text(self.roster[address]))
        self._announced = True
        for address, w in self.roster.items():
            if address not in info and w["left"] is None:
                w["left"] = now
                log.warning("worker left: %s%s", address, _job_text(w))
        return self.roster


def end_roster(roster: dict[str, dict[str, Any]]) -> None:
    """Every worker still in ``roster`` leaves it now (the session that saw them ended)."""
    now = now_text()
    for worker in roster.values():
        if worker.get("left") is None:
            worker["left"] = now


def _job_text(worker: dict[str, Any]) -> str:
    job = worker.get("slurm_job_id")
    return (f" (Slurm job {job} on {worker.get('node')})" if job else f" (on {worker.get('node')})" if worker.get("node") else "")


def share_cores(n_workers: int) -> None:
    """Give each of ``n_workers`` worker processes on this machine its share of the cores for torch (no oversubscription)."""
    check_arguments(share_cores, locals())
    import torch

    from neurosage.core.validate import whole

    whole(n_workers, "n_workers", 1, fix="pass the number of worker processes, e.g. 2")
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // n_workers))


@contextlib.contextmanager
def local_client(workers: int, dashboard: str | None = None) -> Iterator[Any]:
    """A Dask ``Client`` on a ``LocalCluster`` of ``workers`` one-thread processes, each given its share of the cores.

    The nanny's default ``MALLOC_TRIM_THRESHOLD_=65536`` is not passed to the workers: with it, glibc returns freed
    memory to the system after every small allocation and a CPU training step of a small network takes 1.7x as long
    (measured in docs/performance.md). ``dashboard``: the Dask dashboard's address (e.g. ``":8787"``; None: none),
    logged once it runs.
    """
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=dashboard) as cluster, \
            Client(cluster) as client:
        if dashboard is not None:
            log.warning("Dask dashboard: %s", client.dashboard_link)
        client.wait_for_workers(workers)  # scatter reaches every worker: a killed one then loses no only copy
        client.run(share_cores, workers)
        yield client


@contextlib.contextmanager
def executor_for(workers: int = 1, client: Any = None) -> Iterator[InlineExecutor | DaskExecutor]:
    """A Dask executor on ``client`` (a running cluster the caller owns), else :func:`local_executor` of ``workers``."""
    if client is not None:
        yield DaskExecutor(client)
        return
    with local_executor(workers) as executor:
        yield executor


def gather(executor: InlineExecutor | DaskExecutor, fn: Callable, calls: list[tuple[tuple, dict]]) -> list[Any]:
    """``fn(*args, **kwargs)`` of every call, all submitted at once, results in the calls' order."""
    futures = [executor.submit(fn, *args, **kwargs) for args, kwargs in calls]
    return [future.result() for future in futures]


@contextlib.contextmanager
def local_executor(workers: int) -> Iterator[InlineExecutor | DaskExecutor]:
    """This process for one worker, else a Dask executor on :func:`local_client` (closed on exit)."""
    if workers <= 1:
        yield InlineExecutor()
        return
    with local_client(workers) as client:
        yield DaskExecutor(client)
