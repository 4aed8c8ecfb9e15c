"""How a candidate is built and trained, as plain data (no torch): :class:`NetworkConfig` and :class:`TrainConfig`.

Configs travel to workers, into run folders and through the command line, so
they live apart from the code that uses them (:mod:`neurosage.network`,
:mod:`neurosage.train`), and reading them imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["NetworkConfig", "TrainConfig"]


@dataclass(frozen=True)
class NetworkConfig:
    """How a genotype becomes a network during search."""

    skeleton: str = "cifar"
    n_cells: int = 1
    filters: int = 8
    n_stem_cells: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Exactly one of ``steps``, ``epochs`` sets the budget (``epochs`` may be fractional)."""

    steps: int | None = None
    epochs: float | None = None
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 3e-4
    nesterov: bool = True
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    step_milestones: tuple[float, ...] = (0.5, 0.75)
    step_gamma: float = 0.1
    label_smoothing: float = 0.0
    grad_clip: float | None = 5.0
    aux_weight: float = 0.4
    drop_path: float = 0.0
    amp: bool = True
    channels_last: bool = True
    num_workers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
