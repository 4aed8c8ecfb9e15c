"""Run provenance: one ``run.json`` per run folder saying what made it.

``run.json`` holds the resolved settings (one name each), the seeds, the code
(neurosage version, git commit when run from a checkout), the machine (host,
platform, package versions) and one entry per session that wrote to the folder
(command line, start and end time, device, status). A resumed run appends a
session; a session whose settings differ from the run's records the differences.
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import hashlib
import importlib.metadata as md
import json
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from neurosage.core.atomic import json_default, write_json
from neurosage.core.contexts import context_only
from neurosage.core.errors import ConfigError, NeurosageError, SearchFailed
from neurosage.core.interrupts import signal_name
from neurosage.core.validate import check_arguments, check_choices
from neurosage.runs.layout import POOL_FILE, PROVENANCE_FILE

__all__ = ["PROVENANCE_FILE", "COMMAND_LINE", "now_text",
           "git_state", "environment", "device_info", "setting_changes", "jsonable", "settings_digest", "seal_record",
           "record_run", "read_settings", "resume_settings"]



#: The command line of this process as the user typed it (set by the CLI; ``sys.argv`` otherwise).
COMMAND_LINE: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("neurosage_command_line", default=None)


_PACKAGES = ("neurosage", "torch", "torchvision", "numpy", "scipy", "pandas", "xarray", "hyperopt", "rsatoolbox", "dask", "distributed")


def now_text() -> str:
    """Now, as run records write times: local ISO 8601 with the UTC offset (``2026-12-06T17:39:26+0000``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def git_state(path: str | Path | None = None) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git checkout holding ``path`` (default: this package), or None outside one."""
    check_arguments(git_state, locals())
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                                timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def environment() -> dict[str, Any]:
    """Python, platform, host and the versions of the packages that shape results."""
    check_arguments(environment, locals())
    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(), "host": socket.gethostname()}
    with contextlib.suppress(Exception):
        env["user"] = getpass.getuser()
    versions = {}
    for pkg in _PACKAGES:
        with contextlib.suppress(md.PackageNotFoundError):
            versions[pkg] = md.version(pkg)
    env["packages"] = versions
    env["git"] = git_state()
    return env


def device_info(device: str | None) -> dict[str, Any]:
    """The torch device a run asked for and what it is (GPU name, CUDA and torch versions)."""
    check_arguments(device_info, locals())
    import torch  # only when a run is recorded, so that the CLI can import this module without torch

    info: dict[str, Any] = {"requested": device or "cpu", "torch": torch.__version__, "cpu_threads": torch.get_num_threads()}
    if device and str(device).startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        info.update(name=torch.cuda.get_device_name(index), cuda=torch.version.cuda)
    return info


def setting_changes(recorded: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The settings whose values differ, as ``{key: {"run": recorded value, "session": new value}}``."""
    check_arguments(setting_changes, locals())
    keys = sorted(set(recorded) | set(new))
    return {k: {"run": recorded.get(k), "session": new.get(k)} for k in keys if recorded.get(k) != new.get(k)}


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON, so settings compare as stored: tuples become lists, other objects their
    :func:`~neurosage.core.atomic.json_default` (an array its list, a set its sorted list, a path its str)."""
    return json.loads(json.dumps(value, default=json_default))


def settings_digest(settings: Mapping[str, Any]) -> str:
    """A digest of recorded settings, written beside them so that a hand edit of ``run.json`` is found on the next read."""
    check_arguments(settings_digest, locals())
    return hashlib.sha256(json.dumps(jsonable(dict(settings)), sort_keys=True).encode()).hexdigest()[:16]


def seal_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with ``settings_digest`` set from its settings: what every writer of ``run.json`` writes."""
    check_arguments(seal_record, locals())
    sealed = dict(record)
    if isinstance(sealed.get("settings"), dict):
        sealed["settings_digest"] = settings_digest(sealed["settings"])
    return sealed


def _journal_run_id(run_dir: Path) -> str | None:
    """The run id a folder's journal was claimed with, if it has one."""
    from neurosage.runs.journal import Journal
    from neurosage.runs.layout import JOURNAL_FILE

    path = run_dir / JOURNAL_FILE
    return Journal(path).run_id() if path.is_file() else None


@context_only
def record_run(
    run_dir: str | Path, settings: Mapping[str, Any], *, seeds: Mapping[str, Any] | None = None, device: str | None = None,
    current: Sequence[str] = (), data_fingerprint: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Record a session in ``<run_dir>/run.json`` around the ``with`` body (status ``finished``, ``interrupted (SIGINT)``
    or ``(SIGTERM)``, or ``failed: ...``).

    Called while holding the folder's :func:`~neurosage.runs.lock.run_lock`, so an earlier session still marked
    ``running`` was killed (its process ended without a word): it is marked ``killed``. A session that ends with bad input
    refused (a :class:`~neurosage.core.errors.NeurosageError` other than a failed search) is ``refused: ...``; while every
    earlier session was refused, the record's settings are the new session's (nothing ran under theirs). ``data_fingerprint`` (the
    images the run trains on) is recorded once, so a resume from a moved data folder can show it holds the same images.
    """
    check_arguments(record_run, locals())
    path = Path(run_dir) / PROVENANCE_FILE
    settings = jsonable(dict(settings))
    if path.exists():
        read_settings(run_dir)  # a damaged record is refused by name
    record = json.loads(path.read_text()) if path.exists() else {
        "settings": settings, "seeds": jsonable(dict(seeds or {})), "environment": environment(), "sessions": [],
    }
    if "run_id" not in record:  # what the run's journal is claimed with (a journal copied in is refused); a record that lost its
        record["run_id"] = _journal_run_id(Path(run_dir)) or uuid.uuid4().hex  # id takes its journal's back
    if data_fingerprint and not record.get("data_fingerprint"):  # the images the run trains on, whatever folder holds them
        record["data_fingerprint"] = data_fingerprint
    for earlier in record["sessions"]:
        if earlier.get("status") == "running":
            earlier["status"] = "killed (its process ended while running; found by the next session)"
    session: dict[str, Any] = {"command": COMMAND_LINE.get() or list(sys.argv), "started": now_text(), "host": socket.gethostname(),
                               "device": device_info(device), "status": "running"}
    if record["sessions"] and all(str(earlier.get("status", "")).startswith("refused") for earlier in record["sessions"]):
        record["settings"] = settings  # every earlier session was refused (bad input): nothing ran under their settings
        record["seeds"] = jsonable(dict(seeds or {}))
    changed = setting_changes(record["settings"], settings)
    if changed:
        session["changed_settings"] = changed
        for key in set(changed) & set(current):  # settings a session may change (a grown budget): the record says what holds now
            record["settings"][key] = settings.get(key)
    record["sessions"].append(session)
    write_json(path, seal_record(record))
    try:
        yield record
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into an interrupt (neurosage.core.interrupts)
        session.update(finished=now_text(), status=f"interrupted ({signal_name(getattr(exc, 'signum', signal.SIGINT))})")
        write_json(path, seal_record(record))
        raise
    except BaseException as exc:  # bad input refused (not a search that failed or diverged): "refused", else "failed"
        kind = "refused" if isinstance(exc, NeurosageError) and not isinstance(exc, SearchFailed) else "failed"
        session.update(finished=now_text(), status=f"{kind}: {type(exc).__name__}: {exc}")
        write_json(path, seal_record(record))
        raise
    session.update(finished=now_text(), status="finished")
    write_json(path, seal_record(record))


def read_settings(run_dir: str | Path) -> dict[str, Any]:
    """The settings recorded in ``<run_dir>/run.json`` (empty when there is none; a damaged file is refused by name)."""
    check_arguments(read_settings, locals())
    if Path(run_dir).is_file():  # RUN/run.json itself: "no run.json in it" would be an empty answer, not the settings
        raise ConfigError(f"{Path(run_dir).name} is a file, and read_settings takes the run folder that holds run.json",
                          f"give the folder: read_settings({str(Path(run_dir).parent)!r})", file=run_dir, field="run_dir")
    path = Path(run_dir) / PROVENANCE_FILE
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        settings = record["settings"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"damaged run record ({type(exc).__name__}: {exc})", "restore run.json from a copy, or start a new run folder",
                          file=path, field="settings") from None
    if not isinstance(settings, dict):
        raise ConfigError("damaged run record (settings is not a table)", "restore run.json from a copy, or start a new run folder", file=path,
                          field="settings")
    written = record.get("settings_digest")  # records from before the digest have none and are read as they are
    if written is not None and written != settings_digest(settings):
        raise ConfigError("the settings in run.json were changed after the run wrote them (they no longer match the settings_digest "
                          "written with them), so its trials would be ranked under settings they were not run with",
                          "restore run.json as the run wrote it (from a copy); to search with other settings, start a new run folder "
                          "(neurosage search NEW_DIR ...)", file=path, field="settings")
    return settings


def resume_settings(run_dir: str | Path, command: Literal["search"] = "search") -> dict[str, Any]:
    """The settings a ``--resume`` continues from: refuses a folder that does not exist, holds no ``run.json`` (a
    typo, an analysis folder, or a record deleted, whose journal's settings could no longer be checked)."""
    check_arguments(resume_settings, locals())
    check_choices(resume_settings, locals())
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError("nothing to resume: the folder does not exist",
                          f"drop --resume to start a new {command}, or give the folder of the one to continue", file=run_dir, field="run_dir")
    if (run_dir / POOL_FILE).is_file():
        raise ConfigError(f"{run_dir} holds an architecture pool, not a {command}", "continue a pool with the same build_pool call or "
                          "neurosage analyze teacher_bench command; score a teacher on it with neurosage bench", file=run_dir, field="run_dir")
    settings = read_settings(run_dir)
    if not settings:
        inside = sorted(p.name for p in run_dir.iterdir())[:6]
        raise ConfigError(f"no {PROVENANCE_FILE} here (the folder holds {inside or 'nothing'}), "
                          f"so the settings of the {command} to continue are unknown",
                          f"give the {command}'s own folder (the one holding {PROVENANCE_FILE}); "
                          "analyses continue with neurosage analyze, without --resume",
                          file=run_dir, field=PROVENANCE_FILE)
    return settings
