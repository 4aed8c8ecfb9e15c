"""A search's trials in an Optuna storage, without loss, so ``optuna-dashboard STORAGE`` shows them and an Optuna sampler
can continue the study (P and TG as two objectives).

Each finished trial becomes an Optuna trial:

- ``params``: the searcher's choices, one per decision of the space with more than one option, each with its
  ``CategoricalDistribution`` of the decision's options (the journal keeps the choice indices), so importance and slice
  plots work and ``study.optimize`` with ``trial.suggest_categorical(label, options)`` continues it;
- ``values``: ``(P, TG)`` (``(P,)`` for a search scored by P alone);
- state: ``COMPLETE`` for a scored trial, ``FAIL`` for a failed or diverged one (``user_attrs["status"]`` says which);
- ``datetime_start`` and ``datetime_complete``: when the evaluation started on its worker and ended (started + wall time);
- user attributes: tid, genotype, score, status, worker, device, parameters, FLOPs, error.

A new study is created; ``update=True`` (``--update``) adds to a study an earlier export of the same run made the trials
finished since (a running search can be exported and refreshed; ``--follow SECONDS`` refreshes until it ends, so
optuna-dashboard follows it). Trials still in flight are not exported until they finish.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from neurosage.core.errors import ConfigError, RunFolderError
from neurosage.core.extras import require_extra
from neurosage.core.validate import check_arguments
from neurosage.runs.folder import RunFolder
from neurosage.runs.layout import RUN_FILES
from neurosage.runs.trials import load_trials

__all__ = ["export_optuna", "storage_url"]

log = logging.getLogger(__name__)

_ATTRS = ("genotype", "score", "status", "worker", "device", "started", "wall_time", "params", "flops", "error")


def storage_url(storage: str) -> str:
    """An Optuna storage URL: a URL as given, a file path as ``sqlite:///<absolute path>`` (its folder must exist)."""
    check_arguments(storage_url, locals())
    if not storage.strip():
        raise ConfigError("storage is empty", "give a database file (e.g. trials.db) or a storage URL such as sqlite:///trials.db",
                          field="storage")
    if "://" in storage and not storage.startswith("sqlite:///"):
        return storage
    scheme = storage.split(":", 1)[0].lower() if ":" in storage else ""
    if "://" not in storage and (scheme in ("sqlite", "mysql", "postgresql", "postgres", "redis")
                                 or scheme.startswith(("mysql+", "postgresql+"))):  # sqlite:/x.db
        rest = storage.split(":", 1)[1].lstrip("/")
        raise ConfigError(f"{storage!r} is a malformed {scheme} URL (a URL is SCHEME:// then the location)",
                          f"write sqlite:///{rest} (a file in this folder, relative), sqlite:////{rest} (an absolute path), or just the "
                          "file name", field="storage")
    path = Path(storage[len("sqlite:///"):] if storage.startswith("sqlite:///") else storage).expanduser().absolute()
    if path.suffix.lower() in (".csv", ".tsv", ".txt", ".json", ".nc", ".toml"):
        raise ConfigError(f"{path.name} would become an SQLite database, not a {path.suffix[1:]} file", "give a database file such as trials.db "
                          "(the run folder already has trials.csv and trials.nc)", file=path, field="storage")
    if path.is_file() and (path.parent / "run.json").is_file() and path.name in RUN_FILES:
        raise ConfigError(f"{path.name} is a file of the run folder {path.parent} (the search's own record), not an Optuna storage",
                          f"give a new database file, e.g. {path.parent / 'trials.db'}", file=path, field="storage")
    if path.is_dir():
        raise ConfigError(f"{path} is a folder", "give a database file (e.g. trials.db) or a storage URL such as sqlite:///trials.db",
                          file=path, field="storage")
    if not path.parent.is_dir():
        raise ConfigError(f"the folder of {path} does not exist", "create it, or give a file in an existing folder", file=path, field="storage")
    return f"sqlite:///{path}"


