import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from helpers import tiny_task
from neurosage.core.errors import SearchFailed, TrainingDiverged
from neurosage.runs.journal import Journal
from neurosage.runs.trials import load_trials
from neurosage.search.driver import run_search
from neurosage.spaces import get_space

SPACE = get_space("pnas", n_blocks=2)


def test_search_is_reproducible_in_process(tmp_path):
    kw = dict(budget=5, seed=7, progress=False, searcher_kwargs={"n_startup_jobs": 2})
    a = run_search(tmp_path / "a", SPACE, tiny_task(), **kw).trials
    b = run_search(tmp_path / "b", SPACE, tiny_task(), **kw).trials
    assert list(a.genotype) == list(b.genotype)
    assert list(a.score) == list(b.score)
    assert (tmp_path / "a" / "trials.nc").exists() and (tmp_path / "a" / "run.json").exists()


def test_run_folder_is_not_overwritten(tmp_path):
    run_search(tmp_path, SPACE, tiny_task(), budget=1, progress=False)
    with pytest.raises(FileExistsError, match="resume"):
        run_search(tmp_path, SPACE, tiny_task(), budget=2, progress=False)


def test_diverging_candidates_are_recorded_and_search_continues(tmp_path):
    result = run_search(tmp_path, SPACE, tiny_task(lr=1e15, steps=20), budget=3, algo="random", progress=False, fail_fast=4)
    assert len(result.trials) == 3 and set(result.trials.status) == {"diverged"}
    assert result.trials.error.str.contains("loss became").all()
    with pytest.raises(SearchFailed, match="none of the 3 trial"):
        result.best


def test_a_search_whose_first_trials_all_fail_alike_stops_with_the_error_and_fix(tmp_path):
    with pytest.raises(SearchFailed, match="first 3 trials all failed with the same error: .*loss became.*fix: training diverged"):
        run_search(tmp_path, SPACE, tiny_task(lr=1e15, steps=20), budget=10, algo="random", progress=False)
    assert len(pd.read_csv(tmp_path / "trials.csv")) == 3  # what happened is kept in the run folder


def test_a_search_where_most_trials_diverge_stops_naming_the_learning_rate(tmp_path):
    with pytest.raises(TrainingDiverged, match=r"4 of the 4 trials finished so far diverged .*\(lr = 1e\+15\).*fix: lower the learning rate"):
        run_search(tmp_path, SPACE, tiny_task(lr=1e15, steps=20), budget=10, algo="random", progress=False, fail_fast=10)
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert len(trials) == 4 and set(trials.status) == {"diverged"}  # the table shows each one and why
    assert trials.error.str.contains("loss became").all()


SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from neurosage.search.driver import run_search
    from neurosage.spaces import get_space
    from helpers import tiny_task
    run_search({run!r}, get_space("pnas", n_blocks=2), tiny_task(steps=6), budget=10, seed=1, progress=False)
    """
)


def test_sigkilled_search_resumes_without_losing_or_repeating_trials(tmp_path):
    run = tmp_path / "run"
    script = SCRIPT.format(tests=str(Path(__file__).parents[1]), run=str(run))
    proc = subprocess.Popen([sys.executable, "-c", script])
    journal_path = run / "journal.sqlite"
    deadline = time.time() + 120
    while time.time() < deadline and (not journal_path.exists() or len(Journal(journal_path)) < 3):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {row["tid"]: row["record"] for row in Journal(journal_path).rows()}
    assert 3 <= len(before) < 10, "the search should have been killed mid-run"
    result = run_search(run, SPACE, tiny_task(steps=6), budget=10, seed=1, resume=True, progress=False)
    rows = list(Journal(journal_path).rows())
    tids = [r["tid"] for r in rows]
    assert len(rows) == 10 and len(set(tids)) == 10 and len(result.trials) == 10
    for r in rows:
        if r["tid"] in before:
            assert r["record"] == before[r["tid"]]
    assert len(load_trials(run)) == 10


def test_dask_local_cluster_survives_a_killed_worker(tmp_path):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        pid_of = client.run(os.getpid)
        pids = list(pid_of.values())
        journal_path = tmp_path / "journal.sqlite"
        killed = []

        def killer():
            deadline = time.time() + 180
            while time.time() < deadline:
                if journal_path.exists() and len(Journal(journal_path)) >= 1:
                    os.kill(pids[0], signal.SIGKILL)  # a worker dies while others are mid-trial
                    killed.append(pids[0])
                    return
                time.sleep(0.05)

        thread = threading.Thread(target=killer)
        thread.start()
        result = run_search(tmp_path, SPACE, tiny_task(steps=10), budget=6, workers=2, client=client, progress=False)
        thread.join()
        assert killed, "no worker was killed"
        tids = list(result.trials.tid)
        assert len(tids) == 6 and len(set(tids)) == 6
        assert (result.trials.status == "ok").sum() >= 5
        workers = json.loads((tmp_path / "run.json").read_text())["sessions"][-1]["workers"]  # the cluster recorded itself
        dead = next(address for address, pid in pid_of.items() if pid == killed[0])
        assert workers[dead]["pid"] == killed[0] and workers[dead]["left"] is not None and workers[dead]["node"]
        survivor = next(address for address in pid_of if address != dead)
        assert workers[survivor]["joined"] <= workers[dead]["left"] <= workers[survivor]["left"]  # the survivor left with the session
        from neurosage.runs.status import format_status, search_status

        shown = format_status(search_status(tmp_path))  # status lists them, the lost one with when it left
        assert f"worker {dead}: node {workers[dead]['node']}, " in shown and f"left {workers[dead]['left']}" in shown
    finally:
        client.close()
        cluster.close()


def test_two_drivers_on_one_run_folder_the_second_is_refused(tmp_path):
    from neurosage.core.errors import RunFolderError
    from neurosage.runs.lock import run_lock

    with run_lock(tmp_path):  # a first driver is running
        with pytest.raises(RunFolderError, match="another driver"):
            run_search(tmp_path, SPACE, tiny_task(), budget=2, progress=False)
    assert not (tmp_path / "journal.sqlite").exists()


def test_resume_refuses_changed_settings_but_extends_the_budget(tmp_path):
    from neurosage.core.errors import RunFolderError

    run_search(tmp_path, SPACE, tiny_task(), budget=2, seed=1, progress=False)
    for changed in (dict(seed=2), dict(task=tiny_task(objective="p")), dict(space=get_space("pnas", n_blocks=3))):
        kw = dict(space=SPACE, task=tiny_task(), budget=3, seed=1, progress=False, resume=True) | changed
        with pytest.raises(RunFolderError, match="resuming would change the settings.*fix: resume with the recorded settings"):
            run_search(tmp_path, **kw)
    result = run_search(tmp_path, SPACE, tiny_task(), budget=3, seed=1, progress=False, resume=True, workers=1)
    assert list(result.trials.tid) == [0, 1, 2]


def test_in_flight_proposals_are_resubmitted_on_resume(tmp_path):
    """A driver killed with trials in flight: resume evaluates exactly those proposals, then goes on."""
    run_search(tmp_path / "full", SPACE, tiny_task(), budget=4, seed=5, progress=False, searcher_kwargs={"n_startup_jobs": 2})
    run_search(tmp_path / "cut", SPACE, tiny_task(), budget=2, seed=5, progress=False, searcher_kwargs={"n_startup_jobs": 2})
    journal = Journal(tmp_path / "cut" / "journal.sqlite")
    # simulate two proposals that were in flight when the driver died: proposed, never finished
    full = {r["tid"]: r for r in Journal(tmp_path / "full" / "journal.sqlite").rows()}
    for tid in (2, 3):
        journal.propose(tid, full[tid]["vals"], full[tid]["genotype"], 0.0)
    assert [t for t, _, _ in journal.pending()] == [2, 3]
    result = run_search(tmp_path / "cut", SPACE, tiny_task(), budget=4, seed=5, progress=False, resume=True,
                        searcher_kwargs={"n_startup_jobs": 2})
    assert list(result.trials.tid) == [0, 1, 2, 3] and journal.pending() == []
    assert list(result.trials.genotype) == [full[t]["genotype"] for t in range(4)]
    assert result.trials.score.tolist() == pytest.approx([full[t]["record"]["score"] for t in range(4)])


def test_killed_dask_driver_resume_reproposes_the_trials_in_flight(tmp_path):
    pytest.importorskip("distributed")
    run = tmp_path / "run"
    script = SCRIPT.format(tests=str(Path(__file__).parents[1]), run=str(run)).replace("seed=1,", "seed=1, workers=2,")
    proc = subprocess.Popen([sys.executable, "-c", script])
    journal_path = run / "journal.sqlite"
    deadline, in_flight = time.time() + 180, []
    while time.time() < deadline and proc.poll() is None:
        if journal_path.exists():
            journal = Journal(journal_path)
            in_flight = journal.pending()
            if len(journal) >= 2 and in_flight:
                break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    in_flight = Journal(journal_path).pending()
    assert in_flight, "the driver should have been killed with trials in flight"
    result = run_search(run, SPACE, tiny_task(steps=6), budget=10, seed=1, resume=True, progress=False, workers=1)
    rows = {r["tid"]: r for r in Journal(journal_path).rows()}
    assert sorted(rows) == list(range(10)) and len(result.trials) == 10
    for tid, vals, genotype in in_flight:  # re-proposed as they were, not dropped
        assert rows[tid]["genotype"] == genotype and rows[tid]["vals"] == vals


def test_worker_processes_share_the_cores():
    import os

    import torch

    from neurosage.search.executors import share_cores

    before = torch.get_num_threads()
    try:
        share_cores(2)
        assert torch.get_num_threads() == max(1, (os.cpu_count() or 1) // 2)
        share_cores(10_000)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("algo", ["tpe", "random", "rl"])
def test_every_searcher_journals_choice_indices(tmp_path, algo):
    space = get_space("layers-10")
    kw = {"searcher_kwargs": {"n_startup_jobs": 2}} if algo == "tpe" else {}
    run_search(tmp_path, space, tiny_task(objective="p"), budget=3, algo=algo, seed=2, progress=False, **kw)
    journal = Journal(tmp_path / "journal.sqlite")
    assert journal.vals_format() == "indices"
    options = dict(space.decisions())
    for row in journal.rows():
        assert all(isinstance(i, int) and 0 <= i < len(options[label]) for label, i in row["vals"].items())
        rebuilt = space.genotype({label: options[label][i] for label, i in row["vals"].items()})
        assert str(rebuilt) == row["genotype"]


def test_a_random_search_folder_from_before_indices_resumes_as_if_uninterrupted(tmp_path):
    """Journals of random searches used to hold the chosen values; resuming one converts them to indices once."""
    import json
    import sqlite3

    space = get_space("layers-10")
    whole = run_search(tmp_path / "whole", space, tiny_task(objective="p"), budget=4, algo="random", seed=3, progress=False).trials
    run_search(tmp_path / "old", space, tiny_task(objective="p"), budget=2, algo="random", seed=3, progress=False)
    options = dict(space.decisions())
    with sqlite3.connect(tmp_path / "old" / "journal.sqlite") as con:  # write it as the old code did: values, no meta row
        for table in ("trials", "proposals"):
            for tid, vals in con.execute(f"SELECT tid, vals FROM {table}").fetchall():
                values = {label: options[label][i] for label, i in json.loads(vals).items()}
                con.execute(f"UPDATE {table} SET vals = ? WHERE tid = ?", (json.dumps(values), tid))
        con.execute("DELETE FROM meta")
    assert Journal(tmp_path / "old" / "journal.sqlite").vals_format() is None
    resumed = run_search(tmp_path / "old", space, tiny_task(objective="p"), budget=4, algo="random", seed=3, progress=False, resume=True).trials
    assert list(resumed.genotype) == list(whole.genotype)
    assert [r["vals"] for r in Journal(tmp_path / "old" / "journal.sqlite").rows()] == \
        [r["vals"] for r in Journal(tmp_path / "whole" / "journal.sqlite").rows()]


def test_inline_and_two_dask_workers_give_identical_trials(tmp_path):
    """Each candidate runs with the task's thread count wherever it runs, so the executor changes no score."""
    pytest.importorskip("distributed")
    kw = dict(budget=4, seed=11, progress=False, searcher_kwargs={"n_startup_jobs": 4})
    inline = run_search(tmp_path / "inline", SPACE, tiny_task(steps=6), **kw).trials
    dask = run_search(tmp_path / "dask", SPACE, tiny_task(steps=6), workers=2, **kw).trials
    columns = ["tid", "genotype", "status", "P", "TG", "score", "threads"]
    pd.testing.assert_frame_equal(inline[columns].sort_values("tid").reset_index(drop=True),
                                  dask[columns].sort_values("tid").reset_index(drop=True))
    assert set(inline.threads) == {1}


