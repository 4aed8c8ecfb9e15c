"""The teacher bench at a glance: what each teacher endpoint adds to P (partial r given P, 95% interval) against the
teacher's own test accuracy, beside the untrained control and the pixel and category RDMs; and the bench's tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neurosage.analyses.results import (
    TEACHER_BENCH_ARCHITECTURES,
    TEACHER_BENCH_CHECKPOINTS,
    TEACHER_BENCH_SCORES,
    TEACHER_BENCH_SELECTION,
    TEACHER_BENCH_TEACHERS,
    TEACHER_BENCH_VALUE,
    read_table,
)
from neurosage.figures.output import new_figure, save_figure, save_table

__all__ = ["make", "curves", "tables", "primary_table", "rival_table", "selection_summary", "targets_table", "alpha_summary", "docs_tables",
           "DOCS_TABLES"]

_ENDPOINTS = ("stack1", "stack2", "stack3")
_CONTROLS = ("pixels", "category")


def _at(value: pd.DataFrame, target: str, step: int | None) -> pd.DataFrame:
    rows = value[value.target == target]
    step = int(rows.step.max()) if step is None else step
    return rows[rows.step == step]


def _measure(teacher: str, endpoint: str | None) -> str:
    return f"TG:{teacher}" if endpoint is None else f"S:{teacher}:{endpoint}"


def make(run_dir: Path, out_dir: Path, target: str = "M_short", step: int | None = None) -> list[Path]:
    value, teachers = read_table(run_dir, TEACHER_BENCH_VALUE), read_table(run_dir, TEACHER_BENCH_TEACHERS)
    at = _at(value, target, step).set_index("measure")
    chance = 1 / 10
    fig = new_figure(figsize=(10, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, suffix, title in ((axes[0], "", "S_i with the target, given P"), (axes[1], " beyond pixels", "the same, beyond the pixel RDM")):
        for k, control in enumerate(_CONTROLS if not suffix else ()):
            key = _measure(control, control)
            if key in at.index:
                row = at.loc[key]
                ax.axhspan(row.partial_low, row.partial_high, color=f"C{7 + k}", alpha=0.15, label=f"{control} RDM (control), 95% CI")
                ax.axhline(row.partial_r, color=f"C{7 + k}", lw=1)
        for e, endpoint in enumerate((*_ENDPOINTS, None)):
            xs, ys, lows, highs = [], [], [], []
            for row in teachers.itertuples():
                key = _measure(f"{row.teacher}{suffix}", endpoint)
                if key not in at.index:
                    continue
                accuracy = chance if not np.isfinite(row.test_top1) else row.test_top1
                xs.append(accuracy + (e - 1.5) * 0.006)
                ys.append(at.loc[key, "partial_r"])
                lows.append(at.loc[key, "partial_low"])
                highs.append(at.loc[key, "partial_high"])
            if xs:
                ys_a = np.asarray(ys)
                ax.errorbar(xs, ys_a, yerr=[ys_a - np.asarray(lows), np.asarray(highs) - ys_a], fmt="o" if endpoint else "s", capsize=2,
                            color=f"C{e}", label=endpoint or "TG (mean of the stacks)")
        for row in teachers.itertuples():  # which teacher stands where
            accuracy = chance if not np.isfinite(row.test_top1) else row.test_top1
            ax.annotate(row.teacher, (accuracy, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 2), textcoords="offset points",
                        rotation=60, fontsize=6, ha="left", va="bottom")
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(chance, color="grey", ls=":", lw=0.8)
        ax.set_xlabel("teacher's test top-1 (dotted: untrained, chance)")
        ax.set_title(title, fontsize=10, pad=42)
        ax.grid(alpha=0.3)
    shown = int(value[value.target == target].step.max()) if step is None else step
    axes[0].set_ylabel(f"partial r with {target} given P at step {shown}\n(95% paired bootstrap CI)")
    axes[0].legend(fontsize=7, loc="best")
    return save_figure(fig, out_dir, "teacher_value")


def primary_table(value: pd.DataFrame, teachers: pd.DataFrame, target: str = "M_short", step: int | None = None) -> pd.DataFrame:
    """Per teacher (with its accuracy) and endpoint: r and the partial r given P with intervals and p, beyond pixels too."""
    at = _at(value, target, step).set_index("measure")
    rows = []
    names = [*teachers.teacher, *_CONTROLS]
    for teacher in names:
        accuracy = teachers.set_index("teacher").test_top1.get(teacher, np.nan)
        for endpoint in (*(_ENDPOINTS if teacher not in _CONTROLS else (teacher,)), None):
            for suffix in ("", " beyond pixels"):
                key = _measure(f"{teacher}{suffix}", endpoint)
                if key not in at.index:
                    continue
                row = at.loc[key]
                rows.append({"teacher": teacher + suffix, "test top-1": accuracy, "endpoint": endpoint or "TG", "n": int(row.n),
                             "r": f"{row.r:+.3f} [{row.r_low:+.3f}, {row.r_high:+.3f}]",
                             "partial r given P": f"{row.partial_r:+.3f} [{row.partial_low:+.3f}, {row.partial_high:+.3f}]",
                             "p": f"{row.partial_p:.2g}"})
    return pd.DataFrame(rows)


def rival_table(value: pd.DataFrame, target: str = "M_short") -> pd.DataFrame:
    """The field's cheap scores at initialisation beside P and TG at the last step: Pearson, Spearman, Kendall, top-k precision."""
    rows = value[value.target == target]
    last = rows[(rows.step == rows.step.max()) & (rows.measure.eq("P") | rows.measure.str.startswith("TG:"))]
    initial = rows[(rows.step == 0) & ~rows.measure.str.match(r"^(S|TG):|^P$")]
    out = pd.concat([last, initial])
    return pd.DataFrame({
        "score": [f"{m} (step {s})" for m, s in zip(out.measure, out.step)], "n": out.n.astype(int),
        "Pearson r": [f"{r:+.3f} [{lo:+.3f}, {hi:+.3f}]" for r, lo, hi in zip(out.r, out.r_low, out.r_high)],
        "Spearman": [f"{v:+.3f}" for v in out.spearman], "Kendall tau-b": [f"{v:+.3f}" for v in out.kendall],
        "top-10% precision": [f"{v:.2f}" for v in out.topk_precision],
    })