def export_optuna(run_dir: str | Path, storage: str, study: str | None = None, *, update: bool = False) -> Any:
    """Write the finished trials of the search in ``run_dir`` into a new study ``study`` (default: the folder's name), or,
    with ``update``, add the trials finished since to the study an earlier export of this run made. Returns the study."""
    check_arguments(export_optuna, locals())
    require_extra("optuna", "exporting to Optuna", field="storage")
    import optuna

    folder = RunFolder(run_dir)
    run_dir = folder.path
    if study is not None and not study.strip():
        raise ConfigError("--study is empty", "give the study a name, or leave --study out for the run folder's name", field="study")
    if not run_dir.exists():
        raise RunFolderError(f"{run_dir} does not exist", "give the run folder of a search (neurosage search RUN_DIR)", file=run_dir)
    folder.refuse_no_search("export optuna", architectures=True)
    trials = load_trials(folder)
    if trials.empty and not update:
        raise RunFolderError(f"{run_dir} has no finished trial yet", "export once at least one trial has finished", file=folder.journal_file)
    settings = folder.settings()
    objective = settings.get("objective", "p+tg")
    names = ["P"] if objective == "p" else ["P", "TG"]
    url, name = storage_url(storage), study or run_dir.resolve().name
    database = Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None
    if update and database is not None and not database.is_file():  # opening it would create an empty database
        raise ConfigError(f"{database} does not exist, so there is no study to update", "export it first without --update", file=database,
                          field="storage")
    try:
        existing = optuna.study.get_all_study_names(storage=url)
    except Exception as exc:  # an unreachable or foreign database
        shown = re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)  # never echo a password
        said = re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", str(exc).splitlines()[0][:150] if str(exc) else "")
        raise ConfigError(f"cannot open the Optuna storage {shown} ({type(exc).__name__}: {said})",
                          "give a SQLite file path or a database URL optuna can open", field="storage") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run_id = folder.record().get("run_id")
    if update:
        if name not in existing:
            mine = [s.study_name for s in optuna.study.get_all_study_summaries(storage=url, include_best_trial=False)
                    if run_id and s.user_attrs.get("neurosage_run_id") == run_id]
            raise ConfigError(f"the storage has no study {name!r} to update" + (f"; this run (moved or renamed since) was exported as study "
                              f"{mine[0]!r}" if mine else ""), f"add --study {mine[0]}" if mine else "export it first without --update",
                              field="study")
        target = optuna.load_study(study_name=name, storage=url)
        same_run = (target.user_attrs.get("neurosage_run_id") == run_id) if run_id and target.user_attrs.get("neurosage_run_id") else \
            target.user_attrs.get("neurosage_run") == str(run_dir.resolve())  # studies exported before the run id was recorded
        if not same_run:
            source = target.user_attrs.get("neurosage_run") or "another study"
            raise ConfigError(f"study {name!r} was not exported from {run_dir} (it holds {source})",
                              "update the study this run was exported to, or export into a new --study", field="study")
        if target.user_attrs.get("neurosage_run") != str(run_dir.resolve()):
            log.info("study %r: the run moved from %s to %s (same run id %s)", name, target.user_attrs.get("neurosage_run"), run_dir, run_id)
            target.set_user_attr("neurosage_run", str(run_dir.resolve()))
    else:
        if name in existing:
            raise ConfigError(f"the storage already has a study {name!r}", "give another --study name or storage, or add the trials finished "
                              "since an earlier export of this run with --update", field="study")
        try:
            target = optuna.create_study(storage=url, study_name=name, directions=["maximize"] * len(names))
        except optuna.exceptions.StorageInternalError as exc:  # an SQLite file of another tool (a run's journal), a read-only database
            raise ConfigError(f"cannot write a study into {url} ({str(exc).splitlines()[0][:150]}): it is not an Optuna storage optuna can "
                              "write", "give a new database file (e.g. trials.db) or an Optuna storage URL", field="storage") from None
        with warnings.catch_warnings():  # experimental since Optuna 3.2, and what optuna-dashboard labels the axes with
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            target.set_metric_names(names)
        target.set_user_attr("neurosage_run", str(run_dir.resolve()))
        if run_id:
            target.set_user_attr("neurosage_run_id", run_id)
        target.set_user_attr("objective", objective)
    done = {t.user_attrs.get("tid") for t in target.get_trials(deepcopy=False)}
    distributions = _distributions(settings, optuna)
    vals = {row["tid"]: row["vals"] for row in folder.journal().rows()}
    for row in trials.sort_values("tid").to_dict("records"):
        if int(row["tid"]) in done:
            continue
        target.add_trial(_trial(row, vals.get(int(row["tid"]), {}), names, distributions, optuna))
    return target


def _distributions(settings: dict[str, Any], optuna: Any) -> dict[str, Any]:
    """Each decision of the run's space with more than one option -> its ``CategoricalDistribution`` (what the journal's
    choice indices index); {} when the space cannot be rebuilt here (a plug-in space not installed)."""
    from neurosage.spaces import space_for

    try:
        space = space_for(str(settings.get("space")), int(settings.get("n_blocks") or 5))
    except Exception:  # an unknown plug-in space: the trials keep their genotype, without params
        return {}
    return {label: optuna.distributions.CategoricalDistribution([_choice(o) for o in options])
            for label, options in space.decisions() if len(options) > 1}


def _choice(option: Any) -> Any:
    """An option as Optuna stores a categorical choice (None, bool, int, float or str)."""
    return option if option is None or isinstance(option, (bool, int, float, str)) else str(option)


def _trial(row: dict[str, Any], vals: dict[str, int], names: list[str], distributions: dict[str, Any], optuna: Any) -> Any:
    """One finished trial as an Optuna ``FrozenTrial``: params, values, state, real start and end times, attributes."""
    values = [row.get(n) for n in names]
    ok = row.get("status") == "ok" and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
    params = {label: distributions[label].choices[int(i)] for label, i in vals.items() if label in distributions}
    attrs = {k: _plain(row.get(k)) for k in _ATTRS if _plain(row.get(k)) is not None}
    trial = optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE if ok else optuna.trial.TrialState.FAIL,
        values=[float(v) for v in values if v is not None] if ok else None, user_attrs={"tid": int(row["tid"]), **attrs},
        params=params, distributions={label: distributions[label] for label in params},
    )
    started = _plain(row.get("started"))
    if isinstance(started, (int, float)):
        wall = _plain(row.get("wall_time"))
        trial.datetime_start = datetime.fromtimestamp(started)
        trial.datetime_complete = datetime.fromtimestamp(started + (wall if isinstance(wall, (int, float)) else 0.0))
    return trial


def _plain(value: Any) -> Any:
    """JSON-ready scalars (Optuna stores user attributes as JSON); NaN and None become None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, (str, int, float, bool)) else str(value)
