"""The run folder's log file (``neurosage.log``) and whether progress bars belong on this terminal.

While a command works on a run folder, every INFO (and higher) record of ``neurosage`` loggers is appended to
``<run>/neurosage.log`` with a time stamp, whatever the console shows: the console keeps the level the user chose
(``-q``/``-v``), the file always has the progress lines (one per finished trial) that ``neurosage status`` and a
lab-mate tailing the file read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from neurosage.runs.layout import LOG_FILE

__all__ = ["LOG_FILE", "run_log"]



@contextlib.contextmanager
def run_log(run_dir: str | Path) -> Iterator[Path]:
    """Append ``neurosage`` INFO records to ``<run_dir>/neurosage.log`` inside the ``with`` body; the console keeps its level."""
    path = Path(run_dir) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package, root = logging.getLogger("neurosage"), logging.getLogger()
    console_level = root.getEffectiveLevel() if package.level == logging.NOTSET else package.getEffectiveLevel()
    pinned = [h for h in root.handlers if h.level == logging.NOTSET]  # console handlers: keep showing what they showed
    old_level = package.level
    for h in pinned:
        h.setLevel(console_level)
    package.setLevel(min(console_level, logging.INFO))
    package.addHandler(handler)
    try:
        yield path
    finally:
        package.removeHandler(handler)
        handler.close()
        package.setLevel(old_level)
        for h in pinned:
            h.setLevel(logging.NOTSET)
