"""The search driver: the ask/evaluate/tell loop over a run folder, resume and fail-fast.

The driver alone writes results: workers (in-process, or a Dask
``distributed.Client``, see :mod:`neurosage.search.executors`) only evaluate candidates and
return records. Each finished trial is appended to the SQLite journal before the searcher is
told, so ``run_search(..., resume=True)`` continues a killed search without losing or repeating
a finished trial (running trials are re-proposed).

Run folder: ``run.json`` (provenance: resolved settings, code, machine, one
entry per session, with the Dask workers it used), ``journal.sqlite``, ``trials.nc`` and ``trials.csv``
(:mod:`neurosage.search.export`, rewritten after every finished trial), ``neurosage.log`` (INFO: one line per
trial with progress, best score, time per trial and what is left; ``neurosage status RUN`` summarises it);
a searcher with state of its own (RL) also keeps ``searcher_state.pt``, rewritten after every tell
and loaded on resume.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from neurosage.core.errors import ConfigError, RunFolderError, RunFolderExists, SearchFailed
from neurosage.core.interrupts import deferred
from neurosage.core.seeding import derive_seed
from neurosage.runs.journal import Journal
from neurosage.runs.lock import run_lock
from neurosage.core.progress import progress_bar
from neurosage.runs.logfile import run_log
from neurosage.core.atomic import write_json
from neurosage.runs.provenance import PROVENANCE_FILE, jsonable, record_run
from neurosage.runs.status import IN_FLIGHT_FILE, duration_text
from neurosage.runs.resume import RESUMABLE, refuse_changed_settings
from neurosage.search import SEARCHERS, make_searcher
from neurosage.search.executors import DaskExecutor, InlineExecutor, local_client
from neurosage.search.export import export_trials
from neurosage.search.weights import KeptWeights, check_keep_weights, input_conversion
from neurosage.spaces.contract import SearchSpace, to_indices

if TYPE_CHECKING:  # the candidate path (torch) is imported when a search runs, not when this module is
    from neurosage.search.candidate import CandidateTask

__all__ = ["check_budget", "SearchResult", "run_search", "check_search_settings", "check_executor", "SEARCHER_STATE"]


def check_budget(budget: object) -> None:
    """Refuse a budget that is not a positive number of trials."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ConfigError(f"budget must be a positive number of trials, got {budget!r}", "set budget to 1 or more", field="budget")


log = logging.getLogger(__name__)


#: Below this share of the spread of P + alpha TG, TG barely changes a search's ranking (warned about).
LOW_TG_WEIGHT = 0.25


@dataclass
class SearchResult:
    """Finished trials (one row each) and where they live."""

    run_dir: Path
    trials: pd.DataFrame

    @property
    def best(self) -> pd.Series:
        """The finished trial with the highest score; a search without a successful trial raises :class:`SearchFailed`."""
        ok = self.trials[self.trials.status == "ok"] if len(self.trials) else self.trials
        if not len(ok):
            errors = self.trials.error.dropna().unique().tolist() if len(self.trials) else []
            raise SearchFailed(
                f"none of the {len(self.trials)} trial(s) in {self.run_dir} succeeded" + (f" (e.g. {errors[0]})" if errors else ""),
                f"see {self.run_dir / 'trials.csv'} for each error, fix the setting it names, and start a new run folder",
            )
        return ok.loc[ok.score.idxmax()]

    @property
    def total_examples(self) -> int:
        return int(self.trials.examples.fillna(0).sum())

    def weighting(self, alpha: float = 1.0) -> dict[str, float] | None:
        """The spread of P and TG across the successful trials and TG's share of it in P + alpha TG
        (``alpha sd(TG) / (sd(P) + alpha sd(TG))``; near 0 the search ranks by P alone), or None without TG."""
        ok = self.trials[self.trials.status == "ok"] if len(self.trials) else self.trials
        if "TG" not in ok or ok.TG.notna().sum() < 2:
            return None
        sd_p, sd_tg = float(ok.P.std(ddof=1)), float(ok.TG.std(ddof=1))
        share = alpha * sd_tg / (sd_p + alpha * sd_tg) if sd_p + alpha * sd_tg > 0 else float("nan")
        return {"n": int(ok.TG.notna().sum()), "sd_P": sd_p, "sd_TG": sd_tg, "alpha": alpha, "tg_weight": share}


