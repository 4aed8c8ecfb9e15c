"""Slurm in one flag: a dask-jobqueue ``SLURMCluster`` made from a search's ``slurm_*`` settings, checked before any work.

Each Slurm job runs one Dask worker process (no nanny: a dead job is a dead worker, and the nanny's
``MALLOC_TRIM_THRESHOLD_`` would slow CPU training, docs/performance.md) with ``cores`` threads, so ``cores``
candidates run in it at once. The cluster keeps ``jobs`` jobs (adaptive with minimum = maximum, so a job that ends,
is cancelled or hits its walltime is replaced); the search keeps as many candidates in flight as the workers have
threads. The job script is checked with ``sbatch --test-only`` first, so a wrong partition or resource request is
refused at once with sbatch's own words. Job logs go to ``<run>/slurm``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurosage.core.errors import ConfigError
from neurosage.core.extras import require_extra
from neurosage.core.quantities import check_memory

__all__ = ["SlurmOptions", "slurm_client"]

log = logging.getLogger(__name__)

_WALLTIME = re.compile(r"^(\d+-)?\d{1,2}(:\d{2}){1,2}$|^\d+$")
#: sbatch options a job gets from a --slurm-* flag, which --slurm-extra must not repeat
_OWN_OPTIONS = {opt: flag for flag, opts in {
    "--slurm-memory": ("--mem", "--mem-per-cpu"), "--slurm-walltime": ("-t", "--time"), "--slurm-partition": ("-p", "--partition"),
    "--slurm-gpus": ("--gres", "--gpus", "-G"), "--slurm-cores": ("-c", "--cpus-per-task", "-n", "--ntasks"),
}.items() for opt in opts}

#: Seconds to wait, after the first worker joined, for the other jobs' workers before the search starts anyway.
JOIN_WAIT_S = 60


@dataclass(frozen=True)
class SlurmOptions:
    """One search's Slurm jobs: ``jobs`` jobs of ``cores`` cores, ``memory`` and ``walltime`` each, on ``partition``
    (None: the default one), ``gpus`` GPUs per job (``--gres=gpu:N``), and ``extra`` ``#SBATCH`` directives."""

    jobs: int
    partition: str | None = None
    cores: int = 1
    memory: str = "4GB"
    walltime: str = "01:00:00"
    gpus: int = 0
    extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from dask.utils import parse_bytes

        object.__setattr__(self, "extra", tuple(self.extra))
        check_memory(self.memory, field="slurm_memory")  # a bare number would be taken as bytes
        try:
            parse_bytes(self.memory)
        except (ValueError, TypeError):
            raise ConfigError(f"slurm-memory {self.memory!r} is not an amount of memory", "write it like 4GB or 500MB",
                              field="slurm_memory") from None
        if not isinstance(self.walltime, str) or not _WALLTIME.match(self.walltime):
            raise ConfigError(f"slurm-walltime {self.walltime!r} is not a Slurm time", "write [D-]HH:MM:SS or MM:SS, e.g. 01:00:00 or 2-00:00:00",
                              field="slurm_walltime")
        for directive in self.extra:
            if not isinstance(directive, str) or not directive.startswith("-"):
                raise ConfigError(f"slurm-extra {directive!r} is not an sbatch option", "write it as sbatch takes it, e.g. --account=lab",
                                  field="slurm_extra")
            option = directive.split("=")[0].split()[0]
            if option in _OWN_OPTIONS:
                raise ConfigError(f"slurm-extra {directive!r} sets what {_OWN_OPTIONS[option]} sets (the job script would say both)",
                                  f"use {_OWN_OPTIONS[option]} instead", field="slurm_extra")

    def directives(self) -> list[str]:
        """The extra ``#SBATCH`` lines (without the prefix)."""
        return [*self.extra, *([f"--gres=gpu:{self.gpus}"] if self.gpus else [])]


