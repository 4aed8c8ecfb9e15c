"""The results contract: every file an analysis writes and a figure reads, named once.

A :class:`ResultFile` is a path inside the run folder, the columns it must have,
and the analysis that writes it. Analyses write through :func:`write_table`
(columns checked, written atomically); figures read through :func:`read_table`,
and ``neurosage figures`` names each figure it could not draw with the missing
file and the command that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from neurosage.core.atomic import atomic_path
from neurosage.core.errors import NeurosageError

__all__ = [
    "ResultFile", "ResultMissing", "write_table", "read_table",
    "PREDICTABILITY_RECORDS", "PREDICTABILITY_ARCHITECTURES", "PREDICTABILITY_CORRELATIONS", "SEARCH_CURVES", "SEARCH_SUMMARY",
    "SEARCH_MATURE", "CELL_TABLE", "CELL_RERANK", "TABLE4", "TABLE4_RERANK", "SEARCH_TRIALS", "SEARCH_TRIALS_NC",
    "DEMO_CURVES", "DEMO_MATURE", "DEMO_CONTROLS", "CHANNEL_TRIALS", "CHANNEL_TABLE", "CHANNEL_CORRELATIONS",
    "TEACHER_BENCH_VALUE", "TEACHER_BENCH_TEACHERS", "TEACHER_BENCH_SELECTION", "TEACHER_BENCH_SCORES", "TEACHER_BENCH_ARCHITECTURES",
    "TEACHER_BENCH_CHECKPOINTS",
]


class ResultMissing(NeurosageError, FileNotFoundError):
    """A result file is absent or lacks columns; the message names the command that writes it."""


@dataclass(frozen=True)
class ResultFile:
    """A file inside a run folder: where, which columns (CSV), and the command that writes it."""

    path: str
    columns: tuple[str, ...]
    command: str
    description: str = ""

    def exists(self, run_dir: str | Path) -> bool:
        return (Path(run_dir) / self.path).exists()

    @property
    def fix(self) -> str:
        return f"run '{self.command}' first"


def _analysis(name: str) -> str:
    return f"neurosage analyze {name} --run-dir RUN"


PREDICTABILITY_RECORDS = ResultFile(
    "predictability/records.csv", ("arch", "genotype", "steps", "epochs", "P", "TG", "mature_top1"), _analysis("predictability"),
    "one row per architecture and premature checkpoint (plus S_<endpoint> columns)",
)
PREDICTABILITY_ARCHITECTURES = ResultFile(
    "predictability/architectures.csv",
    ("arch", "genotype", "params", "mature_top1", "mature_val_90", "mature_val", "train_images", "train_seconds", "seconds", "mature_top1_repeat"),
    _analysis("predictability"),
    "one row per architecture: mature test top-1, validation top-1 at 90% of training and at the end (the plateau), "
    "the mature top-1 of a second seed (repeat-mature), training images and seconds",
)
PREDICTABILITY_CORRELATIONS = ResultFile(
    "predictability/correlations.csv",
    ("steps", "measure", "alpha", "n", "pearson", "pearson_lo", "pearson_hi", "spearman", "spearman_lo", "spearman_hi"),
    _analysis("predictability"), "correlation of each premature measure with mature accuracy, with 95% bootstrap CIs",
)
PREDICTABILITY_PAIRED = ResultFile(
    "predictability/paired.csv",
    ("steps", "measure", "baseline", "method", "n", "estimate", "lo", "hi", "p", "detectable", "sd_P", "sd_TG", "tg_weight"),
    _analysis("predictability"),
    "delta r of each premature measure over P with mature accuracy (same architectures): paired bootstrap 95% interval, "
    "Williams' p, the effect detectable with 80% power, and the spread of P and TG with TG's share of the ranking",
)
SEARCH_PAIRED = ResultFile(
    "search_comparison/paired.csv",
    ("algorithm", "space", "premature", "method", "baseline", "n", "estimate", "lo", "hi", "p", "detectable"), _analysis("search_comparison"),
    "best mature error of each method minus the baseline's (P) over the same seeds: paired t 95% interval, p, detectable difference",
)
SEARCH_CURVES = ResultFile(
    "search_comparison/curves.csv",
    ("algorithm", "space", "premature", "method", "seed", "n_samples", "cost_examples", "best_mature_error"), _analysis("search_comparison"),
    "best mature error among the current top-k after each sample, per search",
)
SEARCH_SUMMARY = ResultFile(
    "search_comparison/summary.csv",
    ("algorithm", "space", "premature", "method", "mean", "std", "count", "ci_lo", "ci_hi"), _analysis("search_comparison"),
    "best mature error after the whole budget: mean, sd and 95% t-interval over seeds",
)
SEARCH_MATURE = ResultFile("search_comparison/mature.csv", ("genotype", "top1_error"), _analysis("search_comparison"),
                           "mature error per genotype (cache)")
CELL_TABLE = ResultFile(
    "cell_search/table_cells.csv",
    ("network", "B", "N", "F", "params_M", "flops_B", "top1_error", "top5_error", "M1", "E1", "M2", "E2", "cost_examples"),
    _analysis("cell_search"), "the Table 2/3-style row of the teacher-guided cell search",
)
CELL_RERANK = ResultFile("cell_search/rerank.csv", ("genotype", "top1_error", "search_score"), _analysis("cell_search"), "reranked top-k cells")
TABLE4 = ResultFile(
    "neuro_search/table4.csv",
    ("network", "B", "N", "F", "params_M", "mult_adds_M", "flops_B", "top1_error", "top5_error", "M1", "E1", "M2", "E2", "cost_examples"),
    _analysis("neuro_search"),
    "performance-guided vs teacher-guided search winners (Table 4)",
)
TABLE4_PAIRED = ResultFile(
    "neuro_search/paired.csv", ("metric", "comparison", "n", "estimate", "lo", "hi", "p", "detectable", "test"), _analysis("neuro_search"),
    "the teacher-guided winner's test error minus the performance-guided winner's, paired by seed: 95% t interval, p, detectable",
)
TABLE4_RERANK = ResultFile("neuro_search/rerank.csv", ("network", "genotype", "top1_error", "search_score"), _analysis("neuro_search"),
                           "reranked top-k cells of both searches")

CHANNEL_TRIALS = ResultFile(
    "channel_search/trials.csv",
    ("search", "trial", "group", "size", "val_top1", "test_top1", "mean_qc", "mean_teacher", "params", "flops"), _analysis("channel_search"),
    "each channel search's group sizes per trial, with validation/test accuracy and both layer metrics",
)
CHANNEL_TABLE = ResultFile(
    "channel_search/table.csv", ("network", "params", "macs", "flops", "top1_error", "top5_error", "steps"), _analysis("channel_search"),
    "the searched networks (trained from scratch) and the uniform-width baseline at equal training budget",
)
CHANNEL_CORRELATIONS = ResultFile(
    "channel_search/correlations.csv", ("metric", "n", "pearson", "pearson_lo", "pearson_hi", "spearman"), _analysis("channel_search"),
    "correlation of each layer metric (mean over groups) with test accuracy across trials, 95% intervals",
)

SEARCH_TRIALS = ResultFile(
    "trials.csv", ("tid", "status", "genotype", "score", "P", "TG", "examples"), "neurosage search RUN --resume",
    "one row per trial of a search (the run folder of neurosage search)",
)
SEARCH_TRIALS_NC = ResultFile("trials.nc", (), "neurosage search RUN --resume", "trials with S_i and the endpoint x layer similarity "
                              "(rewritten from the journal by --resume)")
DEMO_CURVES = ResultFile(
    "curves.csv", ("method", "n_samples", "cost_examples", "best_mature_error"), "neurosage demo --run-dir RUN",
    "mature test error of each demo search's best candidate so far, against training examples spent",
)
DEMO_MATURE = ResultFile("mature.csv", ("genotype", "top1_error"), "neurosage demo --run-dir RUN", "mature test error per genotype (cache)")
DEMO_CONTROLS = ResultFile(
    "controls.csv", ("teacher", "endpoint", "layer", "similarity"), "neurosage demo --run-dir RUN",
    "the P+TG winner's endpoint x layer similarity to the teacher and to its controls (pixels, the untrained teacher)",
)


def _missing_columns(result: ResultFile, table: pd.DataFrame) -> list[str]:
    return [c for c in result.columns if c not in table.columns]


def write_table(run_dir: str | Path, result: ResultFile, table: pd.DataFrame) -> Path:
    """Write ``table`` as ``result``'s CSV in ``run_dir`` (atomically) after checking its columns."""
    missing = _missing_columns(result, table)
    if missing:
        raise ValueError(f"{result.path}: the table lacks the contracted column(s) {missing}; this is a bug in '{result.command}'")
    path = Path(run_dir) / result.path
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def read_table(run_dir: str | Path, result: ResultFile) -> pd.DataFrame:
    """Read ``result``'s CSV from ``run_dir``; a missing file or column raises :class:`ResultMissing` with the fix."""
    path = Path(run_dir) / result.path
    if not path.exists():
        raise ResultMissing("the file is missing", result.fix, file=path)
    try:
        table = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ResultMissing(f"the file cannot be read as a table ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})",
                            f"{result.fix} again (the file is empty, cut short or not a CSV)", file=path) from None
    missing = _missing_columns(result, table)
    if missing:
        raise ResultMissing(f"the file lacks column(s) {missing}", f"{result.fix} again (the file predates this version)", file=path)
    return table


