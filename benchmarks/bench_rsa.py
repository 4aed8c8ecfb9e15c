"""Benchmark: neurosage RDMs vs rsatoolbox and a bare ``X @ X.T`` in the same run.

Prints, per shape, the best-of-N wall time of each, the speed-up over
rsatoolbox, the ratio to the bare product, and the max abs difference to
rsatoolbox; then the many-to-many comparison of 3 teacher x 8 candidate RDMs.

``--methods`` instead times every registered comparison and RDM method against its reference in the same run
(rsatoolbox where it has the method, else scipy or ``linear_cka`` on the patterns) and prints one markdown table
(docs/performance.md, "Every method").

Usage: python benchmarks/bench_rsa.py [--repeats 3] [--device cpu] [--methods [--method-stimuli 1500]]
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


#: Our comparison -> rsatoolbox's name for it (None: no rsatoolbox comparison; CKA is checked against linear_cka).
RSATOOLBOX_COMPARE = {"pearson": "corr", "spearman": "spearman", "rho_a": "rho-a", "cosine": "cosine", "kendall_tau_a": "tau-a",
                      "kendall_tau_b": "tau-b", "corr_cov": "corr_cov", "cosine_cov": "cosine_cov", "bures": "bures",
                      "neg_riem_dist": "neg_riem_dist", "cka": None, "cka_unbiased": None}
#: Comparisons whose reference is O(pairs^2) or an eigendecomposition per pair: timed at --slow-stimuli.
SLOW = {"kendall_tau_a", "kendall_tau_b", "corr_cov", "cosine_cov", "bures", "neg_riem_dist"}


def bench_every_compare(n: int, n_slow: int, repeats: int, device: str) -> list[str]:
    """One row per registered comparison: 3 teacher x 8 candidate RDMs (sqeuclidean of 64 features, or of n + 50 features
    for neg_riem_dist, which needs positive definite second moments), ours vs the reference, in this run."""
    from neurosage.rsa.compare import linear_cka
    from neurosage.rsa.interop import to_rsatoolbox
    from neurosage.rsa.methods import COMPARE_METHODS

    rows = []
    for method in sorted(COMPARE_METHODS.names()):
        stimuli = min(n_slow, 100) if method == "neg_riem_dist" else n_slow if method in SLOW else n  # rsatoolbox's neg_riem_dist
        features = stimuli + 50 if method == "neg_riem_dist" else 64  # needs O(pairs^2) memory: 300 stimuli take over 16 GB
        rng = np.random.default_rng(3)
        xs = {f"T{i}": rng.normal(size=(stimuli, features)) for i in range(3)}
        ys = {f"C{j}": rng.normal(size=(stimuli, features)) for j in range(8)}
        teachers, candidates = compute_rdms(xs, "sqeuclidean", device=device), compute_rdms(ys, "sqeuclidean", device=device)
        t_ours, ours = best_time(lambda: compare_rdms(teachers, candidates, method, device=device), repeats)
        ref_name = RSATOOLBOX_COMPARE.get(method)
        if ref_name is not None:
            ta, tb = to_rsatoolbox(teachers), to_rsatoolbox(candidates)
            t_ref, ref = best_time(lambda: rsatoolbox.rdm.compare(ta, tb, method=ref_name), repeats)
            reference = f"rsatoolbox `{ref_name}`"
        else:
            unbiased = method == "cka_unbiased"
            t_ref, ref = best_time(lambda: np.array([[linear_cka(x, y, unbiased=unbiased) for y in ys.values()] for x in xs.values()]),
                                   repeats)
            reference = "`linear_cka` on the patterns"
        diff = np.abs(np.asarray(ours.values) - np.asarray(ref)).max()
        rows.append(f"| {method} | {stimuli} | {t_ours:.3f} s | {reference} {t_ref:.3f} s | {t_ref / t_ours:.1f}x | {diff:.1e} |")
        print(rows[-1], flush=True)
    return rows


def bench_every_rdm(n: int, features: int, repeats: int, device: str) -> list[str]:
    """One row per registered RDM method: one RDM of n stimuli x features (crossnobis: 4 repetitions; poisson: counts),
    ours vs rsatoolbox's calc_rdm (or scipy's pdist where rsatoolbox has no such method), in this run."""
    import scipy.spatial.distance

    from neurosage.rsa.methods import RDM_METHODS
    from neurosage.rsa.rdm import crossnobis_distance

    rng = np.random.default_rng(4)
    x = rng.normal(size=(n, features))
    rows = []
    for method in sorted(RDM_METHODS.names()):
        if method == "crossnobis":
            reps = 4
            trials = rng.normal(size=(n * reps, features))
            conditions, folds = np.repeat(np.arange(n), reps), np.tile(np.arange(reps), n)
            t_ours, ours = best_time(lambda: crossnobis_distance(torch.as_tensor(trials), conditions=conditions, folds=folds), repeats)
            ds = rsatoolbox.data.Dataset(trials, obs_descriptors={"conds": conditions.astype(str), "fold": folds.astype(str)})
            t_ref, ref_rdm = best_time(lambda: rsatoolbox.rdm.calc_rdm(ds, method="crossnobis", descriptor="conds",
                                                                         cv_descriptor="fold"), repeats)
            order = np.argsort(np.asarray(ref_rdm.pattern_descriptors["conds"]).astype(int))
            ref = ref_rdm.get_matrices()[0][np.ix_(order, order)]
            ours_m = np.asarray(ours)
            reference = "rsatoolbox `crossnobis`"
        else:
            data = rng.poisson(5.0, size=x.shape).astype(float) if method == "poisson" else x
            t_ours, ours = best_time(lambda: compute_rdm(data, method, device=device), repeats)
            ours_m = ours.values
            ref_name = {"correlation": "correlation", "sqeuclidean": "euclidean", "poisson": "poisson"}.get(method)
            if ref_name is not None:
                ds = rsatoolbox.data.Dataset(data)
                t_ref, ref_rdm = best_time(lambda: rsatoolbox.rdm.calc_rdm(ds, method=ref_name), repeats)
                ref, reference = ref_rdm.get_matrices()[0], f"rsatoolbox `{ref_name}`"
            else:
                metric = {"cosine": "cosine", "euclidean": "euclidean"}[method]
                t_ref, flat = best_time(lambda: scipy.spatial.distance.pdist(data, metric), repeats)
                ref, reference = scipy.spatial.distance.squareform(flat), f"scipy `pdist(metric={metric!r})`"
        diff = np.abs(np.asarray(ours_m) - ref).max()
        rows.append(f"| {method} | {n} x {features} | {t_ours:.3f} s | {reference} {t_ref:.3f} s | {t_ref / t_ours:.1f}x | {diff:.1e} |")
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="small shapes only (smoke run)")
    parser.add_argument("--compare-stimuli", type=int, default=5760, help="stimuli of the RDM comparisons (default: the paper's 5760)")
    parser.add_argument("--methods", action="store_true", help="every registered comparison and RDM method against its reference")
    parser.add_argument("--method-stimuli", type=int, default=1500, help="stimuli of the fast comparisons and of the RDMs (default 1500)")
    parser.add_argument("--slow-stimuli", type=int, default=300, help="stimuli of the comparisons rsatoolbox computes slowly (default 300)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, rsatoolbox {importlib.metadata.version('rsatoolbox')}")
    if args.methods:
        import neurosage.rsa.compare  # noqa: F401  (registers the built-in methods)

        print("| comparison (3 x 8 RDMs) | stimuli | ours | reference (same run) | speed-up | max abs difference |\n|---|---|---|---|---|---|")
        bench_every_compare(args.method_stimuli, args.slow_stimuli, args.repeats, args.device)
        print("\n| RDM method | stimuli x features | ours | reference (same run) | speed-up | max abs difference |\n|---|---|---|---|---|---|")
        bench_every_rdm(args.method_stimuli, 296, args.repeats, args.device)
        return
    shapes = [(500, 100)] if args.quick else [(5760, 296), (1000, 16384), (5760, 4096)]
    for shape in shapes:
        bench_rdm(shape, args.repeats, args.device)
    bench_compare(300 if args.quick else args.compare_stimuli, args.repeats, args.device)
    bench_cka(300 if args.quick else args.compare_stimuli, args.repeats, args.device)


if __name__ == "__main__":
    main()
