"""Subcommands of the ``neurosage`` CLI; each registers itself on the parser.

Heavy imports happen inside the command functions, so ``neurosage --help`` is fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

REGISTRY: list[Callable[[argparse._SubParsersAction], None]] = []


def command(register: Callable[[argparse._SubParsersAction], None]) -> Callable[[argparse._SubParsersAction], None]:
    """Add a subcommand registration function to the CLI."""
    REGISTRY.append(register)
    return register


@command
def _datasets(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list registered datasets and what each needs")
    p.add_argument("pattern", nargs="?", default="*", help="glob on dataset names")
    p.set_defaults(func=_run_datasets)


def _run_datasets(args: argparse.Namespace) -> int:
    from data_adapters.registry import list_datasets

    entries = list_datasets(args.pattern)
    if not entries:
        print(f"no dataset matches {args.pattern!r}")
        return 1
    for e in entries:
        print(f"{e.name:16s} [{e.kind}] {e.description}")
        for need in e.needs:
            print(f"{'':19s}needs: {need}")
        if e.citation:
            print(f"{'':19s}cite:  {e.citation}")
    return 0


@command
def _demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="small P+TG vs P search on Fashion-MNIST (the embedded default)")
    p.add_argument("--data", default=None, help="folder with Fashion-MNIST idx files (default: Debian's path)")
    p.add_argument("--run-dir", default="runs/demo")
    p.add_argument("--budget", type=int, default=8, help="trials per search")
    p.add_argument("--premature-steps", type=int, default=30)
    p.add_argument("--mature-steps", type=int, default=150)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from data_adapters.errors import DataFormatError
    from neurosage.demo import DemoConfig, run_demo

    config = DemoConfig(
        data=args.data, budget=args.budget, premature_steps=args.premature_steps, mature_steps=args.mature_steps,
        workers=args.workers, seed=args.seed, device=args.device,
    )
    try:
        run_demo(args.run_dir, config)
    except DataFormatError as exc:
        print(f"neurosage demo: {exc}")
        return 2
    print(f"results in {args.run_dir}/ (summary.json, search-*/trials.csv, journal.sqlite)")
    return 0


@command
def _search(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="teacher-guided cell search on Fashion-MNIST with the cached ResNet teacher")
    p.add_argument("run_dir", help="run folder (created; with --resume, continued)")
    p.add_argument("--config", help="TOML file with any of the options below (flags override it)")
    p.add_argument("--resume", action="store_true", help="continue a killed search in RUN_DIR")
    p.add_argument("--data", default=None, help="Fashion-MNIST folder")
    p.add_argument("--space", choices=["pnas", "nasnet"], default=None)
    p.add_argument("--blocks", type=int, default=None, help="B")
    p.add_argument("--cells", type=int, default=None, help="N")
    p.add_argument("--filters", type=int, default=None, help="F")
    p.add_argument("--budget", type=int, default=None)
    p.add_argument("--algo", choices=["tpe", "random"], default=None)
    p.add_argument("--objective", choices=["p", "tg", "p+tg"], default=None)
    p.add_argument("--alpha", type=float, default=None)
    p.add_argument("--premature-steps", type=int, default=None)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None)
    p.set_defaults(func=_run_search)


SEARCH_DEFAULTS = dict(
    data=None, space="pnas", blocks=5, cells=1, filters=8, budget=20, algo="tpe", objective="p+tg", alpha=1.0,
    premature_steps=30, workers=1, scheduler=None, seed=0, device=None,
)


def _run_search(args: argparse.Namespace) -> int:
    import tomllib
    from pathlib import Path

    from neurosage.demo import DemoConfig, FMNIST_NORM, fashion_mnist_teacher
    from neurosage.evaluate import CandidateTask, NetworkConfig
    from neurosage.search import run_search
    from neurosage.space import get_space
    from neurosage.train import TrainConfig
    from data_adapters.images import load_fashion_mnist

    settings = dict(SEARCH_DEFAULTS)
    if args.config:
        settings.update({k.replace("-", "_"): v for k, v in tomllib.loads(Path(args.config).read_text()).items()})
    settings.update({k: v for k, v in vars(args).items() if k in SEARCH_DEFAULTS and v is not None})
    d = DemoConfig()
    train_full = load_fashion_mnist("train", settings["data"], **FMNIST_NORM)
    test = load_fashion_mnist("test", settings["data"], **FMNIST_NORM)
    stimuli = test.subset(range(d.n_stimuli))
    stimuli.stimulus_ids = [f"fmnist-test-{i:05d}" for i in range(d.n_stimuli)]
    teacher = fashion_mnist_teacher(train_full, stimuli, Path(args.run_dir) / "teacher", epochs=d.teacher_epochs, seed=settings["seed"], device=settings["device"])
    rest, val = train_full.split_holdout(d.n_val, seed=settings["seed"])
    task = CandidateTask(
        rest.subset(range(d.n_train)), val, NetworkConfig("cifar", settings["cells"], settings["filters"]),
        TrainConfig(steps=settings["premature_steps"], batch_size=d.batch_size), teacher,
        objective=settings["objective"], alpha=settings["alpha"], device=settings["device"],
    )
    client = None
    if settings["scheduler"]:
        from distributed import Client

        client = Client(settings["scheduler"])
    result = run_search(
        args.run_dir, get_space(settings["space"], settings["blocks"]), task, budget=settings["budget"],
        algo=settings["algo"], seed=settings["seed"], workers=settings["workers"], client=client,
        resume=args.resume, config=settings,
    )
    best = result.best
    print(f"best of {len(result.trials)} trials: score {best.score:.4f} P {best.P:.4f}\n  {best.genotype}")
    print(f"examples processed: {result.total_examples}; results in {args.run_dir}")
    return 0
