"""Benchmark: what one search candidate costs, as ratios against baselines measured in the same run.

Prints, for the device given (CPU always; CUDA when present and asked for):

1. training img/s and achieved GFLOP/s of the demo candidate and of a Table 4-sized search
   candidate, against torchvision ResNet-18 per FLOP (training FLOPs = 3 x forward FLOPs,
   counted by ``torch.utils.flop_counter``);
2. the data pipeline: per-item ``DataLoader`` and batched ``ImageSet.batch`` img/s, against the
   candidate's training img/s;
3. RDMs at 5760 stimuli against a bare ``X @ X.T``, and the 3 x 8 comparison against a naive
   gather-the-triangles-then-multiply and rsatoolbox (with the largest difference to rsatoolbox);
4. candidates per hour: the demo settings measured end to end; the Table 4 settings
   (1/5 epoch of 1.28M images, 50K validation images, 5760 stimulus RDMs) assembled from measured
   parts, or, with ``--table4-end-to-end``, run whole on synthetic data of the real sizes;
5. on CUDA, the aggregate training throughput of 1, 2, 4, 8 concurrent candidates on one GPU.

Usage: python benchmarks/bench_candidate.py [--device cpu|cuda] [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from collections.abc import Callable

import numpy as np
import torch
import torchvision
from torch import nn

from neurosage.data_adapters.imageset import ImageSet
from neurosage.nets.build import build_network
from neurosage.nets.measure import count_flops
from neurosage.rsa.compare import compare_rdms, pearson_triangles
from neurosage.rsa.rdm import compute_rdm, compute_rdms, upper_triangle
from neurosage.search.candidate import CandidateTask, evaluate_candidate
from neurosage.spaces import get_space
from neurosage.teachers.teacher import Teacher
from neurosage.training.configs import NetworkConfig, RDMOptions, TrainConfig
from neurosage.training.evaluation import evaluate

DEMO = dict(space="pnas", n_blocks=5, skeleton="cifar", n_cells=1, filters=8, channels=1, size=28, classes=10)
TABLE4 = dict(space="pnas", n_blocks=5, skeleton="imagenet64", n_cells=2, filters=24, n_stem_cells=0, channels=3, size=64, classes=1000)
TABLE4_TRAIN, TABLE4_VAL, STIMULI = int(0.2 * 1_231_167), 50_000, 5760
results: dict[str, float] = {}


def say(key: str, value: float, text: str) -> None:
    results[key] = value
    print(text, flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_time(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return min(times)


def candidate(spec: dict, seed: int = 0) -> nn.Module:
    genotype = get_space(spec["space"], n_blocks=spec["n_blocks"]).sample(seed)
    torch.manual_seed(seed)
    return build_network(genotype, skeleton=spec["skeleton"], n_cells=spec["n_cells"], filters=spec["filters"],
                         n_stem_cells=spec.get("n_stem_cells"), num_classes=spec["classes"], in_channels=spec["channels"])


def training_step(
    model: nn.Module, shape: tuple[int, ...], classes: int, batch: int, device: torch.device, channels_last: bool
) -> Callable[[], None]:
    """One SGD step of ``model`` on a fixed random batch already on ``device`` (bf16 autocast on CUDA)."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device, memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    x = torch.randn(batch, *shape, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, classes, (batch,), device=device)

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    return step


def train_rate(model: nn.Module, shape: tuple[int, ...], classes: int, batch: int, steps: int, device: torch.device, channels_last: bool) -> float:
    """Training img/s of ``model`` (the model alone, no data pipeline)."""
    step = training_step(model, shape, classes, batch, device, channels_last)
    for _ in range(3):
        step()
    return steps * batch / best_time(lambda: [step() for _ in range(steps)], 2, device)