def run_search(
    run_dir: str | Path,
    space: SearchSpace,
    task: CandidateTask,
    *,
    budget: int,
    algo: str = "tpe",
    seed: int = 0,
    workers: int = 1,
    client: Any = None,
    resume: bool = False,
    config: dict[str, Any] | None = None,
    progress: bool = True,
    searcher_kwargs: dict[str, Any] | None = None,
    fail_fast: int = 3,
    locked: bool = False,
    max_in_flight: int | None = None,
    dashboard: str | None = None,
    keep_weights: int = 1,
) -> SearchResult:
    """Run (or resume) a search of ``budget`` trials; returns all finished trials.

    Parameters
    ----------
    space, task
        What to search and how to evaluate a candidate.
    algo
        ``"tpe"``, ``"random"``, ``"rl"`` or a plug-in searcher.
    workers
        With ``workers > 1`` and no client, a ``LocalCluster`` of that many one-thread processes is started.
    client
        A ``distributed.Client`` (a scheduler address, dask-jobqueue): candidates run on its workers.
    max_in_flight
        Candidates evaluated at once. None: as many as the executor has slots, asked again before every
        proposal (a cluster's worker threads, so workers that join or leave count; 1 in this process).
    dashboard
        The Dask dashboard's address for a ``LocalCluster`` started here (e.g. ``":8787"``), logged.
    resume
        Continue the journal in ``run_dir`` instead of refusing to overwrite it; the settings must be the
        recorded ones (see :data:`RESUMABLE`), and proposals that were in flight are evaluated again.
    fail_fast
        Stop with :class:`~neurosage.core.errors.SearchFailed` when the first ``fail_fast`` trials fail with the same error.
    locked
        The caller already holds ``run_dir``'s lock (e.g. taken before building the teacher); otherwise it is taken here.
    keep_weights
        K: the ``state_dict`` of the best K trials so far is kept in ``run_dir/weights/trial-<tid>.pt`` and recorded in
        ``run.json`` (:mod:`neurosage.search.weights`); 0 keeps none.

    One driver at a time: a second one on the same folder is refused (:mod:`neurosage.runs.lock`).
    """
    run_dir = Path(run_dir)
    journal_path = run_dir / "journal.sqlite"
    if journal_path.exists() and not resume:
        raise RunFolderExists(f"{run_dir} already holds a search", "pass --resume to continue it (resume=True), or choose another run folder", file=run_dir)
    check_search_settings(budget, task, fail_fast)
    check_executor(workers, client is not None, max_in_flight, dashboard)
    check_keep_weights(keep_weights)
    finished = len(Journal(journal_path)) if resume and journal_path.exists() else 0
    if finished > budget:
        raise RunFolderError(f"budget {budget} is below the {finished} trials {run_dir} has already finished",
                             f"give --budget {finished} or more (a resumed search's budget may only grow)", file=run_dir, field="budget")
    SEARCHERS.get(algo)  # an unknown searcher is refused before the run folder is written
    task.network.check_space(space)
    resolved = {
        "space": space.name, "n_blocks": space.n_blocks, "budget": budget, "algo": algo, "seed": seed,
        "workers": workers, "objective": task.objective, "alpha": task.alpha,
        "network": task.network.to_dict(), "training": task.training.to_dict(), "candidate_threads": task.threads,
        "teacher_endpoints": task.teacher.endpoints if task.teacher is not None else None,
        "candidate_rdm": {**task.rdm.to_dict(), "layers": list(task.layers) if task.layers else "every cell output"},
        **(config or {}),
        "keep_weights": keep_weights,  # the count in effect (a config's None resolved by weights_to_keep)
    }
    resolved = jsonable(resolved)
    if resume:
        refuse_changed_settings(run_dir, resolved)
    seeds = {"seed": seed, "searcher": "derive_seed(seed, tid)", "candidate": "derive_seed(seed, tid, 1)"}
    with contextlib.nullcontext() if locked else run_lock(run_dir), run_log(run_dir), \
            record_run(run_dir, resolved, seeds=seeds, device=task.device, current=RESUMABLE) as record:
        kept = KeptWeights(run_dir, keep_weights, _model_record(space, task))

        def record_weights() -> None:
            record["weights"] = kept.summary()
            write_json(run_dir / PROVENANCE_FILE, record)

        try:
            trials = _search_loop(run_dir, space, task, budget, algo, seed, workers, client, progress, searcher_kwargs, fail_fast,
                                  max_in_flight, dashboard, record["sessions"][-1], (kept, record_weights))
        except KeyboardInterrupt as exc:
            log.info("interrupted (%s) after %d finished trial(s); resume continues from the journal", exc or "SIGINT", len(Journal(journal_path)))
            raise
    result = SearchResult(run_dir, trials)
    weights = result.weighting(task.alpha) if task.objective == "p+tg" else None
    if weights:
        level = logging.WARNING if weights["tg_weight"] < LOW_TG_WEIGHT else logging.INFO
        log.log(level, "%s: across %d candidates sd(P) = %.4f, sd(TG) = %.4f: TG carries %.0f%% of the spread of P + %g TG%s",
                run_dir, weights["n"], weights["sd_P"], weights["sd_TG"], 100 * weights["tg_weight"], task.alpha,
                " (the search ranked almost by P alone)" if level == logging.WARNING else "")
    return result


