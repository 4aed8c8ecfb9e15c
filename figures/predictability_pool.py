"""The predictability pool: mature accuracy's reliability across seeds, the plateau, and the teacher against the candidates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neurosage.analyses.results import PREDICTABILITY_ARCHITECTURES, read_table
from neurosage.figures.output import new_figure, save_figure


def make(run_dir: Path, out_dir: Path) -> list[Path]:
    archs = read_table(run_dir, PREDICTABILITY_ARCHITECTURES)
    summary_file = Path(run_dir) / "predictability" / "summary.json"
    teacher = json.loads(summary_file.read_text()).get("teacher_top1") if summary_file.exists() else None
    fig = new_figure(figsize=(11, 3.6))
    ax = fig.add_subplot(1, 3, 1)
    repeated = archs.dropna(subset=["mature_top1_repeat"])
    ax.scatter(repeated.mature_top1, repeated.mature_top1_repeat, s=18)
    if len(repeated) >= 3:
        r = np.corrcoef(repeated.mature_top1, repeated.mature_top1_repeat)[0, 1]
        ax.set_title(f"reliability: Pearson r = {r:.2f} (n = {len(repeated)})", fontsize=10)
    both = np.concatenate([repeated.mature_top1.to_numpy(float), repeated.mature_top1_repeat.to_numpy(float)])
    lims = [float(both.min()), float(both.max())] if len(both) else [float(archs.mature_top1.min()), float(archs.mature_top1.max())]
    ax.plot(lims, lims, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("mature test top-1, seed 1")
    ax.set_ylabel("mature test top-1, seed 2")
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(1, 3, 2)
    ax.scatter(archs.mature_val_90, archs.mature_val, s=12)
    lims = [min(archs.mature_val_90.min(), archs.mature_val.min()), max(archs.mature_val_90.max(), archs.mature_val.max())]
    ax.plot(lims, lims, color="grey", lw=0.8, ls="--")
    ax.set_title(f"plateau: mean gain in the last 10% = {(archs.mature_val - archs.mature_val_90).mean():+.3f}", fontsize=10)
    ax.set_xlabel("validation top-1 at 90% of training")
    ax.set_ylabel("validation top-1 at the end")
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(1, 3, 3)
    ax.hist(archs.mature_top1, bins=20, color="C0", alpha=0.8, label=f"{len(archs)} candidates")
    if teacher is not None:
        ax.axvline(teacher, color="C3", label=f"teacher {teacher:.3f}")
    ax.set_xlabel("mature test top-1")
    ax.set_ylabel("architectures")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, out_dir, "predictability_pool")
