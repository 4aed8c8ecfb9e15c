"""The run folder as one object: the only code that knows which files a run folder holds and how they are read.

A search, a channel search, ``neurosage status``, the exports and the command line all reach a run folder's
files through :class:`RunFolder`; the file names live in :mod:`neurosage.runs.layout`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from neurosage.core.atomic import write_json
from neurosage.core.errors import ConfigError, NeurosageError, RunFolderError, RunFolderExists
from neurosage.core.once import warn_once
from neurosage.core.validate import check_arguments, check_choices
from neurosage.runs import layout
from neurosage.runs.journal import Journal, foreign_journal
from neurosage.runs.lock import lock_holder, run_lock, running_driver
from neurosage.runs.logfile import run_log
from neurosage.runs.provenance import read_settings, record_run, resume_settings, seal_record
from neurosage.runs.resume import refuse_changed_settings

__all__ = ["RunFolder"]

log = logging.getLogger(__name__)

_WEIGHT_FILE = re.compile(r"^trial-(\d+)\.pt$")


class RunFolder:
    """A run folder at ``path`` (it need not exist yet).

    Parameters
    ----------
    path
        The folder a search, a channel search or an analysis writes.
    """

    def __init__(self, path: str | Path | RunFolder):
        check_arguments(RunFolder.__init__, locals())
        self.path: Path = path.path if isinstance(path, RunFolder) else Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    # -- files -------------------------------------------------------------------------------------------------------------
    @property
    def journal_file(self) -> Path:
        return self.path / layout.JOURNAL_FILE

    @property
    def provenance_file(self) -> Path:
        return self.path / layout.PROVENANCE_FILE

    @property
    def trials_csv(self) -> Path:
        return self.path / layout.TRIALS_CSV

    @property
    def trials_nc(self) -> Path:
        return self.path / layout.TRIALS_NC

    @property
    def searcher_state(self) -> Path:
        return self.path / layout.SEARCHER_STATE

    @property
    def channel_state(self) -> Path:
        return self.path / layout.CHANNEL_STATE

    @property
    def weights_dir(self) -> Path:
        return self.path / layout.WEIGHTS_DIR

    @property
    def slurm_dir(self) -> Path:
        return self.path / layout.SLURM_DIR

    def weight_file(self, tid: int) -> Path:
        """Where trial ``tid``'s kept weights are."""
        check_arguments(RunFolder.weight_file, locals())
        return self.path / layout.weight_file(tid)

    def weight_files(self) -> dict[int, Path]:
        """The kept weights files present, by trial id."""
        if not self.weights_dir.is_dir():
            return {}
        found = (_WEIGHT_FILE.match(p.name) for p in sorted(self.weights_dir.iterdir()))
        return {int(m.group(1)): self.weights_dir / m.group(0) for m in found if m}

    def file(self, relative: str) -> Path:
        """A file the run's records name relative to the folder (e.g. a kept weights file listed in ``run.json``)."""
        check_arguments(RunFolder.file, locals())
        inside = Path(relative)
        if inside.is_absolute() or ".." in inside.parts:  # a record naming a file outside its folder: never followed
            raise RunFolderError(f"{relative!r} is not a path inside the run folder (records name their files relative to it, without "
                                 "'..')", f"give a name relative to {self.path}, e.g. weights/trial-0.pt", file=self.path, field="relative")
        return self.path / inside

    # -- an architecture pool ---------------------------------------------------------------------------------------------
    @property
    def pool_file(self) -> Path:
        """What a pool is (spec, classes, input conversion)."""
        return self.path / layout.POOL_FILE

    @property
    def pool_architectures(self) -> Path:
        return self.path / layout.POOL_ARCHITECTURES

    @property
    def pool_checkpoints(self) -> Path:
        return self.path / layout.POOL_CHECKPOINTS

    @property
    def pool_stimuli(self) -> Path:
        """The images teachers are scored on (uint8, labels, stimulus ids), kept with the pool."""
        return self.path / layout.POOL_STIMULI

    def pool_record(self, arch: int) -> Path:
        """The record of one trained architecture (written when it is done; a rerun trains only those without one)."""
        check_arguments(RunFolder.pool_record, locals())
        return self.path / layout.POOL_RECORDS_DIR / f"arch-{arch:04d}.json"

    def pool_retrain_record(self, arch: int, kind: str) -> Path:
        """The record of architecture ``arch`` trained again (``kind``: second_seed, long)."""
        check_arguments(RunFolder.pool_retrain_record, locals())
        return self.path / layout.POOL_RECORDS_DIR / f"arch-{arch:04d}-{kind}.json"

    def pool_rdms(self, arch: int, step: int) -> Path:
        """Architecture ``arch``'s layer RDMs on the pool's stimuli at ``step`` (float32 upper triangles)."""
        check_arguments(RunFolder.pool_rdms, locals())
        return self.path / layout.POOL_RDMS_DIR / f"arch-{arch:04d}" / f"step-{step}.npz"

    def pool_weights(self, arch: int, step: int) -> Path:
        """Architecture ``arch``'s weights at ``step`` (0: initialisation)."""
        check_arguments(RunFolder.pool_weights, locals())
        return self.path / layout.POOL_WEIGHTS_DIR / f"arch-{arch:04d}" / f"step-{step}.pt"

    # -- the journal -------------------------------------------------------------------------------------------------------
    def has_journal(self) -> bool:
        """Whether a search has started here (its journal exists)."""
        return self.journal_file.exists()

    def journal(self) -> Journal:
        """The search journal (created when missing); one that another run wrote (its run id differs from ``run.json``'s)
        is refused, and so is an emptied one (no trial while trials.csv lists finished ones); a pool's folder gets none
        (a journal there would make status and resume take the pool for a search)."""
        if self.pool_file.is_file() and not self.journal_file.exists():
            raise RunFolderError(f"{self.path} holds an architecture pool (pool.json), not a search, so it has no search journal (one "
                                 "made here would make the pool look like a search)", "give a search's run folder (neurosage search "
                                 "RUN_DIR); a pool is read with neurosage.pool.Pool(folder)", file=self.path, field="run_dir")
        journal = Journal(self.journal_file)
        if len(journal) == 0 and self.trials_csv.is_file() and self.trials_csv.stat().st_size > 0:
            import pandas as pd

            try:
                written = len(pd.read_csv(self.trials_csv))
            except Exception:  # a damaged trials.csv is judged where it is read
                written = 0
            if written:  # the table was written from the journal's trials, which are gone
                raise RunFolderError(f"the search journal holds no trial, and {self.trials_csv.name} lists {written} finished trial(s): "
                                     "the journal was emptied or replaced", f"restore {self.journal_file.name} from a copy (it is the "
                                     "record of every trial); a search cannot resume or report from trials.csv", file=self.journal_file)
        folder_run = self.record().get("run_id") if self.provenance_file.is_file() else None
        journal_run = journal.run_id()
        if isinstance(folder_run, str) and journal_run is not None and journal_run != folder_run:
            raise foreign_journal(journal.path, journal_run, folder_run)
        return journal

    def existing_journal(self, what: str = "search") -> Journal:
        """The journal of a search that exists, or one error naming the folder and the fix."""
        check_arguments(RunFolder.existing_journal, locals())
        self.refuse_no_search()
        return self.journal()

    def refuse_no_search(self, command: str | None = None, error: type[NeurosageError] = RunFolderError, *,
                         architectures: bool = False) -> None:
        """Refuse a folder without a search journal: a demo's or analysis' folder names its searches (the one to give).
        ``architectures``: refuse a channel-size search too (its trials are channel sizes of one ResNet, no architectures,
        scores or kept weights: what ``rdm`` and the exports read)."""
        check_arguments(RunFolder.refuse_no_search, locals())
        def channel_search(path: Path) -> bool:
            return architectures and (path / layout.CHANNEL_STATE).is_file()

        def refuse_channels(where: Path, what: str) -> None:
            raise error(f"{where} holds {what} (CONetV2 style, {layout.CHANNEL_STATE}): its trials are channel sizes of one ResNet, with "
                        "no architecture scores or kept weights", "give the folder of an architecture search (neurosage search, or a "
                        "demo's or analysis' search folder); a channel search's results are drawn by neurosage figures ANALYSIS_RUN_DIR",
                        file=where, field="run_dir")

        if self.has_journal():
            if channel_search(self.path):
                refuse_channels(self.path, "a channel-size search")
            return
        if not self.path.exists():  # a typo: "holds no search journal" would send the user looking for a lost journal
            import difflib

            siblings = [p.name for p in self.path.parent.iterdir() if p.is_dir()] if self.path.parent.is_dir() else []
            close = difflib.get_close_matches(self.path.name, siblings, n=1)
            raise error("no such folder" + (f" (did you mean {self.path.parent / close[0]}?)" if close else ""), "give the run folder of a "
                        "search (neurosage search RUN_DIR made it)", file=self.path, field="run_dir")
        if self.path.is_file():  # RUN/journal.sqlite, RUN/run.json: a file of the folder
            what = {layout.JOURNAL_FILE: "the search's journal", layout.PROVENANCE_FILE: "the run record"}.get(self.path.name, "a file")
            again = f"neurosage {command} {self.path.parent}" if command else str(self.path.parent)
            raise error(f"this is {what}{', a file,' if what != 'a file' else ''} and a run folder is the folder that holds it",
                        f"give the folder: {again}",
                        file=self.path, field="run_dir")
        below = self.searches_below() if self.path.is_dir() else []
        subs = [sub for sub in below if not channel_search(self.path / sub)]
        if below and not subs:
            refuse_channels(self.path, f"channel-size searches only ({', '.join(str(s) for s in below[:3])})")
        if subs:
            again = f"neurosage {command} {self.path / subs[0]}" if command else str(self.path / subs[0])
            raise error(f"not a search's run folder: it holds {len(subs)} search(es) below it ({', '.join(str(s) for s in subs[:3])}), not "
                        "one of its own", f"give one of them: {again}", file=self.path, field="run_dir")
        if self.provenance_file.is_file() and self.settings().get("budget") is not None:
            raise error(f"{self.path} holds a search's run record but its journal ({layout.JOURNAL_FILE}) is gone", f"restore "
                        f"{layout.JOURNAL_FILE} from a copy (it is the record of every trial), or start a new run folder", file=self.path)
        if self.pool_file.is_file():
            raise error(f"{self.path} holds an architecture pool (pool.json), not a search: a pool has architectures, no trials",
                        f"bench teachers on it: neurosage bench {self.path} --teacher SPEC (or give a search's run folder)", file=self.path,
                        field="run_dir")
        above = next((a for a in list(self.path.resolve().parents)[:2] if RunFolder(a).has_journal()), None)
        if above is not None:  # RUN/weights, RUN/teacher, an analysis run in RUN/<name>
            raise error(f"{self.path} is a folder inside the search's run folder {above}", f"give the run folder: "
                        f"{'neurosage ' + command + ' ' if command else ''}{above}", file=self.path, field="run_dir")
        raise error(f"not a search's run folder (it holds no search journal, {layout.JOURNAL_FILE})",
                    "give the run folder of a search (neurosage search RUN_DIR); a pool's folder has no trial", file=self.path, field="run_dir")

    def refuse_existing(self, what: str = "a search", *, resume_hint: str = "pass --resume to continue it (resume=True)") -> None:
        """Refuse to start a new search in a folder that already holds one, or holds an architecture pool."""
        check_arguments(RunFolder.refuse_existing, locals())
        if self.pool_file.is_file():
            raise RunFolderExists(f"{self.path} holds an architecture pool (pool.json), not {what}", "choose another run folder (a pool is "
                                  f"benched with neurosage bench {self.path} --teacher SPEC)", file=self.path)
        if self.has_journal():
            raise RunFolderExists(f"{self.path} already holds {what}", f"{resume_hint}, or choose another run folder", file=self.path)

    def refuse_foreign(self, what: str = "a run folder") -> None:
        """Refuse a folder that holds files but no run of neurosage (a data folder given as the run folder by mistake)."""
        check_arguments(RunFolder.refuse_foreign, locals())
        if not self.path.is_dir() or self.provenance_file.is_file() or self.has_journal():
            return
        entries = sorted(p.name for p in self.path.iterdir() if p.name not in layout.RUN_FILES and not p.name.startswith("."))
        runs = [name for name in entries if RunFolder(self.path / name).provenance_file.is_file()]  # an analysis' run below (RUN/teacher_bench)
        if runs:
            raise RunFolderError(f"{self.path} holds the run folder of another neurosage command ({runs[0]}/run.json), so it cannot be {what}",
                                 "give a new or empty folder for this command (it is created); the run in it is continued by the command "
                                 "that made it", file=self.path)
        if entries:
            raise RunFolderError(f"{self.path} holds other files (e.g. {entries[:3]}) and no neurosage run, so it cannot be {what}",
                                 "give a new or empty folder (it is created)", file=self.path)

    def searches_below(self) -> list[Path]:
        """Sub-folders (one or two levels down) that hold a search, e.g. an analysis' searches."""
        found = sorted(p.parent for p in self.path.glob(f"*/*/{layout.JOURNAL_FILE}")) + \
            sorted(p.parent for p in self.path.glob(f"*/{layout.JOURNAL_FILE}"))
        return [p.relative_to(self.path) for p in found]

    # -- provenance --------------------------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The recorded settings (empty when there is no ``run.json``; a damaged one is refused by name)."""
        return read_settings(self.path)

    def resume_settings(self, command: Literal["search"] = "search") -> dict[str, Any]:
        """The settings a resume continues from (refuses a missing folder or record, and a folder whose searches are below it)."""
        check_arguments(RunFolder.resume_settings, locals())
        check_choices(RunFolder.resume_settings, locals())
        if command == "search" and self.path.is_dir() and not self.has_journal() and (subs := self.searches_below()):
            made_by = self._made_by()
            raise RunFolderError(f"{self.path} holds {len(subs)} search(es) below it ({', '.join(str(s) for s in subs[:3])}), not one of its "
                                 "own: it is a demo's or an analysis' folder, whose searches its command continues",
                                 f"rerun the command that made the folder: {shlex.join(made_by)}" if made_by else
                                 "rerun the command that made the folder (its searches are continued by it, not by neurosage search)",
                                 file=self.path)
        made_by = self._made_by() if command == "search" and not self.pool_file.is_file() else None
        if made_by and made_by[1] != "search":  # a demo's or an analysis' search: its settings are that command's, not search's
            owner = self._owning_run()
            what = (f"one of the searches of {' '.join(made_by[:2])}" + (f" in {owner[0]}" if owner else "") if self.has_journal() else
                    f"the run folder of {' '.join(made_by[:3] if made_by[1] == 'analyze' else made_by[:2])}, not a search's")
            raise RunFolderError(f"{self.path} is {what}: resumed as a plain search, its settings would change (the command sets them, not "
                                 "neurosage search's defaults)", f"rerun that command to continue it: {shlex.join(owner[1] if owner else made_by)}",
                                 file=self.provenance_file)
        settings = resume_settings(self.path, command)  # refuses a pool's folder, a missing record
        record = self.record()
        ran = [s for s in record.get("sessions") or [] if isinstance(s, dict) and s.get("status") == "finished"]
        if command == "search" and not self.has_journal() and (ran or (record.get("weights") or {}).get("trials")):
            raise RunFolderError(f"run.json records {len(ran)} finished session(s) of this search, and its journal ({self.journal_file.name}), "
                                 "which holds the trials, is gone: a resume would start over and report the new trials as the search's",
                                 f"restore {self.journal_file.name} from a copy of the run folder, or start a new run folder",
                                 file=self.journal_file)
        return settings

    def _made_by(self) -> list[str] | None:
        """The neurosage command line that wrote this folder's latest finished session (else its latest), when there is one."""
        sessions = [s for s in self.record().get("sessions") or [] if isinstance(s, dict)]
        finished = [s for s in sessions if s.get("status") == "finished"] or sessions  # a refused rerun is no way to continue it
        line = finished[-1].get("command") if finished else None
        ok = isinstance(line, list) and len(line) >= 2 and line[0] == "neurosage" and all(isinstance(w, str) for w in line)
        return line if ok else None

    def refuse_changed_settings(self, resolved: dict[str, Any], *, data_fingerprint: str | None = None) -> tuple[str, ...]:
        """Refuse a resume that would change a recorded setting other than the resumable ones, or whose lower
        ``keep_weights`` would delete weights kept by earlier sessions. A ``data`` folder that moved is accepted when it
        holds the same images (``data_fingerprint`` equal to the recorded one): returns ``("data",)`` then, else ()."""
        check_arguments(RunFolder.refuse_changed_settings, locals())
        moved: tuple[str, ...] = ()
        recorded_data = self.settings().get("data")
        if data_fingerprint and "data" in resolved and resolved["data"] != recorded_data \
                and self.record().get("data_fingerprint") == data_fingerprint:
            log.info("the data moved from %s to %s: the same images (fingerprint %s), so the search goes on", recorded_data,
                     resolved["data"], data_fingerprint)
            moved, resolved = ("data",), {**resolved, "data": recorded_data}
        try:
            refuse_changed_settings(self.path, resolved)
        except RunFolderError as exc:
            owner = self._owning_run()
            if owner is None and "data" in resolved and resolved["data"] != recorded_data and not self.record().get("data_fingerprint") \
                    and isinstance(recorded_data, str) and not Path(recorded_data).is_absolute():
                raise RunFolderError(f"{exc.problem}; this run predates data fingerprints, so another data folder cannot be shown to hold its "
                                     f"images, and its data {recorded_data!r} is relative to the folder the search was started from",
                                     f"resume from that folder (cd there; {recorded_data} must be reachable from it) without --data",
                                     file=exc.file, field="data") from None
            if owner is None:
                raise
            parent, line = owner
            raise RunFolderError(f"{self.path} is one of the searches of {' '.join(line[:2])} in {parent}: resumed as a plain search, its "
                                 "settings would change (the command sets them, not neurosage search's defaults)",
                                 f"rerun that command to continue it: {' '.join(line)}", file=exc.file) from None
        keep, recorded = resolved.get("keep_weights"), (self.record().get("weights") or {}).get("trials") or []
        kept = {int(e["trial"]) for e in recorded if isinstance(e, dict) and isinstance(e.get("trial"), int)}
        files = {tid: path for tid, path in self.weight_files().items() if tid in kept}  # a cut-short proposal's file is no result
        gone = sorted(kept - set(files))
        if gone:  # deleted by hand: said, and run.json stops listing them when the search records its weights again
            warn_once(log, ("kept weights gone", str(self.path), tuple(gone)), "run.json lists the kept weights of trial(s) %s, and their "
                      "files are gone from %s: those trials are kept no longer (rdm --trial and export brainscore cannot load them); "
                      "restore the files from a copy to keep them", gone, self.weights_dir)
        if isinstance(keep, int) and len(files) > keep:
            raise RunFolderError(f"resuming with keep-weights = {keep} would delete the kept weights of {len(files) - keep} trial(s) of earlier "
                                 f"sessions ({len(files)} kept: {', '.join(p.name for p in list(files.values())[:5])})",
                                 f"resume with --keep-weights {len(files)} (or more), or delete the files you no longer want from "
                                 f"{self.weights_dir} first", file=self.weights_dir, field="keep_weights")
        before = (self.record().get("weights") or {}).get("keep")
        if isinstance(keep, int) and isinstance(before, int) and keep > before:  # said once: the command and the driver both check
            warn_once(log, ("keep-weights grows", self.path, keep), "keep-weights grows from %d to %d: the weights of trials run from now "
                      "on are kept; finished trials whose weights were not kept stay without (a trial's weights exist only while it runs)",
                      before, keep)
        return moved

    def _owning_run(self) -> tuple[Path, list[str]] | None:
        """The demo's or analysis' folder one or two levels up whose run this search belongs to, and its last command line."""
        for parent in list(self.path.resolve().parents)[:2]:
            outer = RunFolder(parent)
            if outer.has_journal():
                continue
            line = outer._made_by()
            if line is not None:
                return parent, line
        return None

    def record(self) -> dict[str, Any]:
        """The whole run record (``run.json``), or {} when there is none or it cannot be read."""
        try:
            record = json.loads(self.provenance_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def require_record(self) -> dict[str, Any]:
        """The run record, or one error naming the file and the fix when it is missing or damaged."""
        path = self.provenance_file
        if not path.is_file():
            held = sorted(name for name in (layout.JOURNAL_FILE, "trials.csv", layout.WEIGHTS_DIR, layout.LOG_FILE) if (self.path / name).exists())
            if held:  # a search's folder that lost its record: the record is what is missing, not the folder
                raise ConfigError(f"the run record {layout.PROVENANCE_FILE} is missing, though the folder holds a search's files ({', '.join(held)})",
                                  f"restore {layout.PROVENANCE_FILE} from a copy or a backup (it holds the search's settings; the trials "
                                  "cannot be read back without it)", file=path)
            raise ConfigError(f"{self.path} has no {layout.PROVENANCE_FILE}", "give the run folder of a search (neurosage search RUN_DIR)",
                              file=self.path)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"damaged run record ({type(exc).__name__}: {exc})", "restore it from a copy, or start a new run folder",
                              file=path) from None
        if not isinstance(record, dict):
            raise ConfigError("damaged run record (not a JSON object)", "restore it from a copy, or start a new run folder", file=path)
        read_settings(self.path)  # settings changed by hand are refused by name
        return record

    def last_session(self) -> dict[str, Any]:
        """The latest session recorded in ``run.json`` ({} when none)."""
        sessions = self.record().get("sessions") or [{}]
        last = sessions[-1] if isinstance(sessions, list) else {}
        return last if isinstance(last, dict) else {}

    def write_record(self, record: Mapping[str, Any]) -> None:
        """Rewrite ``run.json`` (atomically)."""
        check_arguments(RunFolder.write_record, locals())
        write_json(self.provenance_file, seal_record(record))

    @contextlib.contextmanager
    def session(self, settings: Mapping[str, Any], *, seeds: Mapping[str, Any] | None = None, device: str | None = None,
                current: Sequence[str] = (), data_fingerprint: str | None = None) -> Iterator[dict[str, Any]]:
        """Record a session in ``run.json`` around the ``with`` body (see :func:`neurosage.runs.provenance.record_run`)."""
        check_arguments(RunFolder.session, locals())
        with record_run(self.path, settings, seeds=seeds, device=device, current=current, data_fingerprint=data_fingerprint) as record:
            yield record

    # -- the driver --------------------------------------------------------------------------------------------------------
    def lock(self) -> contextlib.AbstractContextManager[Path]:
        """Hold the folder's driver lock for the ``with`` body (one driver per folder)."""
        return run_lock(self.path)

    def log(self) -> contextlib.AbstractContextManager[Path]:
        """Append INFO records to the folder's log inside the ``with`` body."""
        return run_log(self.path)

    def running_driver(self) -> dict[str, Any] | None:
        """The live driver holding the folder (pid, host, started), or None (the one rule the lock, status and resume share)."""
        return running_driver(self.path)

    def session_state(self) -> str | None:
        """The last session's status as it is, not only as recorded: a session ``run.json`` records as running whose driver
        is gone (killed with SIGKILL, a crashed machine) is reported as stopped, with the dead pid and how to resume."""
        recorded = self.last_session().get("status")
        if recorded != "running" or self.running_driver() is not None:
            return recorded
        holder = lock_holder(self.path) or {}
        pid = f"pid {holder['pid']} gone" if holder.get("pid") is not None else "its driver is gone"
        return f"stopped without a clean exit ({pid}); resume with: neurosage search {self.path} --resume"

    def write_in_flight(self, placement: Mapping[str, Any]) -> None:
        """Which worker runs each trial in flight (trial id -> worker address, None while it waits)."""
        check_arguments(RunFolder.write_in_flight, locals())
        write_json(self.path / layout.IN_FLIGHT_FILE, dict(placement))

    def read_in_flight(self) -> dict[str, Any]:
        """The placement the driver last wrote ({} when there is none)."""
        try:
            placed = json.loads((self.path / layout.IN_FLIGHT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return placed if isinstance(placed, dict) else {}

    def clear_in_flight(self) -> None:
        """Remove the placement file (a session has ended: nothing is in flight)."""
        (self.path / layout.IN_FLIGHT_FILE).unlink(missing_ok=True)
