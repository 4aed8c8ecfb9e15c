"""Training a pool's architectures (worker side): one run each, weights and P at every stored step.

Workers return records and ``torch.save`` bytes; the driver (:mod:`neurosage.pool.pool`) alone writes files, so
workers on other hosts need no access to the pool's folder.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neurosage.core.seeding import derive_seed
from neurosage.nets.build import build_network
from neurosage.nets.measure import count_flops, count_parameters
from neurosage.pool.spec import PoolSpec
from neurosage.proxies import PROXIES, zero_cost_scores
from neurosage.rsa.rdm import upper_triangle
from neurosage.search.weights import state_bytes
from neurosage.spaces import parse_genotype, space_for
from neurosage.training.activations import model_rdms
from neurosage.training.devices import torch_threads, worker_device
from neurosage.training.divergence import training_outcome
from neurosage.training.evaluation import evaluate, recalibrate_bn
from neurosage.training.loop import train

__all__ = ["PoolData", "genotype_of", "train_architecture", "retrain_architecture"]


@dataclass
class PoolData:
    """What a worker needs: the splits (``val`` for P, ``test`` for the targets), classes, device and threads."""

    train: Any
    val: Any
    test: Any
    num_classes: int
    in_channels: int
    device: str | None = None
    threads: int = 1
    #: the pool's teacher stimuli: the layers' RDMs on them are kept at every stored step (None: not kept)
    stimuli: Any = None


def genotype_of(spec: PoolSpec, arch: int) -> Any:
    """Architecture ``arch`` of the pool: a uniform draw from the space, seeded by ``[seed, arch]``."""
    return space_for(spec.space, spec.n_blocks).sample(np.random.default_rng([spec.seed, arch]))


def _network(genotype: Any, data: PoolData, spec: PoolSpec, seed: int) -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_network(genotype, num_classes=data.num_classes, in_channels=data.in_channels, **spec.network.to_dict())


def _accuracy(net: torch.nn.Module, dataset: Any, data: PoolData, spec: PoolSpec, seed: int) -> dict[str, float]:
    """Top-1 and loss after recalibrating BatchNorm on ``bn_recalibration`` training batches (seeded)."""
    recalibrate_bn(net, data.train, n_batches=spec.bn_recalibration, batch_size=spec.batch_size, seed=seed, device=data.device)
    out = evaluate(net, dataset, device=data.device)
    return {"top1": float(out["top1"]), "loss": float(out["loss"])}


def _proxies(net: torch.nn.Module, data: PoolData, spec: PoolSpec, seed: int) -> dict[str, float]:
    """The zero-cost proxies of the network at initialisation on one seeded training batch (NaN where one fails)."""
    rng = np.random.default_rng(seed)
    index = rng.choice(len(data.train), size=min(spec.proxy_batch, len(data.train)), replace=False)
    images, labels = data.train.batch(np.sort(index), device=data.device)
    out = {}
    for name in [n for n in PROXIES.names() if n not in ("params", "flops")]:  # those two are the summary's own columns
        try:
            out[name] = float(zero_cost_scores(net, images, labels, names=[name], seed=seed, device=data.device)[name])
        except Exception:  # a proxy that cannot score this network (e.g. a singular kernel) is missing, not a crash
            out[name] = float("nan")
    return out


def _candidate_layers(net: Any) -> list[str]:
    """The layers a candidate is scored by: every endpoint but the stem and the pooled output."""
    return [str(e) for e in net.endpoints if e not in ("stem", "pool")]


def _layer_rdms(net: Any, data: PoolData, spec: PoolSpec) -> bytes | None:
    """The network's layer RDMs on the pool's stimuli as ``np.savez`` bytes (``triangles``: float32 upper triangles, one
    row per layer; ``layers``), or None without stimuli."""
    if data.stimuli is None:
        return None
    layers = _candidate_layers(net)
    rdms = model_rdms(net, data.stimuli, layers, rdm=spec.rdm_options(), device=data.device, seed=spec.seed)
    buffer = io.BytesIO()
    np.savez(buffer, triangles=np.atleast_2d(upper_triangle(rdms)).astype(np.float32), layers=np.asarray(layers))
    return buffer.getvalue()


def train_architecture(arch: int, data: PoolData, spec: PoolSpec) -> dict[str, Any]:
    """Train architecture ``arch`` once by the pool's protocol, keeping weights and P at each stored step.

    Returns ``{"arch", "genotype", "status", "summary", "rows", "weights"}``: one row per stored step (P, validation
    loss), ``weights`` step -> ``torch.save`` bytes of the recalibrated network, and the summary (parameters, FLOPs,
    proxies at initialisation, the short target ``M_short`` = test top-1 at the end of the run).
    """
    device = worker_device(data.device)
    data = PoolData(**{**data.__dict__, "device": device})
    genotype = genotype_of(spec, arch)
    with torch_threads(data.threads):
        t0 = time.perf_counter()
        net = _network(genotype, data, spec, derive_seed(spec.seed, arch))
        example = data.val.batch(np.arange(1), device=device)[0]
        summary: dict[str, Any] = {"arch": arch, "genotype": str(genotype), "params": count_parameters(net),
                                   "flops": count_flops(net, tuple(example.shape[1:]))["flops"]}
        summary.update({f"proxy_{k}": v for k, v in _proxies(net, data, spec, derive_seed(spec.seed, arch, 3)).items()})
        rows: list[dict[str, Any]] = []
        weights: dict[int, bytes] = {}
        rdms: dict[int, bytes] = {}

        def measure(step: int) -> None:
            acc = _accuracy(net, data.val, data, spec, derive_seed(spec.seed, arch, 2, step))
            rows.append({"arch": arch, "step": step, "examples": step * spec.batch_size, "P": acc["top1"], "val_loss": acc["loss"]})
            weights[step] = state_bytes(net)
            layer_rdms = _layer_rdms(net, data, spec) if math.isfinite(acc["loss"]) else None
            if layer_rdms is not None:
                rdms[step] = layer_rdms

        measure(0)
        net.train()
        result = train(net, data.train, spec.protocol(), seed=derive_seed(spec.seed, arch, 1), device=device,
                       measure_at=list(spec.checkpoints), measure=measure)
        mature = _accuracy(net, data.test, data, spec, derive_seed(spec.seed, arch, 4)) if result.status == "ok" else {"top1": math.nan}
        status, error = training_outcome(result, mature["top1"], len(data.test), data.num_classes)
        if status != "ok":  # a non-finite loss, or an ending at chance: no target, no weights to score
            return {"arch": arch, "genotype": str(genotype), "status": status, "error": error, "summary": summary,
                    "rows": rows, "weights": {}, "rdms": {}}
        summary.update(M_short=mature["top1"], train_seconds=result.wall_time, seconds=time.perf_counter() - t0)
    return {"arch": arch, "genotype": str(genotype), "status": "ok", "summary": summary, "rows": rows, "weights": weights, "rdms": rdms}


def retrain_architecture(arch: int, genotype: str, data: PoolData, spec: PoolSpec, kind: str) -> dict[str, Any]:
    """Architecture ``arch`` trained again from a new initialisation and data order: ``kind`` ``"second_seed"`` (the
    pool's protocol; its test top-1 is ``M_short_2``) or ``"long"`` (``long_epochs``; ``M_long``)."""
    device = worker_device(data.device)
    data = PoolData(**{**data.__dict__, "device": device})
    salt = {"second_seed": 7, "long": 11}[kind]
    config = spec.protocol() if kind == "second_seed" else spec.long_protocol()
    with torch_threads(data.threads):
        net = _network(parse_genotype(genotype), data, spec, derive_seed(spec.seed, arch, salt))
        result = train(net, data.train, config, seed=derive_seed(spec.seed, arch, salt + 1), device=device)
        if result.status != "ok":
            return {"arch": arch, "kind": kind, "status": result.status, "error": result.error}
        accuracy = _accuracy(net, data.test, data, spec, derive_seed(spec.seed, arch, salt + 2))
        status, error = training_outcome(result, accuracy["top1"], len(data.test), data.num_classes)
        if status != "ok":
            return {"arch": arch, "kind": kind, "status": status, "error": error, "top1": accuracy["top1"], "steps": result.steps}
    return {"arch": arch, "kind": kind, "status": "ok", "top1": accuracy["top1"], "steps": result.steps, "seconds": result.wall_time}
