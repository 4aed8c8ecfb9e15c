"""A search's trials in an Optuna storage, so ``optuna-dashboard STORAGE`` shows them (P and TG as two objectives).

Each finished trial becomes a completed Optuna trial with values ``(P, TG)`` (``(P,)`` for a search scored by P
alone), or a failed one; its genotype, score, status, worker and times are user attributes. The searcher's choices
have no Optuna distributions (they are hyperopt's), so the trials carry no params: the genotype names the
architecture. The study is new: exporting into an existing study is refused (run it again with another
``--study`` name or storage), so a storage never mixes two exports of one run.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any

from neurosage.core.errors import ConfigError, RunFolderError
from neurosage.core.extras import require_extra
from neurosage.runs.folder import RunFolder
from neurosage.runs.trials import load_trials

__all__ = ["export_optuna", "storage_url"]

_ATTRS = ("genotype", "score", "status", "worker", "device", "started", "wall_time", "params", "flops", "error")


def storage_url(storage: str) -> str:
    """An Optuna storage URL: a URL as given, a file path as ``sqlite:///<absolute path>`` (its folder must exist)."""
    if "://" in storage and not storage.startswith("sqlite:///"):
        return storage
    path = Path(storage[len("sqlite:///"):] if storage.startswith("sqlite:///") else storage).expanduser().absolute()
    if path.suffix.lower() in (".csv", ".tsv", ".txt", ".json", ".nc", ".toml"):
        raise ConfigError(f"{path.name} would become an SQLite database, not a {path.suffix[1:]} file", "give a database file such as trials.db "
                          "(the run folder already has trials.csv and trials.nc)", file=path, field="storage")
    if path.is_dir():
        raise ConfigError(f"{path} is a folder", "give a database file (e.g. trials.db) or a storage URL such as sqlite:///trials.db",
                          file=path, field="storage")
    if not path.parent.is_dir():
        raise ConfigError(f"the folder of {path} does not exist", "create it, or give a file in an existing folder", file=path, field="storage")
    return f"sqlite:///{path}"


def export_optuna(run_dir: str | Path, storage: str, study: str | None = None) -> Any:
    """Write the finished trials of the search in ``run_dir`` into a new study ``study`` (default: the folder's name)."""
    require_extra("optuna", "exporting to Optuna", field="storage")
    import optuna

    folder = RunFolder(run_dir)
    run_dir = folder.path
    if study is not None and not study.strip():
        raise ConfigError("--study is empty", "give the study a name, or leave --study out for the run folder's name", field="study")
    if not run_dir.exists():
        raise RunFolderError(f"{run_dir} does not exist", "give the run folder of a search (neurosage search RUN_DIR)", file=run_dir)
    trials = load_trials(folder)  # refuses a folder without a search journal
    if trials.empty:
        raise RunFolderError(f"{run_dir} has no finished trial yet", "export once at least one trial has finished", file=folder.journal_file)
    settings = folder.settings()
    if folder.running_driver() is not None:
        raise RunFolderError(f"the search in {run_dir} is still running ({len(trials)} of {settings.get('budget', '?')} trials done), so the "
                             "study would hold only part of it", "export once it has finished (neurosage status shows its progress)",
                             file=run_dir)
    objective = settings.get("objective", "p+tg")
    names = ["P"] if objective == "p" else ["P", "TG"]
    url, name = storage_url(storage), study or run_dir.resolve().name
    try:
        existing = optuna.study.get_all_study_names(storage=url)
    except Exception as exc:  # an unreachable or foreign database
        shown = re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)  # never echo a password
        said = re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", str(exc).splitlines()[0][:150] if str(exc) else "")
        raise ConfigError(f"cannot open the Optuna storage {shown} ({type(exc).__name__}: {said})",
                          "give a SQLite file path or a database URL optuna can open", field="storage") from None
    if name in existing:
        raise ConfigError(f"the storage already has a study {name!r}", "give another --study name, or another storage", field="study")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    created = optuna.create_study(storage=url, study_name=name, directions=["maximize"] * len(names))
    with warnings.catch_warnings():  # experimental since Optuna 3.2, and what optuna-dashboard labels the axes with
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        created.set_metric_names(names)
    created.set_user_attr("neurosage_run", str(run_dir.resolve()))
    created.set_user_attr("objective", objective)
    for row in trials.sort_values("tid").to_dict("records"):
        values = [row.get(n) for n in names]
        ok = row.get("status") == "ok" and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
        attrs = {k: _plain(row.get(k)) for k in _ATTRS if _plain(row.get(k)) is not None}
        created.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.COMPLETE if ok else optuna.trial.TrialState.FAIL,
            values=[float(v) for v in values] if ok else None, user_attrs={"tid": int(row["tid"]), **attrs},
        ))
    return created


def _plain(value: Any) -> Any:
    """JSON-ready scalars (Optuna stores user attributes as JSON); NaN and None become None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, (str, int, float, bool)) else str(value)
