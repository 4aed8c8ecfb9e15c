"""The names of a run folder's files, defined once: only :mod:`neurosage.runs` uses them.

Everything outside ``neurosage.runs`` reaches these files through :class:`neurosage.runs.folder.RunFolder`.
"""

from __future__ import annotations

__all__ = ["JOURNAL_FILE", "PROVENANCE_FILE", "LOCK_FILE", "LOG_FILE", "IN_FLIGHT_FILE", "SEARCHER_STATE", "CHANNEL_STATE",
           "TRIALS_CSV", "TRIALS_NC", "WEIGHTS_DIR", "SLURM_DIR", "weight_file", "POOL_FILE", "POOL_RECORDS_DIR", "POOL_ARCHITECTURES",
           "POOL_CHECKPOINTS", "POOL_WEIGHTS_DIR", "POOL_STIMULI", "POOL_RDMS_DIR", "RUN_FILES"]

#: The append-only SQLite journal of a search (one row per proposal, one per finished trial).
JOURNAL_FILE = "journal.sqlite"
#: What made the run: settings, seeds, code, machine, one entry per session.
PROVENANCE_FILE = "run.json"
#: The driver's lock (pid, host, start).
LOCK_FILE = "driver.lock"
#: INFO log of every session.
LOG_FILE = "neurosage.log"
#: Which worker runs each trial in flight (rewritten by the driver while it waits on a cluster, removed at the end).
IN_FLIGHT_FILE = "in_flight.json"
#: A searcher's own state (searchers with ``save_state``/``load_state``, e.g. RL).
SEARCHER_STATE = "searcher_state.pt"
#: A channel search's last trained network and schedule state.
CHANNEL_STATE = "channel_state.pt"
#: The trials as a table (one row per finished trial).
TRIALS_CSV = "trials.csv"
#: The trials with S_i per endpoint and the endpoint x layer similarity (netCDF).
TRIALS_NC = "trials.nc"
#: The kept weights of the best trials.
WEIGHTS_DIR = "weights"
#: The logs of a search's Slurm jobs.
SLURM_DIR = "slurm"
#: An architecture pool: what it is (spec, classes, input), one record per architecture, its tables and weights.
POOL_FILE = "pool.json"
POOL_RECORDS_DIR = "architectures"
POOL_ARCHITECTURES = "architectures.csv"
POOL_CHECKPOINTS = "checkpoints.csv"
POOL_WEIGHTS_DIR = "checkpoints"
POOL_STIMULI = "stimuli.npz"
POOL_RDMS_DIR = "layer-rdms"


def weight_file(tid: int) -> str:  # RunFolder.weight_files reads the same pattern back
    """The kept weights of trial ``tid``, relative to the run folder (as ``run.json`` records it)."""
    return f"{WEIGHTS_DIR}/trial-{tid}.pt"

#: Every name a run of neurosage writes at the top of its folder (a folder holding only these is a run's, even before its
#: run.json exists: a session that stopped while its teacher trained); ``teacher`` is the cached teacher, ``figures`` the plots.
RUN_FILES = frozenset({JOURNAL_FILE, PROVENANCE_FILE, LOCK_FILE, LOG_FILE, IN_FLIGHT_FILE, SEARCHER_STATE, CHANNEL_STATE, TRIALS_CSV,
                       TRIALS_NC, WEIGHTS_DIR, SLURM_DIR, "teacher", "figures"})
