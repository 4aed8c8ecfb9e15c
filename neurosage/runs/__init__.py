"""Run folders, with one owner: :class:`RunFolder` knows the files (names in :mod:`neurosage.runs.layout`) — the journal,
provenance (``run.json``), the driver lock, the log, the trials tables, kept weights — and the resume rules."""

from neurosage.core.lazy import lazy_exports

_EXPORTS = {
    "RunFolder": "folder",
    "Journal": "journal",
    "PROVENANCE_FILE": "layout", "LOCK_FILE": "layout", "JOURNAL_FILE": "layout",
    "COMMAND_LINE": "provenance", "setting_changes": "provenance", "jsonable": "provenance",
    "environment": "provenance", "git_state": "provenance", "device_info": "provenance", "record_run": "provenance",
    "read_settings": "provenance", "settings_digest": "provenance", "seal_record": "provenance",
    "resume_settings": "provenance",
    "run_lock": "lock",
    "RESUMABLE": "resume", "refuse_changed_settings": "resume",
    "write_trial_tables": "trials", "load_trials": "trials", "VARIABLES": "trials",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
