"""How a candidate is built and trained, as plain data (no torch): :class:`NetworkConfig` and :class:`TrainConfig`.

Configs travel to workers, into run folders and through the command line, so
they live apart from the code that uses them (:mod:`neurosage.nets.cells`,
:mod:`neurosage.training.loop`), and reading them imports nothing heavy.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from neurosage.core.errors import ConfigError
from neurosage.core.once import warn_once
from neurosage.core.validate import KnownFields, check_arguments, check_fields, is_whole_number

__all__ = ["MAX_EPOCHS", "NetworkConfig", "TrainConfig", "RDMOptions", "Schedule", "check_bn_recalibration"]

log = logging.getLogger(__name__)

#: The most epochs any training takes (passes over the training set): more is a run that would not end (steps given as epochs?).
MAX_EPOCHS = 1000

#: The learning-rate schedules of :class:`TrainConfig`.
Schedule = Literal["cosine", "step", "constant"]


@dataclass(frozen=True)
class NetworkConfig(KnownFields):
    """How a genotype becomes a network during search: the skeleton, N, F and stem cells of cell networks,
    and the ``width_multiplier`` of layer-wise networks' filter counts (which must stay 1 for cell networks)."""

    NOT_FIELDS: ClassVar[dict[str, str]] = dict.fromkeys(("in_channels", "num_classes"), (
        "the images' channels and the classes come from the data, as build_network's own arguments: build_network(genotype, "
        "num_classes=..., in_channels=..., **config.to_dict())"))

    skeleton: str = "cifar"
    n_cells: int = 1
    filters: int = 8
    n_stem_cells: int | None = None
    width_multiplier: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """The fields as keyword arguments of ``build_network``; ``width_multiplier`` only when it is not 1, so the
        settings of cell searches read as they did before it existed (their run folders resume)."""
        out = asdict(self)
        if out["width_multiplier"] == 1.0:
            del out["width_multiplier"]
        return out

    def check_space(self, space: Any) -> None:
        """Refuse a ``width_multiplier`` other than 1 for a cell space (only layer-wise spaces, ``space.kind == "layers"``, use it);
        ``space`` is a search space or its registered name."""
        check_arguments(NetworkConfig.check_space, locals())
        if isinstance(space, str):
            from neurosage.spaces import get_space

            space = get_space(space)
        if not hasattr(space, "kind"):
            raise ConfigError(f"NetworkConfig.check_space takes a search space or its name, got {type(space).__name__}",
                              "pass neurosage.get_space(name) or the name, e.g. 'pnas'", field="space")
        if self.width_multiplier != 1.0 and space.kind != "layers":
            raise ConfigError(f"width_multiplier {self.width_multiplier} applies to layer-wise spaces, and {space.name!r} is a cell space",
                              "set width-multiplier = 1 for cell spaces (their width is filters)", field="width_multiplier")
        defaults = NetworkConfig()
        cells = {name: getattr(self, name) for name in ("skeleton", "n_cells", "filters", "n_stem_cells")
                 if getattr(self, name) != getattr(defaults, name)}
        if cells and space.kind == "layers":  # said, not refused: one NetworkConfig may serve a comparison's cell and layer-wise spaces
            shown = ", ".join(f"{k}={v!r}" for k, v in cells.items())
            warn_once(log, ("cell options unused", space.name, shown), "NetworkConfig(%s) applies to cell networks, and %r is layer-wise "
                      "(its networks have no cells: each layer's width is width_multiplier times Zoph & Le's): its networks do not use "
                      "them", shown, space.name)

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("n_cells", "filters"):
            value = getattr(self, name)
            if not is_whole_number(value) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}", f"set {name.replace('_', '-')} to 1 or more", field=name)
        if self.n_stem_cells is not None and (not is_whole_number(self.n_stem_cells) or self.n_stem_cells < 0):
            raise ConfigError(f"n_stem_cells must be a whole number >= 0 or None, got {self.n_stem_cells!r}",
                              "set n-stem-cells to 0 (none), 2, or leave it out for the skeleton's own", field="n_stem_cells")
        width = self.width_multiplier
        if isinstance(width, bool) or not (isinstance(width, (int, float)) and 0 < width < float("inf")):
            raise ConfigError(f"width_multiplier must be a positive number, got {self.width_multiplier!r}", "set width-multiplier to e.g. 0.25",
                              field="width_multiplier")


def check_bn_recalibration(n_batches: object) -> None:
    """Refuse a BatchNorm recalibration that is not a number of batches >= 0."""
    if isinstance(n_batches, bool) or not isinstance(n_batches, int) or n_batches < 0:
        raise ConfigError(f"bn_recalibration must be a number of batches >= 0, got {n_batches!r}",
                          "set bn-recalibration to e.g. 10, or 0 to measure through the running statistics", field="bn_recalibration")


