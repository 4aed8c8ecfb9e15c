import numpy as np
import pytest
import torch

from neurosage.nets.models import MODELS, FeatureModel, build_model, cifar_resnet


def test_cifar_resnet_has_paper_depth():
    net = cifar_resnet(n=9)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 6 * 9 + 1  # 54 convs in the stacks + the stem (shortcuts are 1x1)
    assert [name for name, _ in net.named_children()][1:4] == ["stack1", "stack2", "stack3"]


def test_build_model_by_registered_or_torchvision_name(tmp_path):
    net = build_model("cifar_resnet-2", num_classes=5, in_channels=1)
    assert net.fc.out_features == 5 and len(net.stack1) == 2 and "cifar_resnet" in MODELS
    weights = tmp_path / "w.pt"
    torch.save(net.state_dict(), weights)
    again = build_model("cifar_resnet-2", num_classes=5, in_channels=1, weights=str(weights))
    assert torch.equal(again.stem[0].weight, net.stem[0].weight)
    assert build_model("resnet18", weights="random").fc.in_features == 512
    with pytest.raises(ValueError, match="unknown model 'resnet9000'.*cifar_resnet"):
        build_model("resnet9000")


def test_feature_model_extracts_named_layers():
    feats = FeatureModel(cifar_resnet(1, in_channels=1), ["stack2", "pool"]).extract(torch.zeros(2, 1, 8, 8), ["stack2", "pool"])
    assert feats["stack2"].shape == (2, 32, 4, 4) and feats["pool"].shape == (2, 64)


def test_pretrained_weights_come_from_the_torch_cache_with_their_preprocessing(tmp_path, monkeypatch):
    import torchvision

    from helpers import random_stimuli
    from neurosage.core.errors import ConfigError
    from neurosage.nets.models import model_inputs, pretrained_cache_path

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = pretrained_cache_path("squeezenet1_1")
    assert path == tmp_path / "torch" / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"
    with pytest.raises(ConfigError, match=r"not in the torch cache.*fix: on a machine with internet.*squeezenet1_1-b8a52dc0.pth"):
        build_model("squeezenet1_1")
    torch.manual_seed(5)
    state = torchvision.models.squeezenet1_1().state_dict()  # a small state dict under the name torchvision expects
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    model = build_model("squeezenet1_1")
    assert torch.equal(model.features[0].weight, state["features.0.weight"])
    assert model.neurosage_weights == "pretrained SqueezeNet1_1_Weights.IMAGENET1K_V1"
    assert model.neurosage_preprocessing == {"size": 224, "channels": 3, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    grey = random_stimuli(np.random.default_rng(0), 3)  # 1 x 12 x 12: grey becomes RGB, resized, normalised as the weights expect
    image = model_inputs(model, grey)[0][0]
    assert tuple(image.shape) == (3, 224, 224) and list(model_inputs(model, grey).stimulus_ids) == list(grey.stimulus_ids)


def test_random_weights_only_when_asked_seeded_and_labelled(caplog):
    a, b = build_model("squeezenet1_1", weights="random", seed=3), build_model("squeezenet1_1", weights="random", seed=3)
    assert torch.equal(a.features[0].weight, b.features[0].weight) and a.neurosage_weights == "random weights (seed 3)"
    assert not torch.equal(a.features[0].weight, build_model("squeezenet1_1", weights="random", seed=4).features[0].weight)
    assert "random weights" in caplog.text


@pytest.mark.parametrize(("wrap", "said"), [
    (lambda sd: {"state_dict": sd, "epoch": 3}, "training checkpoint"),
    (lambda sd: {f"module.{k}": v for k, v in sd.items()}, "nn.DataParallel"),
    (lambda sd: {"model": sd, "epoch": 3}, "state dict under 'model'"),  # round 4 #29-#33: other wrappers and prefixes
    (lambda sd: {"model_state_dict": sd, "optimizer_state_dict": {}, "epoch": 3}, "state dict under 'model_state_dict'"),
    (lambda sd: {f"_orig_mod.{k}": v for k, v in sd.items()}, "torch.compile"),
    (lambda sd: {f"model.{k}": v for k, v in sd.items()}, "every key starts with 'model.'"),
    (lambda sd: {f"model.module.{k}": v for k, v in sd.items()}, "every key starts with 'model.module.'"),
    (lambda sd: {**sd, "extra_head.weight": torch.zeros(2)}, r"every key of the model and 1 it does not have \(e.g. \['extra_head.weight'\]"),
])
def test_weights_saved_by_a_training_wrapper_get_the_line_that_unwraps_them(tmp_path, wrap, said):
    from neurosage.core.errors import ConfigError
    from neurosage.nets.models import cifar_resnet, load_weights

    net = cifar_resnet(n=1, num_classes=10, in_channels=1, width=16)
    torch.save(wrap(net.state_dict()), tmp_path / "w.pt")
    with pytest.raises(ConfigError, match=said) as caught:
        load_weights(net, tmp_path / "w.pt")
    assert "torch.save(" in caught.value.fix


def test_a_mismatch_inside_the_network_is_not_blamed_on_the_input_channels():
    """Round 6 #118: another genotype's weights were said to take 1 input channel where the model was built for 12."""
    from neurosage.nets.models import _misfit

    text = ("Error(s) in loading state_dict for CellNetwork:\n\tsize mismatch for cells.0.op.weight: copying a param with shape "
            "torch.Size([12, 1, 3, 3]) from checkpoint, the shape in current model is torch.Size([12, 12, 3, 3]).")
    problem, fix = _misfit(RuntimeError(text), {"stem.0.weight": torch.zeros(1)}, ["stem.0.weight", "cells.0.op.weight"])
    assert "input channel" not in problem and "--channels" not in fix and "cells.0.op.weight" in problem
    stem = text.replace("cells.0.op.weight", "stem.0.weight").replace("[12, 12, 3, 3]", "[12, 3, 3, 3]")
    problem, fix = _misfit(RuntimeError(stem), {"stem.0.weight": torch.zeros(1)}, ["stem.0.weight", "cells.0.op.weight"])
    assert "they take 1 input channel(s) where the model was built for 3" in problem