TEACHER_BENCH_VALUE = ResultFile(
    "teacher_bench/records/value.csv", ("step", "measure", "target", "n", "r", "r_low", "r_high", "partial_r", "partial_low", "partial_high",
                                        "partial_p", "spearman", "kendall", "topk_precision"),
    _analysis("teacher_bench"), "every measure (S_i and TG of each teacher and control, P, the rivals) against each target: r and the partial r "
    "given P with paired bootstrap intervals, rank metrics",
)
TEACHER_BENCH_SCORES = ResultFile(
    "teacher_bench/records/scores.csv", ("teacher", "endpoint", "arch", "step", "S"), _analysis("teacher_bench"),
    "S_i of every teacher endpoint for every architecture at every stored step",
)
TEACHER_BENCH_ARCHITECTURES = ResultFile(
    "teacher_bench/records/architectures.csv", ("arch", "status", "M_short"), _analysis("teacher_bench"),
    "the pool's architectures with their targets",
)
TEACHER_BENCH_CHECKPOINTS = ResultFile(
    "teacher_bench/records/checkpoints.csv", ("arch", "step", "P"), _analysis("teacher_bench"), "P of every architecture at every stored step",
)
TEACHER_BENCH_TEACHERS = ResultFile(
    "teacher_bench/records/teachers.csv", ("teacher", "depth", "epochs", "test_top1"), _analysis("teacher_bench"),
    "the bench's ResNet teachers and their test top-1 (the untrained control: none)",
)
TEACHER_BENCH_SELECTION = ResultFile(
    "teacher_bench/records/selection.csv", ("rule", "mean_regret", "ci_low", "ci_high", "p_oracle", "diff", "diff_ci_low", "diff_ci_high",
                                            "protocol"),
    _analysis("teacher_bench"), "regret of a simulated search's pick by each rule on paired random sub-pools",
)

