"""Append-only SQLite journal of a search: one row per proposal, one per finished trial.

A proposal is written before its candidate is submitted; a trial row is written
once, in one transaction, when its record arrives at the driver. A killed search
therefore keeps every finished trial exactly once, and on resume the proposals
without a trial (those that were running) are submitted again as they were.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from neurosage.core.atomic import file_in_the_way
from neurosage.core.errors import RunFolderError
from neurosage.core.validate import check_arguments
from neurosage.runs.layout import JOURNAL_FILE

__all__ = ["Journal", "VALS_FORMAT"]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    tid INTEGER PRIMARY KEY,
    vals TEXT NOT NULL,
    genotype TEXT NOT NULL,
    status TEXT NOT NULL,
    loss REAL,
    record TEXT NOT NULL,
    finished REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS proposals (
    tid INTEGER PRIMARY KEY,
    vals TEXT NOT NULL,
    genotype TEXT NOT NULL,
    proposed REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
"""

#: What ``vals`` hold: the choice index per decision label (``neurosage.spaces.contract.to_indices``), for every searcher.
VALS_FORMAT = "indices"


def foreign_journal(path: Path, journal_run: str, folder_run: str) -> RunFolderError:
    """The error of a journal that another run wrote (copied into this folder)."""
    return RunFolderError(f"this journal belongs to another run (run id {journal_run[:12]}; this folder's run.json is run {folder_run[:12]}): "
                          "it was copied from another run folder, so its trials are not this run's",
                          "put this run's own journal.sqlite back (from a copy); a run folder moves whole (journal, run.json, "
                          f"trials, weights together); if run.json's run_id was edited instead, set it back to {journal_run!r}",
                          file=path, field="journal")