def section_models(args, device: torch.device) -> None:
    print(f"\n## 1. Training throughput per FLOP (batch {args.batch}; training FLOPs = 3 x forward)")
    resnet = torchvision.models.resnet18(num_classes=10)
    resnet_gflop = 3 * count_flops(resnet, (3, 32, 32))["flops"] / 1e9
    resnet_fmt = device.type == "cuda"  # ResNet-18 is faster contiguous on CPU, channels_last on CUDA
    rate = train_rate(resnet, (3, 32, 32), 10, args.batch, args.steps, device, resnet_fmt)
    base = rate * resnet_gflop
    say("resnet18_img_s", rate, f"ResNet-18 32x32 [{'channels_last' if resnet_fmt else 'contiguous'}]: {rate:.0f} img/s, {base:.1f} GFLOP/s")
    results["resnet18_gflop_s"] = base
    for name, spec, steps in (("demo", DEMO, args.steps), ("table4", TABLE4, max(2, args.steps // 4))):
        shape = (spec["channels"], spec["size"], spec["size"])
        gflop = 3 * count_flops(candidate(spec), shape)["flops"] / 1e9
        for layout in (False, True):
            rate = train_rate(candidate(spec), shape, spec["classes"], args.batch, steps, device, layout)
            tag = "channels_last" if layout else "contiguous"
            say(f"{name}_{tag}_img_s", rate,
                f"{name} candidate {shape} [{tag}]: {rate:.0f} img/s, {rate * gflop:.2f} GFLOP/s = "
                f"{100 * rate * gflop / base:.1f}% of ResNet-18 per FLOP")
            results[f"{name}_{tag}_per_flop_vs_resnet18"] = rate * gflop / base
        results[f"{name}_train_gflop_per_image"] = gflop


def section_data(args, device: torch.device) -> None:
    print("\n## 2. Data pipeline (convert + batch; img/s) vs the model")
    rng = np.random.default_rng(0)
    for name, spec in (("demo", DEMO), ("table4", TABLE4)):
        n = 8192 if args.quick else 32768
        images = ImageSet(rng.integers(0, 256, size=(n, spec["channels"], spec["size"], spec["size"]), dtype=np.uint8),
                          rng.integers(0, spec["classes"], size=n), mean=0.5, std=0.25)
        loader = torch.utils.data.DataLoader(images, batch_size=args.batch, shuffle=True, generator=torch.Generator().manual_seed(0))
        t_items = best_time(lambda: [b[0].to(device) for b in loader], 1, device)
        resident = images.to(device)
        perm = torch.randperm(n)

        def batched(src=resident):
            for i in range(0, n, args.batch):
                src.batch(perm[i : i + args.batch], device)

        t_batched = best_time(batched, 2, device)
        t_host = best_time(lambda: batched(images), 1, device) if device.type == "cuda" else t_batched
        model_rate = results.get(f"{name}_channels_last_img_s")
        say(f"{name}_data_items_img_s", n / t_items, f"{name}: per-item DataLoader {n / t_items:.0f} img/s")
        say(f"{name}_data_batched_img_s", n / t_batched,
            f"{name}: batched ImageSet.batch ({'resident on ' + device.type if device.type == 'cuda' else 'in memory'}) {n / t_batched:.0f} img/s"
            + (f" = {n / t_batched / model_rate:.0f}x the candidate's training img/s" if model_rate else ""))
        if device.type == "cuda":
            say(f"{name}_data_host_img_s", n / t_host, f"{name}: batched from host memory (pinned transfer) {n / t_host:.0f} img/s")


def section_rdms(args, device: torch.device) -> None:
    n = 1440 if args.quick else STIMULI
    print(f"\n## 3. RDMs and comparisons at {n} stimuli (float64)")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 1000))
    xt = torch.as_tensor(x, device=device)
    t_bare = best_time(lambda: xt @ xt.T, 3, device)
    t_rdm = best_time(lambda: compute_rdm(x, device=device), 3, device)
    say("rdm_vs_bare_matmul", t_rdm / t_bare, f"RDM {n}x1000: {t_rdm:.3f} s, bare X@X.T {t_bare:.3f} s (ratio {t_rdm / t_bare:.2f})")
    teachers = compute_rdms({f"t{i}": rng.normal(size=(n, 50)) for i in range(3)}, device=device)
    layers = compute_rdms({f"c{i}": rng.normal(size=(n, 50)) + rng.normal(size=(1, 50)) for i in range(8)}, device=device)
    t_fast = best_time(lambda: compare_rdms(teachers, layers, device=device), 3, device)
    t_naive = best_time(lambda: pearson_triangles(torch.as_tensor(upper_triangle(teachers), device=device),
                                                  torch.as_tensor(upper_triangle(layers), device=device)), 2, device)
    say("compare_3x8_s", t_fast, f"compare 3x8: {t_fast:.3f} s; naive gather-then-multiply {t_naive:.3f} s ({t_fast / t_naive:.2f} of it)")
    results["compare_naive_3x8_s"] = t_naive
    for method, ref_method in (("pearson", "corr"),) + ((("spearman", "spearman"),) if args.quick else ()):
        import rsatoolbox

        from neurosage.rsa.interop import to_rsatoolbox

        t0 = time.perf_counter()
        ref = rsatoolbox.rdm.compare(to_rsatoolbox(teachers), to_rsatoolbox(layers), method=ref_method)
        t_ref = time.perf_counter() - t0
        ours = compare_rdms(teachers, layers, method, device=device).values
        say(f"compare_{method}_max_diff_rsatoolbox", float(np.abs(ours - ref).max()),
            f"{method}: rsatoolbox {t_ref:.2f} s; largest difference to rsatoolbox {np.abs(ours - ref).max():.1e}")


def synthetic_task(spec: dict, n_train: int, n_val: int, n_stimuli: int, premature: TrainConfig, device: torch.device) -> CandidateTask:
    rng = np.random.default_rng(0)

    def images(n: int, labelled: bool = True) -> ImageSet:
        return ImageSet(rng.integers(0, 256, size=(n, spec["channels"], spec["size"], spec["size"]), dtype=np.uint8),
                        rng.integers(0, spec["classes"], size=n) if labelled else None, mean=0.5, std=0.25,
                        stimulus_ids=None if labelled else [f"s{i}" for i in range(n)])

    stimuli = images(n_stimuli, labelled=False)
    brain = compute_rdms({area: rng.normal(size=(n_stimuli, 100)) for area in ("V4", "pIT", "aIT")}, labels=list(stimuli.stimulus_ids))
    network = NetworkConfig(spec["skeleton"], spec["n_cells"], spec["filters"], spec.get("n_stem_cells"))
    return CandidateTask(images(n_train), images(n_val), network=network, training=premature, teacher=Teacher(brain, stimuli),
                         rdm=RDMOptions(), device=str(device))


def section_candidates(args, device: torch.device) -> None:
    print("\n## 4. Candidates per hour")
    demo = synthetic_task(DEMO, 10_000, 1000, 300, TrainConfig(steps=30, batch_size=64), device)
    space = get_space("pnas", n_blocks=5)
    evaluate_candidate(str(space.sample(99)), demo, 0)  # warm-up
    walls = [evaluate_candidate(str(space.sample(s)), demo, s) for s in range(2 if args.quick else 4)]
    per = float(np.mean([w["wall_time"] for w in walls]))
    say("demo_candidates_per_hour", 3600 / per,
        f"demo settings (30 steps of 64, 1000 val, 300 stimuli): {per:.2f} s per candidate = {3600 / per:.0f} per hour "
        f"(train {np.mean([w['time_train'] for w in walls]):.2f} s, eval {np.mean([w['time_eval'] for w in walls]):.2f} s, "
        f"RDMs {np.mean([w['time_rdm'] for w in walls]):.2f} s)")
    if args.table4_end_to_end:
        task = synthetic_task(TABLE4, TABLE4_TRAIN, TABLE4_VAL, STIMULI, TrainConfig(epochs=1.0, batch_size=64), device)
        record = evaluate_candidate(str(space.sample(0)), task, 0)
        say("table4_candidate_s", record["wall_time"], f"Table 4 candidate end to end (synthetic data, real sizes): {record['wall_time']:.1f} s "
            f"(train {record['time_train']:.1f} s, eval {record['time_eval']:.1f} s, RDMs {record['time_rdm']:.1f} s; status {record['status']})")
        return
    # Table 4 assembled from measured parts: training, validation inference, stimulus RDMs
    net = candidate(TABLE4)
    val = synthetic_task(TABLE4, 64, 2000 if args.quick else 5000, 300, TrainConfig(steps=1), device).val_set
    evaluate(net, val, batch_size=256, device=device)
    t_eval = best_time(lambda: evaluate(net, val, batch_size=256, device=device), 1, device) / len(val)
    n_stim = 1440 if args.quick else STIMULI
    rdm_task = synthetic_task(TABLE4, 64, 64, n_stim, TrainConfig(steps=1), device)
    from neurosage.search.candidate import score_network

    t0 = time.perf_counter()
    scored = score_network(candidate(TABLE4).to(device), rdm_task)
    t_rdm = (time.perf_counter() - t0 - scored["time_eval"]) * (STIMULI / n_stim) ** 2  # --quick: scaled as n^2 (an upper bound)
    train_rate_ = results.get("table4_channels_last_img_s") or train_rate(candidate(TABLE4), (3, 64, 64), 1000, args.batch, 2, device, True)
    parts = {"train": TABLE4_TRAIN / train_rate_, "validation": TABLE4_VAL * t_eval, "RDMs": t_rdm}
    total = sum(parts.values())
    say("table4_candidate_s_projected", total, "Table 4 candidate, PROJECTED from measured parts on this device: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in parts.items()) + f" = {total:.0f} s ({3600 / total:.2f} per hour; "
        f"1000 candidates = {1000 * total / 3600:.0f} device-hours)")


def _concurrent_worker(rank: int, n_workers: int, spec: dict, steps: int, batch: int, device: str, barrier, queue) -> None:
    dev = torch.device(device)
    if dev.type == "cpu":  # as run_search's LocalCluster does: each worker its share of the cores
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // n_workers))
    step = training_step(candidate(spec, seed=rank), (spec["channels"], spec["size"], spec["size"]), spec["classes"], batch, dev, True)
    for _ in range(5):
        step()
    sync(dev)
    barrier.wait()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(dev)
    queue.put((t0, time.perf_counter()))


def section_concurrency(args, device: torch.device) -> None:
    name = "table4" if device.type == "cuda" else "demo"
    spec = TABLE4 if name == "table4" else DEMO
    print(f"\n## 5. Several candidates per device ({name} candidate, aggregate training img/s)")
    ctx = torch.multiprocessing.get_context("spawn")
    levels = [int(k) for k in args.concurrency.split(",")]
    for k in levels:
        barrier, queue = ctx.Barrier(k), ctx.Queue()
        procs = [ctx.Process(target=_concurrent_worker, args=(r, k, spec, args.steps * 4, args.batch, str(device), barrier, queue)) for r in range(k)]
        for p in procs:
            p.start()
        spans = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        wall = max(e for _, e in spans) - min(s for s, _ in spans)
        rate = k * args.steps * 4 * args.batch / wall
        say(f"concurrent_{name}_{k}_img_s", rate,
            f"{k} concurrent: {rate:.0f} img/s in total ({rate / results.get(f'concurrent_{name}_1_img_s', rate):.2f}x one)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run; RDM sizes scaled)")
    parser.add_argument("--table4-end-to-end", action="store_true", help="run one whole Table 4 candidate on synthetic data (GPU)")
    parser.add_argument("--concurrency", default="1,2,4,8", help="concurrent candidates to measure (CUDA only unless --concurrency-on-cpu)")
    parser.add_argument("--concurrency-on-cpu", action="store_true")
    parser.add_argument("--sections", default="1,2,3,4,5", help="which sections to run (default all)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"# bench_candidate: torch {torch.__version__}, device {device} ({name}), {os.cpu_count()} CPU cores, "
          f"{torch.get_num_threads()} torch threads")
    chosen = {int(x) for x in args.sections.split(",")}
    for number, section in enumerate((section_models, section_data, section_rdms, section_candidates), start=1):
        if number in chosen:
            section(args, device)
    if 5 in chosen and (device.type == "cuda" or args.concurrency_on_cpu):
        section_concurrency(args, device)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"device": str(device), "device_name": name, "cpu_cores": os.cpu_count(), "torch": torch.__version__, **results}, fh, indent=1)


if __name__ == "__main__":
    main()
