"""Subcommands of the ``neurosage`` CLI; each registers itself on the parser.

Options of ``search`` and ``demo`` are generated from their config classes
(:mod:`neurosage.analyses.settings`), so flags, TOML keys and the run folder's
``config.json`` share one vocabulary. Heavy imports happen inside the command
functions, so ``neurosage --help`` and ``neurosage datasets`` import no torch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import MISSING, asdict, fields, replace
from pathlib import Path

from neurosage.analyses.config_loading import field_docs, field_types, load_config
from neurosage.analyses.settings import DemoConfig, SearchConfig
from neurosage.core.errors import ConfigError, DataFormatError, RunFolderError
from neurosage.core.extras import require_extra
from neurosage.runs.folder import RunFolder
from neurosage.runs.provenance import jsonable

__all__ = ["REGISTRY", "command", "add_config_flags", "config_from_args"]

log = logging.getLogger(__name__)

REGISTRY: list[Callable[[argparse._SubParsersAction], None]] = []


#: Config keys whose values are names in a registry: ``key -> (module, registry attribute)``; their help lists the names.
REGISTRY_KEYS = {
    "algo": ("neurosage.search", "SEARCHERS"),
    "space": ("neurosage.spaces", "SPACES"),
    "skeleton": ("neurosage.nets", "SKELETONS"),
    "dataset": ("neurosage.data_adapters.registry", "DATASETS"),
    "teacher": ("neurosage.teachers", "TEACHER_KINDS"),
    "rdm_method": ("neurosage.rsa.methods", "RDM_METHODS"),
    "compare_method": ("neurosage.rsa.methods", "COMPARE_METHODS"),
}


def registry_names(module: str, attribute: str, **meta: str) -> list[str]:
    """The names registered in ``module.attribute`` (listing imports no torch)."""
    import importlib

    return getattr(importlib.import_module(module), attribute).names(**meta)


def _choices(key: str) -> str:
    if key not in REGISTRY_KEYS:
        return ""
    names = registry_names(*REGISTRY_KEYS[key], **({"kind": "images"} if key == "dataset" else {}))
    return f"; {'kinds' if key == 'teacher' else 'one of'}: {', '.join(names)}"


def command(register: Callable[[argparse._SubParsersAction], None]) -> Callable[[argparse._SubParsersAction], None]:
    """Add a subcommand registration function to the CLI."""
    REGISTRY.append(register)
    return register


def add_config_flags(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """One ``--key`` flag per scalar field of config class ``cls`` (defaults None: the TOML file or the class decide)."""
    types, docs = field_types(cls), field_docs(cls)
    for f in fields(cls):
        kind = types[f.name]
        if f.name in skip or kind in (tuple, dict):
            continue
        default = f.default if f.default is not MISSING else None
        doc = docs.get(f.name, f.name.replace("_", " "))
        help_text = f"{doc}{_choices(f.name)}" + ("" if "default" in doc else f" (default {default})")
        flag = "--" + f.name.replace("_", "-")
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            parser.add_argument(flag, type=kind, default=None, metavar=f.name.upper(), help=help_text)


def add_teacher_arg_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--teacher-arg", action="append", default=None, metavar="KEY=VALUE",
                        help="argument of the teacher's dataset loader, e.g. path=assy.nc or stimulus_csv=stimuli.csv (repeatable)")


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``low`` (argparse reports anything else as the flag's error)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below {low}; give an integer of at least {low}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def none_or_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: 0 (none), or an integer of at least ``low`` (e.g. bootstrap resamples: a few cannot make an interval)."""
    more = at_least(low)

    def parse(text: str) -> int:
        if text.strip() == "0":
            return 0
        try:
            return more(text)
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"{exc}, or 0 for none") from None

    parse.__name__ = f"0 or integer >= {low}"
    return parse


