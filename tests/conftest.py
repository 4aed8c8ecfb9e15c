"""Shared fixtures: tiny synthetic data only."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import write_fashion_mnist
from neurosage.assembly import make_assembly


@pytest.fixture(autouse=True)
def _image_cache_in_tmp(tmp_path_factory, monkeypatch):
    """Image caches (ImageNet64 loads) go to a temporary folder, never the user's ~/.cache."""
    monkeypatch.setenv("NEUROSAGE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "neurosage-cache"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def recording(rng):
    """A small V4/IT recording: 12 stimuli x 3 repetitions, 10 neuroids, with categories."""
    n_stim, n_rep = 12, 3
    stim = np.repeat([f"img{i:02d}" for i in range(n_stim)], n_rep)
    category = np.repeat([f"cat{i % 4}" for i in range(n_stim)], n_rep)
    values = rng.normal(size=(n_stim * n_rep, 10))
    return make_assembly(
        values,
        stimulus_id=stim,
        region=["V4"] * 4 + ["IT"] * 6,
        presentation_coords={"category_name": category, "repetition": np.tile(np.arange(n_rep), n_stim)},
        neuroid_coords={"subregion": ["V4"] * 4 + ["pIT"] * 3 + ["aIT"] * 3},
    )


@pytest.fixture(scope="session")
def tiny_fmnist(tmp_path_factory):
    return write_fashion_mnist(tmp_path_factory.mktemp("fmnist"), n_train=300, n_test=80)
