import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from neurosage.assembly import select_regions
from neurosage.data_adapters.imageset import ImageSet
from neurosage.nets.build import build_network
from neurosage.spaces import get_space
from neurosage.training.activations import extract_activations
from neurosage.training.batches import memory_format_for, training_batches
from neurosage.training.configs import TrainConfig
from neurosage.training.evaluation import evaluate
from neurosage.training.loop import resolve_steps, train


@pytest.fixture
def toy_data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 1, 12, 12, generator=gen)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    return TensorDataset(x, y)


def _net(seed=0):
    torch.manual_seed(seed)
    return build_network(get_space("pnas", n_blocks=2).sample(1), skeleton="cifar", n_cells=1, filters=4, num_classes=2, in_channels=1)


def test_same_seed_gives_bit_identical_weights(toy_data):
    cfg = TrainConfig(steps=5, batch_size=16, drop_path=0.1)
    a, b = _net(), _net()
    ra, rb = train(a, toy_data, cfg, seed=3), train(b, toy_data, cfg, seed=3)
    assert ra.status == rb.status == "ok" and ra.steps == 5 and ra.examples == 80
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(pa, pb)
    c = _net()
    train(c, toy_data, cfg, seed=4)
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


def test_training_does_not_touch_global_rng(toy_data):
    net = _net()
    torch.manual_seed(11)
    expected = torch.rand(1)
    torch.manual_seed(11)
    train(net, toy_data, TrainConfig(steps=2, batch_size=16, drop_path=0.2), seed=0)
    assert torch.equal(torch.rand(1), expected)


def test_divergence_is_a_failure_record_not_an_exception(toy_data):
    result = train(_net(), toy_data, TrainConfig(steps=30, batch_size=16, lr=1e12, grad_clip=None), seed=0)
    assert result.status == "diverged"
    assert "loss became" in result.error and result.steps < 30


def test_divergence_found_late_reports_the_first_bad_step(toy_data):
    every = train(_net(), toy_data, TrainConfig(steps=30, batch_size=16, lr=1e12, grad_clip=None), seed=0)
    deferred = train(_net(), toy_data, TrainConfig(steps=30, batch_size=16, lr=1e12, grad_clip=None), seed=0, sync_every=7)
    assert deferred.status == "diverged" and (deferred.steps, deferred.error, deferred.examples) == (every.steps, every.error, every.examples)
    assert deferred.losses == every.losses


@pytest.fixture
def image_set(rng):
    return ImageSet(rng.integers(0, 256, size=(37, 1, 10, 10), dtype=np.uint8), rng.integers(0, 2, size=37), size=12, mean=0.5, std=0.3)


def test_batched_path_gives_the_dataloaders_batches_across_epochs(image_set):
    loader = torch.utils.data.DataLoader(image_set, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(9))
    expected = [batch for _ in range(3) for batch in loader]  # 3 epochs of 5 batches, the last one partial
    batches = training_batches(image_set, 8, seed=9)
    for want_x, want_y in expected:
        got_x, got_y = next(batches)
        assert torch.equal(got_x, want_x) and torch.equal(got_y, want_y)


def test_batched_and_per_item_training_are_identical(image_set):
    per_item = torch.utils.data.Subset(image_set, range(len(image_set)))  # no .batch: items are collated
    a, b = _net(), _net()
    cfg = TrainConfig(steps=9, batch_size=8)
    ra, rb = train(a, image_set, cfg, seed=2), train(b, per_item, cfg, seed=2)
    assert ra.losses == rb.losses
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(pa, pb)


def test_channels_last_where_it_measured_faster():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert memory_format_for(_net(), cpu) == torch.channels_last
    assert memory_format_for(torch.nn.Conv2d(1, 1, 1), cpu) == torch.contiguous_format
    assert memory_format_for(torch.nn.Conv2d(1, 1, 1), cuda) == torch.channels_last
    assert memory_format_for(_net(), cpu, channels_last=False) == torch.contiguous_format


def test_fractional_epoch_budget():
    assert resolve_steps(TrainConfig(epochs=0.2, batch_size=64), 1000) == 4
    assert resolve_steps(TrainConfig(steps=7), 10) == 7
    with pytest.raises(ValueError, match="exactly one"):
        resolve_steps(TrainConfig(), 10)


def test_training_reduces_loss(toy_data):
    result = train(_net(), toy_data, TrainConfig(epochs=6, batch_size=16, lr=0.05), seed=0)
    assert np.mean(result.losses[-4:]) < np.mean(result.losses[:4])