def _model_record(space: SearchSpace, task: CandidateTask) -> dict[str, Any]:
    """What rebuilds a kept trial's network: the space, network options, classes, input shape and image conversion."""
    return {"space": space.name, "network": task.network.to_dict(), "num_classes": task.num_classes,
            "input_shape": list(task.input_shape), "input": input_conversion(task.train_set)}


def check_search_settings(budget: Any, task: CandidateTask, fail_fast: int) -> None:
    """Refuse settings that cannot work, before the first trial."""
    check_budget(budget)
    if fail_fast < 1:
        raise ConfigError(f"fail_fast must be at least 1, got {fail_fast}", "use the default (3)", field="fail_fast")
    task.check()


def check_executor(workers: Any, on_cluster: bool, max_in_flight: Any = None, dashboard: Any = None) -> None:
    """Refuse executor settings that cannot work or would be ignored: ``max_in_flight`` (a positive count, and only on a
    cluster: in this process more than one in flight only delays the searcher's feedback and changes its proposals),
    ``dashboard`` (``[host]:port``, and only with a LocalCluster started by ``workers > 1``)."""
    if max_in_flight is not None and (isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1):
        raise ConfigError(f"max-in-flight must be a positive number of candidates, got {max_in_flight!r}",
                          "leave it unset (as many as the cluster has worker threads) or give e.g. 4", field="max_in_flight")
    local_cluster = not on_cluster and isinstance(workers, int) and workers > 1
    if max_in_flight is not None and max_in_flight > 1 and not (on_cluster or local_cluster):
        raise ConfigError(f"max-in-flight {max_in_flight} without a cluster: this process evaluates one candidate at a time, and "
                          "asking for more proposals before results come back would only change what the searcher proposes",
                          "add --workers N (a LocalCluster) or --scheduler ADDRESS, or drop --max-in-flight", field="max_in_flight")
    if dashboard is None:
        return
    if not isinstance(dashboard, str) or not re.fullmatch(r"[\w.\-]*:\d{1,5}", dashboard) or int(dashboard.rsplit(":", 1)[1]) > 65535:
        raise ConfigError(f"--dashboard {dashboard!r} is not an address", "give [host]:port, e.g. :8787 or 127.0.0.1:8787", field="dashboard")
    if not local_cluster:
        raise ConfigError("--dashboard opens the dashboard of the LocalCluster that --workers N (N > 1) starts, and there is none",
                          "add --workers 2 (or more); a running scheduler (--scheduler) has its own dashboard", field="dashboard")