def selection_summary(selection: pd.DataFrame) -> pd.DataFrame:
    """Mean regret (with interval), probability of the oracle, and the paired difference against the baseline per rule."""
    return pd.DataFrame({
        "protocol": selection.protocol, "rule": selection.rule,
        "mean regret": [f"{r:.4f} [{lo:.4f}, {hi:.4f}]" for r, lo, hi in zip(selection.mean_regret, selection.ci_low, selection.ci_high)],
        "P(oracle)": [f"{p:.2f}" for p in selection.p_oracle],
        "vs baseline": [f"{d:+.4f} [{lo:+.4f}, {hi:+.4f}]" for d, lo, hi in zip(selection["diff"], selection.diff_ci_low, selection.diff_ci_high)],
    })


def tables(run_dir: Path, out_dir: Path) -> list[Path]:
    value, teachers = read_table(run_dir, TEACHER_BENCH_VALUE), read_table(run_dir, TEACHER_BENCH_TEACHERS)
    selection = read_table(run_dir, TEACHER_BENCH_SELECTION)
    paths: list[Path] = []
    paths += save_table(primary_table(value, teachers), out_dir, "teacher_bench_primary",
                        "What each teacher endpoint adds to P: r and partial r given P with the target, paired bootstrap 95% CI")
    paths += save_table(rival_table(value), out_dir, "teacher_bench_rivals",
                        "P and TG at the last checkpoint beside the zero-cost proxies, parameters and FLOPs at initialisation")
    paths += save_table(selection_summary(selection), out_dir, "teacher_bench_selection",
                        "Simulated search: regret of each rule's pick on paired random sub-pools")
    return paths


def targets_table(targets: pd.DataFrame) -> pd.DataFrame:
    """How the targets agree: the 200-step target with its second seed (reliability) and with the long training."""
    return pd.DataFrame({
        "targets": [f"{a} vs {b}" for a, b in zip(targets.a, targets.b)], "method": targets.method, "n": targets.n.astype(int),
        "r": [f"{r:+.3f} [{lo:+.3f}, {hi:+.3f}]" for r, lo, hi in zip(targets.estimate, targets.ci_low, targets.ci_high)],
        "p": [f"{p:.2g}" for p in targets.p],
    })


def alpha_summary(alpha: pd.DataFrame, step: int | None = None) -> pd.DataFrame:
    """P + alpha TG with alpha chosen by leave-one-out, against P alone out of sample: delta r with its interval and Williams' p."""
    rows = alpha[alpha.step == (alpha.step.max() if step is None else step)]
    return pd.DataFrame({
        "score": rows.measure, "n": rows.n.astype(int), "alpha (all; median of folds)": [
            f"{a:.2g}; {m:.2g}" for a, m in zip(rows.alpha_all, rows.alpha_median)],
        "r(P)": [f"{v:+.3f}" for v in rows.r_p], "r(P + alpha TG), out of sample": [f"{v:+.3f}" for v in rows.r_cv],
        "delta r": [f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in zip(rows.delta_r, rows.delta_ci_low, rows.delta_ci_high)],
        "Williams p": [f"{p:.2g}" for p in rows.delta_p], "detectable": [f"{d:.3f}" for d in rows.detectable],
    })


