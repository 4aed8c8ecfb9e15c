"""Control teachers (pixels, category, untrained network) and scores beyond a control (neurosage.teachers.controls)."""

import numpy as np
import pytest
import torch

from helpers import random_stimuli
from neurosage.core.errors import ConfigError
from neurosage.data_adapters.imageset import ImageSet
from neurosage.nets.models import build_model
from neurosage.rsa.rdm import RDMAlignmentError, compute_rdm
from neurosage.teachers import TEACHER_KINDS
from neurosage.teachers.controls import (
    category_teacher,
    controls_for,
    pixel_teacher,
    score_model_beyond,
    untrained_teacher,
)
from neurosage.teachers.kinds import teacher_from_spec
from neurosage.teachers.scoring import score_model
from neurosage.training.configs import RDMOptions

LAYERS = ["stack1", "stack3"]


@pytest.fixture
def stimuli(rng):
    return random_stimuli(rng, 10)


@pytest.fixture
def labelled(rng):
    images = rng.integers(0, 256, size=(9, 1, 12, 12), dtype=np.uint8)
    out = ImageSet(images, labels=[0, 1, 2, 0, 1, 2, 0, 1, 2], classes=["cat", "dog", "car"], mean=0.5, std=0.25)
    out.stimulus_ids = [f"s{i}" for i in range(9)]
    return out


def test_pixel_teacher_is_the_rdm_of_the_converted_pixels(stimuli):
    teacher = pixel_teacher(stimuli)
    assert teacher.endpoints == ["pixels"] and teacher.images is stimuli and teacher.rdms.attrs["control"] == "pixels"
    flat = torch.stack([stimuli[i][0] for i in range(len(stimuli))]).reshape(len(stimuli), -1).double()  # as candidates see them
    want = compute_rdm(flat, "correlation", labels=list(stimuli.stimulus_ids))
    np.testing.assert_allclose(teacher.rdms.sel(rdm="pixels").values, want.values, atol=1e-12)
    euclid = pixel_teacher(stimuli, rdm_method="sqeuclidean", compare_method="cka")
    assert (euclid.rdm_method, euclid.compare_method) == ("sqeuclidean", "cka")
    np.testing.assert_allclose(euclid.rdms.sel(rdm="pixels").values, compute_rdm(flat, "sqeuclidean").values, atol=1e-9)


def test_category_teacher_has_the_block_structure(labelled):
    teacher = category_teacher(labelled)
    rdm = teacher.rdms.sel(rdm="category").values
    labels = labelled.labels.numpy()
    np.testing.assert_array_equal(rdm, (labels[:, None] != labels[None, :]).astype(float))
    assert list(teacher.stimulus_ids) == list(labelled.stimulus_ids) and teacher.rdms.attrs["categories"] == "cat,dog,car"


def test_category_teacher_refuses_unlabelled_or_single_category_stimuli(stimuli, labelled):
    with pytest.raises(ConfigError, match="no category label"):
        category_teacher(stimuli)  # random_stimuli carry -1
    one = ImageSet(labelled.images, labels=[0] * 9)
    one.stimulus_ids = list(labelled.stimulus_ids)
    with pytest.raises(ConfigError, match="one category"):
        category_teacher(one)


def _trained_weights(path, stimuli):
    """cifar_resnet-1 after a few optimiser steps on the stimuli (a 'trained' teacher unlike any random draw)."""
    model = build_model("cifar_resnet-1", in_channels=1, seed=0).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, _ = stimuli.batch(range(len(stimuli)))
    y = torch.arange(len(stimuli)) % 10
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    torch.save(model.state_dict(), path)
    return path


def test_untrained_teacher_is_seeded_and_differs_from_the_trained_one(tmp_path, stimuli):
    a = untrained_teacher("cifar_resnet-1", LAYERS, stimuli, seed=0)
    again = untrained_teacher("cifar_resnet-1", LAYERS, stimuli, seed=0)
    other = untrained_teacher("cifar_resnet-1", LAYERS, stimuli, seed=1)
    assert a.endpoints == LAYERS and a.rdms.attrs["weights"] == "random weights (seed 0)" and a.rdms.attrs["control"] == "untrained"
    np.testing.assert_array_equal(a.rdms.values, again.rdms.values)
    assert not np.allclose(a.rdms.values, other.rdms.values)
    trained = teacher_from_spec(f"net:cifar_resnet-1:{','.join(LAYERS)}:{_trained_weights(tmp_path / 'w.pt', stimuli)}", stimuli)
    assert trained.endpoints == a.endpoints
    assert not np.allclose(trained.rdms.values, a.rdms.values)


