"""A search's trials as tables: ``trials.csv`` and ``trials.nc`` (long names and units on every variable,
S_i per endpoint and the endpoint x layer similarity per trial), written from the journal after every trial.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neurosage.core.atomic import atomic_path
from neurosage.core.validate import check_arguments
from neurosage.runs.folder import RunFolder
from neurosage.runs.journal import Journal

__all__ = ["VARIABLES", "write_trial_tables", "load_trials", "csv_table", "iso_time"]


_SCALARS = ("tid", "status", "genotype", "score", "P", "top5", "TG", "TG_ceiled", "params", "macs", "flops", "steps", "examples",
            "started", "wall_time", "time_train", "time_eval", "time_rdm", "threads", "worker", "device", "error")  # fmt: skip


#: Long name and units of each exported trial variable (netCDF attributes, CF style).
VARIABLES = {
    "status": ("trial outcome: ok, diverged or failed", "1"),
    "genotype": ("architecture as a genotype string (neurosage.spaces.cell.Genotype.parse)", "1"),
    "score": ("search objective (higher is better)", "1"),
    "P": ("premature top-1 accuracy on the validation hold-out", "1"),
    "top5": ("premature top-5 accuracy on the validation hold-out", "1"),
    "TG": ("teacher guidance: mean over endpoints of the best layer's RDM similarity", "1"),
    "TG_ceiled": ("TG with each endpoint's score divided by its noise ceiling", "1"),
    "params": ("trainable parameters (auxiliary head excluded)", "count"),
    "macs": ("multiply-adds of one forward pass of one image", "count"),
    "flops": ("floating-point operations of one forward pass of one image", "count"),
    "steps": ("premature SGD steps", "count"),
    "examples": ("training images processed in premature training", "count"),
    "started": ("when the evaluation started on its worker, seconds since 1970-01-01 UTC (the worker's clock)", "s"),
    "wall_time": ("wall time of the whole evaluation", "s"),
    "threads": ("torch CPU threads the candidate ran with", "1"),
    "worker": ("host:process id of the worker that evaluated the candidate", "1"),
    "device": ("torch device the candidate trained on", "1"),
    "time_train": ("wall time of premature training", "s"),
    "time_eval": ("wall time of the validation pass", "s"),
    "time_rdm": ("wall time of activations, RDMs and comparisons", "s"),
    "error": ("error message of a failed or diverged trial", "1"),
    "S": ("per-endpoint score S_i: best RDM similarity over the candidate's layers", "1"),
    "similarity": ("RDM similarity of each teacher endpoint with each candidate layer", "1"),
}


def write_trial_tables(journal: Journal, run_dir: str | Path | RunFolder, attrs: dict[str, Any] | None = None) -> pd.DataFrame:
    """Write ``trials.csv`` and ``trials.nc`` (per trial scalars, trial x endpoint S_i, trial x endpoint x layer similarity).

    Both are written atomically; ``trials.nc`` carries long names, units and ``attrs`` (objective, alpha, ...).
    """
    check_arguments(write_trial_tables, locals())
    folder = RunFolder(run_dir)
    records = [row["record"] for row in journal.rows()]
    table = pd.DataFrame([{k: r.get(k) for k in _SCALARS} for r in records])
    if table.empty:
        return table
    with atomic_path(folder.trials_csv) as tmp:
        csv_table(table).to_csv(tmp, index=False)
    ds = xr.Dataset({c: ("trial", table[c].to_numpy()) for c in table.columns if c != "tid"}, coords={"trial": table.tid.to_numpy()})
    endpoints = next((r["endpoints"] for r in records if r.get("endpoints")), None)
    layers = next((r["layers"] for r in records if r.get("layers")), None)
    if endpoints:
        s = np.array([[(r.get("S") or {}).get(e, np.nan) for e in endpoints] for r in records], dtype=float)
        ds["S"] = (("trial", "endpoint"), s)
        ds = ds.assign_coords(endpoint=endpoints)
    if endpoints and layers:
        sim = np.full((len(records), len(endpoints), len(layers)), np.nan)
        for i, r in enumerate(records):
            if r.get("similarity") and r.get("endpoints") == endpoints and r.get("layers") == layers:
                sim[i] = np.asarray(r["similarity"], dtype=float)
        ds["similarity"] = (("trial", "endpoint", "layer"), sim)
        if attrs and attrs.get("compare_method"):
            ds["similarity"].attrs["method"] = str(attrs["compare_method"])
        ds = ds.assign_coords(layer=layers)
    for name in ds.data_vars:
        if ds[name].dtype == object:
            ds[name] = ds[name].astype(str)
        long_name, units = VARIABLES.get(str(name), (str(name), "1"))
        ds[name].attrs.update(long_name=long_name, units=units)
    ds.attrs.update({k: str(v) for k, v in (attrs or {}).items()}, title="neurosage search trials", source="neurosage.runs.trials.write_trial_tables")
    with atomic_path(folder.trials_nc) as tmp:
        ds.to_netcdf(tmp)
    return table


def iso_time(seconds: Any) -> str | None:
    """Seconds since 1970-01-01 UTC as ISO 8601 (``2026-12-06T15:31:44.120Z``), None for a missing time."""
    if seconds is None or not np.isfinite(float(seconds)):
        return None
    return pd.Timestamp(float(seconds), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def csv_table(table: pd.DataFrame) -> pd.DataFrame:
    """The trials as ``trials.csv`` shows them: ``started`` and ``finished`` (started + wall time) as ISO 8601 UTC times;
    ``trials.nc`` keeps ``started`` as seconds since 1970 (CF units)."""
    out = table.copy()
    if "started" in out:
        started = pd.to_numeric(out["started"], errors="coerce")
        finished = started + pd.to_numeric(out.get("wall_time"), errors="coerce") if "wall_time" in out else started * np.nan
        out["started"] = [iso_time(t) for t in started]
        out.insert(out.columns.get_loc("started") + 1, "finished", [iso_time(t) for t in finished])
    return out


def load_trials(run_dir: str | Path | RunFolder) -> pd.DataFrame:
    """The finished trials of a search's run folder, from its journal (one error naming the folder when it holds none)."""
    check_arguments(load_trials, locals())
    journal = RunFolder(run_dir).existing_journal()
    return pd.DataFrame([{**{k: row["record"].get(k) for k in _SCALARS}, "tid": row["tid"]} for row in journal.rows()])