#: The teacher bench's tables in ``docs/small-scale.md``, each between ``<!-- teacher-bench:<name> -->`` and
#: ``<!-- /teacher-bench:<name> -->``: name -> (records it is made from, how).
DOCS_TABLES = ("primary", "primary_long", "drop3", "targets", "alpha", "rivals", "selection")


def docs_tables(records: Path) -> dict[str, str]:
    """The Markdown of each of :data:`DOCS_TABLES`, recomputed from a records folder (the run's, or the committed copy in
    ``docs/small-scale/teacher-bench/``); a test checks that the docs show exactly these."""
    records = Path(records)
    value, teachers = pd.read_csv(records / "value.csv"), pd.read_csv(records / "teachers.csv")
    made = {
        "primary": primary_table(value, teachers, "M_short"),
        "primary_long": primary_table(value, teachers, "M_long"),
        "drop3": primary_table(pd.read_csv(records / "value_drop3.csv"), teachers, "M_short"),
        "targets": targets_table(pd.read_csv(records / "targets.csv")),
        "alpha": alpha_summary(pd.read_csv(records / "alpha.csv")),
        "rivals": rival_table(value, "M_short"),
        "selection": selection_summary(pd.read_csv(records / "selection.csv")),
    }
    return {name: made[name].to_markdown(index=False, floatfmt=".3g") for name in DOCS_TABLES}


def curves(run_dir: Path, out_dir: Path, target: str = "M_short") -> list[Path]:
    """Figures 2 and 3 of the paper, per teacher, from the bench's records: (left) r with ``target`` of P and of each
    teacher's TG at every stored step, with 95% intervals; (right) r(P + alpha TG, ``target``) against alpha at the last
    step, one line per teacher, P alone at alpha = 0 (the paper's Figure 2 sweeps the same)."""
    value = read_table(run_dir, TEACHER_BENCH_VALUE)
    scores, checkpoints = read_table(run_dir, TEACHER_BENCH_SCORES), read_table(run_dir, TEACHER_BENCH_CHECKPOINTS)
    architectures = read_table(run_dir, TEACHER_BENCH_ARCHITECTURES)
    rows = value[value.target == target]
    teachers = [t for t in dict.fromkeys(scores.teacher) if t not in _CONTROLS]
    fig = new_figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    steps = sorted(rows.step.unique())
    for k, name in enumerate(["P", *(f"TG:{t}" for t in teachers), *(f"TG:{c}" for c in _CONTROLS)]):
        line = rows[rows.measure == name].set_index("step").reindex(steps)
        if line.r.isna().all():
            continue
        style = {"color": "k", "lw": 2} if name == "P" else {"color": f"C{k}", "ls": "--" if name.split(":")[1] in _CONTROLS else "-"}
        left.errorbar(np.asarray(steps) + 0.15 * (k - 3), line.r, yerr=[line.r - line.r_low, line.r_high - line.r], marker="o", ms=3,
                      capsize=2, label=name.replace("TG:", "TG "), **style)
    left.axhline(0, color="grey", lw=0.8)
    left.set_xlabel("premature training steps (0: at initialisation)")
    left.set_ylabel(f"r with {target} (95% bootstrap CI)")
    left.set_title("Figure 3 per teacher: what each score says at each step", fontsize=10)
    left.legend(fontsize=6, loc="upper left", ncol=2)
    left.grid(alpha=0.3)
    last = max(steps)
    ok = architectures[architectures.status == "ok"].set_index("arch")[target]
    p = checkpoints[checkpoints.step == last].set_index("arch").P.reindex(ok.index)
    alphas = np.linspace(0, 4, 33)
    for k, teacher in enumerate([*teachers, *_CONTROLS], start=1):
        picked = scores[(scores.teacher == teacher) & (scores.step == last)]
        if picked.empty:
            continue
        tg = picked.groupby("arch").S.mean().reindex(ok.index)
        both = pd.concat([p, tg, ok], axis=1, keys=["P", "TG", "y"]).dropna()
        r = [np.corrcoef(both.P + a * both.TG, both.y)[0, 1] for a in alphas]
        right.plot(alphas, r, color=f"C{k}", ls="--" if teacher in _CONTROLS else "-", label=f"P + alpha TG {teacher}")
    right.axhline(float(np.corrcoef(p.dropna(), ok.reindex(p.dropna().index))[0, 1]), color="k", lw=1, ls=":", label="P alone")
    right.set_xlabel("alpha")
    right.set_ylabel(f"r(P + alpha TG, {target}) at step {last}")
    right.set_title("Figure 2 per teacher: the combination over alpha (in sample)", fontsize=10)
    right.legend(fontsize=7)
    right.grid(alpha=0.3)
    return save_figure(fig, out_dir, "teacher_curves")