def teacher_args(args: argparse.Namespace) -> dict[str, str]:
    """The ``--teacher-arg KEY=VALUE`` flags as a dict (refusing malformed ones)."""
    pairs = [item.partition("=") for item in getattr(args, "teacher_arg", None) or []]
    bad = [key for key, eq, _ in pairs if not eq or not key]
    if bad:
        raise ConfigError(f"--teacher-arg {bad[0]!r} is not KEY=VALUE", "write e.g. --teacher-arg path=assy.nc", field="teacher_args")
    keys = [key for key, _, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:  # a dict would keep the last without a word
        raise ConfigError(f"--teacher-arg {twice[0]}= is given {keys.count(twice[0])} times; the loader takes one value",
                          f"give {twice[0]}= once", field="teacher_args")
    return {key: value for key, _, value in pairs}


def config_from_args(cls: type, args: argparse.Namespace, base: dict | None = None):
    """``cls`` from its defaults, then ``base``, then ``--config`` (TOML), then the flags given."""
    keys = {f.name for f in fields(cls)}
    base = {k: v for k, v in (base or {}).items() if k in keys}
    flags = {k: v for k, v in vars(args).items() if k in keys}
    if getattr(args, "teacher_arg", None):
        flags["teacher_args"] = {**base.get("teacher_args", {}), **teacher_args(args)}
    return load_config(cls, getattr(args, "config", None), base=base, **flags)


@command
def _datasets(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list registered datasets and what each needs")
    p.add_argument("pattern", nargs="?", default="*", help="glob on dataset names")
    p.set_defaults(func=_run_datasets)


def _run_datasets(args: argparse.Namespace) -> int:
    from neurosage.data_adapters.registry import list_datasets

    entries = list_datasets(args.pattern)
    if not entries:
        import difflib

        names = [e.name for e in list_datasets()]
        typed = args.pattern.strip("*?").casefold()
        close = [n.casefold() for n in names if typed and n.casefold().startswith(typed)] or difflib.get_close_matches(
            typed, [n.casefold() for n in names], n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(n for n in names if n.casefold() in close)}?)" if close else ""
        print(f"neurosage datasets: error: no dataset matches {args.pattern!r}{hint}; fix: "
              f"neurosage datasets lists all {len(names)}", file=sys.stderr)
        return 2
    from neurosage.data_adapters.registry import loader_parameters

    for e in entries:
        print(f"{e.name:16s} [{e.kind}] {e.description}")
        if len(entries) == 1 or args.pattern == e.name:
            print(f"{'':19s}arguments: {'; '.join(loader_parameters(e))}")
        for need in e.needs:
            print(f"{'':19s}needs: {need}")
        if e.citation:
            print(f"{'':19s}cite:  {e.citation}")
    return 0


@command
def _demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="small P+TG vs P search on Fashion-MNIST (the embedded default)")
    p.add_argument("--run-dir", default="runs/demo")
    p.add_argument("--config", help="TOML file with any of the options below (flags override it)")
    add_config_flags(p, DemoConfig)
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from neurosage.analyses.demo import run_demo

    config = config_from_args(DemoConfig, args)
    demo_dir = RunFolder(args.run_dir)
    if demo_dir.has_journal():
        raise RunFolderError(f"{demo_dir.path} holds a search (journal.sqlite); the demo writes two searches of its own beside their summary",
                             "give the demo another --run-dir", file=demo_dir.path)
    demo_dir.refuse_foreign("the demo's run folder")
    if config.workers > 1:
        require_extra("distributed", f"--workers {config.workers}", field="workers")
    client = _scheduler(config.scheduler) if config.scheduler else None  # reachable before any data or teacher work
    run_demo(args.run_dir, config, client=client)
    from neurosage.figures import demo_summary

    print(f"  picture: {demo_summary.make(args.run_dir, args.run_dir)[0]}")
    print(f"results in {args.run_dir}/ (summary.json, search-*/trials.csv, journal.sqlite)")
    return 0


@command
def _search_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search", help=f"teacher-guided architecture search ({', '.join(registry_names(*REGISTRY_KEYS['algo']))} over "
        f"{', '.join(registry_names(*REGISTRY_KEYS['space']))}; scored by P, TG or P+alpha*TG)",
    )
    p.add_argument("run_dir", help="run folder (created; with --resume, continued)")
    p.add_argument("--config", help="TOML file with any of the options below (flags override it)")
    p.add_argument("--resume", action="store_true", help="continue a killed search in RUN_DIR")
    add_config_flags(p, SearchConfig)
    p.add_argument("--slurm-extra", action="append", default=None, metavar="DIRECTIVE",
                   help="an extra #SBATCH directive of each Slurm job, e.g. --slurm-extra=--account=lab (repeatable)")
    add_teacher_arg_flag(p)
    p.set_defaults(func=_run_search)


def _run_search(args: argparse.Namespace) -> int:
    from neurosage.analyses.embedded import check_config

    folder = RunFolder(args.run_dir)
    run_dir = folder.path
    # a resumed search starts from the settings recorded in its run folder; flags may change only RESUMABLE ones (budget, executor)
    base = folder.resume_settings() if args.resume else None
    if base and base.get("slurm_jobs") and args.slurm_jobs is None and (args.scheduler or (args.workers or 0) >= 1):
        # the executor may change on resume: another one given for a search that ran on Slurm replaces the Slurm settings
        base = {k: v for k, v in base.items() if not k.startswith("slurm_")}
    if base:  # a flag that changes a recorded setting is the first thing to say (before checks of the merged settings)
        from neurosage.analyses.config_loading import config_file_values

        toml = config_file_values(SearchConfig, args.config) if args.config else {}  # the TOML's settings are given too
        given = {f.name: getattr(args, f.name) if getattr(args, f.name, None) is not None else toml.get(f.name)
                 for f in fields(SearchConfig)}
        given = {k: v for k, v in given.items()  # data: a moved folder is followed (checked by its images)
                 if v is not None and k in base and k != "data"}
        folder.refuse_changed_settings(jsonable({**base, **given}))
    config = config_from_args(SearchConfig, args, base=base)
    check_config(config)  # settings that cannot work leave no run folder behind
    from neurosage.search.driver import check_executor

    slurm = config.slurm  # slurm options without slurm-jobs were refused when the config was made (SearchConfig)
    if slurm is not None:
        require_extra("slurm", f"--slurm-jobs {slurm.jobs}", field="slurm_jobs")
    if not args.resume:  # before any data, teacher or Slurm work: a finished search is never trained over
        folder.refuse_existing(resume_hint="pass --resume to continue it")
        folder.refuse_foreign("a search's run folder")
    if slurm is not None and (config.scheduler or config.workers > 1):
        raise ConfigError("--slurm-jobs starts its own cluster, and " + ("--scheduler" if config.scheduler else f"--workers {config.workers}")
                          + " names another", "give one executor: --slurm-jobs N, --scheduler ADDRESS or --workers N", field="slurm_jobs")
    check_executor(config.workers, config.scheduler is not None or slurm is not None, config.max_in_flight, None if slurm else config.dashboard)
    client = _scheduler(config.scheduler) if config.scheduler else None  # reachable before any data or teacher work
    fresh = not run_dir.exists()
    try:
        with folder.lock(), contextlib.ExitStack() as stack:  # the lock before the data and the teacher: a second driver is refused at once
            if slurm is not None:  # submitted (and checked with sbatch --test-only) before any data or teacher work
                from neurosage.search.slurm import slurm_client

                client = stack.enter_context(slurm_client(slurm, folder.slurm_dir, config.dashboard))
            return _search(run_dir, replace(config, dashboard=None) if slurm is not None else config, args.resume, client)
    except ConfigError as exc:
        if fresh and exc.field is not None and exc.field.startswith(("slurm", "jobqueue")):  # a setting Slurm refuses leaves no run folder behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    finally:
        if fresh:  # a start that failed before it wrote anything (a teacher file refused) leaves no empty folder to be taken for a run
            _remove_if_empty(run_dir)