def check_slurm_tools() -> None:
    """Refuse when dask-jobqueue or Slurm's ``sbatch`` is missing, with the install line, or when Slurm does not answer.

    Importing dask-jobqueue 0.9 sets a SIGINT handler that exits with status 0 (``dask_jobqueue.runner``): the handler in
    place before is put back, so Ctrl-C still ends a search as an interrupt (exit 130, the resume line)."""
    previous = signal.getsignal(signal.SIGINT)
    require_extra("slurm", "--slurm-jobs", field="slurm_jobs")
    try:
        import dask_jobqueue  # noqa: F401
    finally:
        if threading.current_thread() is threading.main_thread() and previous is not None:
            signal.signal(signal.SIGINT, previous)
    if shutil.which("sbatch") is None:
        raise ConfigError("--slurm-jobs submits Slurm jobs, but sbatch is not on PATH", "run on a Slurm login node (or start one: "
                          "scripts/slurm-local.sh start)", field="slurm_jobs")
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        done = subprocess.CompletedProcess([], 1, "", f"{type(exc).__name__}: {exc}")
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())[:200]
        raise ConfigError(f"cannot reach the Slurm controller (sinfo: {said})", "check that slurmctld runs and SLURM_CONF points at its "
                          "slurm.conf (scripts/slurm-local.sh prints the export line)", field="slurm_jobs")


#: sbatch's words -> the setting they blame
_BLAME = ((("partition",), "slurm_partition"), (("--time", "time limit", "time specification"), "slurm_walltime"),
          (("gres", "gpu"), "slurm_gpus"), (("memory", "--mem"), "slurm_memory"),
          (("directive", "unrecognized option", "invalid option"), "slurm_extra"), (("node configuration", "cpus", "cores"), "slurm_cores"))


def _test_submit(script: str, partition: str | None) -> None:
    """``sbatch --test-only`` on the job script: a wrong partition or resource request is refused now, in sbatch's words."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write(script)
    try:
        done = subprocess.run(["sbatch", "--test-only", f.name], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise ConfigError("sbatch --test-only did not answer in 60 s", "check that slurmctld is up (sinfo)", field="slurm_jobs") from None
    finally:
        Path(f.name).unlink(missing_ok=True)
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())[:300]
        field = next((f for words, f in _BLAME if any(w in said.lower() for w in words)), "slurm_jobs")
        flag = "--" + field.replace("_", "-")
        fix = (f"check {flag} against sinfo -o '%P %c %m %G %l' (partitions, cores, memory, GPUs, time limits)" if field != "slurm_jobs" else
               "check --slurm-partition, --slurm-cores, --slurm-memory, --slurm-walltime, --slurm-gpus and --slurm-extra against sinfo")
        raise ConfigError(f"Slurm refuses the worker job ({said})", fix, field=field)


@contextlib.contextmanager
def slurm_client(options: SlurmOptions, log_directory: str | Path, dashboard: str | None = None) -> Iterator[Any]:
    """A Dask ``Client`` on a ``SLURMCluster`` keeping ``options.jobs`` worker jobs; the jobs are cancelled on exit."""
    check_slurm_tools()
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    Path(log_directory).mkdir(parents=True, exist_ok=True)
    cluster = SLURMCluster(
        cores=options.cores, processes=1, memory=options.memory, walltime=options.walltime, queue=options.partition,
        job_extra_directives=options.directives(), python=sys.executable, nanny=False, log_directory=str(log_directory),
        scheduler_options={"dashboard_address": dashboard} if dashboard else {"dashboard_address": None},
    )
    try:
        _test_submit(cluster.job_script(), options.partition)
        log.info("Slurm worker job script:\n%s", cluster.job_script())
        cluster.adapt(minimum_jobs=options.jobs, maximum_jobs=options.jobs)
        with Client(cluster) as client:
            if dashboard:
                log.warning("Dask dashboard: %s", client.dashboard_link)
            log.warning("%d Slurm job(s) of %d core(s) submitted; waiting for the first worker (job logs in %s)",
                        options.jobs, options.cores, log_directory)
            while not client.scheduler_info()["workers"]:  # a queue may hold the jobs for a while; short waits keep Ctrl-C working
                with contextlib.suppress(TimeoutError):
                    client.wait_for_workers(1, timeout=2)
            with contextlib.suppress(TimeoutError):  # the task's data reaches every early worker, so one killed job loses no only copy
                client.wait_for_workers(options.jobs, timeout=JOIN_WAIT_S)
            joined = len(client.scheduler_info()["workers"])
            log.warning("%d of %d Slurm worker(s) joined%s", joined, options.jobs, "" if joined >= options.jobs else
                        "; the others join when Slurm starts their jobs")
            yield client
    finally:
        cluster.close()
