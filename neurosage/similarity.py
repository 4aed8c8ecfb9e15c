"""One chain from a model to teacher scores: activations -> RDMs -> endpoint x layer similarity.

:func:`model_rdms` and :func:`score_model` serve candidate evaluation during a
search and the ``neurosage rdm`` command alike, so both compute the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from neurosage.candidate import RDMOptions
from neurosage.score import TeacherScores, teacher_scores
from neurosage.teachers import Teacher, model_rdms

__all__ = ["model_rdms", "score_model"]


def score_model(
    model: nn.Module,
    teacher: Teacher,
    layers: Sequence[str],
    *,
    compare: str = "pearson",
    rdm: RDMOptions = RDMOptions(),
    batch_size: int = 256,
    device: str | None = None,
    seed: int = 0,
) -> TeacherScores:
    """The model's layers scored against the teacher's endpoints on the teacher's stimuli (S_i, TG, best layers)."""
    rdms = model_rdms(model, teacher.images, layers, rdm=rdm, batch_size=batch_size, device=device, seed=seed)
    return teacher_scores(teacher.rdms, rdms, compare, ceilings=teacher.ceilings)