class _Fixed(torch.nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits[x[:, 0].long()]


def test_evaluate_top1_top5_against_hand_count():
    logits = torch.tensor([[9.0, 8, 7, 6, 5, 4], [0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0]])
    labels = torch.tensor([0, 0, 5])  # first: top1 hit; second: rank 6 miss; third: rank 6 miss
    x = torch.arange(3).float()[:, None]
    out = evaluate(_Fixed(logits), TensorDataset(x, labels), batch_size=2)
    assert out["top1"] == pytest.approx(1 / 3) and out["top5"] == pytest.approx(1 / 3)
    labels2 = torch.tensor([4, 1, 1])  # ranks 5, 5, 2
    out2 = evaluate(_Fixed(logits), TensorDataset(x, labels2))
    assert out2["top1"] == 0 and out2["top5"] == 1


def test_extract_activations_batches_and_subsamples(toy_data):
    net = _net()
    acts = select_regions(extract_activations(net, toy_data, ["cell_0", "pool"], batch_size=10, max_features=50, seed=1), ["cell_0", "pool"])
    assert acts["cell_0"].shape == (64, 50) and acts["pool"].shape[0] == 64
    with torch.no_grad():
        full = net.extract(toy_data.tensors[0], ["pool"])["pool"].numpy()
    np.testing.assert_allclose(acts["pool"], full, atol=1e-5)
    again = extract_activations(net, toy_data.tensors[0], ["cell_0"], batch_size=64, max_features=50, seed=1)
    np.testing.assert_allclose(again, acts["cell_0"], atol=1e-5)


def test_activations_are_an_assembly_labelled_by_stimulus_id(toy_data):
    acts = extract_activations(_net(), toy_data.tensors[0][:6], ["cell_0", "pool"], stimulus_ids=[f"img{i}" for i in range(6)])
    assert acts.dims == ("presentation", "neuroid")
    assert list(acts.stimulus_id.values) == [f"img{i}" for i in range(6)]
    assert list(dict.fromkeys(acts.region.values)) == ["cell_0", "pool"]
    assert acts.neuroid_id.values[0] == "cell_0/0" and acts.unit_index.values[-1] == (acts.region == "pool").sum() - 1


def test_measurements_during_training_leave_the_run_unchanged(toy_data):
    """A checkpoint measurement (BN recalibration and an eval pass that draw random numbers) does not change the weights
    the run ends with (only the BN running statistics, which training in train mode does not read), and is called in
    training mode after exactly the requested steps."""
    from neurosage.core.errors import ConfigError
    from neurosage.training.evaluation import recalibrate_bn

    cfg = TrainConfig(steps=6, batch_size=16, drop_path=0.1, schedule="cosine")
    plain, measured, seen = _net(), _net(), []

    def measure(step):
        seen.append((step, measured.training))
        torch.rand(100)  # a measurement that draws from the global generator
        recalibrate_bn(measured, toy_data, n_batches=2, batch_size=16, seed=step)
        evaluate(measured, toy_data)

    train(plain, toy_data, cfg, seed=3)
    train(measured, toy_data, cfg, seed=3, measure_at=[2, 5], measure=measure)
    assert [s for s, _ in seen] == [2, 5] and all(mode for _, mode in seen)
    for a, b in zip(plain.parameters(), measured.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ConfigError, match="measure_at"):
        train(_net(), toy_data, cfg, seed=3, measure_at=[7], measure=measure)
    with pytest.raises(ConfigError, match="measure_at"):
        train(_net(), toy_data, cfg, seed=3, measure_at=[2])


def test_a_model_evaluated_between_steps_still_trains():
    """Evaluation runs in inference mode; moving the model there would copy a parameter whose strides fit both layouts
    (a 1x1 conv of one input channel) into an inference tensor, and the next training step would fail."""
    from neurosage.spaces.layerwise import LayerGenotype

    genotype = LayerGenotype.parse("layers: 1x1/24 <- img | 3x3/24 <- 0")
    net = build_network(genotype, num_classes=2, in_channels=1, width_multiplier=0.25)
    data = TensorDataset(torch.randn(32, 1, 8, 8), torch.randint(0, 2, (32,)))
    calls = []

    def measure(step):
        evaluate(net, data)
        extract_activations(net, data, ["layer_0"], stimulus_ids=[str(i) for i in range(32)])
        calls.append([name for name, p in net.named_parameters() if p.is_inference()])

    result = train(net, data, TrainConfig(steps=4, batch_size=8), seed=0, measure_at=[1, 2], measure=measure)
    assert result.status == "ok" and calls == [[], []]