def _is_sqlite(path: Path) -> bool:
    """Whether ``path`` starts with SQLite's file header (an empty file is a new database)."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return not head or head == b"SQLite format 3\x00"


class Journal:
    """The trials of one search, stored in ``path`` (SQLite)."""

    def __init__(self, path: str | Path):
        check_arguments(Journal.__init__, locals())
        self.path = Path(path)
        if self.path.is_dir():  # a run folder given for its journal: SQLite's "unable to open database file" would blame the journal
            inside = self.path / "journal.sqlite"
            raise RunFolderError(f"{self.path} is a folder, and a journal is a file" + (f" (the run folder's is {inside})" if inside.is_file()
                                 else ""), f"give the journal file, e.g. Journal({str(inside)!r}) (or RunFolder(folder).journal())",
                                 file=self.path, field="path")
        blocker = file_in_the_way(self.path.parent)
        if blocker is not None:  # RunFolder('RUN/trials.csv').journal(): mkdir's bare FileExistsError otherwise
            raise RunFolderError(f"{blocker} is a file, so it cannot hold a search journal (a run folder is a folder)", "give the run "
                                 f"folder that holds it: {blocker.parent}", file=blocker, field="path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._connect() as con:
                con.executescript(_SCHEMA)
                con.execute("SELECT count(*) FROM trials").fetchone()
        except sqlite3.DatabaseError as exc:
            beside = self.path.parent / JOURNAL_FILE
            if not _is_sqlite(self.path) and self.path.name != JOURNAL_FILE:  # another file (trials.csv, run.json) given for the journal
                raise RunFolderError(f"{self.path.name} is not a search journal (an SQLite database; this file is not one)",
                                     f"give the journal file, {beside}" if beside.is_file() else "give a search's journal file "
                                     f"({JOURNAL_FILE} in its run folder), or a new path for a new journal", file=self.path, field="path") from None
            raise RunFolderError(f"the search journal cannot be read ({exc})", "restore the journal from a copy, or start a new run folder "
                                 "(the journal is the search's only record of its trials)", file=self.path, field="journal") from None

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction on a connection that is closed afterwards (committed on success, rolled back on an error).

        Every connection is closed, so when the last one of a process closes SQLite folds the write-ahead log
        back into the database: ``journal.sqlite`` alone is complete between trials and after any stop.
        """
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            with con:
                yield con
        finally:
            con.close()

    def checkpoint(self) -> None:
        """Fold the write-ahead log into ``journal.sqlite`` and empty it (called when a session ends, however it ends)."""
        with self._connect() as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def append(self, tid: int, vals: dict[str, Any], record: dict[str, Any], loss: float | None, finished: float) -> None:
        """Record a finished trial; a tid can be written only once."""
        check_arguments(Journal.append, locals())
        with self._connect() as con:
            con.execute(
                "INSERT INTO trials (tid, vals, genotype, status, loss, record, finished) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tid, json.dumps(vals), record["genotype"], record["status"], loss, json.dumps(record, default=float), finished),
            )

    def propose(self, tid: int, vals: dict[str, Any], genotype: str, proposed: float) -> None:
        """Record a proposal before it is evaluated (a re-proposed tid keeps its first row)."""
        check_arguments(Journal.propose, locals())
        with self._connect() as con:
            con.execute(
                "INSERT OR IGNORE INTO proposals (tid, vals, genotype, proposed) VALUES (?, ?, ?, ?)",
                (tid, json.dumps(vals), genotype, proposed),
            )

    def _unfinished(self) -> list[tuple[int, str, str, float]]:
        """``(tid, vals JSON, genotype, proposed time)`` of every proposal without a finished trial, in tid order."""
        with self._connect() as con:
            return con.execute(
                "SELECT tid, vals, genotype, proposed FROM proposals WHERE tid NOT IN (SELECT tid FROM trials) ORDER BY tid"
            ).fetchall()

    def pending(self) -> list[tuple[int, dict[str, Any], str]]:
        """Proposals without a finished trial (in flight when the driver stopped), in tid order."""
        return [(tid, json.loads(vals), genotype) for tid, vals, genotype, _ in self._unfinished()]

    def in_flight(self) -> list[tuple[int, str, float]]:
        """``(tid, genotype, proposed time)`` of every proposal without a finished trial, in tid order."""
        return [(tid, genotype, proposed) for tid, _, genotype, proposed in self._unfinished()]

    def rows(self) -> Iterator[dict[str, Any]]:
        """Finished trials in tid order, with ``vals`` and ``record`` decoded."""
        with self._connect() as con:
            cur = con.execute("SELECT tid, vals, genotype, status, loss, record, finished FROM trials ORDER BY tid")
            for tid, vals, genotype, status, loss, record, finished in cur.fetchall():
                yield {
                    "tid": tid, "vals": json.loads(vals), "genotype": genotype, "status": status,
                    "loss": loss, "record": json.loads(record), "finished": finished,
                }

    def vals_format(self) -> str | None:
        """What this journal's ``vals`` hold (``"indices"``), or None for a journal written before that was recorded."""
        with self._connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'vals'").fetchone()
        return None if row is None else str(row[0])

    def mark_vals(self, fmt: str = VALS_FORMAT) -> None:
        """Record what ``vals`` hold (a new journal, or an old one whose ``vals`` already are indices)."""
        check_arguments(Journal.mark_vals, locals())
        with self._connect() as con:
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('vals', ?)", (fmt,))

    def run_id(self) -> str | None:
        """The id of the run this journal belongs to (``run.json``'s ``run_id``), or None before a session claimed it."""
        with self._connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'run_id'").fetchone()
        return None if row is None else str(row[0])

    def claim(self, run_id: str) -> None:
        """Mark this journal as the run ``run_id``'s (once; a journal written before run ids is claimed by its folder's
        run); a journal another run claimed is refused (:meth:`RunFolder.journal` checks the same on every read)."""
        check_arguments(Journal.claim, locals())
        mine = self.run_id()
        if mine is None:
            with self._connect() as con:
                con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('run_id', ?)", (run_id,))
        elif mine != run_id:
            raise foreign_journal(self.path, mine, run_id)

    def convert_vals(self, convert: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
        """Rewrite every row's ``vals`` with ``convert`` and mark them as indices, in one transaction; returns the rows changed.

        Random searches written before ``vals`` meant indices everywhere stored the chosen values; resuming one
        converts it once, so the journal never mixes the two meanings.
        """
        check_arguments(Journal.convert_vals, locals())
        with self._connect() as con:
            changed = 0
            for table in ("trials", "proposals"):
                for tid, vals in con.execute(f"SELECT tid, vals FROM {table}").fetchall():
                    con.execute(f"UPDATE {table} SET vals = ? WHERE tid = ?", (json.dumps(convert(json.loads(vals))), tid))
                    changed += 1
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('vals', ?)", (VALS_FORMAT,))
        return changed

    def __len__(self) -> int:
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
