import pytest
import torch

from neurosage.models import MODELS, FeatureModel, build_model, cifar_resnet


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
    assert build_model("resnet18").fc.in_features == 512
    with pytest.raises(ValueError, match="unknown model 'resnet9000'.*cifar_resnet"):
        build_model("resnet9000")


def test_feature_model_extracts_named_layers():
    feats = FeatureModel(cifar_resnet(1, in_channels=1), ["stack2", "pool"]).extract(torch.zeros(2, 1, 8, 8), ["stack2", "pool"])
    assert feats["stack2"].shape == (2, 32, 4, 4) and feats["pool"].shape == (2, 64)
