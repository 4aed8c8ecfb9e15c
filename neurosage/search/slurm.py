"""Slurm in one flag: a dask-jobqueue ``SLURMCluster`` made from a search's ``slurm_*`` settings, checked before any work.

Each Slurm job runs one Dask worker process (no nanny: a dead job is a dead worker, and the nanny's
``MALLOC_TRIM_THRESHOLD_`` would slow CPU training, docs/performance.md) with ``cores`` threads, so ``cores``
candidates run in it at once. The cluster keeps ``jobs`` jobs: a job Slurm no longer runs or queues (cancelled, failed,
past its walltime) is replaced by :class:`JobKeeper` (dask-jobqueue's adaptive scaling does not replace it: its plan
still counts the dead job); the search keeps as many candidates in flight as the workers have threads. The job script
is checked with ``sbatch --test-only`` first, so a wrong partition or resource request is refused at once with sbatch's
own words. Job logs and the job script go to ``<run>/slurm``.

A site's ``jobqueue.yaml`` (dask-jobqueue's ``jobqueue.slurm`` settings: account, cores, memory, walltime, queue,
directives, scheduler options, python) is honoured: a ``--slurm-*`` flag overrides the one value it names, the site's
directives are kept beside ``--slurm-extra``, and neurosage's own defaults (:data:`FALLBACK`) fill only what neither
says. Each value's source is logged. Two things are fixed: one worker process per job, and the job logs in the run folder.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurosage.core.atomic import write_text
from neurosage.core.errors import ConfigError
from neurosage.core.extras import require_extra
from neurosage.core.quantities import check_memory
from neurosage.core.validate import KnownFields

__all__ = ["FALLBACK", "JobKeeper", "SlurmOptions", "job_settings", "slurm_client"]

log = logging.getLogger(__name__)

_WALLTIME = re.compile(r"^(\d+-)?\d{1,2}(:\d{2}){1,2}$|^\d+$")
#: sbatch options a job gets from a --slurm-* flag, which --slurm-extra must not repeat
_OWN_OPTIONS = {opt: flag for flag, opts in {
    "--slurm-memory": ("--mem", "--mem-per-cpu"), "--slurm-walltime": ("-t", "--time"), "--slurm-partition": ("-p", "--partition"),
    "--slurm-gpus": ("--gres", "--gpus", "-G"), "--slurm-cores": ("-c", "--cpus-per-task", "-n", "--ntasks"),
}.items() for opt in opts}

#: Seconds between two ``squeue`` checks for ended worker jobs (:class:`JobKeeper`).
CHECK_INTERVAL_S = 10.0
#: Seconds to wait, after the first worker joined, for the other jobs' workers before the search starts anyway.
JOIN_WAIT_S = 60


@dataclass(frozen=True)
class SlurmOptions(KnownFields):
    """One search's Slurm jobs: ``jobs`` jobs of ``cores`` cores, ``memory`` and ``walltime`` each, on ``partition``,
    ``gpus`` GPUs per job (``--gres=gpu:N``), and ``extra`` ``#SBATCH`` directives. None: the site's ``jobqueue.yaml``
    decides, else :data:`FALLBACK` (the partition: Slurm's default one); see :func:`job_settings`."""

    jobs: int
    partition: str | None = None
    cores: int | None = None
    memory: str | None = None
    walltime: str | None = None
    gpus: int = 0
    extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from dask.utils import parse_bytes

        object.__setattr__(self, "extra", tuple(self.extra))
        if self.memory is not None:
            check_memory(self.memory, field="slurm_memory")  # a bare number would be taken as bytes
            try:
                parse_bytes(self.memory)
            except (ValueError, TypeError):
                raise ConfigError(f"slurm-memory {self.memory!r} is not an amount of memory", "write it like 4GB or 500MB",
                                  field="slurm_memory") from None
        if self.walltime is not None and (not isinstance(self.walltime, str) or not _WALLTIME.match(self.walltime)):
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
        """The extra ``#SBATCH`` lines of the flags (without the prefix); the site's come first (:func:`job_settings`)."""
        return [*self.extra, *([f"--gres=gpu:{self.gpus}"] if self.gpus else [])]


#: What a job gets where neither a ``--slurm-*`` flag nor the site's ``jobqueue.yaml`` says.
FALLBACK: dict[str, Any] = {"cores": 1, "memory": "4GB", "walltime": "01:00:00"}


def _site_settings() -> dict[str, Any]:
    """The ``jobqueue.slurm`` settings a site's ``jobqueue.yaml`` (or ``DASK_JOBQUEUE__SLURM__*``) changed from
    dask-jobqueue's packaged defaults: the values a flag-less search honours."""
    import dask
    import dask_jobqueue

    pointed = os.environ.get("DASK_CONFIG")
    if pointed and not Path(pointed).expanduser().is_dir():  # dask reads no site file then, without a word
        raise ConfigError(f"DASK_CONFIG points at {pointed}, which is not a folder, so no site jobqueue.yaml would be read",
                          "point DASK_CONFIG at the folder that holds jobqueue.yaml (or unset it for ~/.config/dask)", field="jobqueue DASK_CONFIG")
    packaged_file = Path(dask_jobqueue.__file__).with_name("jobqueue.yaml")
    packaged_all = next(iter(dask.config.collect_yaml([str(packaged_file)])))["jobqueue"]
    packaged = packaged_all["slurm"]
    where = "in the site's dask config (jobqueue.yaml under ~/.config/dask or $DASK_CONFIG)"
    stray = [key for key in dask.config.config if str(key) in packaged_all]  # slurm: written without its jobqueue: parent
    if stray:
        raise ConfigError(f"section {stray[0]} {where} is at the top level, where dask-jobqueue does not read it",
                          f"indent it under a jobqueue: line (jobqueue: then {stray[0]}: then its keys)", field=f"jobqueue {stray[0]}")
    sections = ((dask.config.config, ["jobqueue"]), (dask.config.get("jobqueue", default={}) or {}, list(packaged_all)))
    for (found, known), above in zip(sections, ("", "jobqueue.")):  # a misspelt section is read by no one: its values would be dropped
        for key in found:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
            if close and str(key).replace("_", "-") not in known:
                raise ConfigError(f"section {above}{key} {where} is not one dask-jobqueue reads (did you mean {above}{close[0]}?)",
                                  f"rename it {close[0]!r}; the Slurm settings go under jobqueue: slurm:", field=f"jobqueue {above}{key}")
    current = dask.config.get("jobqueue.slurm", default={}) or {}
    unknown = [key for key in current if str(key).replace("_", "-") not in packaged]  # dask reads job_mem as job-mem
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), list(packaged), n=1)
        raise ConfigError(f"jobqueue.slurm.{unknown[0]} {where} is not a setting dask-jobqueue knows"
                          + (f" (did you mean {close[0]!r}?)" if close else ""),
                          f"use one of its keys: {', '.join(sorted(packaged))}", field=f"jobqueue.slurm.{unknown[0]}")
    for key, value in current.items():  # a string where dask-jobqueue iterates a list: one character per job-script line
        if isinstance(packaged.get(str(key).replace("_", "-")), list) and not isinstance(value, list):
            raise ConfigError(f"jobqueue.slurm.{key} = {value!r} {where} is not a list", f"write it as a list, e.g. {key}: [{value!r}]",
                              field=f"jobqueue.slurm.{key}")
    site = {key: value for key, value in current.items() if value != packaged.get(key)}
    others = [name for name in packaged_all if name != "slurm" and (dask.config.get(f"jobqueue.{name}", default={}) or {}) != packaged_all[name]]
    if others and not site:  # the site's values are written for another scheduler: a Slurm search would read none of them
        raise ConfigError(f"the site's dask config sets jobqueue.{others[0]} and nothing under jobqueue.slurm, which a Slurm search reads {where}",
                          f"move the values under jobqueue: slurm: (or use --scheduler with a {others[0]} cluster you start yourself)",
                          field=f"jobqueue {others[0]}")
    return site


