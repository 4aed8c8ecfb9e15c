"""The search driver: the ask/evaluate/tell loop over a run folder, resume and fail-fast.

The driver alone writes results: workers (in-process, or a Dask
``distributed.Client``, see :mod:`neurosage.search.executors`) only evaluate candidates and
return records. Each finished trial is appended to the SQLite journal before the searcher is
told, so ``run_search(..., resume=True)`` continues a killed search without losing or repeating
a finished trial (running trials are re-proposed).

A search is one object, :class:`Search`: the run folder (:class:`~neurosage.runs.folder.RunFolder`, the one owner of
its files: provenance with one entry per session and the Dask workers it used, the journal, the trials tables
rewritten after every finished trial, the log with one line per trial, a stateful searcher's state, the kept
weights), the space, the candidate task, the searcher's settings and the executor's (:class:`ExecutorOptions`).
:func:`run_search` builds one from keyword arguments.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from neurosage.core.errors import ConfigError, RunFolderError, SearchFailed
from neurosage.core.extras import require_extra
from neurosage.core.interrupts import deferred
from neurosage.core.progress import progress_bar
from neurosage.core.seeding import derive_seed
from neurosage.core.validate import KnownFields, check_arguments, check_client, check_fields, is_whole_number
from neurosage.runs.folder import RunFolder
from neurosage.runs.journal import Journal
from neurosage.runs.provenance import jsonable
from neurosage.runs.resume import RESUMABLE
from neurosage.runs.status import duration_text
from neurosage.runs.trials import write_trial_tables
from neurosage.search import SEARCHERS, StatefulSearcher, make_searcher
from neurosage.search.executors import DaskExecutor, InlineExecutor, end_roster, local_client
from neurosage.search.weights import KeptWeights, check_keep_weights, input_conversion
from neurosage.spaces.contract import SearchSpace, to_indices
from neurosage.training.divergence import DivergenceWatch

if TYPE_CHECKING:  # the candidate path (torch) is imported when a search runs, not when this module is
    from neurosage.search.candidate import CandidateTask

__all__ = ["check_budget", "SearchResult", "Search", "ExecutorOptions", "run_search", "check_executor"]


#: Times one trial may lose its worker before the search stops (a cluster whose workers keep dying).
MAX_LOST = 3


def check_budget(budget: object) -> None:
    """Refuse a budget that is not a positive number of trials."""
    check_arguments(check_budget, locals())
    if not is_whole_number(budget) or budget < 1:
        how = "pass it as a whole number (int), not text" if isinstance(budget, str) else "set budget to 1 or more"
        raise ConfigError(f"budget must be a positive number of trials, got {budget!r}", how, field="budget")


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
        if not isinstance(self.trials, pd.DataFrame):
            raise ConfigError(f"the best trial is read from a search's trials table, and trials is {type(self.trials).__name__}", "pass "
                              "neurosage.load_trials(run_dir) (or use run_search's result)", field="trials")
        missing = [c for c in ("status", "score", "error") if c not in self.trials.columns]
        if len(self.trials.columns) and missing:  # a hand-made result (a column selection of load_trials)
            raise ConfigError(f"the best trial is read from a search's trials table, and this one lacks {missing}", "pass "
                              "neurosage.load_trials(run_dir) whole (or use run_search's result)", field="trials")
        ok = self.trials[self.trials.status == "ok"] if len(self.trials) else self.trials
        if not len(ok):
            errors = self.trials.error.dropna().unique().tolist() if len(self.trials) else []
            raise SearchFailed(
                f"none of the {len(self.trials)} trial(s) in {self.run_dir} succeeded" + (f" (e.g. {errors[0]})" if errors else ""),
                f"see {RunFolder(self.run_dir).trials_csv} for each error, fix the setting it names, and start a new run folder",
            )
        return ok.loc[ok.score.idxmax()]

    @property
    def total_examples(self) -> int:
        return int(self.trials.examples.fillna(0).sum())

    def weighting(self, alpha: float = 1.0) -> dict[str, float] | None:
        """The spread of P and TG across the successful trials and TG's share of it in P + alpha TG
        (``alpha sd(TG) / (sd(P) + alpha sd(TG))``; near 0 the search ranks by P alone), or None without TG."""
        check_arguments(SearchResult.weighting, locals())
        ok = self.trials[self.trials.status == "ok"] if len(self.trials) else self.trials
        if "TG" not in ok or ok.TG.notna().sum() < 2:
            return None
        sd_p, sd_tg = float(ok.P.std(ddof=1)), float(ok.TG.std(ddof=1))
        share = alpha * sd_tg / (sd_p + alpha * sd_tg) if sd_p + alpha * sd_tg > 0 else float("nan")
        return {"n": int(ok.TG.notna().sum()), "sd_P": sd_p, "sd_TG": sd_tg, "alpha": alpha, "tg_weight": share}


@dataclass(frozen=True)
class ExecutorOptions(KnownFields):
    """Where candidates are evaluated.

    Parameters
    ----------
    workers
        With ``workers > 1`` and no client, a ``LocalCluster`` of that many one-thread processes is started.
    client
        A ``distributed.Client`` (a scheduler address, dask-jobqueue): candidates run on its workers.
    max_in_flight
        Candidates evaluated at once. None: as many as the executor has slots, asked again before every
        proposal (a cluster's worker threads, so workers that join or leave count; 1 in this process).
    dashboard
        The Dask dashboard's address for a ``LocalCluster`` started here (e.g. ``":8787"``), logged.
    """

    workers: int = 1
    client: Any = None
    max_in_flight: int | None = None
    dashboard: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        check_client(self.client)
        self.check()  # when built, not when the search starts

    def check(self) -> None:
        """Refuse settings that cannot work or would be ignored (:func:`check_executor`)."""
        check_executor(self.workers, self.client is not None, self.max_in_flight, self.dashboard)

    @contextlib.contextmanager
    def open(self) -> Iterator[InlineExecutor | DaskExecutor]:
        """The executor for the ``with`` body (a LocalCluster started here is closed afterwards)."""
        if self.client is None and self.workers > 1:
            with local_client(self.workers, dashboard=self.dashboard) as client:
                yield DaskExecutor(client)
        else:
            yield DaskExecutor(self.client) if self.client is not None else InlineExecutor()


@dataclass(frozen=True)
class Search:
    """One search as one object: where it is recorded, what it searches, how a candidate is scored, who proposes, who evaluates.

    Parameters
    ----------
    folder
        The run folder (:class:`~neurosage.runs.folder.RunFolder`, or a path).
    space, task
        What to search and how to evaluate a candidate.
    budget
        Trials to finish (a resumed search's budget may only grow).
    algo, seed, searcher_kwargs
        The searcher (``"tpe"``, ``"random"``, ``"rl"`` or a plug-in), the one seed, and the searcher's options.
    fail_fast
        Stop with :class:`~neurosage.core.errors.SearchFailed` when the first ``fail_fast`` trials fail with the same error.
    keep_weights
        K: the ``state_dict`` of the best K trials so far is kept in the run folder and recorded in ``run.json``
        (:mod:`neurosage.search.weights`); 0 keeps none.
    executor
        Where candidates are evaluated (:class:`ExecutorOptions`).
    config
        Further settings to record in ``run.json`` (e.g. the command's whole configuration).
    """

    folder: RunFolder
    space: SearchSpace
    task: CandidateTask
    budget: int
    algo: str = "tpe"
    seed: int = 0
    searcher_kwargs: Mapping[str, Any] | None = None
    fail_fast: int = 3
    keep_weights: int = 1
    executor: ExecutorOptions = field(default_factory=ExecutorOptions)
    config: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "folder", RunFolder(self.folder))  # a path, as documented (RunFolder checks it)
        check_fields(self)

    def check(self, resume: bool = False) -> None:
        """Refuse settings that cannot work, before the run folder is written."""
        check_arguments(Search.check, locals())
        if not resume:
            self.folder.refuse_existing()
        if isinstance(self.space, str) or not hasattr(self.space, "decisions"):
            raise ConfigError(f"space must be a search space object, got {self.space!r}", "pass neurosage.get_space(name), e.g. "
                              "get_space('pnas', n_blocks=2) or get_space('layers-10')", field="space")
        check_budget(self.budget)
        if isinstance(self.fail_fast, bool) or not isinstance(self.fail_fast, int) or self.fail_fast < 1:
            raise ConfigError(f"fail_fast must be at least 1, got {self.fail_fast!r}", "use the default (3)", field="fail_fast")
        self.task.check()
        self.executor.check()
        check_keep_weights(self.keep_weights)
        finished = len(self.folder.journal()) if resume and self.folder.has_journal() else 0
        if finished > self.budget:
            raise RunFolderError(f"budget {self.budget} is below the {finished} trials {self.folder} has already finished",
                                 f"give --budget {finished} or more (a resumed search's budget may only grow)", file=self.folder.path, field="budget")
        SEARCHERS.get(self.algo)  # an unknown searcher is refused before the run folder is written
        self.task.network.check_space(self.space)

    def settings(self) -> dict[str, Any]:
        """The resolved settings ``run.json`` records (one name each), as they read back from JSON."""
        task = self.task
        return jsonable({
            "space": self.space.name, "n_blocks": self.space.n_blocks, "budget": self.budget, "algo": self.algo, "seed": self.seed,
            "workers": self.executor.workers, "objective": task.objective, "alpha": task.alpha,
            "network": task.network.to_dict(), "training": task.training.to_dict(), "candidate_threads": task.threads,
            "teacher_endpoints": task.teacher.endpoints if task.teacher is not None else None,
            "candidate_rdm": {**task.rdm.to_dict(), "layers": list(task.layers) if task.layers else "every cell output"},
            **(self.config or {}),
            "keep_weights": self.keep_weights,  # the count in effect (a config's None resolved by weights_to_keep)
        })

    def model_record(self) -> dict[str, Any]:
        """What rebuilds a kept trial's network: the space, network options, classes, input shape and image conversion."""
        return {"space": self.space.name, "network": self.task.network.to_dict(), "num_classes": self.task.num_classes,
                "input_shape": list(self.task.input_shape), "input": input_conversion(self.task.train_set)}

    def run(self, *, resume: bool = False, progress: bool = True, locked: bool = False) -> SearchResult:
        """Run (or resume) the search; returns all finished trials.

        ``resume`` continues the journal instead of refusing to overwrite it; the settings must be the recorded ones (see
        :data:`~neurosage.runs.resume.RESUMABLE`), and proposals that were in flight are evaluated again. ``locked``: the
        caller already holds the folder's lock (e.g. taken before building the teacher). One driver at a time: a second one
        on the same folder is refused (:mod:`neurosage.runs.lock`).
        """
        check_arguments(Search.run, locals())
        self.check(resume)
        resolved = self.settings()
        stimuli = [self.task.teacher.images] if self.task.teacher is not None and self.task.teacher.images is not None else []
        fingerprint = data_fingerprint(self.task.train_set, self.task.val_set, *stimuli)  # every image the scores depend on
        moved = self.folder.refuse_changed_settings(resolved, data_fingerprint=fingerprint) if resume else ()
        seeds = {"seed": self.seed, "searcher": "derive_seed(seed, tid)", "candidate": "derive_seed(seed, tid, 1)"}
        with contextlib.nullcontext() if locked else self.folder.lock(), self.folder.log(), \
                self.folder.session(resolved, seeds=seeds, device=self.task.device, current=(*RESUMABLE, *moved),
                                    data_fingerprint=fingerprint) as record:
            session = _Session(self, record, progress)
            try:
                trials = session.run()
            except KeyboardInterrupt as exc:
                log.info("interrupted (%s) after %d finished trial(s); resume continues from the journal", exc or "SIGINT", len(session.journal))
                raise
            finally:
                session.close()
        result = SearchResult(self.folder.path, trials)
        self._log_weighting(result)
        return result

    def _log_weighting(self, result: SearchResult) -> None:
        weights = result.weighting(self.task.alpha) if self.task.objective == "p+tg" else None
        if weights:
            share = weights["tg_weight"]
            level = logging.WARNING if not LOW_TG_WEIGHT <= share <= 1 - LOW_TG_WEIGHT else logging.INFO
            log.log(level, "%s: across %d candidates sd(P) = %.4f, sd(TG) = %.4f: TG carries %.0f%% of the spread of P + %g TG%s",
                    self.folder, weights["n"], weights["sd_P"], weights["sd_TG"], 100 * share, self.task.alpha,
                    "" if level == logging.INFO else " (the search ranked almost by P alone)" if share < LOW_TG_WEIGHT else
                    " (the search ranked almost by TG alone: --objective tg says so, or give a smaller --alpha)")


def run_search(
    run_dir: str | Path | RunFolder,
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
    """Run (or resume) a search of ``budget`` trials in ``run_dir``; returns all finished trials.

    The keyword arguments are those of :class:`Search` and :class:`ExecutorOptions` (``workers``, ``client``,
    ``max_in_flight``, ``dashboard``), and of :meth:`Search.run` (``resume``, ``progress``, ``locked``).
    """
    check_arguments(run_search, locals())
    search = Search(RunFolder(run_dir), space, task, budget, algo=algo, seed=seed, searcher_kwargs=searcher_kwargs, fail_fast=fail_fast,
                    keep_weights=keep_weights, executor=ExecutorOptions(workers, client, max_in_flight, dashboard), config=config)
    return search.run(resume=resume, progress=progress, locked=locked)


def check_executor(workers: Any, on_cluster: bool, max_in_flight: Any = None, dashboard: Any = None) -> None:
    """Refuse executor settings that cannot work or would be ignored: ``max_in_flight`` (a positive count, and only on a
    cluster: in this process more than one in flight only delays the searcher's feedback and changes its proposals),
    ``dashboard`` (``[host]:port``, and only with a LocalCluster started by ``workers > 1``)."""
    if max_in_flight is not None and (isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1):
        raise ConfigError(f"max-in-flight must be a positive number of candidates, got {max_in_flight!r}",
                          "leave it unset (as many as the cluster has worker threads) or give e.g. 4", field="max_in_flight")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a number of worker processes >= 1, got {workers!r}", "give e.g. --workers 2 (1: this process)",
                          field="workers")
    local_cluster = not on_cluster and workers > 1
    if local_cluster:
        require_extra("distributed", f"--workers {workers}", field="workers")
    if max_in_flight is not None and max_in_flight > 1 and not (on_cluster or local_cluster):
        raise ConfigError(f"max-in-flight {max_in_flight} without a cluster: this process evaluates one candidate at a time, and "
                          "asking for more proposals before results come back would only change what the searcher proposes",
                          "add --workers N (a LocalCluster) or --scheduler ADDRESS, or drop --max-in-flight", field="max_in_flight")
    if dashboard is None:
        return
    if not isinstance(dashboard, str) or not re.fullmatch(r"[\w.\-]*:\d+", dashboard):
        raise ConfigError(f"--dashboard {dashboard!r} is not an address", "give [host]:port, e.g. :8787 or 127.0.0.1:8787", field="dashboard")
    if not 0 < int(dashboard.rsplit(":", 1)[1]) <= 65535:
        raise ConfigError(f"--dashboard {dashboard!r}: port {int(dashboard.rsplit(':', 1)[1])} is out of range (1-65535)",
                          "give a port from 1 to 65535, e.g. :8787", field="dashboard")
    if not local_cluster:
        raise ConfigError("--dashboard opens the dashboard of the LocalCluster that --workers N (N > 1) starts, and there is none",
                          "add --workers 2 (or more); a running scheduler (--scheduler) has its own dashboard", field="dashboard")


def data_fingerprint(*image_sets: Any, sample: int = 1000) -> str | None:
    """A short hash of the images a search depends on (training, validation, the teacher's stimuli: the first ``sample``
    of each set, their labels, and the set sizes): equal for the same labelled images read from another folder (a folder
    of the same images with other labels differs). None when a set cannot hash its pixels (not an ImageSet)."""
    import hashlib

    digest = hashlib.sha256()
    for images in image_sets:
        if not hasattr(images, "pixel_hashes") or not hasattr(images, "subset"):
            return None
        digest.update(str(len(images)).encode())
        first = images.subset(range(min(sample, len(images))))
        digest.update(first.pixel_hashes().tobytes())
        digest.update(np.asarray(first.labels.cpu(), dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


class _Session:
    """One session of a search: replay the journal, re-submit proposals that were in flight, then ask/evaluate/tell until the
    budget is finished. The journal row of a trial is written before the searcher is told."""

    def __init__(self, search: Search, record: dict[str, Any], progress: bool):
        self.search, self.record, self.progress = search, record, progress
        self.folder = search.folder
        self.journal = self.folder.journal()
        self.journal.claim(record["run_id"])  # this run's from now on: a copy of it in another folder is refused there
        _settle_vals(self.journal, search.space, search.algo)
        self.searcher = make_searcher(search.algo, search.space, search.seed, **(search.searcher_kwargs or {}))
        self.kept = KeptWeights(self.folder, search.keep_weights, search.model_record())
        self.done, self.best = 0, -np.inf
        self.outcomes: list[str | None] = []  # error of each finished trial (None when ok), in finishing order
        self.watch = DivergenceWatch("trials", search.task.training.lr, "TrainConfig(lr=...); run.json records it as settings.training.lr",
                                     self.folder.trials_csv)
        self.attrs = {"objective": search.task.objective, "alpha": search.task.alpha, "space": search.space.name, "algo": search.algo}
        if search.task.teacher is not None:  # what S_i, TG and the similarity matrix mean
            self.attrs.update(compare_method=search.task.compare_method or search.task.teacher.compare_method,
                              rdm_method=search.task.teacher.rdm_method)

    def _record_weights(self) -> None:
        self.record["weights"] = self.kept.summary()
        self.folder.write_record(self.record)

    def _record_workers(self, executor: Any, force: bool = False, final: bool = False) -> None:
        """This session's cluster in run.json: every worker seen (replacements and lost ones included) and the Slurm
        job ids; written when it changed. ``final``: the session ends, so every worker still there leaves it now."""
        if not isinstance(executor, DaskExecutor):
            return
        session = self.record["sessions"][-1]
        before = json.dumps([session.get("workers"), session.get("slurm_jobs")], sort_keys=True, default=str)
        roster = executor.workers()
        if final:
            end_roster(roster)
        session["workers"] = jsonable(roster)
        jobs = sorted({str(w["slurm_job_id"]) for w in roster.values() if w.get("slurm_job_id")}, key=lambda j: (len(j), j))
        if jobs:
            session["slurm_jobs"] = jobs
        if force or json.dumps([session.get("workers"), session.get("slurm_jobs")], sort_keys=True, default=str) != before:
            self.folder.write_record(self.record)

    def _replay(self) -> list[tuple[int, dict[str, Any], str]]:
        """Tell the searcher every finished trial of earlier sessions; the proposals that were in flight, to evaluate again."""
        rows = list(self.journal.rows())
        decisions = self.search.space.decisions()
        labels, required = {label for label, _ in decisions}, {label for label, options in decisions if len(options) > 1}
        foreign = next((row for row in rows if not required <= set(row["vals"]) <= labels), None)
        if foreign is not None:  # run.json's space edited by hand, or another search's journal copied in
            raise RunFolderError(f"trial {foreign['tid']} of the journal is not a point of the space {self.search.space.name!r} this "
                                 f"session searches (its decisions {sorted(foreign['vals'])[:3]}..., the space's {sorted(labels)[:3]}...): "
                                 "the journal was searched in another space", "resume with the space the journal was searched in (restore "
                                 "run.json's space and n_blocks from a copy), or start a new run folder",
                                 file=self.folder.journal_file, field="space")
        if isinstance(self.searcher, StatefulSearcher) and self.folder.searcher_state.exists() and rows:
            self.searcher.load_state(self.folder.searcher_state, finished=len(rows))  # journal rows after the saved state are replayed below
        for row in rows:
            self.searcher.observe(row["tid"], row["vals"], row["loss"])
            self.outcomes.append(None if row["status"] == "ok" else row["record"].get("error"))
            self.watch.count(row["status"], row["record"].get("error"))  # a resumed run is judged by its next trial
            self.done += 1
            if row["loss"] is not None:
                self.best = max(self.best, -row["loss"])
        self.kept.restore({**row["record"], "tid": row["tid"]} for row in rows)
        self._record_weights()  # K and the files taken over, in run.json from the start
        in_flight = self.journal.pending()
        for tid, vals, _ in in_flight:
            self.searcher.restore(tid, vals)
        if self.done or in_flight:
            log.info("resuming %s: %d finished trial(s) replayed, %d in-flight proposal(s) re-submitted", self.folder, self.done, len(in_flight))
        return in_flight

    def run(self) -> pd.DataFrame:
        from neurosage.search.candidate import evaluate_candidate

        search, budget = self.search, self.search.budget
        in_flight = self._replay()
        bar = progress_bar(total=budget, initial=self.done, desc=f"{search.algo}:{search.task.objective}", enabled=self.progress)
        self.started, self.finished_here = time.time(), 0
        try:
            with search.executor.open() as executor:
                self._record_workers(executor)
                task_ref = [executor.scatter(search.task)]  # scattered again when the cluster lost every copy with its workers
                pending: dict[Any, tuple[int, dict[str, Any]]] = {}
                lost: dict[int, int] = {}  # trial -> times its worker was lost

                def submit(tid: int, genotype: str) -> Any:
                    return executor.submit(evaluate_candidate, genotype, task_ref[0], derive_seed(search.seed, tid, 1), self.kept.floor())

                for tid, vals, genotype in in_flight[: max(0, budget - self.done)]:
                    pending[submit(tid, genotype)] = (tid, vals)

                def show_placement() -> None:  # which worker runs which trial, for neurosage status (a cluster only)
                    if isinstance(executor, DaskExecutor):
                        self._record_workers(executor)
                        where = executor.placement(list(pending))
                        self.folder.write_in_flight({str(pending[f][0]): w for f, w in where.items()})

                while self.done < budget:
                    while len(pending) < (search.executor.max_in_flight or executor.slots()) and self.done + len(pending) < budget:
                        tid, vals, genotype = self.searcher.ask()
                        self.journal.propose(tid, vals, str(genotype), time.time())
                        pending[submit(tid, str(genotype))] = (tid, vals)
                    for fut in executor.wait_any(list(pending), on_wait=show_placement):
                        tid, vals = pending.pop(fut)
                        try:
                            record = fut.result()
                        except CancelledError:  # its worker was lost and the cluster forgot the task: the candidate is not at fault
                            lost[tid] = lost.get(tid, 0) + 1
                            self.record["sessions"][-1].setdefault("resubmitted", []).append(tid)
                            self._record_workers(executor, force=True)
                            if lost[tid] > MAX_LOST:
                                raise SearchFailed(f"the cluster lost trial {tid}'s worker {lost[tid]} times in a row; its workers keep "
                                                   f"dying (see {self.folder.path / 'run.json'}: sessions[-1].workers, and the cluster's "
                                                   f"worker logs)", f"fix the workers (memory, walltime), then neurosage search "
                                                   f"{self.folder.path} --resume")
                            log.warning("worker lost, trial %d resubmitted", tid)
                            task_ref[0] = executor.scatter(search.task)  # its copies may have died with the workers
                            pending[submit(tid, str(self.searcher.genotype(vals)))] = (tid, vals)
                            continue
                        except Exception as exc:  # the worker itself failed (not the candidate)
                            record = {"genotype": str(self.searcher.genotype(vals)), "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                        with deferred():  # a signal waits until this trial's bookkeeping is complete
                            self._finish(tid, vals, record, bar, len(pending))
                        _fail_fast(self.outcomes, search.fail_fast, self.folder.path, search.task.training.lr)
                self._record_workers(executor, final=True)  # the cluster as the session ends it: who left, who replaced them
        except BaseException:  # an interrupt or a failure: what finished is already in the trials tables (written per trial)
            bar.close()
            try:
                write_trial_tables(self.journal, self.folder, attrs=self.attrs)
            except Exception as exc:  # e.g. an interrupt that landed inside an import: keep the original error, not this one
                log.warning("the trials tables were not rewritten on the way out (%s: %s); they hold every trial finished before the last one",
                            type(exc).__name__, exc)
            raise
        bar.close()
        return write_trial_tables(self.journal, self.folder, attrs=self.attrs)

    def _finish(self, tid: int, vals: dict[str, Any], record: dict[str, Any], bar: Any, in_flight: int) -> None:
        """A finished trial's bookkeeping: journal row, kept weights, searcher, tables, log line."""
        budget = self.search.budget
        record["tid"] = tid
        blob = record.pop("weights", None)  # bytes: into a file, never into the journal
        loss = -record["score"] if record.get("status") == "ok" else None
        self.journal.append(tid, vals, record, loss, time.time())
        if self.kept.offer(tid, record, blob):
            self._record_weights()
        self.searcher.tell(tid, loss)
        if isinstance(self.searcher, StatefulSearcher):
            self.searcher.save_state(self.folder.searcher_state)
        self.done += 1
        self.outcomes.append(None if loss is not None else record.get("error"))
        if loss is not None:
            self.best = max(self.best, -loss)
        bar.update(1)
        bar.set_postfix(best=f"{self.best:.4f}", status=record["status"])
        self.finished_here += 1
        write_trial_tables(self.journal, self.folder, attrs=self.attrs)  # after every trial: a run you can watch
        per_trial = (time.time() - self.started) / self.finished_here
        log.info("trial %d: %s, score %s; %d/%d done, %d in flight, best %.4f, %.1f s per trial, about %s left",
                 tid, record["status"], f"{-loss:.4f}" if loss is not None else "-", self.done, budget, in_flight, self.best,
                 per_trial, duration_text(per_trial * (budget - self.done)))
        self.watch.add(record["status"], record.get("error"))  # a run where most trials diverged stops here, naming lr

    def close(self) -> None:
        """End the session however it ended: nothing is in flight any more, and the journal file alone is complete."""
        self.folder.clear_in_flight()
        try:
            self.journal.checkpoint()
        except Exception as exc:  # a busy or vanished journal: the WAL is folded in by the next connection
            log.warning("could not checkpoint %s (%s: %s)", self.journal.path, type(exc).__name__, exc)


def _fail_fast(outcomes: list[str | None], k: int, run_dir: Path, lr: float | None = None) -> None:
    """Stop when the first ``k`` trials all failed with the same error (numbers aside)."""
    if len(outcomes) != k or any(o is None for o in outcomes):
        return
    kinds = {re.sub(r"[-+]?\d[\d.e+-]*", "N", str(o)) for o in outcomes}
    if len(kinds) == 1:
        error = str(outcomes[0])
        raise SearchFailed(f"the first {k} trials all failed with the same error: {error}", _hint(error, run_dir, lr))


def _hint(error: str, run_dir: Path, lr: float | None = None) -> str:
    """The likely fix for a trial error."""
    if "CUDA" in error or "cuda" in error:
        return "run on a machine with a GPU, or use the CPU (--device cpu on the command line, device='cpu' in Python)"
    if "Target" in error and "out of bounds" in error:
        return "the labels exceed the number of classes; check the dataset's labels and classes"
    if "loss became" in error or "ended at chance" in error:
        now = "" if lr is None else f" (lr = {lr:g} now; TrainConfig(lr=...))"
        return f"training diverged every time: lower the learning rate{now} or check the input normalisation"
    return f"fix the setting this error names (every trial's error is in {RunFolder(run_dir).trials_csv}), then start a new run folder"


def _settle_vals(journal: Journal, space: SearchSpace, algo: str) -> None:
    """Make sure the journal's ``vals`` are choice indices: mark a new journal, convert an old random search's values."""
    if journal.vals_format() is not None:
        return
    if algo == "random" and (len(journal) or journal.pending()):
        n = journal.convert_vals(lambda vals: to_indices(space, vals))
        log.info("converted %d journal rows of an older random search from chosen values to choice indices", n)
    else:
        journal.mark_vals()
