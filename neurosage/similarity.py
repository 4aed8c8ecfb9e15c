"""One chain from a model to teacher scores: activations -> RDMs -> endpoint x layer similarity.

:func:`model_rdms` and :func:`score_model` serve candidate evaluation during a
search and the ``neurosage rdm`` command alike, so both compute the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr
from torch import nn

from neurosage.models import FeatureModel
from neurosage.rsa import compute_rdms
from neurosage.score import TeacherScores, teacher_scores
from neurosage.teachers import Teacher
from neurosage.train import extract_activations

__all__ = ["model_rdms", "score_model"]


def model_rdms(
    model: nn.Module,
    images,
    layers: Sequence[str],
    *,
    method: str = "correlation",
    max_features: int | None = None,
    batch_size: int = 256,
    device: str | None = None,
    seed: int = 0,
) -> xr.DataArray:
    """RDMs (``rdm x condition_row x condition_col``) of ``layers`` on ``images``, labelled by stimulus_id.

    ``model`` is a network with ``extract(x, names)`` or any torch module (wrapped in
    :class:`~neurosage.models.FeatureModel`); see :func:`~neurosage.train.extract_activations`
    for ``max_features``.
    """
    extractor = model if hasattr(model, "extract") else FeatureModel(model, layers)
    acts = extract_activations(extractor, images, layers, batch_size=batch_size, device=device, max_features=max_features, seed=seed)
    return compute_rdms(acts, method, device=device)


def score_model(
    model: nn.Module,
    teacher: Teacher,
    layers: Sequence[str],
    *,
    compare: str = "pearson",
    max_features: int | None = 4096,
    batch_size: int = 256,
    device: str | None = None,
    seed: int = 0,
) -> TeacherScores:
    """The model's layers scored against the teacher's endpoints on the teacher's stimuli (S_i, TG, best layers)."""
    rdms = model_rdms(model, teacher.images, layers, max_features=max_features, batch_size=batch_size, device=device, seed=seed)
    return teacher_scores(teacher.rdms, rdms, compare)
