"""Teachers from command-line specs; endpoints of several specs combine with ``+``.

- ``net:<model>:<layer,...>[:<weights.pt>]``: layers of a network. ``<model>`` is a
  torchvision model name (``resnet18``) or ``cifar_resnet-<n>`` (the paper's
  CIFAR ResNet; ``cifar_resnet-9`` has 54 convs). Weights are a state-dict file
  (nothing is downloaded).
- ``brain:<dataset>:<region,...>``: regions of a registered neural dataset (its
  paths from the dataset's environment variables or ``dataset_kwargs``).
- ``sim:<model>:<region=layer,...>[:<weights.pt>]``: a simulated recording of
  network layers (100 sites per region, reliability 0.8, 10 repetitions).

Teacher RDMs are cached in ``cache_dir`` as netCDF, keyed by a hash of the spec,
the weights file's content and the stimulus ids.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neurosage.assembly import average_repetitions
from neurosage.teachers import Teacher, brain_teacher, cifar_resnet, network_teacher

__all__ = ["build_model", "teacher_from_spec"]

log = logging.getLogger(__name__)


def build_model(name: str, *, weights: str | None = None, num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """A torchvision model by name or ``cifar_resnet-<n>``, with optional local weights."""
    if name.startswith("cifar_resnet-"):
        model: nn.Module = cifar_resnet(int(name.split("-", 1)[1]), num_classes=num_classes, in_channels=in_channels)
    else:
        import torchvision

        if name not in torchvision.models.list_models():
            raise ValueError(f"unknown model {name!r}; use cifar_resnet-<n> or a torchvision name such as resnet18")
        model = torchvision.models.get_model(name, weights=None)
    if weights:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    return model.eval()


def _cache_key(spec: str, stimuli: Any) -> str:
    h = hashlib.sha256(spec.encode())
    h.update(repr([str(s) for s in stimuli.stimulus_ids]).encode())
    for part in spec.split(":"):
        if part.endswith((".pt", ".pth")) and Path(part).exists():
            h.update(Path(part).read_bytes())
    return h.hexdigest()[:16]


def _one(spec: str, stimuli: Any, *, device: str | None, seed: int, dataset_kwargs: dict[str, Any]) -> Teacher:
    kind, _, rest = spec.partition(":")
    parts = rest.split(":")
    in_channels = stimuli[0][0].shape[0]
    if kind == "net":
        if len(parts) < 2:
            raise ValueError(f"teacher spec {spec!r}: expected net:<model>:<layer,...>[:<weights.pt>]")
        model = build_model(parts[0], weights=parts[2] if len(parts) > 2 else None, in_channels=in_channels)
        return network_teacher(model, stimuli, parts[1].split(","), device=device, seed=seed)
    if kind == "brain":
        from neurosage.data_adapters.registry import load_neural

        if len(parts) != 2:
            raise ValueError(f"teacher spec {spec!r}: expected brain:<dataset>:<region,...>")
        assembly = load_neural(parts[0], regions=tuple(parts[1].split(",")), **dataset_kwargs)
        return brain_teacher(assembly, stimuli)
    if kind == "sim":
        from neurosage.data_adapters.simulated import simulate_recording
        from neurosage.teachers import FeatureModel
        from neurosage.train import extract_activations

        if len(parts) < 2:
            raise ValueError(f"teacher spec {spec!r}: expected sim:<model>:<region=layer,...>[:<weights.pt>]")
        model = build_model(parts[0], weights=parts[2] if len(parts) > 2 else None, in_channels=in_channels)
        mapping = dict(item.split("=", 1) for item in parts[1].split(","))
        acts = extract_activations(FeatureModel(model, list(mapping.values())), stimuli, list(mapping.values()), device=device)
        recording = simulate_recording({r: acts[layer] for r, layer in mapping.items()}, list(stimuli.stimulus_ids), seed=seed)
        return brain_teacher(average_repetitions(recording), stimuli)
    raise ValueError(f"unknown teacher kind {kind!r} in {spec!r}; use net:, brain: or sim:")


def teacher_from_spec(
    spec: str,
    stimuli: Any,
    *,
    cache_dir: str | Path | None = None,
    device: str | None = None,
    seed: int = 0,
    dataset_kwargs: dict[str, Any] | None = None,
) -> Teacher:
    """Build (or load from ``cache_dir``) the teacher described by ``spec``; ``+`` combines specs."""
    if getattr(stimuli, "stimulus_ids", None) is None:
        raise ValueError("teacher stimuli need stimulus_ids (ImageSet.stimulus_ids)")
    cache = Path(cache_dir) / f"teacher-{_cache_key(spec, stimuli)}.nc" if cache_dir else None
    if cache is not None and cache.exists():
        log.info("teacher %s loaded from cache %s", spec, cache)
        return Teacher.load(cache, stimuli)
    teachers = [_one(s.strip(), stimuli, device=device, seed=seed, dataset_kwargs=dataset_kwargs or {}) for s in spec.split("+")]
    teacher = teachers[0]
    for other in teachers[1:]:
        teacher = teacher + other
    if cache is not None:
        teacher.save(cache)
    return teacher
