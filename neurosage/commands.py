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
    from neurosage.data_adapters.registry import list_datasets

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
    from neurosage.data_adapters.errors import DataFormatError
    from neurosage.analyses.demo import DemoConfig, run_demo

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
    p = sub.add_parser("search", help="teacher-guided cell search (TPE or random; P, TG or P+alpha*TG)")
    p.add_argument("run_dir", help="run folder (created; with --resume, continued)")
    p.add_argument("--config", help="TOML file with any of the options below (flags override it)")
    p.add_argument("--resume", action="store_true", help="continue a killed search in RUN_DIR")
    p.add_argument("--dataset", default=None, help="registered image dataset (default fashion-mnist)")
    p.add_argument("--data", default=None, help="root folder of the dataset")
    p.add_argument("--teacher", default=None, help="teacher spec (net:/brain:/sim:, '+' combines); default: the Fashion-MNIST ResNet teacher")
    p.add_argument("--space", choices=["pnas", "nasnet"], default=None)
    p.add_argument("--blocks", type=int, default=None, help="B")
    p.add_argument("--cells", type=int, default=None, help="N")
    p.add_argument("--filters", type=int, default=None, help="F")
    p.add_argument("--budget", type=int, default=None, help="number of trials")
    p.add_argument("--algo", choices=["tpe", "random"], default=None)
    p.add_argument("--objective", choices=["p", "tg", "p+tg"], default=None)
    p.add_argument("--alpha", type=float, default=None)
    p.add_argument("--premature-steps", type=int, default=None, help="SGD steps per candidate")
    p.add_argument("--premature-epochs", type=float, default=None, help="fraction of an epoch per candidate (e.g. 0.2)")
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-val", type=int, default=None)
    p.add_argument("--n-stimuli", type=int, default=None)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None)
    p.set_defaults(func=_run_search)


SEARCH_DEFAULTS = dict(
    dataset="fashion-mnist", data=None, teacher=None, space="pnas", blocks=5, cells=1, filters=8, budget=20,
    algo="tpe", objective="p+tg", alpha=1.0, premature_steps=30, premature_epochs=None, n_train=10_000, n_val=1_000,
    n_stimuli=300, workers=1, scheduler=None, seed=0, device=None,
)


def search_settings(args: argparse.Namespace) -> dict:
    """Defaults, then the TOML config, then explicit flags."""
    import tomllib
    from pathlib import Path

    settings = dict(SEARCH_DEFAULTS)
    if args.config:
        loaded = {k.replace("-", "_"): v for k, v in tomllib.loads(Path(args.config).read_text()).items()}
        unknown = set(loaded) - set(SEARCH_DEFAULTS)
        if unknown:
            raise SystemExit(f"neurosage search: unknown option(s) {sorted(unknown)} in {args.config}")
        settings.update(loaded)
    settings.update({k: v for k, v in vars(args).items() if k in SEARCH_DEFAULTS and v is not None})
    if settings["premature_epochs"] is not None and args.premature_steps is None:
        settings["premature_steps"] = None
    return settings


def _run_search(args: argparse.Namespace) -> int:
    from pathlib import Path

    from neurosage.data_adapters.errors import DataFormatError
    from neurosage.data_adapters.registry import load_images
    from neurosage.analyses.demo import FMNIST_NORM, fashion_mnist_teacher, stimulus_subset
    from neurosage.evaluate import CandidateTask, NetworkConfig
    from neurosage.search import run_search
    from neurosage.space import get_space
    from neurosage.teacher_specs import teacher_from_spec
    from neurosage.train import TrainConfig

    s = search_settings(args)
    run_dir = Path(args.run_dir)
    norm = FMNIST_NORM if s["dataset"] == "fashion-mnist" else {"mean": 0.5, "std": 0.25}
    try:
        train_full = load_images(s["dataset"], "train", **({"root": s["data"]} if s["data"] else {}), **norm)
    except DataFormatError as exc:
        print(f"neurosage search: {exc}")
        return 2
    rest, val = train_full.split_holdout(s["n_val"], seed=s["seed"])
    stimuli = stimulus_subset(val, s["n_stimuli"], f"{s['dataset']}-heldout")
    teacher = None
    if s["objective"] != "p":
        if s["teacher"]:
            teacher = teacher_from_spec(s["teacher"], stimuli, cache_dir=run_dir / "teacher", device=s["device"], seed=s["seed"])
        elif s["dataset"] == "fashion-mnist":
            teacher = fashion_mnist_teacher(train_full, stimuli, run_dir / "teacher", epochs=1.0, seed=s["seed"], device=s["device"])
        else:
            print("neurosage search: --teacher is required for this dataset (or use --objective p)")
            return 2
    budget = {"steps": s["premature_steps"]} if s["premature_steps"] else {"epochs": s["premature_epochs"]}
    task = CandidateTask(
        rest.subset(range(min(s["n_train"], len(rest)))), val, NetworkConfig("cifar", s["cells"], s["filters"]),
        TrainConfig(batch_size=64, **budget), teacher, objective=s["objective"], alpha=s["alpha"], device=s["device"],
    )
    client = None
    if s["scheduler"]:
        from distributed import Client

        client = Client(s["scheduler"])
    result = run_search(
        run_dir, get_space(s["space"], s["blocks"]), task, budget=s["budget"], algo=s["algo"], seed=s["seed"],
        workers=s["workers"], client=client, resume=args.resume, config=s,
    )
    best = result.best
    print(f"best of {len(result.trials)} trials: score {best.score:.4f} P {best.P:.4f}\n  {best.genotype}")
    print(f"examples processed: {result.total_examples}; results in {run_dir}")
    return 0


