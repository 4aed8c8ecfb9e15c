"""The journal alone is complete: connections are closed and the write-ahead log is folded in when a session ends,
whether it finished or was interrupted (a copy of ``journal.sqlite`` without its ``-wal`` holds every trial)."""

import shutil
import sqlite3

import pytest

import neurosage.search.driver as driver
from helpers import tiny_task
from neurosage.runs import RunFolder
from neurosage.search.driver import run_search
from neurosage.spaces import get_space

SPACE = get_space("pnas", n_blocks=2)


def _trials_in_a_lone_copy(folder: RunFolder, tmp_path) -> int:
    """Trials in a copy of the journal file made without its write-ahead log (what a user copying one file gets)."""
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(folder.journal_file, copy)
    con = sqlite3.connect(copy)
    try:
        return int(con.execute("SELECT count(*) FROM trials").fetchone()[0])
    finally:
        con.close()


def test_after_a_finished_search_the_journal_file_alone_holds_every_trial(tmp_path):
    folder = RunFolder(tmp_path / "run")
    run_search(folder.path, SPACE, tiny_task(), budget=3, seed=1, progress=False)
    wal = folder.journal_file.with_name(folder.journal_file.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert _trials_in_a_lone_copy(folder, tmp_path) == 3


def test_after_an_interrupted_search_the_journal_file_alone_holds_every_finished_trial(tmp_path, monkeypatch):
    folder = RunFolder(tmp_path / "run")
    finish, finished = driver._Session._finish, []

    def finish_then_interrupt(self, *args, **kwargs):
        finish(self, *args, **kwargs)
        finished.append(1)
        if len(finished) == 2:
            raise KeyboardInterrupt  # Ctrl-C right after the second trial's bookkeeping

    monkeypatch.setattr(driver._Session, "_finish", finish_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_search(folder.path, SPACE, tiny_task(), budget=5, seed=1, progress=False)
    assert _trials_in_a_lone_copy(folder, tmp_path) == 2
    assert folder.last_session()["status"].startswith("interrupted")
    monkeypatch.undo()
    result = run_search(folder.path, SPACE, tiny_task(), budget=5, seed=1, progress=False, resume=True)
    assert len(result.trials) == 5 and _trials_in_a_lone_copy(folder, tmp_path) == 5


def test_the_run_folder_names_its_files_and_refuses_a_second_search(tmp_path):
    folder = RunFolder(tmp_path / "run")
    assert not folder.has_journal() and folder.settings() == {} and folder.last_session() == {}
    run_search(folder.path, SPACE, tiny_task(), budget=1, seed=1, progress=False)
    assert folder.has_journal() and folder.trials_csv.is_file() and folder.trials_nc.is_file()
    assert folder.settings()["budget"] == 1 and folder.last_session()["status"] == "finished"
    assert folder.read_in_flight() == {}  # nothing is in flight once a session has ended
    assert folder.weight_files() and all(p.is_file() for p in folder.weight_files().values())
    with pytest.raises(Exception, match="already holds a search"):
        folder.refuse_existing()
