"""Architecture pools: a fixed sample of architectures trained once, their weights kept at every premature checkpoint,
with short and long targets; any teacher is scored against a pool without training again (the teacher bench).

:func:`build_pool` builds one (resumable, on any executor); :class:`Pool` reads it; :func:`score_teachers` scores
teachers (and their controls) from its checkpoints; :func:`bench_teacher` says what a teacher adds to P.
"""

from neurosage.core.lazy import lazy_exports

_EXPORTS = {
    "PoolSpec": "spec", "Pool": "pool", "build_pool": "pool", "score_teachers": "scoring",
    "bench_teacher": "bench", "BenchResult": "bench", "teachers_with_controls": "bench",
    "measure_table": "value", "value_table": "value", "alpha_table": "value", "selection_table": "value",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