def _check_site(site: dict[str, Any]) -> None:
    """The site's values neurosage passes on, checked as the flags are (a bad one is refused naming its key, not sbatch's words)."""
    where = "in the site's dask config (jobqueue.yaml under ~/.config/dask or $DASK_CONFIG, or DASK_JOBQUEUE__SLURM__*)"

    def refuse(key: str, value: Any, fix: str) -> None:
        raise ConfigError(f"jobqueue.slurm.{key} = {value!r} {where} is not usable", fix, field=f"jobqueue.slurm.{key}")

    cores = site.get("cores")
    if cores is not None and (isinstance(cores, bool) or not isinstance(cores, int) or cores < 1):
        refuse("cores", cores, "write a whole number of at least 1 there (e.g. cores: 4), or override it with --slurm-cores N")
    memory = site.get("memory")
    if memory is not None:
        try:
            check_memory(memory, field="slurm_memory")
        except ConfigError:
            refuse("memory", memory, "write an amount with its unit there (e.g. memory: 16GB), or override it with --slurm-memory 16GB")
    walltime = site.get("walltime")
    if walltime is not None and (not isinstance(walltime, str) or not _WALLTIME.match(walltime)):
        refuse("walltime", walltime, "write a Slurm time there, quoted ('01:00:00' or '2-00:00:00'), or override it with --slurm-walltime")
    directives = site.get("job-extra-directives")
    if directives is not None and (not isinstance(directives, list) or not all(isinstance(d, str) for d in directives)):
        refuse("job-extra-directives", directives, "write a list there, e.g. job-extra-directives: ['--exclusive']")
    for directive in directives or []:  # a line that sets what the job's own lines set: sbatch takes the later one, silently
        option = directive.split("=")[0].split()[0]
        if option in _OWN_OPTIONS:
            refuse("job-extra-directives", directive, f"set it as the setting itself there (cores, memory, walltime, queue), or with "
                   f"{_OWN_OPTIONS[option]}: the job script would say both and sbatch would take the later line")
    for skipped in site.get("job-directives-skip") or []:  # dask-jobqueue drops every #SBATCH line containing it: the job's own ones too
        hit = [option for option in _OWN_OPTIONS if str(skipped) and str(skipped) in option]
        if hit:
            refuse("job-directives-skip", skipped, f"drop it: it removes the job's own {hit[0]} line, so the {_OWN_OPTIONS[hit[0]]} setting "
                   "would never reach Slurm")
    queue = site.get("queue")
    if queue is not None and not isinstance(queue, str):
        refuse("queue", queue, "write the partition's name there, or override it with --slurm-partition NAME")
    for key, own in (("job-cpu", "cores"), ("job-mem", "memory")):  # sbatch's request below what the worker uses
        value = site.get(key)
        if value is None:
            continue
        wanted = site.get(own) if site.get(own) is not None else FALLBACK.get(own)
        try:
            if own == "memory":
                from dask.utils import parse_bytes

                short = parse_bytes(check_memory(value, field="slurm_memory")) < parse_bytes(str(wanted))
            else:
                short = isinstance(value, bool) or not isinstance(value, int) or (isinstance(wanted, int) and value < wanted)
        except (ConfigError, ValueError):
            short = True
        if short:
            refuse(key, value, f"drop it (neurosage asks Slurm for the worker's own {own}: {wanted}), or give at least that much")
    interface = site.get("interface")
    if interface is not None:
        import psutil  # type: ignore[import-untyped]  # a dependency of distributed

        nics = sorted(psutil.net_if_addrs())
        if interface not in nics:
            refuse("interface", interface, f"name one of this machine's network interfaces there ({', '.join(nics)}), or delete the line")


