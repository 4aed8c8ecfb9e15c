"""Benchmark: what each zero-cost proxy costs on a search candidate, against one training step of the same network.

Prints, per proxy, the median and the best of ``--repeats`` wall times on a PNASNet-5 network (cifar skeleton,
1 cell per stack, 8 filters, 10 classes) and one random batch of ``--batch`` 3x32x32 images, with the score, and,
as the baseline measured in the same run, one SGD training step (forward, backward, update) on the same batch.

Usage: python benchmarks/bench_proxies.py [--batch 64] [--repeats 5] [--threads 1] [--device cpu|cuda] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch

from neurosage.nets import build_network
from neurosage.proxies import PROXIES
from neurosage.spaces import PNASNET_5


def timed(fn: Callable[[], object], repeats: int, device: torch.device) -> tuple[list[float], object]:
    """Wall times of ``repeats`` calls after one warm-up call, and the last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return times, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: as a search candidate runs)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="write the timings here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = build_network(PNASNET_5, skeleton="cifar", n_cells=1, filters=8, num_classes=10).to(device)
    g = torch.Generator().manual_seed(0)
    images = torch.randn(args.batch, 3, 32, 32, generator=g).to(device)
    labels = torch.randint(0, 10, (args.batch,), generator=g).to(device)

    opt = torch.optim.SGD(net.parameters(), lr=0.0)  # lr 0: the step costs what a real one does and changes nothing

    def train_step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(images), labels)
        loss.backward()
        opt.step()
        return float(loss.detach())

    rows = {}
    times, _ = timed(train_step, args.repeats, device)
    rows["train_step"] = {"median_s": statistics.median(times), "best_s": min(times), "score": None}
    opt.zero_grad(set_to_none=True)
    for name in PROXIES.names():
        times, score = timed(lambda: PROXIES.create(name, net, images, labels, seed=0), args.repeats, device)  # noqa: B023
        rows[name] = {"median_s": statistics.median(times), "best_s": min(times), "score": score}
    step = rows["train_step"]["median_s"]
    print(f"PNASNet-5 cifar n_cells=1 filters=8, batch {args.batch}, {device}, {torch.get_num_threads()} thread(s), "
          f"torch {torch.__version__}, median of {args.repeats}")
    print(f"{'':12s} {'median s':>10s} {'best s':>10s} {'x step':>8s}  score")
    for name, row in rows.items():
        score = "" if row["score"] is None else f"{row['score']:.6g}"
        print(f"{name:12s} {row['median_s']:10.4f} {row['best_s']:10.4f} {row['median_s'] / step:8.2f}  {score}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"batch": args.batch, "device": str(device), "threads": torch.get_num_threads(), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
