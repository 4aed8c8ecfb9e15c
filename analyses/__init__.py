"""One module per paper experiment; each ``run(run_dir, config)`` writes result files into the run folder.

:data:`ANALYSES` registers each analysis (``neurosage analyze NAME``) with its config class
(``config``, a ``"module:Class"`` string) and the result files it writes (see
:mod:`neurosage.analyses.results`). The embedded default every analysis starts
from is :mod:`neurosage.analyses.embedded`.
"""

from __future__ import annotations

from neurosage.core.registry import Registry, resolve

__all__ = ["ANALYSES", "get_analysis"]

#: Analyses by name; ``get_analysis(name)`` returns ``(run, config class)``.
ANALYSES: Registry = Registry("analysis")
_PAPER = "Bashivan, Tensen, DiCarlo 2018, Teacher Guided Architecture Search, arXiv:1808.01405"
for _name, _config, _description in (
    ("predictability", "PredictabilityConfig", "Figures 2 and 3: premature P, TG, P + alpha TG vs mature accuracy (section 4.1)"),
    ("search_comparison", "SearchComparisonConfig", "Figure 4, Table 1: random vs P vs P+TG for RL and TPE on layer-wise spaces (section 4.2)"),
    ("cell_search", "CellSearchConfig", "Tables 2/3: teacher-guided cell search with reranking (section 4.3)"),
    ("neuro_search", "NeuroSearchConfig", "Table 4: performance-guided vs brain-guided search (section 4.4)"),
):
    ANALYSES.register(
        _name, f"neurosage.analyses.{_name}:run", description=_description, citation=_PAPER,
        config=f"neurosage.analyses.{_name}:{_config}",
    )
ANALYSES.register(
    "teacher_bench", "neurosage.analyses.teacher_bench:run",
    description="would a teacher have helped? a pool of architectures with long targets, ResNet teachers and controls scored against it",
    config="neurosage.analyses.teacher_bench:TeacherBenchConfig",
)
ANALYSES.register(
    "channel_search", "neurosage.analyses.channel_search:run",
    description="channel-size search of a ResNet (CONetV2 style): CONet's QC vs the teacher metric vs a uniform width",
    citation="Wang et al. 2021, CONetV2: Efficient Auto-Channel Size Optimization for CNNs, arXiv:2110.06830",
    config="neurosage.analyses.channel_search:ChannelSearchAnalysisConfig",
)


def get_analysis(name: str):
    """(run function, config class) of an analysis."""
    entry = ANALYSES.get(name)
    return entry.factory, resolve(entry.config)
