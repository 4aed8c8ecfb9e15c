import time

import pytest

from neurosage.core.errors import RunFolderError
from neurosage.runs.journal import Journal
from neurosage.runs.lock import run_lock
from neurosage.runs.provenance import record_run
from neurosage.runs.status import format_status, search_status


def test_the_status_of_a_running_search_shows_progress_best_and_what_is_in_flight(tmp_path):
    with run_lock(tmp_path), record_run(tmp_path, {"budget": 6, "algo": "tpe", "objective": "p+tg", "space": "pnas"}):
        journal = Journal(tmp_path / "journal.sqlite")
        t0 = time.time()
        for tid, score in ((0, 0.4), (1, 0.7)):
            journal.propose(tid, {}, f"g{tid}", t0)
            journal.append(tid, {}, {"genotype": f"g{tid}", "status": "ok", "P": score - 0.1, "TG": 0.1}, -score, time.time())
        journal.propose(2, {}, "g2", time.time())
        journal.append(3, {}, {"genotype": "g3", "status": "failed", "error": "x"}, None, time.time())
        status = search_status(tmp_path)
        assert (status["done"], status["failed"], status["budget"], [f["tid"] for f in status["in_flight"]]) == (3, 1, 6, [2])
        assert status["best"]["tid"] == 1 and status["best"]["score"] == pytest.approx(0.7) and status["best"]["P"] == pytest.approx(0.6)
        assert status["seconds_per_trial"] is not None and status["eta_seconds"] == pytest.approx(3 * status["seconds_per_trial"])
        text = format_status(status)
        assert "3/6 done (1 failed), 1 in flight" in text and "best so far: trial 1, score 0.7000 (P 0.6000, TG 0.1000)" in text
    after = search_status(tmp_path)
    assert after["session"] == "finished" and after["in_flight"] == [] and after["eta_seconds"] is None
    assert f"(session finished at {after['ended']}, started {after['started']})" in format_status(after)  # its end, not its start


def test_status_of_a_folder_without_a_search_names_the_searches_inside(tmp_path):
    with pytest.raises(RunFolderError, match="does not exist"):
        search_status(tmp_path / "typo")
    Journal(tmp_path / "search_comparison" / "rl-p-0" / "journal.sqlite")
    with pytest.raises(RunFolderError, match="holds 1 search.*below it.*neurosage status .*search_comparison/rl-p-0"):
        search_status(tmp_path)
    assert not (tmp_path / "journal.sqlite").exists()  # status writes nothing


def test_a_search_whose_journal_is_gone_is_said_as_such_by_status_and_by_the_commands_that_read_trials(tmp_path):
    from neurosage.runs.folder import RunFolder

    with record_run(tmp_path, {"budget": 2, "algo": "tpe", "objective": "p", "space": "pnas"}):
        Journal(tmp_path / "journal.sqlite")
    (tmp_path / "journal.sqlite").unlink()  # deleted by hand: run.json alone is left
    with pytest.raises(RunFolderError, match=r"holds a search's run record but its journal \(journal.sqlite\) is gone") as exc:
        search_status(tmp_path)
    assert "restore journal.sqlite from a copy" in str(exc.value)
    with pytest.raises(RunFolderError, match="journal .* is gone"):
        RunFolder(tmp_path).refuse_no_search("rdm")


