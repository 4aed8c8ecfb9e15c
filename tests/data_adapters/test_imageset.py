import numpy as np
import pytest
import torch

from neurosage.core.errors import ConfigError
from neurosage.data_adapters.imageset import ImageSet


@pytest.fixture
def grey(rng):
    return ImageSet(rng.integers(0, 256, size=(10, 1, 8, 8), dtype=np.uint8), np.arange(10) % 3)


def test_conversion_is_explicit(grey):
    rgb = grey.with_conversion(channels=3, size=16, mean=0.5, std=0.25)
    x, _ = rgb[0]
    assert x.shape == (3, 16, 16)
    raw = grey.images[0].float() / 255
    assert torch.allclose(rgb.with_conversion(size=None)[0][0][1], (raw[0] - 0.5) / 0.25, atol=1e-6)


def test_holdout_split_is_seeded_and_disjoint(grey):
    train, held = grey.split_holdout(3, seed=1)
    assert len(train) == 7 and len(held) == 3
    again = grey.split_holdout(3, seed=1)[1]
    assert torch.equal(held.images, again.images)
    assert not torch.equal(held.images, grey.split_holdout(3, seed=2)[1].images)
    with pytest.raises(ValueError, match="cannot hold out"):
        grey.split_holdout(10)


def test_rejects_non_uint8():
    with pytest.raises(ValueError, match="uint8"):
        ImageSet(np.zeros((2, 1, 4, 4), dtype=np.float32))


def test_batch_equals_stacked_items_for_every_conversion(grey):
    converted = grey.with_conversion(channels=3, size=12, mean=[0.5, 0.4, 0.3], std=0.25)
    idx = [7, 0, 3, 3]
    images, labels = converted.batch(idx)
    assert torch.equal(images, torch.stack([converted[i][0] for i in idx]))
    assert labels.tolist() == [converted[i][1].item() for i in idx]


def test_subsets_are_views_of_one_storage(grey):
    train, held = grey.split_holdout(3, seed=0)
    part = train.subset([4, 1])
    assert part._storage is grey._storage and held._storage is grey._storage
    assert torch.equal(part.images, train.images[[4, 1]]) and torch.equal(part.batch([1])[0], train.batch([1])[0])
    assert part.subset([-1]).labels.tolist() == [train.labels[1].item()]
    with pytest.raises(ConfigError, match="index 2 is outside the set of 2 images"):
        part.subset([2])
    assert part.batch([-1])[1].tolist() == [train.labels[1].item()]  # batch counts from the end as subset does


def test_to_device_keeps_only_its_rows_and_converts_there(grey):
    part = grey.subset([2, 5, 6]).with_conversion(mean=0.5, std=0.5)
    assert part.to("cpu") is part
    meta = part.to("meta")
    assert meta.device.type == "meta" and tuple(meta._storage.shape) == (3, 1, 8, 8) and meta._index is None


def test_pixel_hashes_see_equal_images_whatever_their_ids():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(50, 1, 6, 6), dtype=np.uint8)
    a = ImageSet(x, stimulus_ids=[f"a{i}" for i in range(50)])
    b = ImageSet(x[::-1].copy(), stimulus_ids=[f"b{i}" for i in range(50)]).subset(range(10, 40))
    ha, hb = a.pixel_hashes(chunk=7), b.pixel_hashes(chunk=4)
    assert len(set(ha.tolist())) == 50  # distinct images, distinct hashes
    np.testing.assert_array_equal(hb, ha[::-1][10:40])


def test_mean_and_std_normalise_together(grey):
    # one without the other used to pass: mean alone failed at the first image (AttributeError), std alone was ignored
    with pytest.raises(ValueError, match="mean was given without std"):
        grey.with_conversion(mean=0.5)
    with pytest.raises(ValueError, match="std was given without mean"):
        ImageSet(np.zeros((2, 1, 4, 4), dtype=np.uint8), std=0.25)
    normalised = grey.with_conversion(mean=0.5, std=0.25)
    assert normalised.with_conversion(size=4).conversion["std"] == [0.25]  # a later conversion keeps both


def test_a_slice_of_an_image_set_says_how_to_take_several_images():
    """Round 6 #154: images[:2] was "'<=' not supported between instances of 'int' and 'slice'"."""
    images = ImageSet(np.zeros((4, 1, 2, 2), np.uint8), np.zeros(4, dtype=np.int64))
    with pytest.raises(TypeError, match=r"indexed by one position.*images.subset\(range\(...\)\) \(got slice\)"):
        images[:2]
    assert len(images.subset(range(2))) == 2 and images[np.int64(1)][0].shape == (1, 2, 2)
