import numpy as np
import pytest

from neurosage.data_adapters.imageset import ImageSet
from neurosage.model_similarity import model_teacher_similarity, plot_similarity
from neurosage.teachers import cifar_resnet, network_teacher


def test_a_model_matches_itself_best_at_the_same_layer(tmp_path, rng):
    stimuli = ImageSet(rng.integers(0, 256, size=(16, 1, 12, 12), dtype=np.uint8), mean=0.5, std=0.25)
    stimuli.stimulus_ids = np.array([f"s{i}" for i in range(16)])
    model = cifar_resnet(1, in_channels=1).eval()
    teacher = network_teacher(model, stimuli, ["stack1", "stack3"], subsample_features=None)
    sim = model_teacher_similarity(model, teacher, ["stack1", "stack3"], max_features=None)
    assert sim.dims == ("endpoint", "layer")
    assert sim.sel(endpoint="stack1", layer="stack1") == pytest.approx(1.0, abs=1e-6)
    assert sim.sel(endpoint="stack3", layer="stack3") == pytest.approx(1.0, abs=1e-6)
    png = plot_similarity(sim, tmp_path / "s.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