#: A searcher's own state in a run folder (searchers with ``save_state``/``load_state``, e.g. RL).
SEARCHER_STATE = "searcher_state.pt"


def _search_loop(run_dir: Path, space: SearchSpace, task: CandidateTask, budget: int, algo: str, seed: int, workers: int,
                 client: Any, progress: bool, searcher_kwargs: dict[str, Any] | None, fail_fast: int,
                 max_in_flight: int | None = None, dashboard: str | None = None, session: dict[str, Any] | None = None,
                 weights: tuple[KeptWeights, Any] | None = None) -> pd.DataFrame:
    """Replay the journal, re-submit proposals that were in flight, then ask/evaluate/tell until ``budget`` trials are finished
    (``weights``: the top trials' weight files and the function that records them in ``run.json``)."""
    from neurosage.search.candidate import evaluate_candidate

    journal = Journal(run_dir / "journal.sqlite")
    _settle_vals(journal, space, algo)
    searcher = make_searcher(algo, space, seed, **(searcher_kwargs or {}))
    state_file = run_dir / SEARCHER_STATE
    saves_state = hasattr(searcher, "save_state")
    rows = list(journal.rows())
    if saves_state and state_file.exists() and rows:
        searcher.load_state(state_file, finished=len(rows))  # journal rows after the saved state are replayed below
    done = 0
    best = -np.inf
    outcomes: list[str | None] = []  # error of each finished trial (None when ok), in finishing order
    for row in rows:
        searcher.observe(row["tid"], row["vals"], row["loss"])
        outcomes.append(None if row["status"] == "ok" else row["record"].get("error"))
        done += 1
        if row["loss"] is not None:
            best = max(best, -row["loss"])
    kept, record_weights = weights if weights is not None else (KeptWeights(run_dir, 0), lambda: None)
    kept.restore({**row["record"], "tid": row["tid"]} for row in rows)
    record_weights()  # K and the files taken over, in run.json from the start
    in_flight = journal.pending()
    for tid, vals, _ in in_flight:
        searcher.restore(tid, vals)
    if done or in_flight:
        log.info("resuming %s: %d finished trial(s) replayed, %d in-flight proposal(s) re-submitted", run_dir, done, len(in_flight))

    owned_cluster = contextlib.ExitStack()
    if client is None and workers > 1:
        client = owned_cluster.enter_context(local_client(workers, dashboard=dashboard))
    executor: Any = DaskExecutor(client) if client is not None else InlineExecutor()

    attrs = {"objective": task.objective, "alpha": task.alpha, "space": space.name, "algo": algo}
    if task.teacher is not None:  # what S_i, TG and the similarity matrix mean
        attrs.update(compare_method=task.compare_method or task.teacher.compare_method, rdm_method=task.teacher.rdm_method)
    bar = progress_bar(total=budget, initial=done, desc=f"{algo}:{task.objective}", enabled=progress)
    started, finished_here = time.time(), 0
    try:
        if session is not None and isinstance(executor, DaskExecutor):
            session["workers"] = executor.workers()
        task_ref = executor.scatter(task)
        pending: dict[Any, tuple[int, dict[str, Any]]] = {}
        for tid, vals, genotype in in_flight[: max(0, budget - done)]:
            pending[executor.submit(evaluate_candidate, genotype, task_ref, derive_seed(seed, tid, 1), kept.floor())] = (tid, vals)
        while done < budget:
            while len(pending) < (max_in_flight or executor.slots()) and done + len(pending) < budget:
                tid, vals, genotype = searcher.ask()
                journal.propose(tid, vals, str(genotype), time.time())
                fut = executor.submit(evaluate_candidate, str(genotype), task_ref, derive_seed(seed, tid, 1), kept.floor())
                pending[fut] = (tid, vals)
            def show_placement() -> None:  # which worker runs which trial, for neurosage status (a cluster only)
                if isinstance(executor, DaskExecutor):
                    where = executor.placement(list(pending))
                    write_json(run_dir / IN_FLIGHT_FILE, {str(pending[f][0]): w for f, w in where.items()})

            for fut in executor.wait_any(list(pending), on_wait=show_placement):
                tid, vals = pending.pop(fut)
                try:
                    record = fut.result()
                except Exception as exc:  # the worker itself failed (not the candidate)
                    record = {"genotype": str(searcher.genotype(vals)), "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                with deferred():  # a signal waits until this trial's bookkeeping is complete
                    record["tid"] = tid
                    blob = record.pop("weights", None)  # bytes: into a file, never into the journal
                    loss = -record["score"] if record.get("status") == "ok" else None
                    journal.append(tid, vals, record, loss, time.time())
                    if kept.offer(tid, record, blob):
                        record_weights()
                    searcher.tell(tid, loss)
                    if saves_state:
                        searcher.save_state(state_file)
                    done += 1
                    outcomes.append(None if loss is not None else record.get("error"))
                    if loss is not None:
                        best = max(best, -loss)
                    bar.update(1)
                    bar.set_postfix(best=f"{best:.4f}", status=record["status"])
                    finished_here += 1
                    export_trials(journal, run_dir, attrs=attrs)  # trials.csv/.nc after every trial: a run you can watch
                    per_trial = (time.time() - started) / finished_here
                    log.info("trial %d: %s, score %s; %d/%d done, %d in flight, best %.4f, %.1f s per trial, about %s left",
                             tid, record["status"], f"{-loss:.4f}" if loss is not None else "-", done, budget, len(pending), best,
                             per_trial, duration_text(per_trial * (budget - done)))
                _fail_fast(outcomes, fail_fast, run_dir)
    except BaseException:  # an interrupt or a failure: what finished is already in trials.csv (written per trial)
        bar.close()
        owned_cluster.close()
        try:
            export_trials(journal, run_dir, attrs=attrs)
        except Exception as exc:  # e.g. an interrupt that landed inside an import: keep the original error, not this one
            log.warning("trials.csv/.nc were not rewritten on the way out (%s: %s); they hold every trial finished before the last one",
                        type(exc).__name__, exc)
        raise
    bar.close()
    owned_cluster.close()
    return export_trials(journal, run_dir, attrs=attrs)



def _fail_fast(outcomes: list[str | None], k: int, run_dir: Path) -> None:
    """Stop when the first ``k`` trials all failed with the same error (numbers aside)."""
    if len(outcomes) != k or any(o is None for o in outcomes):
        return
    kinds = {re.sub(r"[-+]?\d[\d.e+-]*", "N", str(o)) for o in outcomes}
    if len(kinds) == 1:
        error = str(outcomes[0])
        raise SearchFailed(f"the first {k} trials all failed with the same error: {error}", _hint(error, run_dir))


def _hint(error: str, run_dir: Path) -> str:
    """The likely fix for a trial error."""
    if "CUDA" in error or "cuda" in error:
        return "run on a machine with a GPU, or pass --device cpu"
    if "Target" in error and "out of bounds" in error:
        return "the labels exceed the number of classes; check the dataset's labels and classes"
    if "loss became" in error:
        return "training diverged every time: lower the learning rate or check the input normalisation"
    return f"fix the setting this error names (every trial's error is in {run_dir / 'trials.csv'}), then start a new run folder"


def _settle_vals(journal: Journal, space: SearchSpace, algo: str) -> None:
    """Make sure the journal's ``vals`` are choice indices: mark a new journal, convert an old random search's values."""
    if journal.vals_format() is not None:
        return
    if algo == "random" and (len(journal) or journal.pending()):
        n = journal.convert_vals(lambda vals: to_indices(space, vals))
        log.info("converted %d journal rows of an older random search from chosen values to choice indices", n)
    else:
        journal.mark_vals()
