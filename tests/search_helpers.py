"""A tiny, picklable search task for tests (and for the SIGKILL subprocess)."""

from __future__ import annotations

import numpy as np

from neurosage.data_adapters.imageset import ImageSet
from neurosage.training.configs import RDMOptions
from neurosage.search.candidate import CandidateTask
from neurosage.training.configs import NetworkConfig
from neurosage.rsa.rdm import compute_rdms
from neurosage.teachers.teacher import Teacher
from neurosage.training.configs import TrainConfig


def tiny_task(objective: str = "p+tg", lr: float = 0.05, steps: int = 3, seed: int = 0) -> CandidateTask:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(48, 1, 8, 8), dtype=np.uint8)
    labels = (images.reshape(48, -1).mean(1) > 127).astype(int)
    data = ImageSet(images, labels, mean=0.5, std=0.25)
    stimuli = data.subset(range(12))
    stimuli.stimulus_ids = [f"s{i}" for i in range(12)]
    flat = images[:12].reshape(12, -1).astype(float)
    teacher = Teacher(
        compute_rdms({"V4": flat[:, :32], "IT": flat[:, 32:]}, labels=list(stimuli.stimulus_ids)), stimuli
    )
    return CandidateTask(
        data.subset(range(32)), data.subset(range(32, 48)), NetworkConfig("cifar", 1, 4),
        TrainConfig(steps=steps, batch_size=8, lr=lr, grad_clip=None if lr > 1e6 else 5.0), teacher,
        objective=objective, rdm=RDMOptions(subsample_features=32, n_subsamples=3), eval_batch_size=16,
    )


def ask_tell_history(searcher, n: int, loss_of, failed_tid: int | None = None) -> list[tuple]:
    """Ask ``n`` proposals and tell each its ``loss_of(genotype)`` (None for ``failed_tid``); the journal rows."""
    history = []
    for _ in range(n):
        tid, vals, genotype = searcher.ask()
        loss = None if tid == failed_tid else loss_of(genotype)
        searcher.tell(tid, loss)
        history.append((tid, vals, loss))
    return history

