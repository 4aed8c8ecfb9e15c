"""Shared fixtures: tiny synthetic data only."""

from __future__ import annotations

import numpy as np
import pytest

from neurosage.assembly import make_assembly


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
