import numpy as np
import pytest

from helpers import TINY_ANALYSIS
from neurosage.analyses.embedded import Setup, SplitRuleError, embedded_setup, teacher_stimuli
from neurosage.analyses.settings import EmbeddedConfig, SearchConfig
from neurosage.core.errors import ConfigError, DataFormatError
from neurosage.data_adapters.imageset import ImageSet
from neurosage.rsa.rdm import compute_rdms
from neurosage.teachers.teacher import Teacher


def _images(ids, pixels_of=None):
    """Images whose pixels are a function of their id (of ``pixels_of``'s ids when given: copies under other ids)."""
    import zlib

    sources = pixels_of or ids
    pixels = np.stack([np.random.default_rng(zlib.crc32(i.encode())).integers(0, 256, (1, 4, 4), dtype=np.uint8) for i in sources])
    images = ImageSet(pixels, np.zeros(len(ids), dtype=int))
    images.stimulus_ids = ids
    return images


def _teacher(ids):
    rng = np.random.default_rng(0)
    return Teacher(compute_rdms({"V4": rng.normal(size=(len(ids), 5))}, labels=ids), _images(ids))


def test_the_split_rule_refuses_teacher_stimuli_in_train_or_test():
    teacher = _teacher(["t0", "t1", "t2"])
    Setup(_images(["a", "b"]), _images(["v"]), _images(["c"]), teacher)  # disjoint: fine
    with pytest.raises(SplitRuleError, match="1 teacher stimulus image.*train set"):
        Setup(_images(["a", "t1"]), _images(["v"]), _images(["c"]), teacher)
    with pytest.raises(SplitRuleError, match="test set"):
        Setup(_images(["a"]), _images(["v"]), _images(["t0", "c"]), teacher)
    with pytest.raises(SplitRuleError, match="3 of the 3 teacher stimuli are pixel-identical to images of the train set"):
        Setup(_images(["x0", "x1", "x2", "a"], pixels_of=["t0", "t1", "t2", "a"]), _images(["v"]), _images(["c"]), teacher)
    with pytest.raises(SplitRuleError, match="no stimulus ids"):
        Setup(ImageSet(np.zeros((2, 1, 4, 4), dtype=np.uint8)), _images(["v"]), _images(["c"]), teacher)


def test_embedded_setup_splits_by_the_rule(tmp_path, tiny_fmnist):
    config = EmbeddedConfig(data=str(tiny_fmnist), teacher_epochs=0.05, **TINY_ANALYSIS)
    setup = embedded_setup(config, tmp_path)
    stimuli = set(setup.teacher.stimulus_ids)
    assert len(stimuli) == config.n_stimuli and all(s.startswith("fashion-mnist-test-") for s in stimuli)
    assert len(setup.train) == config.n_train and len(setup.val) == config.n_val
    assert len(setup.test) + config.n_stimuli == 80 and not stimuli & set(setup.test.stimulus_ids)
    assert not set(setup.train.stimulus_ids) & set(setup.val.stimulus_ids)
    assert list(teacher_stimuli(config).stimulus_ids) == list(setup.teacher.stimulus_ids)
    again = embedded_setup(config, tmp_path)  # the teacher comes from the run folder's cache
    np.testing.assert_array_equal(again.teacher.rdms.values, setup.teacher.rdms.values)
    assert embedded_setup(config, tmp_path, with_teacher=False).teacher is None


def test_too_many_stimuli_is_a_clear_error(tmp_path, tiny_fmnist):
    with pytest.raises(ValueError, match="n_stimuli = 200 must be between 3 and 79"):
        embedded_setup(EmbeddedConfig(data=str(tiny_fmnist), n_stimuli=200), tmp_path)
    with pytest.raises(ValueError, match=r"n_stimuli \(default 300\) must be between 3 and 79"):  # the user set none: the default named
        embedded_setup(EmbeddedConfig(data=str(tiny_fmnist)), tmp_path)