def job_settings(options: SlurmOptions) -> dict[str, tuple[Any, str]]:
    """Each job setting's value and where it came from (``flag``, ``jobqueue.yaml`` or ``neurosage default``):
    cores, memory, walltime, queue (the partition) and the ``#SBATCH`` directives (the site's, then the flags')."""
    site = _site_settings()
    _check_site({key: value for key, value in site.items() if not (key in ("cores", "memory", "walltime", "queue")
                                                                    and getattr(options, "partition" if key == "queue" else key) is not None)})
    chosen: dict[str, tuple[Any, str]] = {}
    for name, flag_value in (("cores", options.cores), ("memory", options.memory), ("walltime", options.walltime),
                             ("queue", options.partition)):
        if flag_value is not None:
            chosen[name] = (flag_value, "flag")
        elif site.get(name) is not None:
            chosen[name] = (site[name], "jobqueue.yaml")
        elif name in FALLBACK:
            chosen[name] = (FALLBACK[name], "neurosage default")
    site_directives = list(site.get("job-extra-directives") or [])
    directives = [*site_directives, *options.directives()]
    if directives:
        chosen["job_extra_directives"] = (directives, "jobqueue.yaml + flag" if site_directives and options.directives() else
                                          "jobqueue.yaml" if site_directives else "flag")
    return chosen


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
          (("directive", "unrecognized option", "invalid option"), "slurm_extra"), (("cpus", "cores"), "slurm_cores"))


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


