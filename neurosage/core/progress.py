"""Progress bars only where someone watches them: on a terminal. Elsewhere (a redirected Slurm log, a CI job) tqdm's
carriage returns would fill the file, so bars are off and the run folder's log (``neurosage.log``) carries the progress.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["on_terminal", "progress_bar"]


def on_terminal() -> bool:
    """Whether standard error is a terminal."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(*, total: int | None, desc: str, enabled: bool = True, **options: Any):
    """A ``tqdm`` bar, shown only when ``enabled`` and standard error is a terminal."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not (enabled and on_terminal()), **options)
