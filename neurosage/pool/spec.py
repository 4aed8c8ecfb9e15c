"""What an architecture pool is, as plain data (no torch): :class:`PoolSpec`.

A pool is a fixed sample of architectures trained once each by one protocol, with their weights kept at every
premature checkpoint (and at initialisation, step 0), their premature accuracy P there, their accuracy at the end
of the protocol (the 200-step target of the paper's section 4.1), a second training from another seed on a subset
(the target's reliability) and a long training from a new seed on a subset (a converged target). Any teacher is
then scored against the pool from its stored checkpoints, without training anything again.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from neurosage.core.errors import ConfigError
from neurosage.core.once import warn_once
from neurosage.core.validate import KnownFields, check_arguments
from neurosage.training.configs import MAX_EPOCHS, NetworkConfig, RDMOptions, TrainConfig

log = logging.getLogger(__name__)

__all__ = ["PoolSpec"]


def _count(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        key = name.replace("_", "-")
        raise ConfigError(f"{key} must be an integer of at least {low}, got {value!r}", f"set {key} to {low} or more", field=name)


_DEFAULT_BLOCKS = 5


@dataclass(frozen=True)
class PoolSpec(KnownFields):
    """How a pool is sampled and trained.

    Parameters
    ----------
    space, n_blocks, network
        The search space the architectures are drawn from (uniformly, architecture ``a`` from seed ``[seed, a]``) and
        how a genotype becomes a network; ``n_blocks`` applies to a cell space only (a layer-wise space refuses another).
    n_architectures
        Pool size.
    checkpoints
        Premature steps at which weights, P and (later) teacher scores are taken; step 0 (initialisation) is always kept too.
    mature_steps, batch_size, lr, schedule
        The protocol: one training run per architecture; its end is the short target ``M_short``.
    bn_recalibration
        Training batches whose statistics replace BatchNorm's running statistics before every measurement.
    second_seed
        The first K architectures are trained by the same protocol again from another initialisation and data order
        (the target's reliability).
    long_subset, long_epochs
        The first K architectures are also trained ``long_epochs`` epochs (cosine schedule) from a new seed: the long
        target ``M_long``, near convergence.
    proxy_batch
        Images of the one training batch the zero-cost proxies are computed on at initialisation.
    rdm_method, subsample_features, n_subsamples
        How the candidates' layer RDMs on the pool's stimuli are computed at every stored step (kept, so a teacher on
        those stimuli is scored without running any network): the paper's mean over 10 subsets of 1,000 features.
    seed
        The one seed every draw, initialisation and data order derives from.
    """

    space: str = "layers-10"
    n_blocks: int = _DEFAULT_BLOCKS
    network: NetworkConfig = field(default_factory=lambda: NetworkConfig(width_multiplier=0.125))
    n_architectures: int = 128
    checkpoints: tuple[int, ...] = (5, 10, 20)
    mature_steps: int = 200
    batch_size: int = 64
    lr: float = 0.05
    schedule: str = "cosine"
    bn_recalibration: int = 10
    second_seed: int = 16
    long_subset: int = 24
    long_epochs: float = 10.0
    proxy_batch: int = 64
    rdm_method: str = "correlation"
    subsample_features: int | None = 1000
    n_subsamples: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.network, dict):
            known = set(NetworkConfig.__dataclass_fields__)
            unknown = sorted(set(self.network) - known)
            if unknown:
                raise ConfigError(f"unknown network settings {unknown}", f"use only {sorted(known)}", field="network")
            object.__setattr__(self, "network", NetworkConfig(**self.network))
        if not isinstance(self.network, NetworkConfig):
            raise ConfigError(f"network must be a NetworkConfig or a dict, got {type(self.network).__name__}", "give NetworkConfig(...)",
                              field="network")
        if isinstance(self.checkpoints, (str, bytes)) or not hasattr(self.checkpoints, "__iter__"):
            raise ConfigError(f"checkpoints must be a list of steps, got {self.checkpoints!r}", "give e.g. checkpoints = [5, 10, 20]",
                              field="checkpoints")
        object.__setattr__(self, "checkpoints", tuple(self.checkpoints))
        _count("n_architectures", self.n_architectures, 3)
        _count("mature_steps", self.mature_steps, 2)
        for name in ("second_seed", "long_subset", "bn_recalibration", "seed"):
            _count(name, getattr(self, name), 0)
        _count("proxy_batch", self.proxy_batch, 2)
        for name in ("n_blocks", "batch_size", "n_subsamples"):
            _count(name, getattr(self, name), 1)
        bad = [k for k in self.checkpoints if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < self.mature_steps]
        if not self.checkpoints or bad or len(set(self.checkpoints)) != len(self.checkpoints) or list(self.checkpoints) != sorted(self.checkpoints):
            raise ConfigError(f"checkpoints must be increasing distinct steps from 1 to mature-steps - 1 = {self.mature_steps - 1}, got "
                              f"{list(self.checkpoints)}", "give e.g. checkpoints = [5, 10, 20] with mature-steps = 200", field="checkpoints")
        over = [name for name in ("second_seed", "long_subset") if getattr(self, name) > self.n_architectures]
        if over:  # both at once (their defaults, 16 and 24, are for the default 128): one fix, not one error after the other
            shown = " and ".join(f"{name.replace('_', '-')} = {getattr(self, name)}" for name in over)
            raise ConfigError(f"{shown} {'are' if len(over) > 1 else 'is'} more than the pool's {self.n_architectures} architectures",
                              f"set {' and '.join(n.replace('_', '-') for n in over)} to at most n-architectures (in Python: PoolSpec(..., "
                              + ", ".join(f"{n}={self.n_architectures}" for n in over) + "), or 0 for none)", field=over[0])
        if not (isinstance(self.long_epochs, (int, float)) and not isinstance(self.long_epochs, bool) and 0 < self.long_epochs <= MAX_EPOCHS):
            raise ConfigError(f"long-epochs must be a positive number of at most {MAX_EPOCHS}, got {self.long_epochs!r}", "set long-epochs "
                              "to e.g. 10", field="long_epochs")
        self.protocol()  # TrainConfig checks batch size, learning rate, schedule and recalibration
        self.rdm_options()  # RDMOptions checks the RDM method and the subsampling
        from neurosage.rsa.methods import model_rdm_method

        if model_rdm_method(self.rdm_method) != self.rdm_method:  # said, not silent: the pool's RDMs are of network layers
            warn_once(log, ("pool layer method", self.rdm_method), "rdm_method %r needs repetitions, which a network's layers do not have: "
                      "the pool's layer RDMs are %s (their 'method' attr), compared with teachers of rdm_method %r", self.rdm_method,
                      model_rdm_method(self.rdm_method), self.rdm_method)
        from neurosage.spaces import space_for

        try:  # an unknown space, or a width a cell space has no use for
            self.network.check_space(space_for(self.space, self.n_blocks))
        except ConfigError as exc:
            if exc.field != "width_multiplier":
                raise
            raise ConfigError(f"{exc.problem} (the pool's network width_multiplier is {self.network.width_multiplier})",
                              "give the pool's network=NetworkConfig(width_multiplier=1.0) for a cell space (PoolSpec's default network "
                              "is layer-wise's 0.125), or a layer-wise space such as layers-10", field="network") from None
        if not self.has_cells and self.n_blocks != _DEFAULT_BLOCKS:  # recorded, never applied: a layer-wise network has no blocks
            raise ConfigError(f"n_blocks = {self.n_blocks} does nothing in the layer-wise space {self.space!r} (its depth is in its name; "
                              "only a cell space has blocks)", "leave n_blocks out for a layer-wise space, or give a cell space such as pnas",
                              field="n_blocks")

    @property
    def has_cells(self) -> bool:
        """Whether the space's genotypes are cells of ``n_blocks`` blocks (a layer-wise space's are not)."""
        from neurosage.spaces import get_space

        return getattr(get_space(self.space), "n_blocks", None) is not None

    @property
    def steps(self) -> tuple[int, ...]:
        """Every stored step: initialisation and the premature checkpoints."""
        return (0, *self.checkpoints)

    def protocol(self) -> TrainConfig:
        """The pool's training run (its end is the short target)."""
        return TrainConfig(steps=self.mature_steps, batch_size=self.batch_size, lr=self.lr, schedule=self.schedule,  # type: ignore[arg-type]
                           bn_recalibration=self.bn_recalibration)

    def long_protocol(self) -> TrainConfig:
        """The long training behind the converged target."""
        return TrainConfig(epochs=float(self.long_epochs), batch_size=self.batch_size, lr=self.lr, schedule="cosine",
                           bn_recalibration=self.bn_recalibration)

    def rdm_options(self) -> RDMOptions:
        """How the kept layer RDMs are computed."""
        return RDMOptions(subsample_features=self.subsample_features, n_subsamples=self.n_subsamples, rdm_method=self.rdm_method)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["network"] = self.network.to_dict() | {"width_multiplier": self.network.width_multiplier}
        out["checkpoints"] = list(self.checkpoints)
        if not self.has_cells:
            del out["n_blocks"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PoolSpec:
        check_arguments(PoolSpec.from_dict, locals())
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown pool settings {unknown}", f"use only {sorted(known)}", field=unknown[0])
        return cls(**data)

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> PoolSpec:
        """The spec a pool's ``pool.json`` records; a layer-wise pool recorded by an earlier neurosage kept an ``n_blocks``
        that never applied (the teacher bench's 3), dropped here so that the pool reads and resumes as it was built."""
        check_arguments(PoolSpec.from_record, locals())
        if isinstance(data, dict) and "n_blocks" in data and isinstance(data.get("space"), str):
            from neurosage.spaces import get_space

            try:
                cells = getattr(get_space(data["space"]), "n_blocks", None) is not None
            except ConfigError:
                cells = True  # an unknown space is named by from_dict
            if not cells:
                data = {k: v for k, v in data.items() if k != "n_blocks"}
        return cls.from_dict(data)