def _remove_if_empty(folder: Path) -> None:
    """Delete ``folder`` when it and its sub-folders hold no file (nothing of a run is lost)."""
    if not folder.is_dir() or any(p.is_file() or p.is_symlink() for p in folder.rglob("*")):
        return
    with contextlib.suppress(OSError):  # something written meanwhile (another process) stays
        for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            sub.rmdir()
        folder.rmdir()


def _scheduler(address: str):
    """A Dask client of the scheduler at ``address``, or one error naming it (within 10 s, before any other work)."""
    require_extra("distributed", "--scheduler", field="scheduler")
    from distributed import Client

    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {address!r} ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})",
                          "start it (dask scheduler) and give its address, e.g. --scheduler tcp://host:8786", field="scheduler") from None


def _search(run_dir: Path, config: SearchConfig, resume: bool, client) -> int:
    from neurosage.analyses.embedded import embedded_setup
    from neurosage.search.driver import run_search
    from neurosage.search.weights import weights_to_keep

    setup = embedded_setup(config, run_dir, with_teacher=config.objective != "p")
    task = setup.task(config.network, config.premature, config.objective, config.alpha, config.device, config.candidate_threads)
    result = run_search(
        run_dir, config.search_space, task, budget=config.budget, algo=config.algo, seed=config.seed,
        workers=config.workers, client=client, resume=resume, config=asdict(config), locked=True,
        searcher_kwargs=config.searcher_kwargs(), max_in_flight=config.max_in_flight, dashboard=config.dashboard,
        keep_weights=weights_to_keep(config.keep_weights),
    )
    best = result.best
    print(f"best of {len(result.trials)} trials: score {best.score:.4f} P {best.P:.4f}\n  {best.genotype}")
    print(f"examples processed: {result.total_examples}; results in {run_dir}")
    return 0


@command
def _rdm(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rdm", help="model-teacher RDM comparison: the RDMs, layers x endpoints similarity, scores and plots")
    p.add_argument("model", help="torchvision name, cifar_resnet-<n>, a genotype string ('normal: ...' or 'layers: ...'), or a search's run "
                   "folder (its best kept trial, or --trial N; built as the search built it, with its weights and input)")
    p.add_argument("--trial", type=at_least(0), default=None, metavar="N", help="with a search's run folder: the kept trial to compare "
                   "(default the best)")
    p.add_argument("--teacher", default=None, help="teacher spec, e.g. 'brain:MajajHong2015:V4,pIT,aIT' or 'net:cifar_resnet-1:stack1,stack3:w.pt'")
    p.add_argument("--list-layers", action="store_true", help="print the model's layer names and exit")
    p.add_argument("--layers", default=None, help="comma-separated model layers (default: every cell of a genotype)")
    p.add_argument("--weights", default=None, help="state-dict file, a torchvision weights name (default DEFAULT, from the torch cache) or 'random'")
    p.add_argument("--data", default=None, help="Fashion-MNIST folder (default stimuli: its first --n-stimuli test images)")
    p.add_argument("--stimuli", default=None, help="stimulus-set CSV (with --images) instead of Fashion-MNIST")
    p.add_argument("--images", default=None, help="stimulus images folder or zip")
    p.add_argument("--n-stimuli", type=at_least(3), default=None, help="stimuli used: the first N of the set (default 300)")
    p.add_argument("--size", type=at_least(1), default=None, help="resize stimuli to this many pixels")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None, help="convert stimuli to 1 or 3 channels")
    p.add_argument("--out", default="runs/rdm", help="folder for teacher_rdms.nc, model_rdms.nc, similarity.csv, scores.csv, "
                   "summary.json and the plots similarity, rdms and mds (.png and .pdf)")
    from neurosage.rsa.methods import COMPARE_METHODS, RDM_METHODS, bootstrap_methods, methods_help

    p.add_argument("--bootstrap", type=none_or_at_least(10), default=None, metavar="N",
                   help="bootstrap samples of the stimuli for the 95%% intervals of S_i and TG (0: none, else at least 10; default 1000 "
                   "for the comparisons that "
                   f"offer intervals: {', '.join(bootstrap_methods())}; none for the others)")
    p.add_argument("--rdm-method", default="correlation", help=f"how patterns become RDMs: {methods_help(RDM_METHODS)}")
    p.add_argument("--compare-method", default="pearson", help=f"how RDMs are compared: {methods_help(COMPARE_METHODS)}")
    p.add_argument("--device", default=None)
    add_teacher_arg_flag(p)
    p.set_defaults(func=_run_rdm)


