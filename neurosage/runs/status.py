"""What a search run folder says about its progress, read while the search runs (``neurosage status RUN``).

Everything comes from files the driver keeps current: the journal (finished trials and proposals in flight, with
their times), ``run.json`` (budget, sessions, the Dask workers of each session). Nothing is written.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from neurosage.core.errors import RunFolderError
from neurosage.runs.folder import RunFolder

__all__ = ["SearchNotStarted", "search_status", "format_status", "duration_text", "peak_running"]


def _timestamp(text: str | None) -> float | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp() if text else None
    except ValueError:
        return None


class SearchNotStarted(RunFolderError):
    """A driver holds the folder but no trial was proposed yet (data, teacher, or workers still coming)."""


def search_status(run_dir: str | Path, now: float | None = None) -> dict[str, Any]:
    """Progress of the search in ``run_dir``: done, failed, in flight, budget, best trial, time per trial, ETA, workers."""
    folder = RunFolder(run_dir)
    run_dir = folder.path
    if run_dir.is_file():  # a run's own file (RUN/run.json): its folder; any other file: the run folder a search writes
        own = RunFolder(run_dir.parent).provenance_file.is_file() or RunFolder(run_dir.parent).has_journal()
        raise RunFolderError(f"{run_dir} is a file, not a run folder" + ("" if own else " (nor a file of one)"),
                             f"give its folder: neurosage status {run_dir.parent}" if own else "give the run folder a search writes "
                             "(neurosage search RUN_DIR; its run.json is there)", file=run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir} does not exist", "give the run folder a search writes (neurosage search RUN_DIR)", file=run_dir)
    if not folder.has_journal() and folder.pool_file.is_file():
        built = "being built" if folder.running_driver() is not None else "built"
        raise RunFolderError(f"{run_dir} is an architecture pool ({built}), not a search", f"its progress is in "
                             f"{folder.pool_architectures.name} (one row per trained architecture); bench a teacher on it with: "
                             f"neurosage bench {run_dir} --teacher SPEC", file=run_dir)
    if not folder.has_journal() and (driver := folder.running_driver()) is not None:
        raise SearchNotStarted(f"the search in {run_dir} has not started a trial yet: its driver (pid {driver.get('pid')} on {driver.get('host')}, "
                             f"since {driver.get('started')}) is preparing data and teacher or waiting for workers (on Slurm: squeue)",
                             "ask again in a while (neurosage status --watch keeps asking)", file=run_dir)
    folder.refuse_no_search("status")  # a demo's or analysis' folder names its searches; a lost journal is said as such
    if not folder.provenance_file.is_file():
        raise RunFolderError(f"{run_dir} holds a search journal but no run record ({folder.provenance_file.name})",
                             "restore the run record from a copy (without it the budget and settings are unknown), or start a new run folder",
                             file=folder.provenance_file)
    now = time.time() if now is None else now
    settings = folder.settings()
    session = folder.last_session()
    journal = folder.journal()
    rows = list(journal.rows())
    flying = journal.in_flight()
    ok = [r for r in rows if r["status"] == "ok" and r["loss"] is not None]
    best = max(ok, key=lambda r: -r["loss"]) if ok else None
    started = _timestamp(session.get("started"))
    this_session = sorted(r["finished"] for r in rows if started is None or r["finished"] >= started)
    per_trial = (this_session[-1] - (started or this_session[0])) / len(this_session) if this_session else None
    budget = settings.get("budget")
    left = max(0, budget - len(rows)) if isinstance(budget, int) else None
    state = folder.session_state()  # "running" only while the driver lives
    running = state == "running"
    placed = folder.read_in_flight() if running else {}
    return {
        "run_dir": str(run_dir), "algo": settings.get("algo"), "objective": settings.get("objective"), "space": settings.get("space"),
        "budget": budget, "done": len(rows), "failed": len(rows) - len(ok), "in_flight": [
            {"tid": tid, "genotype": genotype, "running_for": now - proposed, "worker": placed.get(str(tid), "?")}
            for tid, genotype, proposed in flying] if running else [],
        "session": state, "started": session.get("started"), "ended": session.get("finished"), "workers": session.get("workers") or {},
        "best": None if best is None else {"tid": best["tid"], "score": -best["loss"], "P": best["record"].get("P"),
                                           "TG": best["record"].get("TG"), "genotype": best["genotype"]},
        "seconds_per_trial": per_trial,
        "eta_seconds": per_trial * left if per_trial is not None and left is not None and running else None,
        "last_finished": max((r["finished"] for r in rows), default=None),
        "peak_running": peak_running([r["record"] for r in rows]),
    }


def peak_running(records: list[dict[str, Any]]) -> int | None:
    """Most evaluations that ran at the same moment, from the finished trials' ``started`` (epoch seconds, as the journal
    holds it, or ISO 8601, as trials.csv writes it) and ``wall_time`` (None without them).

    The measured concurrency of a search: on a cluster of N worker threads it should reach N."""
    events = []
    for r in records:
        start, wall = _epoch_seconds(r.get("started")), r.get("wall_time")
        if start is not None and isinstance(wall, (int, float)) and math.isfinite(wall):
            events += [(start, 1), (start + wall, -1)]
    if not events:
        return None
    running = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start at the same instant
        running += step
        peak = max(peak, running)
    return peak


def _epoch_seconds(value: Any) -> float | None:
    """A time as epoch seconds: a number as it is, an ISO 8601 text parsed (``Z`` or an offset); None otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


