"""The one chain from a model to teacher scores: activations -> RDMs -> endpoint x layer similarity.

:func:`score_model` serves candidate evaluation during a search and the ``neurosage rdm`` command alike; its
RDMs come from :func:`~neurosage.training.activations.model_rdms`, which network teachers use too, so all compute
the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import xarray as xr
from torch import nn

from neurosage.core.devices import check_device
from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.rsa.score import TeacherScores, teacher_scores
from neurosage.teachers.teacher import Teacher
from neurosage.training.activations import model_rdms
from neurosage.training.configs import RDMOptions

__all__ = ["score_model", "score_model_rdms"]


def score_model(
    model: nn.Module,
    teacher: Teacher,
    layers: Sequence[str],
    *,
    compare_method: str | None = None,
    rdm: RDMOptions | None = None,
    batch_size: int = 256,
    device: str | None = None,
    seed: int = 0,
    n_bootstrap: int = 0,
) -> TeacherScores:
    """The model's layers scored against the teacher's endpoints on the teacher's stimuli (S_i, TG, best layers).

    Ceiled scores follow the teacher's ceiling convention; ``n_bootstrap`` > 0 adds 95% intervals on S_i and TG
    over bootstrap samples of the stimuli (:func:`~neurosage.rsa.score.bootstrap_scores`, seeded by ``seed``).
    :func:`score_model_rdms` also returns the layer RDMs it compared.
    """
    check_arguments(score_model, locals())
    return score_model_rdms(model, teacher, layers, compare_method=compare_method, rdm=rdm, batch_size=batch_size, device=device, seed=seed,
                            n_bootstrap=n_bootstrap)[0]


def score_model_rdms(
    model: nn.Module,
    teacher: Teacher,
    layers: Sequence[str],
    *,
    compare_method: str | None = None,
    rdm: RDMOptions | None = None,
    batch_size: int = 256,
    device: str | None = None,
    seed: int = 0,
    n_bootstrap: int = 0,
) -> tuple[TeacherScores, xr.DataArray]:
    """:func:`score_model`'s scores and the model's layer RDMs they come from (``rdm x condition_row x condition_col``).

    The layers' RDMs are computed by the teacher's ``rdm_method`` (its ``rdm_method`` replaces ``rdm``'s) and compared by
    its ``compare_method`` (``compare_method`` overrides it); ``rdm`` sets the feature subsampling (default
    :class:`RDMOptions`). Comparing ``teacher.rdms`` with the returned RDMs by that comparison gives the scores'
    similarity matrix.
    """
    check_arguments(score_model_rdms, locals())
    if device is not None:
        check_device(device)
    if rdm is not None and rdm.rdm_method not in (RDMOptions().rdm_method, teacher.rdm_method):  # the teacher's method is used
        raise ConfigError(f"rdm asks for {rdm.rdm_method!r} RDMs, and the teacher's RDMs are {teacher.rdm_method!r}: the model's layers are "
                          "made the teacher's way, so both compare like with like", f"build the teacher with rdm_method={rdm.rdm_method!r} "
                          "(teacher_from_spec(..., rdm_method=...)), or leave rdm_method out of RDMOptions", field="rdm")
    rdm = replace(rdm or RDMOptions(), rdm_method=teacher.rdm_method)
    rdms = model_rdms(model, teacher.images, layers, rdm=rdm, batch_size=batch_size, device=device, seed=seed)
    scores = teacher_scores(teacher.rdms, rdms, compare_method or teacher.compare_method, ceilings=teacher.ceilings,
                            ceiling_convention=teacher.ceiling_convention, n_bootstrap=n_bootstrap, seed=seed)
    return scores, rdms
