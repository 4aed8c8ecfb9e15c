"""The one chain from a model to teacher scores: activations -> RDMs -> endpoint x layer similarity.

:func:`model_rdms` and :func:`score_model` serve candidate evaluation during a search, teachers
made of network layers and the ``neurosage rdm`` command alike, so all compute the same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Sequence

import numpy as np
import xarray as xr
from torch import nn

from neurosage.assembly import select_regions
from neurosage.core.seeding import derive_seed
from neurosage.nets.models import FeatureModel
from neurosage.rsa.rdm import compute_rdm, draw_subsets, stack_rdms, subset_mean_rdm
from neurosage.rsa.score import TeacherScores, teacher_scores
from neurosage.training.activations import extract_activations
from neurosage.training.configs import RDMOptions

if TYPE_CHECKING:
    from neurosage.teachers.teacher import Teacher

__all__ = ["model_rdms", "score_model"]


def model_rdms(
    model: nn.Module,
    images,
    layers: Sequence[str],
    *,
    rdm: RDMOptions = RDMOptions(),
    batch_size: int = 256,
    device: str | None = None,
    seed: int = 0,
) -> xr.DataArray:
    """RDMs (``rdm x condition_row x condition_col``) of ``layers`` on ``images``, labelled by stimulus_id.

    ``model`` is a network with ``extract(x, names)`` or any torch module (wrapped in
    :class:`~neurosage.nets.models.FeatureModel`). Layer ``i``'s feature subsets (see :class:`RDMOptions`)
    are drawn from ``derive_seed(seed, i)``; teachers and candidates use this same function.
    """
    extractor = model if hasattr(model, "extract") else FeatureModel(model, layers)
    layers = list(layers)
    subsets: dict[str, list[np.ndarray]] = {}

    def select(name: str, n_units: int) -> np.ndarray | None:
        """Keep only the union of the layer's subsets, so a big layer is never copied off the device whole."""
        if rdm.subsample_features is None or n_units <= rdm.subsample_features:
            return None
        drawn = draw_subsets(n_units, rdm.subsample_features, rdm.n_subsamples, derive_seed(seed, layers.index(name)))
        union = np.unique(np.concatenate(drawn))
        subsets[name] = [np.searchsorted(union, d) for d in drawn]  # positions in the kept units, in drawn order
        return union

    parts = select_regions(extract_activations(extractor, images, layers, batch_size=batch_size, device=device, select=select), layers)
    rdms = {}
    for name in layers:
        layer = parts.pop(name)  # each layer's activations are freed once its RDM exists
        if name in subsets:
            rdms[name] = subset_mean_rdm(layer, subsets[name], rdm.method, device=device)
        else:
            rdms[name] = compute_rdm(layer, rdm.method, device=device)
    return stack_rdms(rdms)


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
