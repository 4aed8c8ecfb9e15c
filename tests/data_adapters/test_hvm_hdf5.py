import h5py
import numpy as np
import pytest

from neurosage.core.errors import DataFormatError
from neurosage.data_adapters.hvm_hdf5 import load_hvm_hdf5, load_hvm_images


@pytest.fixture
def hvm_file(tmp_path, rng):
    """ventral_neural_data.hdf5 layout: 6 images (2 V0, 2 V3, 2 V6), 5 neurons (2 V4, 3 IT)."""
    path = tmp_path / "ventral_neural_data.hdf5"
    var = np.array([b"V0", b"V0", b"V3", b"V6", b"V3", b"V6"])
    trials = {"0": rng.normal(size=(3, 2, 5)), "3": rng.normal(size=(4, 2, 5)), "6": rng.normal(size=(2, 2, 5))}
    with h5py.File(path, "w") as h5:
        h5["images"] = rng.integers(0, 256, size=(6, 16, 16), dtype=np.uint8)
        meta = h5.create_group("image_meta")
        meta["variation_level"] = var
        meta["category"] = np.array([b"Animals", b"Cars"] * 3)
        meta["object_name"] = np.array([f"o{i}".encode() for i in range(6)])
        meta["image_id"] = np.array([f"id{i}".encode() for i in range(6)])
        nm = h5.create_group("neural_meta")
        nm["V4_NEURONS"] = np.array([1, 3])
        nm["IT_NEURONS"] = np.array([0, 2, 4])
        nm["ANIMAL_INFO"] = np.array([b"Chabo"] * 3 + [b"Tito"] * 2)
        ta = h5.create_group("time_averaged")
        for k, v in trials.items():
            ta[f"variation_level_{k}"] = v.astype(np.float32)
    return path, trials


def test_assembly_from_trials(hvm_file):
    path, trials = hvm_file
    a = load_hvm_hdf5(path)
    assert a.dims == ("presentation", "neuroid") and a.sizes["neuroid"] == 5
    assert list(a.region.values) == ["V4", "V4", "IT", "IT", "IT"]
    # image 4 is the second V3 image: mean over its 4 trials, neuron 0 -> IT site index 0
    row = a.sel(presentation=a.stimulus_id == "id4")
    expected = trials["3"][:, 1, 0].astype(np.float32).mean()
    assert row.sel(neuroid=a.neuroid_id == "hvm_site_000").values.item() == pytest.approx(expected, rel=1e-5)
    assert set(a.variation.values) == {"V0", "V3", "V6"} and "category_name" in a.coords


def test_raw_trials_keep_repetitions(hvm_file):
    path, _ = hvm_file
    raw = load_hvm_hdf5(path, average=False, variations=("V3",))
    assert raw.sizes["presentation"] == 4 * 2 and raw.repetition.max() == 3


def test_subregions_are_not_in_the_hdf5(hvm_file):
    path, _ = hvm_file
    with pytest.raises(DataFormatError, match="neural_meta/pIT_NEURONS.*Brain-Score"):
        load_hvm_hdf5(path, regions=("pIT",))


def test_wrong_shape_and_missing_group(hvm_file, tmp_path):
    path, _ = hvm_file
    with h5py.File(path, "a") as h5:
        del h5["time_averaged/variation_level_6"]
        h5["time_averaged/variation_level_6"] = np.zeros((2, 3, 5), np.float32)
    with pytest.raises(DataFormatError, match="variation_level_6.*does not fit 2 V6 images"):
        load_hvm_hdf5(path)
    with h5py.File(tmp_path / "empty.hdf5", "w"):
        pass
    with pytest.raises(DataFormatError, match="field 'image_meta'"):
        load_hvm_hdf5(tmp_path / "empty.hdf5")


def test_images_carry_stimulus_ids(hvm_file):
    path, _ = hvm_file
    imgs = load_hvm_images(path, size=8)
    assert list(imgs.stimulus_ids) == [f"id{i}" for i in range(6)] and imgs[0][0].shape == (1, 8, 8)


def test_a_neuron_index_beyond_the_recorded_neurons_names_its_region(hvm_file):
    path, _ = hvm_file
    with h5py.File(path, "a") as h5:
        del h5["neural_meta/IT_NEURONS"]
        h5["neural_meta/IT_NEURONS"] = np.array([0, 2, 9])
    with pytest.raises(DataFormatError, match="IT_NEURONS"):
        load_hvm_hdf5(path)


def test_a_folder_given_for_the_file_names_the_file_inside(hvm_file, monkeypatch):
    """Round 10 #31: $NEUROSAGE_HVM_HDF5 naming the folder said 'truncated or not HDF5; download it again'."""
    path, _ = hvm_file
    monkeypatch.setenv("NEUROSAGE_HVM_HDF5", str(path.parent))
    with pytest.raises(DataFormatError, match="is a folder, where the HVM HDF5 file goes") as exc:
        load_hvm_hdf5()
    assert str(path) in exc.value.fix