def _stimuli(args: argparse.Namespace, run: Path | None = None):
    """The stimulus images of the ``rdm`` command: a stimulus set, or the embedded default's teacher stimuli (of a search's
    run folder: the search's dataset, data folder and number of stimuli unless given)."""
    if bool(args.stimuli) != bool(args.images):
        given, missing = ("--stimuli", "--images") if args.stimuli else ("--images", "--stimuli")
        raise ConfigError(f"{given} needs {missing} (a stimulus set is its CSV and its images)",
                          "pass both --stimuli CSV and --images FOLDER_OR_ZIP, or neither for the Fashion-MNIST stimuli", field=missing.strip("-"))
    if args.stimuli and args.data:
        raise ConfigError("--data and --stimuli both give stimuli", "pass --stimuli with --images, or --data, not both", field="data")
    if args.stimuli:
        from neurosage.data_adapters.images import load_stimulus_images

        stimuli = load_stimulus_images(args.stimuli, args.images, size=args.size, channels=args.channels, mean=0.5, std=0.25)
        if args.n_stimuli is None:  # not given: the first 300, said when the set has more
            if len(stimuli) > 300:
                log.warning("the first 300 of the %d stimuli are used (--n-stimuli N for another number)", len(stimuli))
            return stimuli.subset(range(min(300, len(stimuli))))
        if args.n_stimuli > len(stimuli):
            log.warning("--n-stimuli %d, but the stimulus set has %d images: all %d are used", args.n_stimuli, len(stimuli), len(stimuli))
        return stimuli.subset(range(min(args.n_stimuli, len(stimuli))))
    from neurosage.analyses.embedded import teacher_stimuli
    from neurosage.analyses.settings import EmbeddedConfig

    recorded = RunFolder(run).settings() if run is not None else {}  # a search's trial: the search's own data and stimuli by default
    data = args.data if args.data is not None else recorded.get("data")
    n_stimuli = args.n_stimuli if args.n_stimuli is not None else recorded.get("n_stimuli") or 300
    dataset = recorded.get("dataset") or "fashion-mnist"
    if recorded:
        log.info("stimuli: the first %d images of %s (%s), as the search %s", n_stimuli, dataset, data or "its default folder",
                 "used" if args.data is None else "used, from the folder given")
    try:
        stimuli = teacher_stimuli(EmbeddedConfig(dataset=dataset, data=data, n_stimuli=n_stimuli))
    except DataFormatError as exc:
        if not (recorded and args.data is not None):
            raise
        raise DataFormatError(f"{exc.problem} (--data replaces the folder of the search's dataset, {dataset}, which it read from "
                              f"{recorded.get('data') or 'its default folder'})", f"give --data a folder of {dataset} data, or leave --data out to "
                              "use the search's own", file=exc.file, field="data") from None
    conversion = {k: v for k, v in (("size", args.size), ("channels", args.channels)) if v is not None}
    return stimuli.with_conversion(**conversion) if conversion else stimuli


def _run_rdm(args: argparse.Namespace) -> int:
    from neurosage.analyses.model_comparison import RDM_OUTPUTS, check_out, compare_model
    from neurosage.rsa.methods import check_bootstrap, check_rsa_methods
    from neurosage.training.devices import check_device

    check_device(args.device)  # before the teacher is built (torch's own words otherwise)
    run = Path(args.model) if Path(args.model).is_dir() else None
    if args.trial is not None and run is None:
        raise ConfigError(f"--trial {args.trial} needs a search's run folder as the model, but {args.model!r} is not a folder",
                          "give the search's folder: neurosage rdm RUN_DIR --trial N --teacher SPEC", field="trial")
    if args.list_layers:
        return _list_layers(args, run)
    if run is not None:
        from neurosage.search.weights import kept_trial

        kept_trial(run, args.trial)  # a wrong folder or trial is refused before anything else
    if not args.teacher:
        hint = "pass --teacher SPEC (e.g. 'brain:MajajHong2015:V4,IT' or 'net:cifar_resnet-1:stack3:teacher.pt')"
        if run is not None:
            settings = RunFolder(run).settings()
            spec, kept = settings.get("teacher"), sorted((run / "teacher").glob("teacher-*.pt"))
            if spec:
                hint += f"; this search's teacher was --teacher {spec!r}"
            elif kept:
                hint += (f"; this search used the embedded ResNet teacher, whose weights are kept: --teacher "
                         f"'net:cifar_resnet-{settings.get('teacher_depth') or 1}:stack1,stack2,stack3:{kept[-1]}'")
            else:
                hint += (f"; this search used the embedded ResNet teacher, and its weights are gone from {run / 'teacher'} (no "
                         "teacher-*.pt): give another teacher, or a copy of the run folder that still has them")
        raise ConfigError("no teacher given", hint, field="teacher")
    args.rdm_method, args.compare_method = check_rsa_methods(args.rdm_method, args.compare_method)  # before any data is read
    if args.bootstrap:
        check_bootstrap(args.compare_method)
    out = check_out(args.out)
    if args.weights is not None and run is not None:
        raise ConfigError("--weights was given with a search's run folder, whose trial has its own kept weights",
                          "drop --weights: the run folder and --trial build the trial's network with the search's settings and load "
                          "its kept weights", field="weights")
    stimuli = _stimuli(args, run)
    result = compare_model(
        None if run else args.model, args.teacher, stimuli, run=run, trial=args.trial, weights=args.weights,
        layers=args.layers.split(",") if args.layers else None, convert=args.size is None and args.channels is None,  # the user's conversion wins
        n_bootstrap=args.bootstrap, rdm_method=args.rdm_method, compare_method=args.compare_method, cache_dir=out / "cache",
        teacher_args=teacher_args(args), device=args.device)
    check_out(out, identity=result.identity)  # another comparison's outputs are refused before any is deleted
    for stale in RDM_OUTPUTS - {"cache"}:  # an earlier comparison's files (e.g. its category figures) never stay beside these
        (out / stale).unlink(missing_ok=True)
    paths = result.save(out) + result.plot(out)
    _print_scores(f"{result.model}: {result.weights}", result.teacher, result.scores)
    print(f"written in {out}: {', '.join(path.name for path in paths)} (teacher cache in {out / 'cache'})")
    return 0


