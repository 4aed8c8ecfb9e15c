"""The front function: several proxies of one model on one batch, in one call."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from neurosage.core.validate import check_arguments
from neurosage.proxies import PROXIES
from neurosage.proxies.common import check_batch, check_seed, resolve_device

__all__ = ["zero_cost_scores"]

log = logging.getLogger(__name__)


def zero_cost_scores(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, names: Iterable[str] | str | None = None, seed: int = 0,
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """The scores of ``model`` on one batch under the proxies ``names`` (default: every entry of :data:`PROXIES`,
    the baselines ``params`` and ``flops`` included), in the order asked.

    Each proxy measures its own copy of the model, so none sees what another did and the model is left unchanged.
    The names, the batch, the seed and the device are checked before any proxy runs.

    Parameters
    ----------
    model
        The network at initialisation (seeded), returning logits ``(N, classes)``.
    images, labels
        One batch ``(N, ...)`` and its ``N`` class indices (``naswot`` and ``jacob_cov`` need ``N >= 2``; the papers
        use 64-128 images).
    names
        Proxy names (one name as a string is accepted); an unknown one raises :class:`~neurosage.core.errors.UnknownName`
        listing the known ones.
    seed
        Passed to every proxy (it seeds dropout and drop path during the measurement).
    device
        Where to compute (``"cpu"``, ``"cuda"``, ``"cuda:1"``...); default the model's device.

    Returns
    -------
    dict[str, float]
        Proxy name -> score (higher = predicted better).
    """
    check_arguments(zero_cost_scores, locals())
    chosen = PROXIES.names() if names is None else list(dict.fromkeys([names] if isinstance(names, str) else names))
    for name in chosen:
        PROXIES.get(name)  # an unknown name fails here, before any work
    check_batch(model, images, labels)
    check_seed(seed)
    resolve_device(model, device)
    scores: dict[str, float] = {}
    for name in chosen:
        start = time.perf_counter()
        value: Any = PROXIES.create(name, model, images, labels, seed=seed, device=device)  # a Proxy's call gives a float
        scores[name] = float(value)
        log.debug("proxy %s = %.6g (%.3f s)", name, scores[name], time.perf_counter() - start)
    return scores
