"""A neurosage search trial as a Brain-Score model (a plugin written by ``neurosage export brainscore``).

Self-contained: the network code is the vendored ``neurosage_net`` package beside this file; torch, numpy and Pillow
are all it needs. What the trial is (genotype, network options, input conversion, layers, region-layer map, where it
came from) is read from ``neurosage_export.json`` beside this file. ``build_model()`` rebuilds the network and loads
``weights.pt``; ``preprocess(paths)`` converts image files as neurosage shows stimulus files to the candidates;
``get_model()`` wraps both for Brain-Score.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .neurosage_net.nets.build import build_network  # type: ignore[import-not-found]  # vendored here by the export

HERE = Path(__file__).resolve().parent
#: The trial as the export recorded it.
SPEC: dict[str, Any] = json.loads((HERE / "neurosage_export.json").read_text(encoding="utf-8"))
IDENTIFIER: str = SPEC["identifier"]
GENOTYPE: str = SPEC["genotype"]
NETWORK: dict[str, Any] = SPEC["network"]
NUM_CLASSES: int = SPEC["num_classes"]
INPUT: dict[str, Any] = SPEC["input"]
LAYERS: list[str] = SPEC["layers"]
REGION_LAYER_MAP: dict[str, str] = SPEC["region_layer_map"]

#: Pillow modes with more than 8 bits per pixel and the top of their range (scaled to 0-255, as neurosage does).
_WIDE_MODES = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535}


def build_model() -> torch.nn.Module:
    """The network of GENOTYPE with the trial's weights, in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = build_network(GENOTYPE, num_classes=NUM_CLASSES, in_channels=INPUT["channels"], **NETWORK)
    net.load_state_dict(torch.load(HERE / "weights.pt", map_location="cpu", weights_only=True))
    return net.eval()


def load_image(path: str | Path) -> np.ndarray:
    """One image file as uint8 ``(3, S, S)``: 8-bit, RGB, resized to the storage side (PIL bilinear)."""
    with Image.open(path) as opened:
        opened.load()
        img: Image.Image = opened
        if img.mode in _WIDE_MODES:
            values = np.asarray(img, dtype=np.float64)
            img = Image.fromarray(np.rint(values * (255 / _WIDE_MODES[img.mode])).astype(np.uint8), mode="L")
        img = img.convert("RGB")
        side = INPUT["storage_size"]
        if img.size != (side, side):
            img = img.resize((side, side), Image.Resampling.BILINEAR)
        return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


def convert(images: np.ndarray) -> np.ndarray:
    """uint8 ``(N, 3, S, S)`` -> float32 ``(N, C, size, size)``: scaled to [0, 1], channels, side (bilinear, antialiased), normalised."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
    if INPUT["channels"] == 1:
        x = x.mean(dim=1, keepdim=True)
    size = INPUT["size"]
    if tuple(x.shape[-2:]) != (size, size):
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    if INPUT["mean"] is not None:
        mean = torch.tensor(INPUT["mean"], dtype=torch.float32).reshape(-1, 1, 1)
        std = torch.tensor(INPUT["std"], dtype=torch.float32).reshape(-1, 1, 1)
        x = (x - mean) / std
    return x.numpy()


def preprocess(image_filepaths: Iterable[str | Path]) -> np.ndarray:
    """Brain-Score's preprocessing: image files -> the network's input batch."""
    return convert(np.stack([load_image(path) for path in image_filepaths]))


def get_layers() -> list[str]:
    """The layers Brain-Score may read: the module paths of the cell (or layer) outputs."""
    return list(LAYERS)


def get_model() -> Any:
    """The network wrapped for Brain-Score (``PytorchWrapper``)."""
    from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper

    wrapper = PytorchWrapper(identifier=IDENTIFIER, model=build_model(), preprocessing=preprocess)
    wrapper.image_size = INPUT["size"]
    return wrapper
