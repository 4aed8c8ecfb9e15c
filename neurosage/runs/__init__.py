"""Run folders: the append-only journal, provenance (``run.json``), the driver lock and the resume rules."""

from neurosage.core.lazy import lazy_exports

_EXPORTS = {
    "Journal": "journal",
    "PROVENANCE_FILE": "provenance", "COMMAND_LINE": "provenance", "setting_changes": "provenance", "jsonable": "provenance",
    "environment": "provenance", "git_state": "provenance", "device_info": "provenance", "record_run": "provenance",
    "read_settings": "provenance",
    "resume_settings": "provenance",
    "LOCK_FILE": "lock", "run_lock": "lock",
    "RESUMABLE": "resume", "refuse_changed_settings": "resume",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