@dataclass(frozen=True)
class TrainConfig(KnownFields):
    """How to train. Exactly one of ``steps``, ``epochs`` sets the budget (``epochs`` may be fractional)."""

    steps: int | None = None
    epochs: float | None = None
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 3e-4
    nesterov: bool = True
    schedule: Schedule = "cosine"
    step_milestones: tuple[float, ...] = (0.5, 0.75)
    step_gamma: float = 0.1
    label_smoothing: float = 0.0
    grad_clip: float | None = 5.0
    aux_weight: float = 0.4
    drop_path: float = 0.0
    amp: bool = True
    channels_last: bool = True
    num_workers: int = 0
    #: batches of training images whose statistics replace the BatchNorm running statistics before a network is
    #: measured (P, TG, reranking); 0 measures through the running statistics as trained
    bn_recalibration: int = 10

    def __post_init__(self) -> None:
        if isinstance(self.momentum, bool) or not isinstance(self.momentum, (int, float)) or not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must lie in [0, 1), got {self.momentum!r}", "use e.g. 0.9 (SGD's usual), or 0 for none", field="momentum")
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) or not 0 <= self.weight_decay < 1:
            raise ConfigError(f"weight_decay must lie in [0, 1), got {self.weight_decay!r} (at 1 or more each step shrinks every weight by "
                              "lr x weight_decay or more of itself)", "use e.g. 3e-4 (the search's), 5e-4, or 0 for none", field="weight_decay")
        if self.steps is not None and self.epochs is not None:
            raise ConfigError(f"both steps ({self.steps}) and epochs ({self.epochs}) set the training budget", "give one of them: "
                              "TrainConfig(steps=N) or TrainConfig(epochs=x) (on the command line premature-steps or premature-epochs)",
                              field="epochs")
        if self.steps is not None and (isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1):
            raise ConfigError(f"training steps must be a positive integer, got {self.steps!r}", "set premature-steps (or steps) to 1 or more",
                              field="steps")
        if self.epochs is not None and not (isinstance(self.epochs, (int, float)) and 0 < self.epochs <= MAX_EPOCHS):
            raise ConfigError(f"training epochs must be a positive number of at most {MAX_EPOCHS} (more is a run that would not end), got "
                              f"{self.epochs!r}", "set premature-epochs to e.g. 0.2 (or steps=N for a number of batches)", field="epochs")
        if not (is_whole_number(self.batch_size) and self.batch_size >= 1):
            raise ConfigError(f"batch size must be a positive integer, got {self.batch_size!r}", "set batch-size to e.g. 64", field="batch_size")
        check_bn_recalibration(self.bn_recalibration)
        if not is_whole_number(self.num_workers) or self.num_workers < 0:
            raise ConfigError(f"num_workers must be a number of loader processes >= 0, got {self.num_workers!r}", "use 0 (load in this process)",
                              field="num_workers")
        if self.schedule not in ("cosine", "step", "constant"):
            raise ConfigError(f"unknown schedule {self.schedule!r}", "use cosine, step or constant", field="schedule")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < float("inf")):
            raise ConfigError(f"learning rate must be a positive finite number, got {self.lr!r}", "set lr to e.g. 0.05", field="lr")
        for name, low, high, closed_high, example in (("label_smoothing", 0.0, 1.0, False, "0.1, or 0 for none"),
                                                      ("step_gamma", 0.0, 1.0, True, "0.1"), ("drop_path", 0.0, 1.0, False, "0.1, or 0 for none"),
                                                      ("aux_weight", 0.0, float("inf"), False, "0.4, or 0 for none")):
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            inside = number and low <= value and (value <= high if closed_high else value < high)
            if not inside or (name == "step_gamma" and value == 0):
                shown = f"({low:g}, {high:g}]" if name == "step_gamma" else f"[{low:g}, {high:g})"
                raise ConfigError(f"{name} must lie in {shown}, got {value!r}", f"use e.g. {example}", field=name)
        if self.grad_clip is not None and (isinstance(self.grad_clip, bool) or not isinstance(self.grad_clip, (int, float))
                                           or not 0 < self.grad_clip < float("inf")):
            raise ConfigError(f"grad_clip must be a positive number or None, got {self.grad_clip!r}", "use e.g. 5.0, or None for no clipping",
                              field="grad_clip")
        milestones = self.step_milestones
        if not isinstance(milestones, (tuple, list)) or not all(isinstance(m, (int, float)) and 0 < m < 1 for m in milestones) or \
                list(milestones) != sorted(set(milestones)):
            raise ConfigError(f"step_milestones must be increasing fractions of the training in (0, 1), got {milestones!r}",
                              "use e.g. (0.5, 0.75)", field="step_milestones")
        for name in ("nesterov", "amp", "channels_last"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}", f"pass {name}=True or {name}=False", field=name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RDMOptions(KnownFields):
    """How a network layer becomes an RDM, the same for teacher layers and candidate layers.

    A layer with more than ``subsample_features`` features gets the mean RDM over ``n_subsamples``
    random subsets of that many features (the paper: 10 subsamples of 1000 per layer); a smaller
    layer uses all its features. ``None`` uses all features always.
    """

    subsample_features: int | None = 1000
    n_subsamples: int = 10
    #: how a layer's patterns become its RDM (:data:`neurosage.rsa.methods.RDM_METHODS`; a teacher's replaces it when scoring)
    rdm_method: str = "correlation"

    def __post_init__(self) -> None:
        from neurosage.rsa.methods import rdm_method

        check_fields(self)  # subsample_features=5.5 is no whole number (before its range)
        object.__setattr__(self, "rdm_method", rdm_method(self.rdm_method))
        if self.subsample_features is not None and (not is_whole_number(self.subsample_features) or self.subsample_features < 2):
            raise ConfigError(f"subsample_features must be at least 2, got {self.subsample_features!r}", "use e.g. 1000, or None for all features",
                              field="subsample_features")
        if not is_whole_number(self.n_subsamples) or self.n_subsamples < 1:
            raise ConfigError(f"n_subsamples must be a positive integer, got {self.n_subsamples!r}", "use e.g. 10", field="n_subsamples")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