def duration_text(seconds: float | None) -> str:
    """``1 h 05 min``, ``4 min 10 s``, ``12 s``, or ``-`` for an unknown duration."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _number(x: Any) -> str:
    return f"{x:.4f}" if isinstance(x, (int, float)) and x is not None and math.isfinite(x) else "-"


def format_status(status: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    budget = status["budget"] if status["budget"] is not None else "?"
    lines = [
        f"{status['run_dir']}: {status['algo']} search over {status['space']}, objective {status['objective']} "
        f"(session {status['session'] or 'not recorded'} "
        + (f"since {status['started'] or '?'})" if status["session"] == "running" or not status.get("ended") else
           f"at {status['ended']}, started {status['started'] or '?'})"),
        f"progress: {status['done']}/{budget} done ({status['failed']} failed), {len(status['in_flight'])} in flight; "
        f"{duration_text(status['seconds_per_trial'])} per trial; about {duration_text(status['eta_seconds'])} left"
        + (f"; at most {status['peak_running']} evaluated at once" if status.get("peak_running") else ""),
    ]
    best = status["best"]
    lines.append("best so far: none" if best is None else
                 f"best so far: trial {best['tid']}, score {_number(best['score'])} (P {_number(best['P'])}, TG {_number(best['TG'])})\n"
                 f"  {best['genotype']}")
    for flight in status["in_flight"]:
        where = flight.get("worker")
        on = "" if where == "?" else (" (waiting for a worker)" if where is None else f" on {where}")  # "?": not on a cluster
        lines.append(f"  in flight: trial {flight['tid']} for {duration_text(flight['running_for'])}{on}: {flight['genotype'][:90]}")
    for address, worker in status["workers"].items():
        job = f"Slurm job {worker['slurm_job_id']} on {worker.get('node')}, " if worker.get("slurm_job_id") else (
            f"node {worker['node']}, " if worker.get("node") else "")
        gone = f", left {worker['left']}" if worker.get("left") else ""
        lines.append(f"  worker {address}: {job}host {worker.get('host')}, {worker.get('threads')} thread(s){gone}")
    return "\n".join(lines)


def status_json(status: dict[str, Any]) -> str:
    """:func:`search_status` as one line of JSON: ``last_finished`` as ISO 8601 UTC, durations in seconds, NaN as null."""
    from neurosage.runs.trials import iso_time

    started = _timestamp(status.get("started"))  # run.json's "+0000" form: the same Z form as the other times
    ended = _timestamp(status.get("ended"))
    out = {**status, "last_finished": iso_time(status.get("last_finished")), "started": iso_time(started) if started else status.get("started"),
           "ended": iso_time(ended) if ended else status.get("ended")}
    return json.dumps(_nulled(out), default=str, allow_nan=False)


def _nulled(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nulled(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nulled(v) for v in value]
    return value