def _print_scores(heading: str, teacher, scores) -> None:
    """The ``rdm`` command's summary: the layer x endpoint table, each endpoint's S with interval and ceiling, TG."""
    print(heading)
    print(scores.similarity.transpose("layer", "endpoint").to_pandas().round(4).to_string())
    details, ceiled = teacher.ceiling_details, scores.per_endpoint_ceiled or {}
    intervals = scores.intervals or {}
    for endpoint, best in scores.best_layer.items():
        score = scores.per_endpoint[endpoint]
        interval = f" [{intervals[endpoint][0]:.4f}, {intervals[endpoint][1]:.4f}]" if endpoint in intervals else ""
        ceiling = "" if endpoint not in details else f"; noise ceiling {details[endpoint].describe()}, " + (
            f"{ceiled[endpoint]:.3f} of it ({teacher.ceiling_convention})" if endpoint in ceiled else
            f"not comparable with {teacher.compare_method} (the ceiling is a {details[endpoint].compare_method} correlation)")
        print(f"{endpoint}: best layer {best}, S = {score:.4f}{interval}{ceiling}")
    tg_interval = f" [{scores.tg_interval[0]:.4f}, {scores.tg_interval[1]:.4f}]" if scores.tg_interval else ""
    print(f"TG = {scores.tg:.4f}{tg_interval}" + (f" (95% intervals: {scores.n_bootstrap} bootstrap samples of the "
                                                  f"{len(teacher.stimulus_ids)} stimuli)" if tg_interval else ""))


def _list_layers(args: argparse.Namespace, run: Path | None = None) -> int:
    """Print the layer names a model offers for --layers and teacher specs: its modules, then every traced node."""
    from torchvision.models.feature_extraction import get_graph_node_names

    from neurosage.analyses.model_comparison import GENOTYPE_STARTS
    from neurosage.nets.build import build_network
    from neurosage.nets.models import build_model

    if run is not None:
        from neurosage.search.weights import kept_network

        names = kept_network(run, args.trial).endpoints
    elif args.model.startswith(GENOTYPE_STARTS):
        names = build_network(args.model).endpoints
    else:
        model = build_model(args.model, weights="random")
        modules = [name for name, _ in model.named_modules() if name]  # a module's name gives its output
        names = list(dict.fromkeys(modules + get_graph_node_names(model)[1]))
    print("\n".join(names))
    return 0