def test_the_weight_of_tg_in_the_ranking_is_reported(tmp_path):
    from neurosage.search.driver import SearchResult

    trials = pd.DataFrame({"status": ["ok"] * 4 + ["failed"], "P": [0.5, 0.6, 0.7, 0.8, None], "TG": [0.80, 0.81, 0.80, 0.81, None]})
    weights = SearchResult(tmp_path, trials).weighting(alpha=1.0)
    sd_p, sd_tg = trials.P.std(ddof=1), trials.TG.std(ddof=1)
    assert weights["n"] == 4 and weights["tg_weight"] == pytest.approx(sd_tg / (sd_p + sd_tg)) and weights["tg_weight"] < 0.1
    assert SearchResult(tmp_path, trials.drop(columns="TG")).weighting() is None


def test_an_unknown_searcher_leaves_no_run_folder(tmp_path):
    from neurosage.core.errors import UnknownName

    with pytest.raises(UnknownName, match="did you mean"):
        run_search(tmp_path / "run", SPACE, tiny_task(), budget=1, algo="tpee", progress=False)
    assert not (tmp_path / "run").exists()


def test_with_a_cluster_as_many_candidates_run_as_it_has_worker_threads_unless_capped(tmp_path):
    distributed = pytest.importorskip("distributed")
    from neurosage.search.executors import local_client

    def in_flight_at_first_finish(run):
        """Trials proposed before any had finished: how many the driver kept in flight at once (from the journal; does not
        depend on which worker happens to finish first)."""
        import sqlite3

        with sqlite3.connect(run / "journal.sqlite") as con:
            proposed = dict(con.execute("SELECT tid, proposed FROM proposals").fetchall())
            first = min(f for (f,) in con.execute("SELECT finished FROM trials").fetchall())
        return sum(p < first for p in proposed.values())

    with local_client(2) as client:
        assert isinstance(client, distributed.Client)
        run_search(tmp_path / "slots", SPACE, tiny_task(steps=6), budget=4, client=client, progress=False)  # workers left at 1
        run_search(tmp_path / "capped", SPACE, tiny_task(steps=6), budget=4, client=client, progress=False, max_in_flight=1)
    assert in_flight_at_first_finish(tmp_path / "slots") == 2  # 2 worker threads: 2 candidates in flight, not the 1 --workers says
    assert in_flight_at_first_finish(tmp_path / "capped") == 1
    workers = __import__("json").loads((tmp_path / "slots" / "run.json").read_text())["sessions"][-1]["workers"]
    assert len(workers) == 2 and all(w["threads"] == 1 for w in workers.values())
    trials = pd.read_csv(tmp_path / "slots" / "trials.csv")
    assert trials.worker.nunique() == 2 and (trials.device == "cpu").all()


