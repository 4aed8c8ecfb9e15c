"""One driver per run folder: a lock file holding the driver's pid, host and start time.

The lock is created atomically (``O_CREAT | O_EXCL``). A lock left by a driver
that died on this host (its pid no longer runs) is stale and taken over with a
warning; a lock held by a live process, or by another host, is refused with a
one-line error naming the holder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from neurosage.core.atomic import file_in_the_way
from neurosage.core.contexts import context_only
from neurosage.core.errors import RunFolderError
from neurosage.core.validate import check_arguments
from neurosage.runs.layout import LOCK_FILE
from neurosage.runs.provenance import now_text

__all__ = ["LOCK_FILE", "run_lock", "running_driver", "lock_holder"]


log = logging.getLogger(__name__)



def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs here: it exists and is not a zombie (a killed driver its parent has not reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        pass
    try:  # Linux: the state after the command name in /proc/<pid>/stat; Z (zombie) and X (dead) do not run
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): existence is all we know
    return state not in ("Z", "X")


def _holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def lock_holder(run_dir: str | Path) -> dict | None:
    """What the lock file says (pid, host, started), alive or not; None without a readable lock."""
    path = Path(run_dir) / LOCK_FILE
    return _holder(path) if path.exists() else None


def running_driver(run_dir: str | Path) -> dict | None:
    """The driver holding ``run_dir``'s lock (pid, host, started), or None when there is none or it is gone (a stale lock on
    this host); a lock from another host counts as held."""
    holder = lock_holder(run_dir)
    if holder is None or (holder.get("host") == socket.gethostname() and not _alive(int(holder.get("pid", -1)))):
        return None
    return holder


@context_only
def run_lock(run_dir: str | Path) -> Iterator[Path]:
    """Hold ``<run_dir>/driver.lock`` for the ``with`` body."""
    check_arguments(run_lock, locals())
    blocker = file_in_the_way(run_dir)
    if blocker is not None:  # mkdir's bare FileExistsError otherwise
        raise RunFolderError(f"{blocker} is a file, where a folder was needed (the run folder {run_dir})", "give a folder path (a new "
                             f"one is created), or move {blocker.name} away", file=blocker, field="run_dir")
    path = Path(run_dir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": now_text()}
    if path.exists() and not path.is_file():  # a folder (or a socket...) where the lock file goes: no driver wrote that
        raise RunFolderError(f"{LOCK_FILE} is a {'folder' if path.is_dir() else 'special file'}, not the lock file a driver writes",
                             f"move it away (it is not neurosage's; a driver's lock is a small JSON file): mv {path} {path}.moved", file=path)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = running_driver(run_dir)
            if holder is not None:
                raise RunFolderError(
                    f"another driver (pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('started')}) is running in {run_dir}",
                    f"wait for it to finish, or, if it is gone, delete {path}",
                    file=path,
                ) from None
            log.warning("taking over the stale lock %s (%s)", path, _holder(path) or "unreadable")
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        break
    else:
        raise RunFolderError(f"could not take the lock {path}", f"delete {path} if no driver is running", file=path)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
