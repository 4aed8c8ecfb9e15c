"""Teachers: named endpoints with RDMs on one stimulus set.

An endpoint is a brain region (from an assembly) or a network layer; both are
just RDMs labelled by ``stimulus_id``, so endpoints from different sources
combine into one teacher. A teacher also carries its stimulus images, which
candidates are shown to compute their own RDMs.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch import nn

from neurosage.assembly import REGION, regions, select_regions, validate
from neurosage.rsa import COL, ROW, STACK, compute_rdm, stack_rdms, subsample_rdm

__all__ = ["Teacher", "brain_teacher", "network_teacher", "FeatureModel", "cifar_resnet"]

log = logging.getLogger(__name__)


@dataclass
class Teacher:
    """Endpoint RDMs (``rdm x condition_row x condition_col``) and the stimuli behind them."""

    rdms: xr.DataArray
    images: object | None = None  # an ImageSet whose stimulus_ids label the RDM conditions

    def __post_init__(self) -> None:
        if STACK not in self.rdms.dims:
            raise ValueError("teacher RDMs need a leading 'rdm' dim naming the endpoints")
        if self.images is not None and getattr(self.images, "stimulus_ids", None) is not None:
            ids = [str(s) for s in self.images.stimulus_ids]
            if ids != [str(s) for s in self.rdms[ROW].values]:
                raise ValueError("teacher images and RDMs must list the same stimulus ids in the same order")

    @property
    def endpoints(self) -> list[str]:
        return [str(n) for n in self.rdms[STACK].values]

    @property
    def stimulus_ids(self) -> np.ndarray:
        return self.rdms[ROW].values

    def __add__(self, other: Teacher) -> Teacher:
        """Combine endpoints of two teachers on the same stimuli (aligned by ``stimulus_id``)."""
        clash = set(self.endpoints) & set(other.endpoints)
        if clash:
            raise ValueError(f"endpoint names clash: {sorted(clash)}; rename one teacher's endpoints")
        singles = {n: self.rdms.sel({STACK: n}, drop=True) for n in self.endpoints}
        singles.update({n: other.rdms.sel({STACK: n}, drop=True) for n in other.endpoints})
        return Teacher(stack_rdms(singles), self.images)

    def content_hash(self) -> str:
        """Hash of the RDM values and labels (for caching derived results)."""
        h = hashlib.sha256(np.ascontiguousarray(self.rdms.values).tobytes())
        h.update(repr((self.endpoints, [str(s) for s in self.stimulus_ids])).encode())
        return h.hexdigest()[:16]

    def save(self, path: str | Path) -> Path:
        """Write the RDMs to netCDF (images are not stored)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rdms.astype(np.float64).to_netcdf(path)
        return path

    @classmethod
    def load(cls, path: str | Path, images: object | None = None) -> Teacher:
        rdms = xr.open_dataarray(path).load()
        return cls(rdms.assign_coords({ROW: rdms[ROW].values.astype(str), COL: rdms[COL].values.astype(str)}), images)



def brain_teacher(
    assembly: xr.DataArray,
    images: object | None = None,
    *,
    endpoints: Sequence[str] | None = None,
    method: str = "correlation",
) -> Teacher:
    """A teacher whose endpoints are the regions of a (repetition-averaged) assembly.

    With ``images``, only stimuli that have an image are kept, in the images' order.
    """
    validate(assembly, unique_stimuli=True)
    names = list(endpoints) if endpoints is not None else regions(assembly)
    parts = select_regions(assembly, names, coord=REGION)
    rdms = stack_rdms({n: compute_rdm(a, method) for n, a in parts.items()})
    if images is not None and getattr(images, "stimulus_ids", None) is not None:
        ids = [str(s) for s in images.stimulus_ids]
        have = set(str(s) for s in rdms[ROW].values)
        missing = [s for s in ids if s not in have]
        if missing:
            raise ValueError(f"{len(missing)} stimulus image(s) have no recording, e.g. {missing[:3]}")
        rdms = rdms.assign_coords({ROW: rdms[ROW].values.astype(str), COL: rdms[COL].values.astype(str)})
        rdms = rdms.sel({ROW: ids, COL: ids})
    return Teacher(rdms, images)


class FeatureModel(nn.Module):
    """Give any torch module an ``extract(x, names)`` method via torchvision feature extraction."""

    def __init__(self, model: nn.Module, layers: Sequence[str]):
        super().__init__()
        from torchvision.models.feature_extraction import create_feature_extractor

        self.layers = list(layers)
        self.body = create_feature_extractor(model, return_nodes={n: n for n in self.layers})

    def extract(self, x: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
        feats = self.body(x)
        return {n: feats[n] for n in names}


def network_teacher(
    model: nn.Module,
    images,
    layers: Sequence[str],
    *,
    n_subsamples: int = 10,
    subsample_features: int | None = 1000,
    method: str = "correlation",
    device: str | torch.device | None = None,
    batch_size: int = 256,
    seed: int = 0,
) -> Teacher:
    """A teacher whose endpoints are layers of a trained network.

    Each endpoint's RDM is the mean over ``n_subsamples`` random subsets of
    ``subsample_features`` features (the paper: 10 subsamples per layer).
    """
    from neurosage.train import extract_activations

    extractor = model if hasattr(model, "extract") else FeatureModel(model, layers)
    acts = extract_activations(extractor, images, layers, batch_size=batch_size, device=device)
    labels = [str(s) for s in images.stimulus_ids] if getattr(images, "stimulus_ids", None) is not None else None
    rdms = {}
    for i, name in enumerate(layers):
        if subsample_features is None:
            rdms[name] = compute_rdm(acts[name], method, labels=labels, device=device)
        else:
            rdms[name] = subsample_rdm(acts[name], subsample_features, n_subsamples, method, seed=seed + i, labels=labels, device=device)
    return Teacher(stack_rdms(rdms), images)


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def cifar_resnet(n: int = 9, num_classes: int = 10, in_channels: int = 3, width: int = 16) -> nn.Sequential:
    """The CIFAR ResNet of He et al. (6n+2 layers; n=9 is the paper's 54-conv teacher).

    Its three stacks are named ``stack1``..``stack3``: the paper's teacher endpoints L1-L3.
    """
    layers: dict[str, nn.Module] = {
        "stem": nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
    }
    c = width
    for s in range(3):
        c_out = width * 2**s
        blocks = [_BasicBlock(c if i == 0 else c_out, c_out, 2 if (i == 0 and s > 0) else 1) for i in range(n)]
        layers[f"stack{s + 1}"] = nn.Sequential(*blocks)
        c = c_out
    layers["pool"] = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    layers["fc"] = nn.Linear(c, num_classes)
    return nn.Sequential(OrderedDict(layers))
