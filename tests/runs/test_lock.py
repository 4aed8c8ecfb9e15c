import json
import os
import socket
import subprocess
import sys

import pytest

from neurosage.core.errors import RunFolderError
from neurosage.runs.lock import LOCK_FILE, run_lock


def test_the_lock_is_held_then_released(tmp_path):
    with run_lock(tmp_path) as path:
        holder = json.loads(path.read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(RunFolderError, match=rf"another driver \(pid {os.getpid()}.*fix: wait"):
            with run_lock(tmp_path):
                pass
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_stale_or_unreadable_lock_is_taken_over(tmp_path, caplog):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "started": "earlier"}))
    with run_lock(tmp_path):
        assert "stale lock" in caplog.text
    (tmp_path / LOCK_FILE).write_text("{half-writ")
    with run_lock(tmp_path):
        pass


def test_a_folder_where_the_lock_goes_is_refused_with_the_line_that_moves_it(tmp_path):
    (tmp_path / LOCK_FILE).mkdir()  # round 4 #115: "Is a directory; fix: check the path and its permissions"
    with pytest.raises(RunFolderError, match=rf"{LOCK_FILE} is a folder, not the lock file a driver writes; fix: move it away.*mv "):
        with run_lock(tmp_path):
            pass
    assert (tmp_path / LOCK_FILE).is_dir()


def test_a_lock_from_another_host_is_respected(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": "today"}))
    with pytest.raises(RunFolderError, match="on elsewhere"):
        with run_lock(tmp_path):
            pass



def test_a_killed_driver_not_yet_reaped_is_not_alive():
    """A SIGKILLed child its parent has not waited for is a zombie: it still has a pid, but no driver runs."""
    import signal
    import subprocess
    import sys
    import time

    from neurosage.runs.lock import _alive

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert _alive(child.pid)
        child.send_signal(signal.SIGKILL)
        time.sleep(0.3)  # not reaped: no wait() yet
        assert not _alive(child.pid)
    finally:
        child.kill()
        child.wait()
