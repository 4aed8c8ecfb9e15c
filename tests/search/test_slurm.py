"""Slurm in one flag: a real single-node Slurm (scripts/slurm-local.sh), a 2-job search, one job cancelled mid-run.

Marked ``slurm`` (deselected by default; ``pytest -m slurm``); skipped, with the reason, where there is no Slurm to
submit to (start one as root with ``scripts/slurm-local.sh start`` and export the SLURM_CONF it prints).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pandas as pd
import pytest

from helpers import write_fashion_mnist
from neurosage.cli import main
from neurosage.runs.journal import Journal
from neurosage.runs.status import peak_running

pytestmark = pytest.mark.slurm


def _slurm_ready() -> str | None:
    try:
        import dask_jobqueue  # noqa: F401
    except ImportError:
        return "dask-jobqueue is not installed (pip install 'neurosage[slurm]')"
    if shutil.which("sbatch") is None:
        return "no sbatch on PATH (apt-get install slurm-wlm munge; scripts/slurm-local.sh start)"
    done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    if done.returncode != 0 or not any(s in done.stdout for s in ("idle", "mixed", "allocated", "completing")):
        return f"Slurm has no node up (sinfo: {(done.stderr or done.stdout).strip()[:200]}); scripts/slurm-local.sh start, export SLURM_CONF"
    return None


def _cancel_one_worker_job_after_two_trials(run, cancelled: list) -> None:
    """Cancel a worker job once two trials finished (the first two ran side by side: the concurrency is measured on them)."""
    deadline = time.time() + 600
    while time.time() < deadline:
        if (run / "journal.sqlite").exists() and len(Journal(run / "journal.sqlite")) >= 2:
            jobs = subprocess.run(["squeue", "-h", "-n", "dask-worker", "-o", "%i"], capture_output=True, text=True).stdout.split()
            if jobs:
                subprocess.run(["scancel", jobs[0]], check=True)
                cancelled.append(jobs[0])
                return
        time.sleep(0.5)


def test_a_search_on_two_slurm_jobs_survives_a_cancelled_job(tmp_path, monkeypatch):
    reason = _slurm_ready()
    if reason:
        pytest.skip(reason)
    import neurosage.search.slurm

    monkeypatch.setattr(neurosage.search.slurm, "CHECK_INTERVAL_S", 1.0)  # the replacement joins while the search still runs
    data = write_fashion_mnist(tmp_path / "fm", n_train=300, n_test=80)
    run = tmp_path / "run"
    cancelled: list[str] = []
    killer = threading.Thread(target=_cancel_one_worker_job_after_two_trials, args=(run, cancelled), daemon=True)
    killer.start()
    argv = ["search", str(run), "--data", str(data), "--budget", "16", "--n-blocks", "2", "--filters", "4", "--premature-steps", "20",
            "--n-train", "64", "--n-val", "40", "--n-stimuli", "20", "--slurm-jobs", "2", "--slurm-memory", "3GB", "--slurm-walltime", "00:20:00"]
    assert main(argv) == 0
    killer.join(timeout=5)
    assert cancelled, "no worker job was cancelled during the search"
    trials = pd.read_csv(run / "trials.csv")
    assert len(trials) == 16 and (trials.status == "ok").all()
    assert peak_running(trials.head(2).to_dict("records")) == 2  # two candidates ran at once: measured from the trials' own times
    assert trials.worker.nunique() >= 2
    settings = json.loads((run / "run.json").read_text())["settings"]
    assert settings["slurm_jobs"] == 2 and settings["slurm_memory"] == "3GB"
    assert any((run / "slurm").glob("*.err"))  # the jobs' logs live in the run folder
    assert "#SBATCH --mem=" in (run / "slurm" / "worker-job.sh").read_text()  # and the script they ran
    session = json.loads((run / "run.json").read_text())["sessions"][-1]  # the cluster recorded itself
    assert cancelled[0] in session["slurm_jobs"] and len(session["slurm_jobs"]) >= 3  # the cancelled job and its replacement
    gone = [w for w in session["workers"].values() if w["slurm_job_id"] == cancelled[0]]
    assert gone and gone[0]["left"] is not None and gone[0]["node"]
    replacements = [w for w in session["workers"].values() if w["joined"] > gone[0]["joined"]]
    assert replacements and all(w["slurm_job_id"] not in (None, cancelled[0]) for w in replacements)
    said = (run / "neurosage.log").read_text()
    assert "worker left: " in said and f"Slurm job {cancelled[0]}" in said and "worker joined: " in said
    assert not (run / "in_flight.json").exists()
    remaining = subprocess.run(["squeue", "-h", "-n", "dask-worker", "-t", "PENDING,RUNNING"], capture_output=True, text=True).stdout.strip()
    assert not remaining  # the cluster's jobs end with the search (some may still be completing)


def test_status_shows_which_slurm_worker_runs_each_trial(tmp_path):
    reason = _slurm_ready()
    if reason:
        pytest.skip(reason)
    from neurosage.runs.status import format_status, search_status

    data = write_fashion_mnist(tmp_path / "fm", n_train=300, n_test=80)
    run = tmp_path / "run"
    seen: list[str] = []

    def watch():
        deadline = time.time() + 300
        while time.time() < deadline and not any(" on tcp://" in s for s in seen):
            if (run / "in_flight.json").exists():
                try:
                    seen.append(format_status(search_status(run)))
                except Exception:  # the folder is being written: try again
                    pass
            time.sleep(0.3)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert main(["search", str(run), "--data", str(data), "--budget", "4", "--n-blocks", "2", "--filters", "4", "--premature-steps", "40",
                 "--n-train", "64", "--n-val", "40", "--n-stimuli", "20", "--slurm-jobs", "2", "--slurm-memory", "3GB"]) == 0
    watcher.join(timeout=5)
    assert any("in flight: trial" in s and " on tcp://" in s for s in seen)
