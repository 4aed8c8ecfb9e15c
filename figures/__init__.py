"""One module per paper figure/table; each reads only result files of a run folder.

:data:`FIGURES` registers every figure and table with the result files it reads
(``inputs``, from :mod:`neurosage.analyses.results`); :func:`make_all` draws
everything the run folder has data for, into ``<run>/figures/``, and says why
the others could not be drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neurosage.analyses import results as R
from neurosage.core.atomic import file_in_the_way
from neurosage.core.errors import ConfigError
from neurosage.core.registry import Registry

__all__ = ["FIGURES", "Drawn", "make_all"]

#: Figures and tables by name; ``FIGURES.create(name, run_dir, out_dir)`` draws one and returns the paths written.
FIGURES: Registry = Registry("figure")
_PAPER = "Bashivan, Tensen, DiCarlo 2018, Teacher Guided Architecture Search, arXiv:1808.01405"
for _name, _target, _inputs, _description in (
    ("fig2_alpha", "fig2_alpha:make", (R.PREDICTABILITY_CORRELATIONS,), "Figure 2: r of P + alpha TG with mature accuracy vs alpha"),
    ("fig3_predictability", "fig3_predictability:make", (R.PREDICTABILITY_RECORDS, R.PREDICTABILITY_CORRELATIONS),
     "Figure 3: premature measures vs mature accuracy"),
    ("predictability_pool", "predictability_pool:make", (R.PREDICTABILITY_ARCHITECTURES,),
     "the predictability pool: mature accuracy across seeds, the plateau, the teacher vs the candidates"),
    ("fig4_search", "fig4_search:make", (R.SEARCH_CURVES,), "Figure 4: search progress vs samples and vs cost"),
    ("predictability_paired", "tables:predictability_paired", (R.PREDICTABILITY_PAIRED,),
     "delta r of P + alpha TG (and each measure) over P, paired"),
    ("table1", "tables:table1", (R.SEARCH_SUMMARY,), "Table 1: random vs P vs P+TG search"),
    ("table1_paired", "tables:table1_paired", (R.SEARCH_PAIRED,), "Table 1 as paired differences over seeds"),
    ("table2", "tables:table2", (R.CELL_TABLE,), "Tables 2/3: teacher-guided cell search with reranking"),
    ("table4", "tables:table4", (R.TABLE4,), "Table 4: performance-guided vs teacher-guided search"),
    ("table4_paired", "tables:table4_paired", (R.TABLE4_PAIRED,), "Table 4 as a paired difference over seeds"),
    ("search_progress", "search_trials:progress", (R.SEARCH_TRIALS,), "a search folder: score, P and TG per trial, best so far"),
    ("search_best_similarity", "search_trials:best_similarity", (R.SEARCH_TRIALS_NC,),
     "a search folder: the best trial's endpoint x layer similarity"),
    ("demo", "demo_summary:make", (R.DEMO_CURVES,), "the demo: mature accuracy vs examples for P and P+TG, and the winner's similarity"),
    ("channel_sizes", "channel_sizes:sizes", (R.CHANNEL_TRIALS,), "channel search: each group's size over trials, per steering metric"),
    ("channel_table", "channel_sizes:table", (R.CHANNEL_TABLE, R.CHANNEL_CORRELATIONS),
     "channel search: final networks and metric-accuracy correlations"),
    ("teacher_value", "teacher_value:make", (R.TEACHER_BENCH_VALUE, R.TEACHER_BENCH_TEACHERS),
     "the teacher bench: what each teacher endpoint adds to P (partial r) against the teacher's accuracy, controls beside"),
    ("teacher_curves", "teacher_value:curves", (R.TEACHER_BENCH_VALUE, R.TEACHER_BENCH_SCORES, R.TEACHER_BENCH_CHECKPOINTS,
                                                R.TEACHER_BENCH_ARCHITECTURES),
     "the teacher bench's Figures 2 and 3 per teacher: r of P and each TG at every step; r(P + alpha TG) over alpha"),
    ("teacher_bench_tables", "teacher_value:tables", (R.TEACHER_BENCH_VALUE, R.TEACHER_BENCH_TEACHERS, R.TEACHER_BENCH_SELECTION),
     "the teacher bench's tables: the primary test, the rivals in the field's metrics, the simulated search"),
):
    FIGURES.register(_name, f"neurosage.figures.{_target}", description=_description, citation=_PAPER, inputs=_inputs)


@dataclass
class Drawn:
    """What :func:`make_all` wrote (per figure) and what it could not draw (per figure, the reason)."""

    written: dict[str, list[Path]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def make_all(run_dir: str | Path, out_dir: str | Path | None = None) -> Drawn:
    """Draw every registered figure and table whose input files exist in ``run_dir``."""
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir else run_dir / "figures"
    blocker = file_in_the_way(out)
    if blocker is not None:  # mkdir's bare FileExistsError at the first figure otherwise
        raise ConfigError(f"{blocker} is a file, and the figures go into a folder", "give out_dir a folder (it is created), or leave it "
                          "out for RUN/figures", file=blocker, field="out_dir")
    drawn = Drawn()
    for entry in FIGURES.list():
        missing = [f for f in entry.inputs if not f.exists(run_dir)]
        if missing:
            drawn.skipped[entry.name] = _this_run("; ".join(f"needs {f.path} ({f.fix})" for f in missing), run_dir)
            continue
        try:
            drawn.written[entry.name] = entry.factory(run_dir, out)
        except R.ResultMissing as exc:  # e.g. a search scored by P alone has no similarity matrix
            drawn.skipped[entry.name] = _this_run(str(exc), run_dir)
    return drawn


def _this_run(text: str, run_dir: Path) -> str:
    """``text`` with the placeholder run folder of a fix (``--run-dir RUN``, ``neurosage search RUN``) made this one."""
    import re
    import shlex

    return re.sub(r"(?<![\w/-])RUN(?![\w/-])", lambda _: shlex.quote(str(run_dir)), text)