def test_a_search_whose_driver_was_killed_shows_as_stopped_never_running(tmp_path):
    """SIGKILL leaves run.json saying "running" and the lock in place: status asks whether the lock's pid lives."""
    import json
    import signal
    import subprocess
    import sys

    from neurosage.runs.layout import LOCK_FILE

    code = ("import os, sys, time; from neurosage.runs.lock import run_lock; from neurosage.runs.provenance import record_run\n"
            "with run_lock(sys.argv[1]), record_run(sys.argv[1], {'budget': 4, 'algo': 'tpe', 'objective': 'p', 'space': 'pnas'}):\n"
            "    from neurosage.runs.journal import Journal; Journal(sys.argv[1] + '/journal.sqlite').propose(0, {}, 'g0', time.time())\n"
            "    print('ready', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    assert search_status(tmp_path)["session"] == "running"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == proc.pid  # the lock and run.json still say running
    status = search_status(tmp_path)
    assert status["session"].startswith(f"stopped without a clean exit (pid {proc.pid} gone)") and "--resume" in status["session"]
    assert status["in_flight"] == [] and status["eta_seconds"] is None
    assert "running" not in format_status(status).split("since")[0]


def test_status_json_is_machine_readable_with_iso_times(tmp_path, capsys):
    import json
    from datetime import datetime

    from neurosage.cli import main

    with run_lock(tmp_path), record_run(tmp_path, {"budget": 2, "algo": "tpe", "objective": "p", "space": "pnas"}):
        journal = Journal(tmp_path / "journal.sqlite")
        journal.propose(0, {}, "g0", time.time())
        journal.append(0, {}, {"genotype": "g0", "status": "ok", "P": 0.5}, -0.5, time.time())
    assert main(["status", str(tmp_path), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["done"] == 1 and status["best"]["score"] == pytest.approx(0.5) and status["session"] == "finished"
    assert datetime.fromisoformat(status["last_finished"].replace("Z", "+00:00")).tzinfo is not None
    assert status["eta_seconds"] is None  # JSON has no NaN: null


def test_trials_csv_times_are_iso_8601(tmp_path):
    import pandas as pd

    from neurosage.runs.trials import write_trial_tables

    journal = Journal(tmp_path / "journal.sqlite")
    journal.propose(0, {}, "g0", 0.0)
    journal.append(0, {}, {"tid": 0, "genotype": "g0", "status": "ok", "started": 1_800_000_000.25, "wall_time": 2.5}, -0.5, 1.0)
    write_trial_tables(journal, tmp_path)
    row = pd.read_csv(tmp_path / "trials.csv").iloc[0]
    assert row.started == "2027-01-15T08:00:00.250Z" and row.finished == "2027-01-15T08:00:02.750Z"


def test_a_channel_search_is_refused_where_an_architecture_search_is_read(tmp_path):
    """Round 9 #78/#81/#82: export optuna wrote a channel search's trials as FAIL; rdm and export brainscore blamed old kept weights."""
    from neurosage.core.errors import ConfigError
    from neurosage.runs.folder import RunFolder
    from neurosage.search.weights import kept_network

    channels = tmp_path / "analysis" / "channel_search" / "qc"
    Journal(channels / "journal.sqlite")
    (channels / "channel_state.pt").write_bytes(b"")
    with pytest.raises(RunFolderError, match="holds a channel-size search"):
        RunFolder(channels).refuse_no_search("export optuna", architectures=True)
    with pytest.raises(ConfigError, match="holds a channel-size search"):
        kept_network(channels)
    with pytest.raises(RunFolderError, match=r"holds channel-size searches only \(channel_search/qc\)"):
        RunFolder(tmp_path / "analysis").refuse_no_search("export brainscore", architectures=True)
    RunFolder(channels).refuse_no_search("status")  # status reads a channel search's journal as it is


def test_a_journal_emptied_beside_a_trials_table_is_refused_not_read_as_a_fresh_search(tmp_path):
    """Round 10 #82: `: > journal.sqlite` showed '0/2 done, best so far: none' for a finished search."""
    with record_run(tmp_path, {"budget": 2, "algo": "tpe", "objective": "p", "space": "pnas"}):
        Journal(tmp_path / "journal.sqlite")
    (tmp_path / "trials.csv").write_text("tid,genotype,score\n0,g0,0.5\n1,g1,0.6\n")
    (tmp_path / "journal.sqlite").write_bytes(b"")
    with pytest.raises(RunFolderError, match="the search journal holds no trial, and trials.csv lists 2 finished trial"):
        search_status(tmp_path)
    with pytest.raises(RunFolderError, match="holds no trial"):  # the file the first look re-created is still no journal of the trials
        search_status(tmp_path)
