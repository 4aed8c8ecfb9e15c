"""What a model-teacher RDM comparison leaves on disk: the RDMs, the similarity table, the scores and a summary.

``neurosage rdm`` writes these into its ``--out`` folder (each file atomically):

- ``teacher_rdms.nc`` and ``model_rdms.nc``: the RDM stacks compared (dims ``rdm, condition_row, condition_col``,
  attrs ``method`` and ``descriptor`` kept), read back with :func:`xarray.load_dataarray`;
- ``similarity.csv``: the layer x endpoint similarity;
- ``scores.csv``: one row per teacher endpoint (best layer, S with its bootstrap interval, noise ceiling, ceiled S);
- ``summary.json``: TG with its interval and what was compared (model, weights, method, stimuli, bootstrap samples).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neurosage.assembly import netcdf_attr
from neurosage.core.atomic import atomic_path, write_json
from neurosage.rsa.ceiling import Ceiling
from neurosage.rsa.rdm import ROW
from neurosage.rsa.score import TeacherScores

__all__ = ["SCORE_COLUMNS", "write_rdms", "scores_table", "scores_summary", "write_score_files"]

#: The columns of ``scores.csv``; interval and ceiling columns are empty where there are none.
SCORE_COLUMNS = ("endpoint", "best_layer", "S", "S_lo", "S_hi", "ceiling", "ceiling_lo", "ceiling_hi", "ceiling_sd",
                 "reliability", "ceiling_n_splits", "S_ceiled")


def write_rdms(rdms: xr.DataArray, path: str | Path) -> Path:
    """Write an RDM stack to netCDF (float64, attrs kept); :func:`xarray.load_dataarray` reads it back."""
    data = rdms.astype(np.float64)
    data.attrs = {key: netcdf_attr(value) for key, value in rdms.attrs.items() if value is not None}
    with atomic_path(path) as tmp:
        data.to_netcdf(tmp)
    return Path(path)


def _finite(value: float | None) -> float | None:
    """``value``, or None where it is missing or not finite (an empty CSV cell, a JSON null)."""
    return None if value is None or not math.isfinite(value) else float(value)


def _ceiling_columns(ceiling: Ceiling | None) -> dict[str, float | int]:
    """The ``scores.csv`` cells of one endpoint's noise ceiling (none without one)."""
    if ceiling is None:
        return {}
    return {"ceiling": ceiling.value, "ceiling_lo": ceiling.lo, "ceiling_hi": ceiling.hi, "ceiling_sd": ceiling.sd,
            "reliability": ceiling.reliability, "ceiling_n_splits": ceiling.n_splits}


def scores_table(scores: TeacherScores, ceilings: Mapping[str, Ceiling] | None = None) -> pd.DataFrame:
    """One row per teacher endpoint, columns :data:`SCORE_COLUMNS`.

    Parameters
    ----------
    scores
        The scores; ``S_lo``/``S_hi`` are their 95% bootstrap interval (empty without bootstrap samples).
    ceilings
        Each endpoint's noise ceiling (``Teacher.ceiling_details``); ``ceiling_lo``/``ceiling_hi`` are its
        2.5-97.5 percentiles over splits, and ``S_ceiled`` is S over it by the scores' ceiling convention.
    """
    ceilings, intervals, ceiled = ceilings or {}, scores.intervals or {}, scores.per_endpoint_ceiled or {}
    rows = []
    for endpoint, s in scores.per_endpoint.items():
        lo, hi = intervals.get(endpoint, (None, None))
        rows.append({"endpoint": endpoint, "best_layer": scores.best_layer[endpoint], "S": s, "S_lo": lo, "S_hi": hi,
                     **_ceiling_columns(ceilings.get(endpoint)), "S_ceiled": _finite(ceiled.get(endpoint))})
    table = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    return table.astype({"ceiling_n_splits": "Int64"})


def scores_summary(scores: TeacherScores, *, n_stimuli: int, **info: Any) -> dict[str, Any]:
    """TG with its interval and ceiled value, the comparison method and bootstrap samples, then ``info`` (model, weights...)."""
    lo, hi = scores.tg_interval or (None, None)
    return {
        "TG": scores.tg, "TG_lo": lo, "TG_hi": hi, "TG_ceiled": _finite(scores.tg_ceiled),
        "compare": str(scores.similarity.attrs.get("method", "pearson")), "n_bootstrap": scores.n_bootstrap,
        "n_stimuli": int(n_stimuli), "ceiling_convention": scores.ceiling_convention if scores.ceilings else None, **info,
    }


def write_score_files(
    out: str | Path,
    teacher_rdms: xr.DataArray,
    model_rdms: xr.DataArray,
    scores: TeacherScores,
    ceilings: Mapping[str, Ceiling] | None = None,
    **info: Any,
) -> list[Path]:
    """Write ``teacher_rdms.nc``, ``model_rdms.nc``, ``similarity.csv``, ``scores.csv`` and ``summary.json`` into ``out``.

    ``info`` (model, weights, teacher...) goes into ``summary.json`` beside TG and the RDM method; returns the paths written.
    """
    out = Path(out)
    paths = [write_rdms(teacher_rdms, out / "teacher_rdms.nc"), write_rdms(model_rdms, out / "model_rdms.nc")]
    for name, table, index in (("similarity.csv", scores.similarity.transpose("layer", "endpoint").to_pandas(), True),
                               ("scores.csv", scores_table(scores, ceilings), False)):
        with atomic_path(out / name) as tmp:
            table.to_csv(tmp, index=index)
        paths.append(out / name)
    summary = scores_summary(scores, n_stimuli=teacher_rdms.sizes[ROW],
                             rdm_method=teacher_rdms.attrs.get("rdm_method") or model_rdms.attrs.get("method"),
                             teacher_rdm_method=teacher_rdms.attrs.get("method"), model_rdm_method=model_rdms.attrs.get("method"), **info)
    paths.append(write_json(out / "summary.json", {k: _finite(v) if isinstance(v, float) else v for k, v in summary.items()}))
    return paths