class JobKeeper:
    """Keeps ``jobs`` worker jobs in ``cluster`` while the ``with`` body runs: every ``interval`` seconds, a job that
    ``squeue`` no longer lists as pending or running is dropped from the cluster's plan and a new one submitted (logged)."""

    ACTIVE = "PENDING,CONFIGURING,RUNNING,RESIZING,SUSPENDED,REQUEUED"

    def __init__(self, cluster: Any, jobs: int, interval: float | None = None):
        self.cluster, self.jobs = cluster, jobs
        self.interval = CHECK_INTERVAL_S if interval is None else interval
        self.replaced: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="neurosage-slurm-jobs", daemon=True)

    def __enter__(self) -> JobKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception as exc:  # squeue or the cluster busy: try again next time; the search goes on meanwhile
                log.debug("Slurm job check skipped (%s: %s)", type(exc).__name__, exc)

    def check(self) -> list[str]:
        """Close the jobs that ended (their ids returned) and, once the cluster has forgotten them, submit replacements.

        Two steps because the cluster names a new job after the lowest free spec number: a replacement submitted while
        the ended job's entry is still there would take its name and never start."""
        cluster = self.cluster
        workers = dict(cluster.workers)
        if len(cluster.worker_spec) < self.jobs and set(workers) <= set(cluster.worker_spec):
            cluster.scale(jobs=self.jobs)  # the ended jobs are forgotten: their replacements
        submitted = {name: job.job_id for name, job in workers.items() if name in cluster.worker_spec and getattr(job, "job_id", None)}
        if not submitted:
            return []
        done = subprocess.run(["squeue", "-h", "-o", "%i", "-t", self.ACTIVE, "-j", ",".join(submitted.values())],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0 and "Invalid job id" not in done.stderr:  # every id unknown: all ended and forgotten
            return []
        active = set(done.stdout.split())
        ended = {name: job_id for name, job_id in submitted.items() if job_id not in active}
        if ended and not self._stop.is_set():
            for name, job_id in ended.items():
                log.warning("Slurm job %s ended (squeue no longer lists it); submitting a replacement", job_id)
                cluster.worker_spec.pop(name, None)
            cluster.scale(jobs=len(cluster.worker_spec))  # closes the ended jobs (scancel) and forgets them
            self.replaced += list(ended.values())
        return list(ended.values())


@contextlib.contextmanager
def slurm_client(options: SlurmOptions, log_directory: str | Path, dashboard: str | None = None) -> Iterator[Any]:
    """A Dask ``Client`` on a ``SLURMCluster`` keeping ``options.jobs`` worker jobs; the jobs are cancelled on exit."""
    check_slurm_tools()
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    chosen = job_settings(options)  # the site's values checked before anything is written
    Path(log_directory).mkdir(parents=True, exist_ok=True)
    log.info("Slurm job settings: %s", ", ".join(f"{name} {value} ({source})" for name, (value, source) in chosen.items()))
    import dask

    scheduler_options = dict(dask.config.get("jobqueue.slurm.scheduler-options", default={}) or {})
    if dashboard or "dashboard_address" not in scheduler_options:  # no dashboard unless asked for (here or by the site)
        scheduler_options["dashboard_address"] = dashboard
    cluster = SLURMCluster(
        processes=1, nanny=False, log_directory=str(log_directory), scheduler_options=scheduler_options,
        **{name: value for name, (value, _) in chosen.items()},
    )
    try:
        script = cluster.job_script()
        _test_submit(script, options.partition)
        write_text(Path(log_directory) / "worker-job.sh", script)  # what every worker job ran, beside their logs
        log.info("Slurm worker job script (%s):\n%s", Path(log_directory) / "worker-job.sh", script)
        cluster.scale(jobs=options.jobs)
        with Client(cluster) as client, JobKeeper(cluster, options.jobs):
            if dashboard:
                log.warning("Dask dashboard: %s", client.dashboard_link)
            log.warning("%d Slurm job(s) of %s core(s) submitted; waiting for the first worker (job logs in %s)",
                        options.jobs, chosen["cores"][0], log_directory)
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
