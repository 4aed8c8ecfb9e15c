"""Benchmark: neurosage RDMs vs rsatoolbox and a bare ``X @ X.T`` in the same run.

Prints, per shape, the best-of-N wall time of each, the speed-up over
rsatoolbox, the ratio to the bare product, and the max abs difference to
rsatoolbox; then the many-to-many comparison of 3 teacher x 8 candidate RDMs.

Usage: python benchmarks/bench_rsa.py [--repeats 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import time

import numpy as np
import rsatoolbox
import torch

from neurosage.rsa.compare import compare_rdms
from neurosage.rsa.rdm import compute_rdm, compute_rdms


def best_time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def bench_rdm(shape: tuple[int, int], repeats: int, device: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    xt = torch.as_tensor(x, device=device)

    def bare():
        out = xt @ xt.T
        if out.is_cuda:
            torch.cuda.synchronize()
        return out

    t_bare, _ = best_time(bare, repeats)
    t_ours, ours = best_time(lambda: compute_rdm(x, device=device), repeats)
    ds = rsatoolbox.data.Dataset(x)
    t_ref, ref = best_time(lambda: rsatoolbox.rdm.calc_rdm(ds, method="correlation"), max(1, repeats - 1))
    diff = np.abs(ours.values - ref.get_matrices()[0]).max()
    print(
        f"RDM correlation {shape[0]}x{shape[1]} float64 ({device}): ours {t_ours:.3f}s | "
        f"rsatoolbox {t_ref:.3f}s | bare X@X.T {t_bare:.3f}s | "
        f"speed-up vs rsatoolbox {t_ref / t_ours:.1f}x | ours/bare {t_ours / t_bare:.2f} | max|diff| {diff:.1e}"
    )


def bench_compare(n: int, repeats: int, device: str) -> None:
    rng = np.random.default_rng(1)
    teachers = compute_rdms({f"T{i}": rng.normal(size=(n, 64)) for i in range(3)}, device=device)
    candidates = compute_rdms({f"C{j}": rng.normal(size=(n, 64)) for j in range(8)}, device=device)
    for method in ("pearson", "spearman", "rho_a", "cosine"):
        t_ours, ours = best_time(lambda: compare_rdms(teachers, candidates, method, device=device), repeats)
        ref_name = {"pearson": "corr", "spearman": "spearman", "rho_a": "rho-a", "cosine": "cosine"}[method]
        from neurosage.rsa.interop import to_rsatoolbox

        ta, tb = to_rsatoolbox(teachers), to_rsatoolbox(candidates)
        t_ref, ref = best_time(lambda: rsatoolbox.rdm.compare(ta, tb, method=ref_name), 1)
        print(
            f"compare 3x8 RDMs at {n} stimuli, {method}: ours {t_ours:.2f}s | rsatoolbox {t_ref:.2f}s | "
            f"speed-up {t_ref / t_ours:.1f}x | max|diff| {np.abs(ours.values - ref).max():.1e}"
        )


def bench_cka(n: int, repeats: int, device: str) -> None:
    """Linear CKA from squared-Euclidean RDMs (3 x 8, one product of centred Grams) against linear_cka on the patterns, pair by pair."""
    from neurosage.rsa.compare import linear_cka

    rng = np.random.default_rng(2)
    xs = {f"T{i}": rng.normal(size=(n, 64)) for i in range(3)}
    ys = {f"C{j}": rng.normal(size=(n, 64)) for j in range(8)}
    teachers, candidates = compute_rdms(xs, "sqeuclidean", device=device), compute_rdms(ys, "sqeuclidean", device=device)
    for method, unbiased in (("cka", False), ("cka_unbiased", True)):
        t_ours, ours = best_time(lambda: compare_rdms(teachers, candidates, method, device=device), repeats)
        t_ref, ref = best_time(lambda: np.array([[linear_cka(x, y, unbiased=unbiased) for y in ys.values()] for x in xs.values()]), 1)
        print(f"compare 3x8 RDMs at {n} stimuli, {method}: from RDMs {t_ours:.2f}s | linear_cka on patterns {t_ref:.2f}s | "
              f"max|diff| {np.abs(ours.values - ref).max():.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="small shapes only (smoke run)")
    parser.add_argument("--compare-stimuli", type=int, default=5760, help="stimuli of the RDM comparisons (default: the paper's 5760)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, rsatoolbox {importlib.metadata.version('rsatoolbox')}")
    shapes = [(500, 100)] if args.quick else [(5760, 296), (1000, 16384), (5760, 4096)]
    for shape in shapes:
        bench_rdm(shape, args.repeats, args.device)
    bench_compare(300 if args.quick else args.compare_stimuli, args.repeats, args.device)
    bench_cka(300 if args.quick else args.compare_stimuli, args.repeats, args.device)


if __name__ == "__main__":
    main()
