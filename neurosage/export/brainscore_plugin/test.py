"""Offline checks of the plugin (no benchmark data): it loads with its region-layer map, and looking at images records
the layer of its first region."""

import json
from pathlib import Path

import brainscore_vision
import numpy as np
from PIL import Image

SPEC = json.loads((Path(__file__).resolve().parent / "neurosage_export.json").read_text(encoding="utf-8"))
IDENTIFIER = SPEC["identifier"]
MAPPING = SPEC["region_layer_map"]
REGION = next(iter(MAPPING))


def test_region_layer_map():
    model = brainscore_vision.load_model(IDENTIFIER)
    assert dict(model.layer_model.region_layer_map) == MAPPING


def test_look_at(tmp_path):
    try:
        from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
    except ImportError:  # Brain-Score before brainio moved into brainscore_core
        from brainio.stimuli import StimulusSet  # type: ignore[import-not-found]  # old Brain-Score's brainio, not installed here

    rng = np.random.default_rng(0)
    paths = {}
    for i in range(3):
        paths[f"s{i}"] = tmp_path / f"s{i}.png"
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(paths[f"s{i}"])
    stimuli = StimulusSet([{"stimulus_id": k} for k in paths])
    stimuli.stimulus_paths = {k: str(v) for k, v in paths.items()}
    stimuli.identifier = "neurosage-plugin-test"
    model = brainscore_vision.load_model(IDENTIFIER)
    model.start_recording(REGION, time_bins=[(70, 170)])
    activations = model.look_at(stimuli)
    assert activations.sizes["presentation"] == 3 and np.isfinite(activations.values).all()
    assert set(activations["layer"].values) == {MAPPING[REGION]}
