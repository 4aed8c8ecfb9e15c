import numpy as np
import pytest
import torch
import torchvision

from helpers import random_stimuli
from neurosage.assembly import average_repetitions, make_assembly
from neurosage.core.seeding import derive_seed
from neurosage.data_adapters.simulated import simulate_recording
from neurosage.nets.models import FeatureModel, cifar_resnet
from neurosage.rsa.rdm import compute_rdm, subsample_rdm
from neurosage.teachers.teacher import Teacher, brain_teacher, network_teacher


@pytest.fixture
def stimuli(rng):
    return random_stimuli(rng, 10, channels=3, size=16)


def test_network_teacher_endpoints_are_subsampled_layer_rdms(stimuli):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=4).eval()
    teacher = network_teacher(model, stimuli, ["layer1", "layer3"], n_subsamples=3, subsample_features=50, seed=5)
    assert teacher.endpoints == ["layer1", "layer3"]
    with torch.no_grad():
        feats = FeatureModel(model, ["layer3"]).extract(torch.stack([stimuli[i][0] for i in range(10)]), ["layer3"])
    expected = subsample_rdm(feats["layer3"].flatten(1).numpy(), 50, 3, seed=derive_seed(5, 1), labels=list(stimuli.stimulus_ids))
    np.testing.assert_allclose(teacher.rdms.sel(rdm="layer3").values, expected.values, atol=1e-5)


def test_brain_teacher_orders_by_images_and_combines(stimuli, rng):
    ids = [f"s{i}" for i in range(12)][::-1]  # recordings in another order, with 2 extra stimuli
    a = make_assembly(rng.normal(size=(12, 6)), stimulus_id=ids, region=["V4"] * 3 + ["IT"] * 3)
    brain = brain_teacher(a, stimuli)
    assert brain.endpoints == ["V4", "IT"] and list(brain.stimulus_ids) == list(stimuli.stimulus_ids)
    v4 = compute_rdm(a.isel(neuroid=slice(0, 3)))
    np.testing.assert_allclose(brain.rdms.sel(rdm="V4").values, v4.sel(condition_row=brain.stimulus_ids, condition_col=brain.stimulus_ids).values)
    net = network_teacher(cifar_resnet(1), stimuli, ["stack1"], subsample_features=None)
    both = brain + net
    assert both.endpoints == ["V4", "IT", "stack1"]
    with pytest.raises(ValueError, match="clash"):
        brain + brain


def test_simulated_recording_teacher(stimuli, rng):
    acts = {"V4": rng.normal(size=(10, 40)), "IT": rng.normal(size=(10, 40))}
    rec = simulate_recording(acts, list(stimuli.stimulus_ids), n_sites=20, reliability=0.99, n_repetitions=4, seed=0)
    teacher = brain_teacher(average_repetitions(rec), stimuli)
    assert teacher.endpoints == ["V4", "IT"]


def test_teacher_cache_roundtrip_and_hash(tmp_path, stimuli):
    teacher = network_teacher(cifar_resnet(1), stimuli, ["stack1", "stack2"], subsample_features=None)
    loaded = Teacher.load(teacher.save(tmp_path / "t.nc"), stimuli)
    np.testing.assert_array_equal(loaded.rdms.values, teacher.rdms.values)
    assert loaded.content_hash() == teacher.content_hash()


def test_a_cached_teacher_with_non_finite_rdms_is_rebuilt_not_used(tmp_path, caplog):
    from neurosage.rsa.rdm import compute_rdms
    from neurosage.teachers.teacher import Teacher

    rdms = compute_rdms({"V4": np.random.default_rng(0).normal(size=(5, 8))})
    rdms.where(rdms > 0.5).to_netcdf(tmp_path / "teacher-rdms.nc")  # as a crash or a bad recording may leave it
    assert Teacher.load_cached(tmp_path / "teacher-rdms.nc") is None
    assert "teacher-rdms.nc" in caplog.text and "cannot be used" in caplog.text
    assert (tmp_path / "teacher-rdms.nc").exists()  # never removed: the rebuilt teacher's file replaces it


@pytest.mark.parametrize(("image_ids", "said"), [
    ([f"{i:04d}" for i in range(1, 7)], None),
    ([f"{i:04d} " for i in range(1, 7)], "only by spaces around them"),  # round 5 #98: trailing spaces in a CSV
    ([str(i) for i in range(1, 7)], "only by leading zeros"),  # round 5 #94: ids read by a spreadsheet as numbers
])
def test_stimulus_ids_that_differ_by_one_simple_change_say_which(image_ids, said):
    from neurosage.core.errors import ConfigError

    rng = np.random.default_rng(0)
    recording = make_assembly(rng.normal(size=(6, 8)), stimulus_id=[f"{i:04d}" for i in range(1, 7)], region="V4")
    images = random_stimuli(rng, 6)
    images.stimulus_ids = image_ids
    if said is None:
        assert brain_teacher(recording, images).endpoints == ["V4"]
        return
    with pytest.raises(ConfigError, match=f"6 of the 6 stimulus image\\(s\\) of {images.name} have no recording.*{said}"):
        brain_teacher(recording, images)
