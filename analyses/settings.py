"""Settings of every command, as plain dataclasses (no torch): the one vocabulary of config keys.

:class:`EmbeddedConfig` (data, teacher, candidate network, seed, device) is the
base of every command's config; :class:`SearchOptions` adds one search's options.
The TOML keys and command-line flags of ``neurosage search``, ``demo`` and
``analyze`` are these field names (``n_blocks`` is ``n-blocks = 3`` in TOML and
``--n-blocks 3`` on the command line); see :func:`neurosage.analyses.config_loading.load_config`.
What the settings mean for the data is in :mod:`neurosage.analyses.embedded`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar

from neurosage.analyses.config_loading import Range, check_settings
from neurosage.core.errors import ConfigError
from neurosage.core.once import warn_once
from neurosage.core.validate import KnownFields
from neurosage.rsa.methods import RDM_METHODS, check_rsa_methods, model_rdm_method
from neurosage.spaces import SearchSpace, get_space, space_for
from neurosage.training.configs import MAX_EPOCHS, NetworkConfig, TrainConfig

__all__ = ["RANGES", "EmbeddedConfig", "SearchOptions", "SearchConfig", "DemoConfig", "refuse_ignored", "is_set", "given_options", "CELL_OPTIONS",
           "EMBEDDED_TEACHER_OPTIONS", "TEACHER_OPTIONS"]

log = logging.getLogger(__name__)

_COUNT, _SOME, _POSITIVE, _NON_NEGATIVE = Range(1), Range(0), Range(0, open_low=True), Range(0)
_EPOCHS = Range(0, MAX_EPOCHS, open_low=True, why=f"an epoch is a pass over the training set, and more than {MAX_EPOCHS} is a run that "
                "would not end (steps given as epochs?)")

#: The valid values of every numeric setting of every command (of each element for lists), checked by
#: :func:`~neurosage.analyses.config_loading.check_settings` whichever way the config was built. A new numeric option must be
#: declared here (a test walks every config class); ``Range()`` says explicitly that any finite number is valid.
RANGES: dict[str, Range] = {
    # counts: at least 1
    **dict.fromkeys(("batch_size", "budget", "candidate_threads", "checkpoints", "filters", "final_steps", "init_step", "max_size",
                     "max_in_flight", "metric_points", "min_size", "n_architectures", "n_blocks", "n_bootstrap", "n_cells", "n_test_per_trial",
                     "n_train", "premature_steps", "premature_steps_grid", "deep_depth", "pool_size", "rerank_filters", "rerank_n_cells",
                     "rerank_steps",
                     "resnet_blocks", "slurm_cores", "slurm_jobs", "start_width", "startup_trials", "teacher_depth", "top_k", "trial_steps",
                     "trials", "uniform_width", "workers", "mature_steps"), _COUNT),
    # may be zero
    "deep_epochs": Range(0, MAX_EPOCHS, why=_EPOCHS.why),
    **dict.fromkeys(("long_subset", "slurm_gpus", "alpha", "alphas", "bn_recalibration", "keep_weights",
                     "n_stem_cells", "repeat_mature", "select_after"), _NON_NEGATIVE),
    # seeds: what numpy's legacy generators and torch's CUDA generator take
    **dict.fromkeys(("seed", "seeds", "second_seed"), Range(0, 2**32 - 1, why="a seed is an unsigned 32-bit integer")),
    "n_val": Range(10, why="P is the accuracy on n-val held-out images: on fewer than 10 it moves in steps of more than 10%, "
                           "and every candidate ties"),
    # positive amounts
    **dict.fromkeys(("final_params", "lr", "rl_learning_rate", "temperature", "width_multiplier"), _POSITIVE),
    # epochs: passes over the training set; more than MAX_EPOCHS is a run that would not end (steps given as epochs?)
    **dict.fromkeys(("long_epochs", "bench_epochs", "final_epochs", "premature_epochs", "premature_epochs_grid", "rerank_epochs",
                     "teacher_epochs"), _EPOCHS),
    "n_stimuli": Range(3),
    "tpe_gamma": Range(0, 1, open_low=True),
    "gamma": Range(0, 1),
    "min_reliability": Range(-1, 1),
}


#: The options a TOML file or the command line gave while a config is being built (:func:`given_options`): given, an option
#: counts as set even at its default value (``algo = "tpe"`` beside ``algorithms = ["rl"]`` is refused, not recorded).
_GIVEN: ContextVar[frozenset[str]] = ContextVar("neurosage_given_options", default=frozenset())


@contextmanager
def given_options(names: Iterable[str]) -> Iterator[None]:
    """Build configs inside this block with ``names`` counted as given by the user (see :func:`refuse_ignored`)."""
    token = _GIVEN.set(frozenset(names))
    try:
        yield
    finally:
        _GIVEN.reset(token)


def is_set(config: Any, name: str) -> bool:
    """Whether the user set option ``name`` of ``config``: away from its class's default, or given by a TOML file or a flag
    (:func:`given_options`). A name the config lacks (or without a default) is not set."""
    from dataclasses import MISSING, fields

    for f in fields(config):
        if f.name == name:
            default = f.default if f.default is not MISSING else f.default_factory() if f.default_factory is not MISSING else MISSING
            return default is not MISSING and (getattr(config, name) != default or name in _GIVEN.get())
    return False


def refuse_ignored(config: Any, names: tuple[str, ...], why: str, fix: str) -> None:
    """Refuse options that ``config`` sets (away from its class's default, or given explicitly by a TOML file or a flag) and that
    another of its settings makes unused.

    The one rule behind "an option that is recorded is an option that applied": ``why`` says which setting ignores
    them (e.g. "algo is 'rl'"), ``fix`` how to go on; the first such option is named with its flag.
    """
    given = [name for name in names if is_set(config, name)]
    if given:
        flag = given[0].replace("_", "-")
        raise ConfigError(f"{flag} is set, but {why}: it would never apply (and run.json would record it as if it had)",
                          fix.replace("{flag}", flag), field=given[0])


def _space_kind(name: Any) -> str | None:
    """``"cell"`` or ``"layers"`` for a registered space's name; None for a name no registry knows (refused where it is used)."""
    from neurosage.core.errors import NeurosageError

    try:
        return str(get_space(name).kind)
    except (NeurosageError, TypeError):
        return None


#: Options of cell networks that layer-wise networks do not have (the reranked networks' N and F included).
CELL_OPTIONS = ("skeleton", "n_stem_cells", "n_blocks", "filters", "n_cells", "rerank_n_cells", "rerank_filters")
#: (option, the option that replaces it when set): while the second is set, the first never applies.
REPLACED_BY = (("premature_steps", "premature_epochs"), ("rerank_steps", "rerank_epochs"), ("final_steps", "final_epochs"),
               *((option, grid) for grid in ("premature_steps_grid", "premature_epochs_grid") for option in ("premature_steps", "premature_epochs")),
               ("premature_steps_grid", "premature_epochs_grid"))
#: Options of the embedded ResNet teacher only.
EMBEDDED_TEACHER_OPTIONS = ("teacher_epochs", "teacher_depth")
#: Every teacher option (a search scored by P alone uses none).
TEACHER_OPTIONS = ("teacher", "teacher_images", "teacher_args", *EMBEDDED_TEACHER_OPTIONS)


@dataclass(frozen=True)
class EmbeddedConfig(KnownFields):
    """Data, teacher, candidate network and device options shared by every command.

    ``dataset``/``data``: a registered image dataset and its folder (None: the
    dataset's default, Debian's path for Fashion-MNIST). ``teacher``: a teacher spec,
    or None for the embedded ResNet teacher (trained ``teacher_epochs`` on the
    training split). ``teacher_args`` go to the teacher's dataset loader (``path``,
    ``stimulus_csv``, ``responses``, ...); ``teacher_images`` (a zip or folder) are the
    recording's stimulus images, paired through the stimulus CSV's ``filename`` column
    (``stimulus_csv``, else ``stimuli``); without them the teacher is shown the first
    ``n_stimuli`` images of the dataset's evaluation split. Candidates are CIFAR-style networks of ``n_cells`` cells per
    stack and ``filters`` initial channels over the ``space`` cell space of ``n_blocks``, built on the
    ``skeleton`` (``cifar``, ``imagenet64``, ``imagenet224``) with ``n_stem_cells`` stem reduction cells
    (None: the skeleton's own; the paper's Table 4 search removed them, 0). With a layer-wise ``space``
    (``layers-10``, ``layers-20``) the candidates are layer-wise networks instead, each layer's filters scaled by
    ``width_multiplier``; the cell options (skeleton, N, F, B, stem cells) do not apply to them.
    """

    #: registered image dataset the candidates train on (`neurosage datasets` lists them)
    dataset: str = "fashion-mnist"
    #: folder holding the dataset's files (default: the dataset's own, e.g. Debian's Fashion-MNIST path)
    data: str | None = None
    #: teacher spec, KIND:... ('+' combines several); default: the embedded ResNet teacher
    teacher: str | None = None
    #: zip or folder of the recording's stimulus images, paired by the stimulus CSV's filename column
    teacher_images: str | None = None
    #: arguments of the teacher's dataset loader (path, stimulus_csv, responses, ...)
    teacher_args: dict[str, Any] = field(default_factory=dict)
    #: epochs the embedded ResNet teacher is trained for (cached in the run folder)
    teacher_epochs: float = 1.0
    #: n of the embedded CIFAR ResNet teacher (6n+2 layers: 1 is ResNet-8, 9 the paper's 54-conv ResNet-56)
    teacher_depth: int = 1
    #: search space: a cell space or a layer-wise space (Zoph & Le 2017)
    space: str = "pnas"
    #: where cell networks put the stem and reductions
    skeleton: str = "cifar"
    #: stem reduction cells of ImageNet skeletons (default: the skeleton's own; 0 drops them during search)
    n_stem_cells: int | None = None
    #: B, blocks per cell of cell spaces
    n_blocks: int = 3
    #: F, the first stack's filters in cell networks
    filters: int = 8
    #: N, normal cells per stack in cell networks
    n_cells: int = 1
    #: layer-wise spaces: every layer's filter count scaled by this (1 = Zoph & Le's)
    width_multiplier: float = 1.0
    #: training images each candidate may see
    n_train: int = 10_000
    #: held-out validation images that measure P
    n_val: int = 1_000
    #: teacher stimuli: the first N images of the evaluation split (default 300; never trained or tested on),
    #: or of a recording's own images (default: all)
    n_stimuli: int | None = None
    #: the one seed every random choice is derived from
    seed: int = 0
    #: torch device of the candidates (cpu, cuda, cuda:N; default cpu)
    device: str | None = None
    #: how patterns become RDMs, for teacher and candidates (a registered RDM method, neurosage.rsa.methods)
    rdm_method: str = "correlation"
    #: how candidate RDMs are compared with the teacher's (a registered comparison; rsatoolbox's spellings accepted)
    compare_method: str = "pearson"

    #: The contract of every command's config: inherited options this command does not use -> (why, fix). Set away from
    #: their default they are refused by :func:`refuse_ignored` ("{flag}" in the fix names the option), never recorded.
    UNUSED: ClassVar[dict[str, tuple[str, str]]] = {}

    def __post_init__(self) -> None:
        check_settings(self, RANGES)
        for name, (why, fix) in self.UNUSED.items():
            refuse_ignored(self, (name,), why, fix)
        for replaced, by in REPLACED_BY:
            if getattr(self, by, None) not in (None, ()):
                refuse_ignored(self, (replaced,), f"{by.replace('_', '-')} is set and replaces it",
                               f"give one of them: drop {{flag}} or {by.replace('_', '-')}")
        seeds = getattr(self, "seeds", None)
        if seeds and self.seed not in seeds and is_set(self, "seed"):  # the searches run with seeds; seed seeds the teacher and splits
            raise ConfigError(f"seed = {self.seed} is not among seeds = {list(seeds)}: the searches run with seeds, and seed would only "
                              "seed the teacher and the data split (run.json would record it as the comparison's seed)",
                              f"add {self.seed} to seeds, or drop seed", field="seed")
        if (self.teacher_args or self.teacher_images) and not self.teacher:
            given = "teacher arguments" if self.teacher_args else "teacher images"
            raise ConfigError(f"{given} were given without a teacher spec, so they would be ignored (the embedded ResNet teacher would be "
                              "used)", "add --teacher SPEC (e.g. brain:MajajHong2015:V4,IT), or drop them", field="teacher")
        if self.teacher and isinstance(self.teacher, str):  # the embedded teacher's options beside another teacher (its kinds said first)
            from neurosage.teachers.kinds import check_teacher_kinds

            check_teacher_kinds(self.teacher)
            refuse_ignored(self, EMBEDDED_TEACHER_OPTIONS, f"the teacher is {self.teacher!r}, not the embedded ResNet teacher that it trains",
                           "drop {flag} (a net: teacher is trained as its weights file was; neurosage search --help lists the teacher "
                           "kinds under --teacher)")
        workers = getattr(self, "workers", 1)
        if getattr(self, "scheduler", None) and isinstance(workers, int) and workers > 1:  # every command with both
            raise ConfigError(f"--scheduler names a running cluster and --workers {workers} would start another; only one can run the "
                              "candidates", f"give one of them: --scheduler ADDRESS (its workers' threads set how many run at once) or "
                              f"--workers {workers}", field="workers")
        spaces = tuple(getattr(self, "spaces", None) or (self.space,))  # a comparison searches its spaces, not space
        if spaces and all(_space_kind(name) == "layers" for name in spaces):
            shown = f"space {spaces[0]!r} is" if len(spaces) == 1 else f"spaces {', '.join(map(repr, spaces))} are"
            refuse_ignored(self, CELL_OPTIONS, f"{shown} layer-wise (their networks have no cells)",
                           "drop {flag} (a layer-wise network's width is width-multiplier), or search a cell space such as pnas")
        rdm, compare = check_rsa_methods(self.rdm_method, self.compare_method)
        if RDM_METHODS.get(rdm).needs_repetitions and isinstance(self.teacher, str | None):
            from neurosage.teachers.kinds import check_teacher_kinds

            kinds = check_teacher_kinds(self.teacher) if self.teacher else ["the embedded ResNet"]
            if not {"brain", "sim"} & set(kinds):  # no recording, no repetitions: every RDM would be the method for models
                raise ConfigError(f"rdm-method {rdm!r} is computed from a recording's repeated trials, and this search's teacher "
                                  f"({self.teacher or 'the embedded ResNet'}) and candidates are networks, with one response per "
                                  f"stimulus: every RDM would be {model_rdm_method(rdm)}", f"set rdm-method {model_rdm_method(rdm)} (the "
                                  "same RDMs, recorded as they are), or use a brain: teacher recorded with repetitions", field="rdm_method")
        object.__setattr__(self, "rdm_method", rdm)
        object.__setattr__(self, "compare_method", compare)

    @property
    def network(self) -> NetworkConfig:
        """The candidates' network during search (``n_stem_cells=0`` drops the ImageNet stem reduction cells)."""
        return NetworkConfig(self.skeleton, self.n_cells, self.filters, self.n_stem_cells, self.width_multiplier)

    @property
    def search_space(self) -> SearchSpace:
        """The registered ``space`` (cells of ``n_blocks`` blocks, layer-wise, or a plug-in's)."""
        return space_for(self.space, self.n_blocks)


@dataclass(frozen=True)
class SearchOptions(KnownFields):
    """Options of one search: budget, algorithm, objective, premature training, TPE settings.

    ``tpe_gamma`` is hyperopt's TPE split: ceil(gamma * sqrt(n)) trials form the "good"
    density. Its default, 0.25, keeps only the single best trial while n <= 16, so small
    searches whose scores agree on the best trial propose identical cells; 1.0 lets the
    ranking of the top few trials matter at small budgets. ``startup_trials`` random
    trials come first; None scales them to the budget (a quarter of it, 2 to 20), so a small
    search is not a random search.
    """

    #: number of trials of each search
    budget: int = 12
    #: searcher (plug-ins included)
    algo: str = "tpe"
    #: what the search maximises: p, tg or p+tg (= P + alpha * TG)
    objective: str = "p+tg"
    #: weight of TG in p+tg
    alpha: float = 1.0
    #: SGD steps of each candidate's premature training
    premature_steps: int = 20
    #: premature training as a fraction of an epoch (e.g. the paper's 0.2); replaces premature-steps
    premature_epochs: float | None = None
    #: training batch size
    batch_size: int = 64
    #: TPE: random trials before the model (default: a quarter of the budget, 2 to 20)
    startup_trials: int | None = None
    #: TPE: ceil(gamma * sqrt(n)) trials form the 'good' density
    tpe_gamma: float = 1.0
    #: training batches whose statistics replace the BatchNorm running statistics before P and TG are measured (0: off)
    bn_recalibration: int = 10
    #: torch CPU threads per candidate, the same inline and on every worker, so scores do not depend on the executor
    candidate_threads: int = 1
    #: trials whose weights are kept in RUN/weights (for neurosage export brainscore): the best K so far; 0 none;
    #: default the top-k the analysis retrains (1 for a search)
    keep_weights: int | None = None

    def __post_init__(self) -> None:
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:
            parent()
        objectives = tuple(getattr(self, "objectives", None) or ())  # a comparison scores its objectives, not objective
        if objectives and all(o == "p" for o in objectives):
            refuse_ignored(self, ("alpha", "rdm_method", "compare_method", *TEACHER_OPTIONS), "every objective is 'p' (P alone: no teacher "
                           "is used)", "drop {flag}, or add the objective p+tg")
        elif objectives and "p+tg" not in objectives:
            refuse_ignored(self, ("alpha",), f"no objective weighs TG against P (objectives {list(objectives)})", "drop {flag}, or add p+tg")
        elif not hasattr(self, "objectives") and "objective" not in getattr(self, "UNUSED", {}):  # one search by one objective (search, cell_search)
            if self.objective == "p":  # P alone: no teacher is built, TG is not scored
                refuse_ignored(self, ("alpha", "rdm_method", "compare_method", *TEACHER_OPTIONS),
                               "objective is 'p' (P alone: no teacher is built, no RDM is computed and TG is not scored)",
                               "drop {flag}, or search with --objective p+tg (P + alpha TG) to use the teacher")
            elif self.objective == "tg":
                refuse_ignored(self, ("alpha",), "objective is 'tg' (TG alone, not weighted against P)",
                               "drop {flag}, or search with --objective p+tg")
        algorithms = tuple(getattr(self, "algorithms", None) or (self.algo,))  # a comparison runs its algorithms, not algo
        if "tpe" not in algorithms:  # TPE's own options, for every command with a search (search, demo, analyses)
            refuse_ignored(self, ("startup_trials", "tpe_gamma"), f"algo is {', '.join(map(repr, algorithms))}, not the TPE searcher they "
                           "belong to", "drop {flag}, or search with --algo tpe")
        budget = getattr(self, "budget", None)
        if "tpe" in algorithms and isinstance(self.startup_trials, int) and isinstance(budget, int) and self.startup_trials >= budget:
            warn_once(log, ("startup covers the budget", self.startup_trials, budget), "startup-trials = %d is at least budget = %d: every "
                      "trial is a random start-up draw and TPE's model is never used (a random search, recorded as tpe); give "
                      "startup-trials below the budget for TPE to model the trials", self.startup_trials, budget)

    def n_startup(self) -> int:
        """TPE's random start-up trials: ``startup_trials``, or a quarter of the budget (2 to 20)."""
        return self.startup_trials if self.startup_trials is not None else max(2, min(20, self.budget // 4))

    def searcher_kwargs(self, algo: str | None = None) -> dict[str, Any] | None:
        """Options for :func:`neurosage.search.make_searcher` (TPE's; none for the others)."""
        return {"n_startup_jobs": self.n_startup(), "gamma": self.tpe_gamma} if (algo or self.algo) == "tpe" else None

    @property
    def premature(self) -> TrainConfig:
        """Premature training: ``premature_epochs`` (a fraction of an epoch, e.g. the paper's 0.2) when set, else steps."""
        if self.premature_epochs is not None:
            return TrainConfig(epochs=self.premature_epochs, batch_size=self.batch_size, bn_recalibration=self.bn_recalibration)
        return TrainConfig(steps=self.premature_steps, batch_size=self.batch_size, bn_recalibration=self.bn_recalibration)


@dataclass(frozen=True)
class SearchConfig(SearchOptions, EmbeddedConfig):
    """``neurosage search``: one search; ``premature_epochs`` (a fraction of an epoch), when set, replaces
    ``premature_steps``; ``workers`` > 1 starts a Dask LocalCluster, ``scheduler`` uses a running one, where as many
    candidates run at once as its workers have threads (asked again before every proposal), unless ``max_in_flight``
    caps it; ``dashboard`` (e.g. ``":8787"``) opens the LocalCluster's Dask dashboard and logs its address."""

    n_blocks: int = 5
    budget: int = 20
    premature_steps: int = 30
    tpe_gamma: float = 0.25
    #: concurrent candidates; more than 1 starts a Dask LocalCluster
    workers: int = 1
    #: address of a running Dask scheduler to evaluate candidates on (as many at once as its workers have threads)
    scheduler: str | None = None
    #: candidates evaluated at once (default: 1 in this process, workers on a LocalCluster, the threads of a scheduler's workers)
    max_in_flight: int | None = None
    #: Dask dashboard address of the LocalCluster started by --workers (e.g. ":8787"); logged
    dashboard: str | None = None
    #: Slurm worker jobs to run candidates in (a dask-jobqueue SLURMCluster kept at this many jobs; closed at the end)
    slurm_jobs: int | None = None
    #: Slurm partition of the worker jobs (default: the site's jobqueue.yaml queue, else Slurm's default partition)
    slurm_partition: str | None = None
    #: cores of each Slurm job, each running as many candidates at once (default: the site's jobqueue.yaml, else 1)
    slurm_cores: int | None = None
    #: memory of each Slurm job, e.g. 4GB (default: the site's jobqueue.yaml, else 4GB)
    slurm_memory: str | None = None
    #: walltime of each Slurm job, e.g. 01:00:00; a job that ends is replaced (default: the site's jobqueue.yaml, else 01:00:00)
    slurm_walltime: str | None = None
    #: GPUs per Slurm job (--gres=gpu:N; 0: none)
    slurm_gpus: int = 0
    #: extra #SBATCH directives of each job, e.g. ["--account=lab", "--qos=short"]
    slurm_extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.slurm_extra, str) or not all(isinstance(d, str) for d in self.slurm_extra):
            raise ConfigError(f"slurm-extra must be a list of #SBATCH directives, got {self.slurm_extra!r}", "write it as a list, e.g. "
                              "slurm_extra=('--qos=debug',) in Python, slurm-extra = [\"--qos=debug\"] in TOML", field="slurm_extra")
        if self.slurm_jobs is None:
            from dataclasses import fields as config_fields

            set_without_jobs = [f.name for f in config_fields(self) if f.name.startswith("slurm_") and f.name != "slurm_jobs"
                                and getattr(self, f.name) not in (f.default, None)]
            if set_without_jobs:
                name = set_without_jobs[0].replace("_", "-")
                raise ConfigError(f"{name} is set but slurm-jobs is not, so the search would run here, not on Slurm",
                                  "add --slurm-jobs N (or jobs = N in the [slurm] table), or drop the slurm options", field="slurm_jobs")
        if self.slurm_gpus and not str(self.device or "cpu").startswith("cuda"):  # GPUs asked of Slurm that no candidate would use
            raise ConfigError(f"slurm-gpus = {self.slurm_gpus} asks each Slurm job for GPUs, and device is {self.device or 'cpu'!r}: the candidates "
                              "would train on the CPU", "add --device cuda, or drop --slurm-gpus", field="slurm_gpus")

    @property
    def slurm(self):
        """The :class:`~neurosage.search.slurm.SlurmOptions` of ``slurm_*``, or None without ``slurm_jobs``."""
        if self.slurm_jobs is None:
            return None
        from dataclasses import fields as option_fields

        from neurosage.search.slurm import SlurmOptions

        return SlurmOptions(**{f.name: getattr(self, f"slurm_{f.name}") for f in option_fields(SlurmOptions)})


@dataclass(frozen=True)
class DemoConfig(SearchOptions, EmbeddedConfig):
    """``neurosage demo``: two searches (P + alpha TG, and P) of ``budget`` trials; winners trained ``mature_steps``."""

    UNUSED: ClassVar[dict[str, tuple[str, str]]] = {
        "objective": ("the demo always runs one search by P + alpha TG and one by P, and compares them",
                      "leave out {flag} (or run neurosage search RUN --objective ... for one search)")}

    budget: int = 8
    premature_steps: int = 30
    #: training steps of each search's best-so-far cells, for mature accuracy
    mature_steps: int = 150
    n_blocks: int = 5
    #: concurrent candidates of each search; more than 1 starts a Dask LocalCluster
    workers: int = 1
    #: address of a running Dask scheduler: the searches' candidates and the mature trainings run on its workers
    scheduler: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.alpha == 0:
            raise ConfigError("alpha = 0 makes the demo's P + alpha TG search the same search as its P search: their comparison would "
                              "mean nothing", "give alpha > 0 (e.g. 1, the default)", field="alpha")
        if self.keep_weights == 0:
            raise ConfigError("keep-weights = 0, and the demo compares the P+TG winner (its kept weights) with the teacher's controls",
                              "leave keep-weights out (the demo keeps each search's best trial), or give 1 or more", field="keep_weights")
        premature = self.premature_steps if self.premature_epochs is None else math.ceil(self.premature_epochs * self.n_train / self.batch_size)
        if self.mature_steps <= premature:
            raise ConfigError(f"mature-steps = {self.mature_steps} is no longer than the searches' premature training ({premature} steps): the "
                              "demo's mature accuracy would be as premature as the scores it judges", f"give mature-steps above {premature} "
                              "(default 150), or shorten the premature training", field="mature_steps")
