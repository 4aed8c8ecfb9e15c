"""The resume rule: a run folder is continued only with the settings it recorded (:data:`RESUMABLE` aside).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurosage.core.errors import RunFolderError
from neurosage.core.validate import check_arguments
from neurosage.runs.provenance import PROVENANCE_FILE, read_settings, setting_changes

__all__ = ["RESUMABLE", "refuse_changed_settings"]


#: Settings that may change when a search is resumed: the budget may grow, the executor may differ, and the number of
#: trials whose weights are kept (runs recorded before ``keep_weights`` existed resume with it).
RESUMABLE = ("budget", "workers", "scheduler", "max_in_flight", "dashboard", "keep_weights", "slurm_jobs", "slurm_partition", "slurm_cores",
             "slurm_memory", "slurm_walltime", "slurm_gpus", "slurm_extra")


#: Keys renamed inside a recorded table since runs recorded them, ``(table, old key, new key)``: read under the new name,
#: so those runs resume (``candidate_rdm.method`` is ``RDMOptions.rdm_method``).
RENAMED = (("candidate_rdm", "method", "rdm_method"),)


def _renamed(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with the keys of :data:`RENAMED` under their current names."""
    settings = dict(settings)
    for table, old, new in RENAMED:
        value = settings.get(table)
        if isinstance(value, dict) and old in value and new not in value:
            settings[table] = {(new if k == old else k): v for k, v in value.items()}
    return settings


def refuse_changed_settings(run_dir: str | Path, resolved: dict[str, Any]) -> None:
    """Raise :class:`RunFolderError` when ``resolved`` differs from the run folder's settings (other than :data:`RESUMABLE`)."""
    check_arguments(refuse_changed_settings, locals())
    run_dir = Path(run_dir)
    recorded = _renamed(read_settings(run_dir))
    if not recorded:
        return
    changed = {k: v for k, v in setting_changes(recorded, resolved).items()
               if k not in RESUMABLE and not (k == "device" and {v["run"], v["session"]} <= {None, "cpu"})}  # the default device is the CPU
    if changed:
        listing = ", ".join(f"{k}: {v['run']!r} -> {v['session']!r}" for k, v in changed.items())
        raise RunFolderError(
            f"resuming would change the settings of the search in {run_dir} ({listing})",
            f"resume with the recorded settings (only {', '.join(k.replace('_', '-') for k in RESUMABLE)} may change), or start a new run folder",
            file=run_dir / PROVENANCE_FILE,
        )