@command
def _rdm(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rdm", help="model-teacher RDM similarity table (layers x endpoints) and heatmap")
    p.add_argument("model", help="torchvision name, cifar_resnet-<n>, or a genotype string ('normal: ...')")
    p.add_argument("--teacher", required=True, help="teacher spec, e.g. 'brain:MajajHong2015:V4,pIT,aIT' or 'net:cifar_resnet-1:stack1,stack3:w.pt'")
    p.add_argument("--layers", default=None, help="comma-separated model layers (default: every cell of a genotype)")
    p.add_argument("--weights", default=None, help="state-dict file for the model")
    p.add_argument("--data", default=None, help="Fashion-MNIST folder (default stimuli: its first --n-stimuli test images)")
    p.add_argument("--stimuli", default=None, help="stimulus-set CSV (with --images) instead of Fashion-MNIST")
    p.add_argument("--images", default=None, help="stimulus images folder or zip")
    p.add_argument("--n-stimuli", type=int, default=300)
    p.add_argument("--size", type=int, default=None, help="resize stimuli to this many pixels")
    p.add_argument("--channels", type=int, default=None, help="convert stimuli to 1 or 3 channels")
    p.add_argument("--out", default="runs/rdm", help="folder for similarity.csv and similarity.png")
    p.add_argument("--device", default=None)
    p.set_defaults(func=_run_rdm)


def _stimuli(args: argparse.Namespace):
    from neurosage.data_adapters.images import load_fashion_mnist, load_stimulus_images

    if args.stimuli:
        stimuli = load_stimulus_images(args.stimuli, args.images, size=args.size, channels=args.channels, mean=0.5, std=0.25)
        return stimuli.subset(range(min(args.n_stimuli, len(stimuli))))
    from neurosage.analyses.demo import FMNIST_NORM, stimulus_subset

    test = load_fashion_mnist("test", args.data, size=args.size, channels=args.channels, **FMNIST_NORM)
    return stimulus_subset(test, args.n_stimuli, "fmnist-test")


def _run_rdm(args: argparse.Namespace) -> int:
    from pathlib import Path

    from neurosage.model_similarity import model_teacher_similarity, plot_similarity
    from neurosage.network import build_network
    from neurosage.space import Genotype
    from neurosage.teacher_specs import build_model, teacher_from_spec

    stimuli = _stimuli(args)
    in_channels = stimuli[0][0].shape[0]
    if args.model.startswith("normal:"):
        model = build_network(Genotype.parse(args.model), in_channels=in_channels)
        if args.weights:
            import torch

            model.load_state_dict(torch.load(args.weights, map_location="cpu", weights_only=True))
        layers = args.layers.split(",") if args.layers else [n for n in model.endpoints if n != "stem"]
    else:
        if not args.layers:
            print("neurosage rdm: --layers is required for a named model")
            return 2
        model, layers = build_model(args.model, weights=args.weights, in_channels=in_channels), args.layers.split(",")
    out = Path(args.out)
    teacher = teacher_from_spec(args.teacher, stimuli, cache_dir=out / "cache", device=args.device)
    sim = model_teacher_similarity(model, teacher, layers, device=args.device)
    table = sim.transpose("layer", "endpoint").to_pandas()
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "similarity.csv")
    plot_similarity(sim, out / "similarity.png", title=f"{args.model[:30]} vs teacher")
    print(table.round(4).to_string())
    print(f"best layer per endpoint: {dict(table.idxmax())}; written {out}/similarity.csv and similarity.png")
    return 0


@command
def _analyze(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="run a paper analysis (predictability, search_comparison, cell_search, neuro_search)")
    p.add_argument("name", help="analysis name")
    p.add_argument("--run-dir", default="runs/paper", help="run folder (shared by analyses; the teacher is cached there)")
    p.add_argument("--config", default=None, help="TOML file with the analysis' options (defaults: the small-scale setting)")
    p.add_argument("--data", default=None, help="Fashion-MNIST folder")
    p.set_defaults(func=_run_analyze)


def _run_analyze(args: argparse.Namespace) -> int:
    from neurosage.analyses import get_analysis
    from neurosage.analyses.common import load_config

    run, config_cls = get_analysis(args.name)
    config = load_config(config_cls, args.config, data=args.data)
    result = run(args.run_dir, config)
    print(result.to_string(index=False))
    print(f"results in {args.run_dir}/{args.name}/; make figures with: neurosage figures {args.run_dir}")
    return 0


@command
def _figures(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("figures", help="regenerate every figure and table a run folder has data for")
    p.add_argument("run_dir")
    p.add_argument("--out", default=None, help="output folder (default RUN_DIR/figures)")
    p.set_defaults(func=_run_figures)


def _run_figures(args: argparse.Namespace) -> int:
    from neurosage.figures import make_all

    written = make_all(args.run_dir, args.out)
    if not written:
        print(f"nothing to draw: {args.run_dir} has no analysis results (run 'neurosage analyze ...' first)")
        return 1
    for module, paths in written.items():
        print(f"{module}: " + ", ".join(str(p) for p in paths))
    return 0
