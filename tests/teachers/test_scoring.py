import pytest

from helpers import random_stimuli
from neurosage.nets.models import cifar_resnet
from neurosage.teachers.scoring import score_model
from neurosage.teachers.teacher import network_teacher
from neurosage.training.activations import model_rdms
from neurosage.training.configs import RDMOptions


@pytest.fixture
def stimuli(rng):
    return random_stimuli(rng, 16)


def test_a_model_matches_itself_best_at_the_same_layer(stimuli):
    model = cifar_resnet(1, in_channels=1).eval()
    teacher = network_teacher(model, stimuli, ["stack1", "stack3"], subsample_features=None)
    sim = score_model(model, teacher, ["stack1", "stack3"], rdm=RDMOptions(subsample_features=None)).similarity
    assert sim.dims == ("endpoint", "layer")
    assert sim.sel(endpoint="stack1", layer="stack1") == pytest.approx(1.0, abs=1e-6)
    assert sim.sel(endpoint="stack3", layer="stack3") == pytest.approx(1.0, abs=1e-6)


def test_model_rdms_are_labelled_by_stimulus_id_in_image_order(stimuli):
    rdms = model_rdms(cifar_resnet(1, in_channels=1).eval(), stimuli, ["stack2", "pool"])
    assert list(rdms.rdm.values) == ["stack2", "pool"]
    assert list(rdms.condition_row.values) == list(stimuli.stimulus_ids)


def test_candidate_rdms_use_the_teachers_subsampling(stimuli):
    """Same network, same seed, same scheme: a network teacher and a candidate score of it agree exactly."""
    model = cifar_resnet(1, in_channels=1).eval()
    teacher = network_teacher(model, stimuli, ["stack1", "stack3"], n_subsamples=4, subsample_features=100, seed=3)
    sim = score_model(model, teacher, ["stack1", "stack3"], rdm=RDMOptions(100, 4), seed=3).similarity
    assert sim.sel(endpoint="stack1", layer="stack1") == pytest.approx(1.0, abs=1e-12)
    assert sim.sel(endpoint="stack3", layer="stack3") == pytest.approx(1.0, abs=1e-12)
