import gzip
import io
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import write_idx
from neurosage.core.errors import DataFormatError
from neurosage.data_adapters.images import (
    FASHION_MNIST_DEFAULT,
    load_cifar100,
    load_fashion_mnist,
    load_image_folder,
    load_imagenet64,
    load_stimulus_images,
    read_idx,
)


@pytest.fixture
def fmnist_dir(tmp_path, rng):
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=20, dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:5], gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:5], gz=False)
    return tmp_path, images, labels


def test_fashion_mnist_from_user_folder_gz_and_plain(fmnist_dir):
    root, images, labels = fmnist_dir
    train = load_fashion_mnist("train", root)
    assert len(train) == 20 and train.images.shape == (20, 1, 28, 28)
    np.testing.assert_array_equal(train.images[:, 0].numpy(), images)
    x, y = train[3]
    assert x.dtype.is_floating_point and float(x.max()) <= 1.0 and int(y) == labels[3]
    assert len(load_fashion_mnist("test", root)) == 5
    assert train.classes[9] == "Ankle boot"


def test_idx_truncated_and_not_idx(tmp_path, fmnist_dir):
    root, _, _ = fmnist_dir
    data = gzip.decompress((root / "train-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "cut").write_bytes(data[:-100])
    with pytest.raises(DataFormatError, match="cut: field 'data': header promises.*truncated"):
        read_idx(tmp_path / "cut")
    (tmp_path / "junk").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(DataFormatError, match="field 'magic'"):
        read_idx(tmp_path / "junk")


def test_fashion_mnist_missing_folder_says_how_to_install(tmp_path):
    with pytest.raises(DataFormatError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", tmp_path / "nope")


@pytest.mark.dataset
@pytest.mark.skipif(not FASHION_MNIST_DEFAULT.exists(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian_package():
    test = load_fashion_mnist("test")
    assert len(test) == 10_000 and test.images.shape[1:] == (1, 28, 28)
    assert sorted(set(test.labels.tolist())) == list(range(10))


def test_cifar100_python_pickles(tmp_path, rng):
    root = tmp_path / "cifar-100-python"
    root.mkdir()
    data = rng.integers(0, 256, size=(6, 3072), dtype=np.uint8)
    for split in ("train", "test"):
        with open(root / split, "wb") as fh:
            pickle.dump({b"data": data, b"fine_labels": [1, 2, 3, 4, 5, 99], b"coarse_labels": [0] * 6, b"filenames": [b"x"] * 6}, fh)
    with open(root / "meta", "wb") as fh:
        pickle.dump({"fine_label_names": [f"c{i}" for i in range(100)], "coarse_label_names": [f"s{i}" for i in range(20)]}, fh)
    ds = load_cifar100("train", tmp_path)
    assert ds.images.shape == (6, 3, 32, 32) and ds.labels.tolist() == [1, 2, 3, 4, 5, 99]
    np.testing.assert_array_equal(ds.images[0, 1].numpy(), data[0, 1024:2048].reshape(32, 32))  # G plane
    assert load_cifar100("test", tmp_path, label="coarse").num_classes == 20
    with open(root / "meta", "wb") as fh:  # round 4 #57: a meta file with the coarse names for fine labels
        pickle.dump({"fine_label_names": [f"s{i}" for i in range(20)], "coarse_label_names": [f"s{i}" for i in range(20)]}, fh)
    with pytest.raises(DataFormatError, match=r"train: field 'fine_labels': fine_labels span 1..99, and .*meta names 20 fine classes.*"
                                              r"fix: use the train, test and meta files of one original"):
        load_cifar100("train", tmp_path)
    (root / "train").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataFormatError, match="train: cannot unpickle"):
        load_cifar100("train", tmp_path)


@pytest.mark.parametrize("fmt", ["pickle", "npz"])
def test_imagenet64_batches_labels_are_zero_based(tmp_path, rng, fmt):
    data = rng.integers(0, 256, size=(4, 12288), dtype=np.uint8)
    for name, labels in (("train_data_batch_1", [1, 1000, 5, 2]), ("train_data_batch_2", [3, 3, 3, 3]), ("val_data", [7, 8, 9, 10])):
        if fmt == "npz":
            np.savez(tmp_path / f"{name}.npz", data=data, labels=np.array(labels))
        else:
            with open(tmp_path / name, "wb") as fh:
                pickle.dump({"data": data, "labels": labels, "mean": data.mean(0)}, fh)
    train = load_imagenet64("train", tmp_path, batches=(1, 2))
    assert train.images.shape == (8, 3, 64, 64) and train.labels[:4].tolist() == [0, 999, 4, 1]
    np.testing.assert_array_equal(train.images[1, 2].numpy(), data[1, 8192:].reshape(64, 64))
    val = load_imagenet64("val", tmp_path, remap={6: 0, 8: 1})
    assert val.labels.tolist() == [0, 1]
    with pytest.raises(DataFormatError, match="train_data_batch_3"):
        load_imagenet64("train", tmp_path, batches=(3,))


def _imagenet64_npz(folder, rng, n=6):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train_data_batch_1", "train_data_batch_2"):
        np.savez(folder / f"{name}.npz", data=rng.integers(0, 256, size=(n, 12288), dtype=np.uint8), labels=rng.integers(1, 1001, size=n))
    return folder


def test_imagenet64_cache_equals_in_memory_load_and_opens_without_the_sources(tmp_path, rng, monkeypatch):
    root = _imagenet64_npz(tmp_path / "in64", rng)
    plain = load_imagenet64("train", root, batches=(1, 2), cache=False)
    cached = load_imagenet64("train", root, batches=(1, 2), cache=tmp_path / "cache")
    assert torch.equal(plain.images, cached.images) and torch.equal(plain.labels, cached.labels)
    (folder,) = (tmp_path / "cache").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["images.u8", "labels.npy", "meta.json"]
    import neurosage.data_adapters.images as images_module

    monkeypatch.setattr(images_module, "_imagenet64_read", lambda path: pytest.fail("the cache was rebuilt"))
    again = load_imagenet64("train", root, batches=(1, 2), cache=tmp_path / "cache")
    assert torch.equal(again.images, plain.images)


def test_imagenet64_cache_is_rebuilt_when_a_source_changes(tmp_path, rng):
    root = _imagenet64_npz(tmp_path / "in64", rng)
    first = load_imagenet64("train", root, batches=(1, 2), cache=tmp_path / "cache")
    np.savez(root / "train_data_batch_2.npz", data=np.zeros((6, 12288), np.uint8), labels=np.ones(6, dtype=np.int64))
    second = load_imagenet64("train", root, batches=(1, 2), cache=tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 2
    assert int(second.images[6:].sum()) == 0 and int(first.images[6:].sum()) > 0


def test_imagenet64_cached_set_pickles_as_a_file_reference(tmp_path, rng):
    root = _imagenet64_npz(tmp_path / "in64", rng, n=50)
    cached = load_imagenet64("train", root, batches=(1, 2), cache=tmp_path / "cache", size=32)
    train, val = cached.split_holdout(10, seed=0)
    blob = pickle.dumps(train)
    assert len(blob) < 100 * 12288 // 4  # far less than the 90 images' pixels
    back = pickle.loads(blob)
    assert torch.equal(back.images, train.images) and torch.equal(back.batch([0, 5])[0], train.batch([0, 5])[0])
    in_memory = pickle.loads(pickle.dumps(load_imagenet64("train", root, batches=(1, 2), cache=False)))
    assert torch.equal(in_memory.images, cached.images)


def test_imagenet64_remap_is_a_view_of_the_kept_images(tmp_path, rng):
    root = _imagenet64_npz(tmp_path / "in64", rng)
    full = load_imagenet64("train", root, batches=(1, 2), cache=tmp_path / "cache")
    kept = load_imagenet64("train", root, batches=(1, 2), cache=tmp_path / "cache", remap=lambda y: np.where(y % 2 == 0, y // 2, -1))
    even = np.flatnonzero(full.labels.numpy() % 2 == 0)
    assert torch.equal(kept.images, full.images[even]) and kept.labels.tolist() == (full.labels[even] // 2).tolist()


def test_imagenet64_bad_shape(tmp_path):
    with open(tmp_path / "val_data", "wb") as fh:
        pickle.dump({"data": np.zeros((2, 100), np.uint8), "labels": [1, 2]}, fh)
    with pytest.raises(DataFormatError, match="field 'data': expected uint8 \\(N, 12288\\)"):
        load_imagenet64("val", tmp_path)


def _png(arr):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_image_folder(tmp_path, rng):
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(2):
            (tmp_path / cls / f"{i}.png").write_bytes(_png(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)))
    ds = load_image_folder(tmp_path, storage_size=16)
    assert ds.images.shape == (4, 3, 16, 16) and ds.classes == ["cats", "dogs"] and ds.labels.tolist() == [0, 0, 1, 1]


def test_stimulus_images_from_zip_in_requested_order(tmp_path, rng):
    arrays = [np.full((8, 8), 10 * i, dtype=np.uint8) for i in range(3)]
    with zipfile.ZipFile(tmp_path / "stimulus_hvm-public.zip", "w") as zf:
        for i, a in enumerate(arrays):
            zf.writestr(f"img{i}.png", _png(np.stack([a] * 3, -1)))
    pd.DataFrame({"image_id": ["a", "b", "c"], "filename": [f"img{i}.png" for i in range(3)]}).to_csv(tmp_path / "s.csv", index=False)
    ds = load_stimulus_images(tmp_path / "s.csv", tmp_path / "stimulus_hvm-public.zip", stimulus_ids=["c", "a"], storage_size=None, grey=True, size=4)
    assert list(ds.stimulus_ids) == ["c", "a"]
    assert ds.images[0].max() == 20 and ds[0][0].shape == (1, 4, 4)
    assert ds.name == "stimuli:s"  # stored at the files' own size
    stored = load_stimulus_images(tmp_path / "s.csv", tmp_path / "stimulus_hvm-public.zip", storage_size=16)
    assert stored.name == "stimuli:s, files 8x8 stored at 16x16"  # round 3 #69: reported at the storage size only
    with pytest.raises(DataFormatError, match="field 'stimulus_id': 1 stimulus id"):
        load_stimulus_images(tmp_path / "s.csv", tmp_path / "stimulus_hvm-public.zip", stimulus_ids=["zzz"])


def test_imagenet64_unwritable_cache_folder_is_one_clear_error(tmp_path, rng):
    root = _imagenet64_npz(tmp_path / "in64", rng)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(DataFormatError, match="cannot create the image cache.*NEUROSAGE_CACHE_DIR"):
        load_imagenet64("train", root, batches=(1, 2), cache=blocker / "cache")
    assert len(load_imagenet64("train", root, batches=(1, 2), cache=False)) == 12


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_16_bit_png_keeps_its_grey_levels(tmp_path):
    ramp = np.linspace(0, 65535, 64).astype(np.uint16).reshape(8, 8)
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "ramp.png").write_bytes(_png(ramp))
    pd.DataFrame({"stimulus_id": ["r"], "filename": ["ramp.png"]}).to_csv(tmp_path / "s.csv", index=False)
    for grey in (True, False):
        pixels = load_stimulus_images(tmp_path / "s.csv", tmp_path / "img", storage_size=None, grey=grey).images[0].numpy()
        expected = np.rint(ramp / 65535 * 255)
        assert np.abs(pixels.astype(float) - expected).max() <= 1  # not clipped to white (mean 254 before)
        assert pixels.mean() == pytest.approx(127.5, abs=1)


def test_zip_members_are_addressed_by_their_relative_path(tmp_path):
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as z:
        z.writestr("set/cars/001.png", _png(np.full((8, 8), 10, dtype=np.uint8)))
        z.writestr("set/faces/001.png", _png(np.full((8, 8), 200, dtype=np.uint8)))
        z.writestr("set/dogs/001.png", _png(np.full((8, 8), 90, dtype=np.uint8)))
    table = pd.DataFrame({"stimulus_id": ["car", "face", "dog"], "filename": ["cars/001.png", "faces/001.png", "/lab/data/set/dogs/001.png"]})
    table.to_csv(tmp_path / "s.csv", index=False)  # the last as Brain-Score's absolute image_path
    images = load_stimulus_images(tmp_path / "s.csv", tmp_path / "s.zip", storage_size=None, grey=True).images
    assert [int(images[i].float().mean()) for i in range(3)] == [10, 200, 90]


def test_a_flattened_folder_that_joins_two_images_is_refused(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "001.png").write_bytes(_png(np.zeros((8, 8), dtype=np.uint8)))
    pd.DataFrame({"stimulus_id": ["a", "b"], "filename": ["cars/001.png", "faces/001.png"]}).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataFormatError, match="both resolve to"):
        load_stimulus_images(tmp_path / "s.csv", tmp_path / "img")


def test_a_dataset_folder_holding_something_else_says_what_it_holds(tmp_path, fmnist_dir):
    """Round 5 #85, #146, #89, #92: an unextracted archive, another dataset's files, a zip given to image-folder and a CSV
    naming another file type were each "not found" without the cause."""
    (tmp_path / "cft").mkdir()
    (tmp_path / "cft" / "cifar-100-python.tar.gz").write_bytes(b"\x1f\x8b")
    with pytest.raises(DataFormatError, match=r"no 'train' file for CIFAR-100 here.*fix: extract the archive first: tar xzf"):
        load_cifar100("train", tmp_path / "cft")
    with pytest.raises(DataFormatError, match=r"no 'train' file for CIFAR-100.*fix: this folder holds Fashion-MNIST's idx files: use --dataset "
                                              r"fashion-mnist"):
        load_cifar100("train", fmnist_dir[0])
    with zipfile.ZipFile(tmp_path / "imf.zip", "w") as zf:
        zf.writestr("cat/a.png", _png(np.zeros((4, 4, 3), dtype=np.uint8)))
    with pytest.raises(DataFormatError, match=r"image-folder reads a folder, and imf.zip is a file \(a zip archive\); fix: extract it first"):
        load_image_folder(tmp_path / "imf.zip")
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(_png(np.zeros((4, 4, 3), dtype=np.uint8)))
    pd.DataFrame({"stimulus_id": ["a"], "filename": ["a.jpg"]}).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataFormatError, match=r"image 'a.jpg' not found; fix: the folder has 'a.png': the stimulus CSV names another file type"):
        load_stimulus_images(tmp_path / "s.csv", tmp_path / "imgs")


def test_stimulus_images_in_a_tar_archive_are_refused_with_the_line_that_extracts_them(tmp_path):
    """Round 6 #67: every image was "not found" in a .tar.gz, with the advice to point at the folder."""
    import tarfile

    (tmp_path / "a.png").write_bytes(_png(np.zeros((4, 4, 3), dtype=np.uint8)))
    with tarfile.open(tmp_path / "imgs.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "a.png", arcname="a.png")
    pd.DataFrame({"stimulus_id": ["a"], "filename": ["a.png"]}).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataFormatError, match=r"imgs.tar.gz is a tar archive; fix: extract it first"):
        load_stimulus_images(tmp_path / "s.csv", tmp_path / "imgs.tar.gz")


def test_hidden_folders_of_an_image_folder_are_no_classes(tmp_path):
    """Round 7 D1: Jupyter's .ipynb_checkpoints became a fourth class."""
    for folder in ("cat", "dog", ".ipynb_checkpoints"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.png").write_bytes(_png(np.zeros((4, 4, 3), dtype=np.uint8)))
    assert load_image_folder(tmp_path).classes == ["cat", "dog"]


def test_a_stimulus_csv_with_categories_labels_the_images(tmp_path):
    """Round 7 #29/D0: control:category found no labels although the stimulus CSV had a category_name column."""
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.png").write_bytes(_png(np.zeros((4, 4, 3), dtype=np.uint8)))
    pd.DataFrame({"stimulus_id": ["a", "b", "c"], "filename": ["a.png", "b.png", "c.png"],
                  "category_name": ["face", "car", "face"]}).to_csv(tmp_path / "s.csv", index=False)
    images = load_stimulus_images(tmp_path / "s.csv", tmp_path)
    assert images.classes == ["car", "face"] and images.labels.tolist() == [1, 0, 1]


def test_a_stimulus_csv_with_some_empty_categories_labels_the_rest(tmp_path):
    """Round 9 (round 8 #65 re-checked): empty category cells crashed np.searchsorted (a missing cell stayed missing)."""
    for name in ("a", "b", "c", "d"):
        (tmp_path / f"{name}.png").write_bytes(_png(np.zeros((4, 4, 3), dtype=np.uint8)))
    (tmp_path / "s.csv").write_text("stimulus_id,filename,category\na,a.png,\nb,b.png,face\nc,c.png,car\nd,d.png,face\n")
    images = load_stimulus_images(tmp_path / "s.csv", tmp_path)
    assert images.classes == ["car", "face"] and images.labels.tolist() == [-1, 1, 0, 1]