def test_trials_csv_is_rewritten_after_every_trial_and_the_log_file_has_a_line_each(tmp_path, monkeypatch):
    import neurosage.search.driver as driver

    written, export = [], driver.write_trial_tables
    monkeypatch.setattr(driver, "write_trial_tables",
                        lambda journal, run_dir, attrs=None: written.append(len(export(journal, run_dir, attrs))) or export(journal, run_dir, attrs))
    run_search(tmp_path, SPACE, tiny_task(), budget=3, progress=False)
    assert written == [1, 2, 3, 3]  # after each trial, then once at the end
    log = (tmp_path / "neurosage.log").read_text()
    assert [f"trial {t}: ok" in log for t in range(3)] == [True] * 3 and "3/3 done" in log and "per trial" in log
    assert oct((tmp_path / "neurosage.log").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_max_in_flight_must_be_a_positive_count(tmp_path):
    from neurosage.core.errors import ConfigError

    with pytest.raises(ConfigError, match="max-in-flight must be a positive number"):
        run_search(tmp_path, SPACE, tiny_task(), budget=1, progress=False, max_in_flight=0)
    assert not tmp_path.joinpath("journal.sqlite").exists()


def test_a_trial_whose_worker_is_lost_again_and_again_stops_the_search_clearly(tmp_path, monkeypatch):
    """A cluster that loses every worker: each loss is resubmitted (and recorded), the fourth of one trial stops the search."""
    import concurrent.futures as cf
    import contextlib

    from neurosage.search import driver
    from neurosage.search.executors import DaskExecutor

    class LosingCluster(DaskExecutor):
        def __init__(self):
            super().__init__(client=cf.ThreadPoolExecutor(1))  # any object that submits; every method used is overridden
            self.scattered = 0

        def scatter(self, obj):
            self.scattered += 1
            return obj

        def submit(self, fn, *args, **kwargs):
            future = cf.Future()
            future.set_exception(cf.CancelledError())
            return future

        def wait_any(self, futures, on_wait=None, poll=10.0):
            return futures[:1]

        def slots(self):
            return 1

        def workers(self):
            return {}

    cluster = LosingCluster()
    monkeypatch.setattr(driver.ExecutorOptions, "open", lambda self: contextlib.nullcontext(cluster))
    with pytest.raises(SearchFailed, match="lost trial 0's worker 4 times") as caught:
        run_search(tmp_path, SPACE, tiny_task(), budget=2, progress=False)
    assert "--resume" in caught.value.fix and cluster.scattered == 4  # the task scattered again after each loss
    assert json.loads((tmp_path / "run.json").read_text())["sessions"][-1]["resubmitted"] == [0, 0, 0, 0]


def test_a_journal_copied_from_another_run_is_refused_by_status_and_resume(tmp_path):
    """Each run claims its journal with run.json's run_id; a journal copied into another run folder is named, not shown."""
    import shutil

    from neurosage.core.errors import RunFolderError
    from neurosage.runs.status import search_status

    run_search(tmp_path / "a", SPACE, tiny_task(), budget=1, seed=0, progress=False)
    run_search(tmp_path / "b", SPACE, tiny_task(), budget=2, seed=3, progress=False)
    assert search_status(tmp_path / "b")["done"] == 2
    shutil.copy(tmp_path / "a" / "journal.sqlite", tmp_path / "b" / "journal.sqlite")
    with pytest.raises(RunFolderError, match="belongs to another run") as caught:
        search_status(tmp_path / "b")
    assert caught.value.file == str(tmp_path / "b" / "journal.sqlite") and "run folder moves whole" in caught.value.fix
    with pytest.raises(RunFolderError, match="belongs to another run"):
        run_search(tmp_path / "b", SPACE, tiny_task(), budget=3, seed=3, progress=False, resume=True)


def test_the_data_fingerprint_tells_the_same_images_with_other_labels_apart():
    """Round 13 R88: a resume on a folder of the same images with every label shifted went on as 'the data moved'."""
    import numpy as np

    from neurosage.data_adapters.imageset import ImageSet
    from neurosage.search.driver import data_fingerprint

    images = np.random.default_rng(0).integers(0, 256, size=(12, 1, 4, 4), dtype=np.uint8)
    labels = np.arange(12) % 3
    same = data_fingerprint(ImageSet(images, labels)), data_fingerprint(ImageSet(images.copy(), labels.copy()))
    assert same[0] == same[1]
    assert data_fingerprint(ImageSet(images, (labels + 1) % 3)) != same[0]