def test_a_batch_larger_than_the_training_set_is_said(caplog):
    import logging

    from neurosage.analyses.embedded import check_config
    from neurosage.analyses.settings import SearchConfig

    with caplog.at_level(logging.WARNING):
        check_config(SearchConfig(n_train=40, batch_size=64))
    assert "batch-size 64 is more than n-train 40" in caplog.text


def test_blank_training_images_are_refused_naming_the_data(tmp_path):
    """Round 4 #61: an all-zero training file trained to below chance, and the only word was 'train the teacher longer'."""
    from helpers import write_fashion_mnist, write_idx

    data = write_fashion_mnist(tmp_path / "fm", n_train=120, n_test=40)
    write_idx(data / "train-images-idx3-ubyte.gz", np.zeros((120, 28, 28), dtype=np.uint8))
    with pytest.raises(DataFormatError, match=r"fm: field 'images': every training image of fashion-mnist/train looked at \(120, spread over "
                                              r"the 120\) has the same value in every pixel \(0\).*fix: check the training image file"):
        embedded_setup(SearchConfig(data=str(data), n_train=60, n_val=20, n_stimuli=10), tmp_path / "run")


def test_a_one_split_dataset_is_refused_by_the_split_rule_before_the_teacher_trains(tmp_path):
    """Round 9 #63: an image folder (train and evaluation are the same images) trained the teacher, then was refused."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / "imf" / cls).mkdir(parents=True)
        for i in range(20):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / "imf" / cls / f"{i}.png")
    config = EmbeddedConfig(dataset="image-folder", data=str(tmp_path / "imf"), n_train=10, n_val=10, n_stimuli=5, teacher_epochs=0.05)
    with pytest.raises(SplitRuleError, match="also in the train set") as exc:
        embedded_setup(config, tmp_path / "run")
    assert "neurosage search --objective p" in exc.value.fix and not (tmp_path / "run" / "teacher").exists()


def test_a_recording_that_holds_its_images_is_its_teachers_stimuli(tmp_path):
    """Round 10 #27b/#28a: the HvM HDF5 holds its 5760 images, but a brain:HvM-hdf5 teacher asked for --teacher-images and a CSV
    (which HvM-hdf5 does not take): the two messages sent the user in a circle."""
    import h5py

    from neurosage.analyses.embedded import recording_stimuli

    path = tmp_path / "ventral_neural_data.hdf5"
    with h5py.File(path, "w") as h5:
        h5["images"] = np.random.default_rng(0).integers(0, 256, size=(6, 16, 16), dtype=np.uint8)
        h5.create_group("image_meta")["image_id"] = np.array([f"id{i}".encode() for i in range(6)])
    config = EmbeddedConfig(teacher="brain:HvM-hdf5:V4,IT", teacher_args={"path": str(path)}, n_stimuli=4)
    stimuli = recording_stimuli(config, (1, 8, 8))
    assert list(stimuli.stimulus_ids) == ["id0", "id1", "id2", "id3"] and stimuli.image_shape == (1, 8, 8)
    with pytest.raises(ConfigError, match="HvM-hdf5 holds its own stimulus images"):
        recording_stimuli(EmbeddedConfig(teacher="brain:HvM-hdf5:V4,IT", teacher_args={"path": str(path)}, teacher_images=str(tmp_path)),
                          (1, 8, 8))


def test_a_layer_count_given_as_teacher_depth_is_named_before_training(tmp_path, monkeypatch, caplog):
    """Round 14 K12: --teacher-depth 50 (meant ResNet-50) trained a ResNet-302 with no line giving its depth."""
    import neurosage.analyses.embedded as embedded
    from helpers import write_fashion_mnist

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(embedded, "train", stop)
    config = EmbeddedConfig(data=str(write_fashion_mnist(tmp_path / "f", 60, 20)), n_train=20, n_val=10, n_stimuli=5, teacher_epochs=0.05,
                            teacher_depth=50)
    with caplog.at_level("INFO"), pytest.raises(Stop):
        embedded_setup(config, tmp_path / "run")
    assert "teacher-depth = 50 builds a ResNet-302" in caplog.text and "not the number of layers" in caplog.text
    assert "training the ResNet-302 teacher (teacher-depth n = 50)" in caplog.text