def test_control_specs_build_ordinary_teachers(tmp_path, stimuli, labelled):
    assert "control" in TEACHER_KINDS
    np.testing.assert_array_equal(teacher_from_spec("control:pixels", stimuli).rdms.values, pixel_teacher(stimuli).rdms.values)
    np.testing.assert_array_equal(teacher_from_spec("control:category", labelled).rdms.values, category_teacher(labelled).rdms.values)
    spec = "control:untrained:cifar_resnet-1:stack1,stack3"
    np.testing.assert_array_equal(teacher_from_spec(spec, stimuli, seed=2).rdms.values,
                                  untrained_teacher("cifar_resnet-1", LAYERS, stimuli, seed=2).rdms.values)
    both = teacher_from_spec("control:pixels+control:category+net:cifar_resnet-1:stack2:random", labelled, cache_dir=tmp_path)
    assert both.endpoints == ["pixels", "category", "stack2"]
    # the category control's cache is keyed by the labels too
    relabelled = ImageSet(labelled.images, labels=[0, 0, 0, 1, 1, 1, 2, 2, 2], mean=0.5, std=0.25)
    relabelled.stimulus_ids = list(labelled.stimulus_ids)
    again = teacher_from_spec("control:pixels+control:category+net:cifar_resnet-1:stack2:random", relabelled, cache_dir=tmp_path)
    assert not np.array_equal(again.rdms.sel(rdm="category").values, both.rdms.sel(rdm="category").values)


@pytest.mark.parametrize("spec, match", [("control:retina", "names no control"), ("control:pixels:extra", "fields after 'pixels'"),
                                         ("control:untrained:cifar_resnet-1", "field"), ("control:category", "no category label")])
def test_bad_control_specs_say_the_syntax(stimuli, spec, match):
    with pytest.raises(ConfigError, match=match):
        teacher_from_spec(spec, stimuli)


def test_score_beyond_a_control(stimuli):
    model = build_model("cifar_resnet-1", in_channels=1, seed=5)
    rdm = RDMOptions(subsample_features=None)
    teacher = untrained_teacher("cifar_resnet-1", LAYERS, stimuli, seed=5, subsample_features=None)  # the model itself
    plain = score_model(model, teacher, LAYERS, rdm=rdm)
    beyond_pixels = score_model_beyond(model, teacher, LAYERS, pixel_teacher(stimuli), rdm=rdm)
    assert plain.tg == pytest.approx(1.0, abs=1e-9) and beyond_pixels.tg == pytest.approx(1.0, abs=1e-9)  # identical RDMs stay identical
    assert beyond_pixels.similarity.attrs["method"] == "partial pearson" and "pixels control" in beyond_pixels.similarity.attrs["beyond"]
    assert beyond_pixels.best_layer == {"stack1": "stack1", "stack3": "stack3"}
    # the teacher's own untrained network as a paired control: nothing is left beyond it (explained entirely: 0, warned)
    with pytest.warns(RuntimeWarning, match="explained entirely"):
        beyond_self = score_model_beyond(model, teacher, LAYERS, teacher, rdm=rdm)
    assert beyond_self.similarity.attrs["paired"] == 1
    np.testing.assert_allclose(np.diag(beyond_self.similarity.values), 0.0, atol=1e-9)


def test_score_beyond_refuses_other_stimuli_and_non_correlations(stimuli, rng):
    model = build_model("cifar_resnet-1", in_channels=1, seed=5)
    teacher = untrained_teacher("cifar_resnet-1", LAYERS, stimuli, seed=5)
    others = random_stimuli(rng, 11)
    with pytest.raises(RDMAlignmentError, match="different stimuli"):
        score_model_beyond(model, teacher, LAYERS, pixel_teacher(others))
    with pytest.raises(ConfigError, match="partial correlation"):
        score_model_beyond(model, teacher, LAYERS, pixel_teacher(stimuli), compare_method="cosine")


def test_controls_for_a_spec(stimuli, labelled):
    found = controls_for("net:cifar_resnet-1:stack1:random+brain:x:IT", labelled, seeds=(0, 1))
    assert list(found) == ["pixels", "category", "untrained:cifar_resnet-1:seed0", "untrained:cifar_resnet-1:seed1"]
    assert list(controls_for("net:cifar_resnet-1:stack1", stimuli)) == ["pixels", "untrained:cifar_resnet-1:seed0"]  # no labels, no category


def test_an_untrained_torchvision_control_converts_inputs_as_the_trained_weights():
    from neurosage.teachers.controls import _trained_conversion

    default = _trained_conversion("resnet18", None)
    assert default["size"] == 224 and default["channels"] == 3 and default["mean"] == pytest.approx([0.485, 0.456, 0.406])
    assert _trained_conversion("resnet18", "IMAGENET1K_V1")["size"] == 224
    assert _trained_conversion("resnet18", "random") is None and _trained_conversion("resnet18", "weights.pt") is None
    assert _trained_conversion("cifar_resnet-1", None) is None


def test_stimuli_too_small_to_differ_are_named_as_the_cause():
    """Round 3 #84: 1x1-pixel stimuli gave "constant RDM ... drop 'pixels'", the only endpoint, without the cause."""
    images = ImageSet(np.arange(6, dtype=np.uint8).reshape(6, 1, 1, 1) * 0 + 7, np.zeros(6, dtype=np.int64),
                      stimulus_ids=[f"s{i}" for i in range(6)])
    with pytest.warns(RuntimeWarning, match="constant pattern"), \
            pytest.raises(ConfigError, match=r"the stimulus images are 1x1 pixel\(s\) with 1 channel\(s\).*fix: use stimulus images of a real"):
        pixel_teacher(images)