@command
def _analyze(sub: argparse._SubParsersAction) -> None:
    analyses = registry_names("neurosage.analyses", "ANALYSES")
    p = sub.add_parser("analyze", help=f"run a paper analysis ({', '.join(analyses)})", description=f"run a paper analysis ({', '.join(analyses)})")
    p.add_argument("name", help=f"analysis name, one of: {', '.join(analyses)}")
    p.add_argument("--run-dir", default="runs/paper", help="run folder (shared by analyses; the teacher is cached there)")
    p.add_argument("--config", default=None, help="TOML file with the analysis' options (defaults: the small-scale setting)")
    p.add_argument("--data", default=None, help="Fashion-MNIST folder")
    p.add_argument("--workers", type=at_least(1), default=None, help="worker processes of a Dask LocalCluster the analysis trains on "
                   "(its candidates, reranks and mature trainings; predictability: architectures; channel_search: searches); results equal "
                   "one process's")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running Dask scheduler (e.g. tcp://host:8786) the analysis trains on instead")
    p.set_defaults(func=_run_analyze)


def _run_analyze(args: argparse.Namespace) -> int:
    from dataclasses import fields as config_fields

    from neurosage.analyses import get_analysis

    run, config_cls = get_analysis(args.name)
    if RunFolder(args.run_dir).has_journal():  # a search's folder: an analysis would start its own work beside it, reading none of it
        raise ConfigError(f"{args.run_dir} is a search's run folder, and an analysis does not read a search's trials: it would build "
                          "its own teacher, pool and results inside it", f"give the analysis a folder of its own (neurosage analyze "
                          f"{args.name} --run-dir NEW_DIR ...); a search's trials are read by neurosage status, rdm and export",
                          file=args.run_dir, field="run_dir")
    if args.workers is not None and args.scheduler:
        raise ConfigError("--scheduler and --workers both name a cluster", "give one of them", field="scheduler")
    own_workers = "workers" in {f.name for f in config_fields(config_cls)}  # predictability, channel_search: their own LocalCluster
    config = load_config(config_cls, args.config, data=args.data, workers=args.workers if own_workers else None)
    workers = max(args.workers or 1, getattr(config, "workers", 1) or 1)
    if workers > 1:  # before any data, teacher or run-folder work
        require_extra("distributed", f"workers = {workers}" if args.workers is None else f"--workers {workers}", field="workers")
    with contextlib.ExitStack() as stack:
        client = _scheduler(args.scheduler) if args.scheduler else None  # reachable before any data or teacher work
        if client is None and args.workers is not None and args.workers > 1 and not own_workers:
            from neurosage.search.executors import local_client

            client = stack.enter_context(local_client(args.workers))
        result = run(args.run_dir, config, **({"client": client} if client is not None else {}))
    print(result.to_string(index=False))
    print(f"results in {args.run_dir}/{args.name}/; make figures with: neurosage figures {args.run_dir}")
    return 0


@command
def _status(sub: argparse._SubParsersAction) -> None:
    text = "a search's progress: done / in flight / failed / budget, the best so far, time per trial, ETA, workers"
    p = sub.add_parser("status", help=text, description=text)
    p.add_argument("run_dir", help="a search's run folder (also while it runs)")
    p.add_argument("--watch", type=float, default=None, metavar="SECONDS", help="refresh every SECONDS until Ctrl-C")
    p.add_argument("--json", action="store_true", help="print the status as one JSON object (one per refresh with --watch; times in ISO 8601 UTC)")
    p.set_defaults(func=_run_status)


def _run_status(args: argparse.Namespace) -> int:
    from neurosage.runs.status import SearchNotStarted, format_status, search_status, status_json

    if args.watch is not None and not 0.5 <= args.watch <= 86400:
        raise ConfigError(f"--watch must be between 0.5 and 86400 seconds, got {args.watch}", "use e.g. --watch 10", field="watch")
    while True:
        try:
            status = search_status(args.run_dir)
        except SearchNotStarted as exc:
            if args.watch is None:
                raise
            print(("\033[2J\033[H" if sys.stdout.isatty() else "") + str(exc).split("; fix:")[0], flush=True)
            try:
                time.sleep(args.watch)
            except KeyboardInterrupt:
                return 0
            continue
        text = status_json(status) if args.json else format_status(status)
        if args.json:
            print(text, flush=True)
            if args.watch is None or status["session"] != "running":
                return 0
            try:
                time.sleep(args.watch)
            except KeyboardInterrupt:
                return 0
            continue
        if args.watch is None:
            print(text)
            return 0
        print(("\033[2J\033[H" if sys.stdout.isatty() else "") + text, flush=True)
        if status["session"] != "running":  # finished, interrupted or failed: nothing more will change
            print(f"the search is not running (session {status['session']}); stopped watching")
            return 0
        try:
            time.sleep(args.watch)
        except KeyboardInterrupt:
            return 0


@command
def _figures(sub: argparse._SubParsersAction) -> None:
    figures = f"regenerate every figure and table a run folder has data for ({', '.join(registry_names('neurosage.figures', 'FIGURES'))})"
    p = sub.add_parser("figures", help=figures, description=figures)
    p.add_argument("run_dir")
    p.add_argument("--out", default=None, help="output folder (default RUN_DIR/figures)")
    p.set_defaults(func=_run_figures)


def _run_figures(args: argparse.Namespace) -> int:
    from neurosage.figures import make_all
    from neurosage.runs.outputs import claim_output_folder, output_folder_owner

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise ConfigError("no such folder" if not run_dir.exists() else "is a file, not a run folder",
                          "give the run folder of neurosage analyze (e.g. runs/paper)", file=run_dir, field="run_dir")
    made_by = output_folder_owner(run_dir) or (  # folders written before the marker: by their files
        "neurosage rdm" if (run_dir / "similarity.csv").is_file() and (run_dir / "model_rdms.nc").is_file() else
        "neurosage bench" if (run_dir / "value.csv").is_file() and (run_dir / "selection.csv").is_file() else None)
    if made_by is not None:  # an output folder whose figures its own command draws, not an analysis' run folder
        raise ConfigError(f"{run_dir} is the output folder of {made_by}, which drew its figures when it wrote it (the .png files there)",
                          f"to draw them again, run the {made_by} command again with --out {run_dir}; neurosage figures draws an "
                          "analysis' run folder (neurosage analyze ... --run-dir)", file=run_dir, field="run_dir")
    def known(name: str) -> bool:
        return name.endswith((".png", ".pdf", ".csv", ".md", ".tex"))

    identity = f"the run {run_dir.resolve()}"  # one run's figures per folder: another run's would replace them
    out = claim_output_folder(args.out or run_dir / "figures", "neurosage figures", known, create=False, identity=identity)
    existed = out.exists()
    drawn = make_all(run_dir, out)
    if drawn.written:
        claim_output_folder(out, "neurosage figures", known, identity=identity)  # marked once something is drawn
    elif not existed and out.is_dir() and not any(out.iterdir()):
        out.rmdir()  # nothing drawn: no empty folder left behind
    for name, paths in drawn.written.items():
        print(f"{name}: " + ", ".join(str(p) for p in paths))
    if drawn.written or RunFolder(run_dir).provenance_file.is_file():  # a run folder's reasons help; another folder's are noise
        for name, reason in drawn.skipped.items():
            print(f"not drawn: {name}: {reason}")
    if not drawn.written:
        problem, fix = _nothing_to_draw(run_dir)
        raise ConfigError(f"nothing to draw: {problem}", fix, file=run_dir, field="run_dir")
    return 0


def _nothing_to_draw(run_dir: Path) -> tuple[str, str]:
    """Why ``neurosage figures`` drew nothing from ``run_dir``, and the fix (problem, fix)."""
    folder = RunFolder(run_dir)
    analyses = set(registry_names("neurosage.analyses", "ANALYSES"))
    inside = next((ancestor for ancestor in list(run_dir.resolve().parents)[:2]  # RUN/<analysis> holds the analysis' run.json
                   if (part := run_dir.resolve().relative_to(ancestor).parts[0]) in analyses
                   and RunFolder(ancestor / part).provenance_file.is_file()), None)
    if inside is None:  # a sub-folder of a search (RUN/weights, RUN/teacher) or of a demo: the run folder with run.json above
        inside = next((a for a in list(run_dir.resolve().parents)[:2] if RunFolder(a).provenance_file.is_file()), None)
    if inside is not None:  # an analysis' own sub-folder (RUN/predictability, RUN/channel_search/qc): its run folder is above
        above = run_dir.parent if inside == run_dir.resolve().parent else run_dir.parent.parent
        return f"{run_dir} is a folder inside the run folder {above}", f"neurosage figures {above}"
    if folder.pool_file.is_file():
        return (f"{run_dir} is an architecture pool; a teacher bench on it draws its figure (value.png) in its own folder",
                f"neurosage bench {run_dir} --teacher SPEC --out DIR")
    command = folder.last_session().get("command") if folder.provenance_file.is_file() else None
    if folder.trials_csv.exists():
        return (f"{run_dir} is a search's run folder, and none of its figures could be drawn from its trials.csv (the reasons are "
                "above)", f"see neurosage status {run_dir}")
    if folder.has_journal() or (isinstance(command, list) and command[1:2] == ["search"]):
        return (f"{run_dir} is a search's run folder with no finished trial (trials.csv), so its progress cannot be drawn",
                f"see neurosage status {run_dir}, then continue the search: neurosage search {run_dir} --resume")
    if not folder.provenance_file.exists():  # not a run folder at all (a data folder, a typo, a run that failed before it began)
        empty = " (an empty folder: a run that failed before it began?)" if not any(run_dir.iterdir()) else ""
        return (f"{run_dir} is not a run folder (no run.json, no results){empty}",
                "give the run folder of a neurosage analyze, demo or search run (figures RUN_DIR)")
    return (f"{run_dir} has no analysis results", f"run 'neurosage analyze ANALYSIS --run-dir {run_dir}' first")


@command
def _export(sub: argparse._SubParsersAction) -> None:
    text = ("hand a search's result to other tools: brainscore writes a Brain-Score model plugin of a kept trial, optuna writes the "
            "trials into an Optuna storage for optuna-dashboard")
    p = sub.add_parser("export", help=text, description=text)
    formats = p.add_subparsers(dest="format", metavar="FORMAT", required=True)
    b = formats.add_parser("brainscore", help="a Brain-Score model plugin folder (model code, weights, region-layer map from TG)",
                           description="Write a Brain-Score model plugin of one of a search's kept trials (see README, 'Export to Brain-Score').")
    b.add_argument("run_dir", help="a search's run folder (its weights/ and run.json)")
    b.add_argument("--trial", type=at_least(0), default=None, help="the trial to export (default: the search's best by its objective)")
    b.add_argument("--out", default=None, help="the plugin folder (default RUN_DIR/brainscore/<name>)")
    b.add_argument("--name", default=None, help="the Brain-Score identifier (default neurosage-<run folder>-trial<N>)")
    b.add_argument("--region", action="append", default=None, metavar="REGION=TARGET",
                   help="commit REGION (V1, V2, V4, IT) to a teacher endpoint's best layer, a layer (cell_1) or a module (cells.1); "
                        "repeatable, or comma-separated: V4=cell_0,IT=cell_1")
    b.set_defaults(func=_run_export_brainscore)
    o = formats.add_parser("optuna", help="the trials in an Optuna storage (P and TG as two objectives), for optuna-dashboard",
                           description="Write a search's finished trials into a new study of an Optuna storage; view it with "
                           "optuna-dashboard STORAGE (pip install 'neurosage[optuna]' optuna-dashboard).")
    o.add_argument("run_dir", help="a search's run folder")
    o.add_argument("storage", help="a SQLite file (created) or an Optuna storage URL, e.g. sqlite:///trials.db")
    o.add_argument("--study", default=None, help="the study's name (default: the run folder's name); must be new in the storage")
    o.add_argument("--update", action="store_true", help="add the trials finished since an earlier export of this run to its study")
    o.add_argument("--follow", type=float, default=None, metavar="SECONDS",
                   help="keep the study up to date while the search runs: refresh every SECONDS until it ends (optuna-dashboard follows)")
    o.set_defaults(func=_run_export_optuna)


@command
def _bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="would this teacher have helped? score a teacher against a built architecture pool, beside its controls")
    p.add_argument("pool", help="the folder of an architecture pool (neurosage analyze teacher_bench builds one)")
    p.add_argument("--teacher", required=True, help="teacher spec, e.g. 'net:cifar_resnet-1:stack1,stack2,stack3:teacher.pt' or "
                   "'brain:MyData:V4,IT' (scored on the pool's stimuli)")
    add_teacher_arg_flag(p)
    p.add_argument("--out", default=None, help="folder for the tables and value.png (default POOL/bench-<the spec, as a folder name>)")
    p.add_argument("--target", default="M_short", choices=("M_short", "M_short_2", "M_long"),
                   help="what the scores should predict: the pool protocol's end (M_short), a second seed's, or the long training's")
    p.add_argument("--no-controls", action="store_true", help="leave out the pixel, category and untrained-network controls")
    p.add_argument("--bootstrap", type=at_least(10), default=2000, help="bootstrap resamples of every interval (default 2000)")
    p.add_argument("--pool-size", type=at_least(2), default=16, help="architectures per simulated search (default 16)")
    p.add_argument("--seed", type=at_least(0), default=0, help="seed of the untrained control, the resamples and the sub-pools")
    p.add_argument("--device", default=None, help="torch device (default cpu)")
    p.set_defaults(func=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    from neurosage.pool import Pool, bench_teacher
    from neurosage.pool.bench import BENCH_OUTPUTS
    from neurosage.runs.outputs import claim_output_folder
    from neurosage.teachers.kinds import teacher_from_spec
    from neurosage.training.devices import check_device

    check_device(args.device)
    pool = Pool(args.pool)
    slug = re.sub(r"[^A-Za-z0-9_.=,-]+", "_", args.teacher).strip("_")[:80]
    out = Path(args.out) if args.out else pool.folder.path / f"bench-{slug}"
    claim_output_folder(out, "neurosage bench", lambda name: name in BENCH_OUTPUTS, create=False)  # another command's folder, before any work
    earlier = out / "settings.json"
    if earlier.is_file() and json.loads(earlier.read_text(encoding="utf-8")).get("spec") != args.teacher:
        raise ConfigError(f"--out {out} holds the bench of another teacher", "give another --out, or delete that folder", file=out, field="out")
    stimuli = pool.stimuli()
    try:
        teacher = teacher_from_spec(args.teacher, stimuli, device=args.device, seed=args.seed, dataset_kwargs=teacher_args(args))
    except ConfigError as err:
        if err.field != "stimulus_id":
            raise
        raise ConfigError(f"the pool's stimuli are not the recording's: {err.problem}", "a recording is benched on a pool whose stimuli "
                          "are its own stimulus images (the pool's layer RDMs were kept on its stimuli when it was built): build one with "
                          "neurosage.pool.build_pool(..., stimuli=load_stimulus_images(CSV, FOLDER)); this pool's stimuli are "
                          f"{len(stimuli)} images of its dataset", file=args.pool, field="teacher") from None
    result = bench_teacher(pool, {"teacher": teacher}, controls=not args.no_controls, spec=args.teacher, target=args.target,
                           n_bootstrap=args.bootstrap, pool_size=args.pool_size, seed=args.seed, device=args.device)
    result.save(out)
    print(result.headline().round(3).to_string(index=False))
    print(f"tables and value.png in {out}")
    return 0


def _run_export_optuna(args: argparse.Namespace) -> int:
    from neurosage.export.optuna_study import export_optuna, storage_url

    if args.follow is not None and not 1 <= args.follow <= 86400:
        raise ConfigError(f"--follow must be between 1 and 86400 seconds, got {args.follow}", "use e.g. --follow 30", field="follow")
    study = export_optuna(args.run_dir, args.storage, study=args.study, update=args.update)
    while args.follow is not None and RunFolder(args.run_dir).running_driver() is not None:
        try:
            time.sleep(args.follow)
        except KeyboardInterrupt:
            break
        study = export_optuna(args.run_dir, args.storage, study=study.study_name, update=True)
        log.info("study %s: %d trial(s)", study.study_name, len(study.get_trials(deepcopy=False)))
    if args.follow is not None:  # the trials that finished while it ended
        study = export_optuna(args.run_dir, args.storage, study=study.study_name, update=True)
    trials = study.get_trials(deepcopy=False)
    done = sum(t.state.name == "COMPLETE" for t in trials)
    print(f"{len(trials)} trial(s) ({done} complete) written to study {study.study_name!r} in {storage_url(args.storage)}; "
          f"view them with: optuna-dashboard {storage_url(args.storage)}")
    return 0


def _run_export_brainscore(args: argparse.Namespace) -> int:
    from neurosage.export.brainscore import export_brainscore

    pairs = [part.strip().partition("=") for item in args.region or [] for part in item.split(",")]  # IT=cell_1,V4=cell_0 too
    bad = [region for region, eq, target in pairs if not (eq and region and target)]
    if bad:
        raise ConfigError(f"--region {bad[0]!r} is not REGION=TARGET", "write e.g. --region V4=cell_1 or --region IT=aIT", field="region")
    regions = [region for region, _, _ in pairs]
    twice = sorted({r for r in regions if regions.count(r) > 1})
    if twice:
        raise ConfigError(f"--region names {twice[0]} twice", "give each region once", field="region")
    folder = export_brainscore(args.run_dir, trial=args.trial, out=args.out, name=args.name,
                               regions={region: target for region, _, target in pairs})
    spec = json.loads((folder / "neurosage_export.json").read_text())
    print(f"Brain-Score plugin {spec['identifier']!r} (trial {spec['trial']}, score {spec['score']:.4f}) written to {folder}")
    print("region -> layer: " + ", ".join(f"{r} -> {layer} (from {spec['region_sources'][r]})" for r, layer in spec["region_layer_map"].items()))
    print(f"submit it: copy {folder.name}/ to brainscore_vision/models/ of a brain-score/vision fork and open a pull request, "
          "or zip the folder and upload it on brain-score.org (README, 'Export to Brain-Score')")
    return 0
