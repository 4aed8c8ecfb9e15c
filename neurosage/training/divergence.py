"""Divergence as an outcome: one rule for every training (candidates, mature trainings, pool architectures, retrainings).

A training has diverged when its loss became non-finite (:func:`~neurosage.training.loop.train` stops and says when), or
when a training long enough to learn something (at least :data:`CHANCE_MIN_STEPS` steps) ends at chance: its top-1 on the
held-out images is not above ``1 / classes`` by a one-sided binomial test at :data:`CHANCE_ALPHA` (``scipy.stats.binomtest``).
Such a network is recorded ``diverged`` with what happened, never ``ok`` with a garbage accuracy.

:class:`DivergenceWatch` is the run-level rule: once at least :data:`WATCH_MIN` trainings of a run have finished, a run in
which most of them diverged stops with one line naming the learning rate (:class:`~neurosage.core.errors.TrainingDiverged`).
"""

from __future__ import annotations

import logging
import math
import os

from neurosage.core.errors import TrainingDiverged

__all__ = ["CHANCE_MIN_STEPS", "CHANCE_ALPHA", "WATCH_MIN", "chance_ending", "training_outcome", "DivergenceWatch"]

log = logging.getLogger(__name__)

#: A training of at least this many steps that ends at chance has diverged (shorter ones may not have learned yet).
CHANCE_MIN_STEPS = 100
#: The level of the one-sided binomial test of "above chance".
CHANCE_ALPHA = 0.001
#: A run is judged once this many of its trainings have finished.
WATCH_MIN = 4


def chance_ending(top1: float, n_images: int, num_classes: int, steps: int) -> str | None:
    """Why a finished training counts as diverged because it ended at chance (None: it did not, or it was too short to tell).

    Parameters
    ----------
    top1
        Its top-1 accuracy on ``n_images`` held-out images.
    num_classes
        The number of classes (chance is ``1 / num_classes``).
    steps
        The steps it trained; below :data:`CHANCE_MIN_STEPS` nothing is concluded.
    """
    if steps < CHANCE_MIN_STEPS or n_images < 1 or num_classes < 2 or not math.isfinite(top1):
        return None
    from scipy.stats import binomtest

    chance = 1.0 / num_classes
    correct = round(top1 * n_images)
    p = binomtest(correct, n_images, chance, alternative="greater").pvalue
    if p < CHANCE_ALPHA:
        return None
    return (f"ended at chance after {steps} steps: top-1 {top1:.3f} on {n_images} images (chance {chance:.3f}; not above it, "
            f"binomial p = {p:.2g})")


class DivergenceWatch:
    """Counts a run's finished trainings and stops the run when most diverged.

    Parameters
    ----------
    what
        What the trainings are, for the message (``"trials"``, ``"pool architectures"``).
    lr
        The learning rate they trained with (named in the message).
    fix
        How to change it (``"--lr"``, ``"lr in the config"``).
    where
        The file or folder the run writes (named in the message).
    """

    def __init__(self, what: str, lr: float | None, fix: str, where: str | os.PathLike[str] | None = None):
        self.what, self.lr, self.fix, self.where = what, lr, fix, where
        self.finished = 0
        self.diverged = 0
        self.example: str | None = None

    def count(self, status: str, error: str | None = None) -> None:
        """Count one finished training (``status`` ``"diverged"`` or another) without judging the run (an earlier session's)."""
        self.finished += 1
        if status == "diverged":
            self.diverged += 1
            self.example = self.example or error

    def add(self, status: str, error: str | None = None) -> None:
        """Count one finished training; raise :class:`TrainingDiverged` when most of the run's trainings so far diverged."""
        self.count(status, error)
        if self.finished >= WATCH_MIN and 2 * self.diverged > self.finished:
            lr = "" if self.lr is None else f" (lr = {self.lr:g})"
            example = f" (e.g. {self.example})" if self.example else ""
            raise TrainingDiverged(
                f"{self.diverged} of the {self.finished} {self.what} finished so far diverged{example}: the learning rate"
                f"{lr} is too high for them, or the inputs are not normalised",
                f"lower the learning rate ({self.fix}), e.g. to {self.lr / 10:g}, and start again" if self.lr else
                f"lower the learning rate ({self.fix}) and start again", file=self.where, field="lr")


def training_outcome(result: object, top1: float, n_images: int, num_classes: int) -> tuple[str, str | None]:
    """``(status, error)`` of a finished training: its own (``diverged`` when the loss became non-finite), else
    ``diverged`` when it ended at chance (:func:`chance_ending`), else ``("ok", None)``. ``result`` is a
    :class:`~neurosage.training.loop.TrainResult`; ``top1`` its network's accuracy on ``n_images`` held-out images."""
    status, error, steps = getattr(result, "status"), getattr(result, "error"), int(getattr(result, "steps"))
    if status != "ok":
        return status, error
    why = chance_ending(top1, n_images, num_classes, steps)
    if why:
        log.warning("training diverged: %s", why)
        return "diverged", f"diverged: {why}"
    return "ok", None
