"""Representational similarity: RDMs, their comparison, noise ceilings and the TG-SAGE scores.

``rdm`` computes RDMs by batched matrix products, ``compare`` correlates them many-to-many,
``ceiling`` estimates what a noise-free model can reach, ``score`` turns endpoint x layer
similarities into S_i, TG and P + alpha TG, and ``interop`` hands RDMs to rsatoolbox and back.

Registries (:mod:`neurosage.rsa.methods`): :data:`RDM_METHODS` (how patterns become RDMs) and :data:`COMPARE_METHODS`
(how RDMs are compared), each entry a function following :class:`RDMFunction` / :class:`CompareFunction` with the
properties the rest reads (Euclidean, repetitions, correlation, bootstrap form, aliases). Plug-ins register through the
entry-point groups ``neurosage.rdm_methods`` and ``neurosage.compare_methods``.
Models are not imported here: the model -> RDMs -> scores chain is :mod:`neurosage.teachers.scoring`.
"""

from neurosage.core.lazy import lazy_exports

_EXPORTS = {
    "RDMAlignmentError": "rdm", "ROW": "rdm", "COL": "rdm", "STACK": "rdm", "compute_rdm": "rdm", "compute_rdms": "rdm",
    "stack_rdms": "rdm", "subsample_rdm": "rdm", "draw_subsets": "rdm", "subset_mean_rdm": "rdm", "upper_triangle": "rdm",
    "align_rdms": "rdm", "crossnobis_rdm": "rdm", "linear_cka": "compare",
    "RDM_METHODS": "methods", "COMPARE_METHODS": "methods", "check_rsa_methods": "methods", "rdm_method": "methods",
    "compare_method": "methods", "model_rdm_method": "methods", "RDMFunction": "methods", "CompareFunction": "methods",
    "to_rsatoolbox": "interop", "from_rsatoolbox": "interop",
    "CompareMethod": "compare", "compare_rdms": "compare", "pearson_full": "compare", "pearson_triangles": "compare",
    "noise_ceilings": "ceiling", "spearman_brown": "ceiling",
    "TeacherScores": "score", "teacher_scores": "score", "combined_score": "score", "OBJECTIVES": "score",
    "check_objective": "score",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
