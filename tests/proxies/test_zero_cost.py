"""Zero-cost proxies on small cases whose answer is known by hand, on a real network of the project, and their refusals."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from neurosage.core.errors import ConfigError, UnknownName
from neurosage.nets import build_network
from neurosage.nets.measure import count_flops, count_parameters
from neurosage.nets.ops import ReLUConvBN
from neurosage.proxies import PROXIES, zero_cost_scores
from neurosage.proxies.jacobian import K, correlation_score, jacob_cov
from neurosage.proxies.relu_codes import logdet_score, naswot, relu_kernel
from neurosage.spaces import PNASNET_5
from neurosage.training.devices import torch_threads

ROOT = Path(__file__).resolve().parents[2]
ALL = ["flops", "grad_norm", "grasp", "jacob_cov", "naswot", "params", "snip", "synflow"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: the file stays fast on a loaded machine, and the values do not depend on the core count."""
    with torch_threads(1):
        yield


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def _batch(n: int, d: int, classes: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, classes, (n,), generator=g)


def _seeded(seed: int, make):
    torch.manual_seed(seed)
    return make()


# ---------------------------------------------------------------------------------------------- synflow


def test_synflow_of_a_bias_free_linear_chain_is_sum_theta_dR_dtheta_by_hand():
    net = _seeded(0, lambda: nn.Sequential(nn.Linear(4, 3, bias=False), nn.Linear(3, 2, bias=False)))
    a1, a2 = np.abs(_np(net[0].weight)), np.abs(_np(net[1].weight))
    r = np.ones(2) @ a2 @ a1 @ np.ones(4)
    # dR/d|W2|[a, b] = (|W1| 1)[b];  dR/d|W1|[b, j] = (1^T |W2|)[b]
    by_hand = np.sum(a2 * (a1 @ np.ones(4))[None, :]) + np.sum(a1 * (np.ones(2) @ a2)[:, None])
    images, labels = _batch(5, 4, 2)
    score = PROXIES.create("synflow", net, images, labels, seed=0)
    assert score == pytest.approx(by_hand, rel=1e-12) and score == pytest.approx(2 * r, rel=1e-12)


def test_synflow_switches_batchnorm_off_and_ignores_the_batch():
    torch.manual_seed(1)
    plain = nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU(), nn.Linear(3, 2, bias=False))
    with_bn = nn.Sequential(plain[0], nn.BatchNorm1d(3), nn.ReLU(), plain[2])
    nn.init.normal_(with_bn[1].weight)
    nn.init.normal_(with_bn[1].bias)
    with_bn[1].running_var.fill_(4.0)
    images, labels = _batch(6, 4, 2)
    expected = PROXIES.create("synflow", plain, images, labels, seed=0)
    assert PROXIES.create("synflow", with_bn, images, labels, seed=0) == pytest.approx(expected, rel=1e-12)
    assert PROXIES.create("synflow", with_bn.eval(), images * 100, labels, seed=3) == pytest.approx(expected, rel=1e-12)


def test_synflow_runs_in_float64_where_float32_overflows():
    net = nn.Sequential(*[nn.Linear(10, 10, bias=False) for _ in range(20)])
    for layer in net:
        nn.init.constant_(layer.weight, -10.0)  # |W| 1 = 100 per layer: R = 10 * 100^20 = 1e41 > float32's 3.4e38
    images, labels = _batch(2, 10, 10)
    assert PROXIES.create("synflow", net, images, labels, seed=0) == pytest.approx(20 * 1e41, rel=1e-9)
    assert net[0].weight.dtype == torch.float32 and float(net[0].weight.detach()[0, 0]) == -10.0


# ---------------------------------------------------------------------------------------------- loss gradients


def _softmax_regression(seed: int = 2) -> tuple[nn.Linear, torch.Tensor, torch.Tensor, np.ndarray, np.ndarray, np.ndarray]:
    """A linear classifier, a batch, and by hand: the class probabilities, dL/dW = (P - Y)^T X / N, the inputs."""
    net = _seeded(seed, lambda: nn.Linear(5, 3))
    images, labels = _batch(7, 5, 3, seed)
    x, w, b = _np(images), _np(net.weight), _np(net.bias)
    z = x @ w.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(3)[labels.numpy()]
    return net, images, labels, p, (p - onehot).T @ x / len(x), x


def test_grad_norm_is_the_norm_of_the_weight_gradient_by_hand():
    net, images, labels, _, grad_w, _ = _softmax_regression()
    assert PROXIES.create("grad_norm", net, images, labels, seed=0) == pytest.approx(np.linalg.norm(grad_w), rel=1e-5)


def test_grad_norm_sums_one_norm_per_layer_as_autograd_computes_them():
    net = _seeded(3, lambda: nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)))
    g = torch.Generator().manual_seed(3)
    images, labels = torch.randn(5, 2, 6, 6, generator=g), torch.randint(0, 3, (5,), generator=g)
    loss = nn.functional.cross_entropy(net(images), labels)
    grads = torch.autograd.grad(loss, [net[0].weight, net[3].weight])
    expected = sum(float(gr.norm()) for gr in grads)
    assert PROXIES.create("grad_norm", net, images, labels, seed=0) == pytest.approx(expected, rel=1e-5)


def test_snip_is_the_sum_of_abs_weight_times_gradient_by_hand():
    net, images, labels, _, grad_w, _ = _softmax_regression()
    expected = np.abs(_np(net.weight) * grad_w).sum()
    assert PROXIES.create("snip", net, images, labels, seed=0) == pytest.approx(expected, rel=1e-5)


def test_grasp_is_minus_weight_times_hessian_gradient_product_by_hand():
    net, images, labels, p, grad_w, x = _softmax_regression()
    # softmax regression: H g = (1/N) sum_n ((diag(p_n) - p_n p_n^T) G x_n) x_n^T, for the weights alone (biases are not scored)
    hg = np.zeros_like(grad_w)
    for p_n, x_n in zip(p, x):
        u = grad_w @ x_n
        hg += np.outer(p_n * u - p_n * (p_n @ u), x_n) / len(x)
    expected = -np.sum(_np(net.weight) * hg)
    assert PROXIES.create("grasp", net, images, labels, seed=0) == pytest.approx(expected, rel=1e-4)


# ---------------------------------------------------------------------------------------------- NASWOT


def test_naswot_of_distinct_codes_is_the_log_determinant_of_the_agreement_counts():
    relu = nn.Sequential(nn.ReLU())
    images = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])  # codes 10 and 01 agree nowhere: K = 2 I
    np.testing.assert_array_equal(relu_kernel(relu, images, torch.tensor([0, 1]), seed=0), [[2.0, 0.0], [0.0, 2.0]])
    assert naswot(relu, images, torch.tensor([0, 1]), seed=0) == pytest.approx(2 * math.log(2), rel=1e-12)
    three = torch.tensor([[1.0, -1.0, 1.0], [-1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])
    # agreements: (1,2): 1, (1,3): 1, (2,3): 1; K = [[3,1,1],[1,3,1],[1,1,3]], det = 20
    assert naswot(relu, three, torch.tensor([0, 1, 2]), seed=0) == pytest.approx(math.log(20), rel=1e-12)


def test_naswot_of_identical_codes_is_minus_infinity_as_slogdet_gives():
    images = torch.tensor([[1.0, -2.0, 3.0], [0.5, -1.0, 9.0], [2.0, -0.1, 0.2]])  # same signs: every pair agrees everywhere
    assert naswot(nn.Sequential(nn.ReLU()), images, torch.tensor([0, 0, 1]), seed=0) == -math.inf
    assert logdet_score(np.full((3, 3), 3.0)) == -math.inf


def test_naswot_kernel_of_a_two_relu_network_equals_the_codes_counted_in_numpy():
    net = _seeded(4, lambda: nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 6), nn.ReLU(inplace=True), nn.Linear(6, 3)))
    images, labels = _batch(4, 5, 3, seed=4)
    x = _np(images)
    a1 = x @ _np(net[0].weight).T + _np(net[0].bias)
    a2 = np.maximum(a1, 0) @ _np(net[2].weight).T + _np(net[2].bias)
    codes = [(a1 > 0).astype(float), (a2 > 0).astype(float)]
    expected = sum(c @ c.T + (1 - c) @ (1 - c).T for c in codes)
    kernel = relu_kernel(net, images, labels, seed=0)
    np.testing.assert_array_equal(kernel, expected)
    assert np.all(np.diag(kernel) == 13)
    assert naswot(net, images, labels, seed=0) == pytest.approx(np.linalg.slogdet(expected)[1], rel=1e-12)


def test_naswot_counts_each_relu_once_not_every_module_named_like_one():
    block = _seeded(8, lambda: ReLUConvBN(2, 3, 1))  # the reference's type-name match would count its ReLU twice
    g = torch.Generator().manual_seed(8)
    kernel = relu_kernel(block, torch.randn(3, 2, 4, 4, generator=g), torch.tensor([0, 1, 2]), seed=0)
    assert np.all(np.diag(kernel) == 2 * 4 * 4)


def test_naswot_refuses_a_network_without_relu():
    images, labels = _batch(3, 4, 2)
    with pytest.raises(ConfigError, match="no ReLU module") as err:
        naswot(nn.Linear(4, 2), images, labels, seed=0)
    assert err.value.field == "model"


# ---------------------------------------------------------------------------------------------- jacob_cov


def test_correlation_score_of_uncorrelated_and_of_identical_rows():
    uncorrelated = np.array([[1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=float)  # zero mean, orthogonal: C = I
    assert correlation_score(uncorrelated) == pytest.approx(-3 * (math.log(1 + K) + 1 / (1 + K)), rel=1e-12)
    identical = np.tile([0.3, 1.0, -2.0, 5.0], (3, 1))  # C = all ones: eigenvalues 3, 0, 0
    expected = -(math.log(3 + K) + 1 / (3 + K)) - 2 * (math.log(K) + 1 / K)
    assert correlation_score(identical) == pytest.approx(expected, rel=1e-6)


def test_jacob_cov_of_a_small_relu_network_equals_numpy():
    net = _seeded(5, lambda: nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)))
    images, labels = _batch(6, 4, 3, seed=5)
    w1, b1, w2 = _np(net[0].weight), _np(net[0].bias), _np(net[2].weight)
    masks = (_np(images) @ w1.T + b1) > 0
    jac = (masks * (w2.T @ np.ones(3))) @ w1  # J_i = W1^T (m_i * W2^T 1)
    v = np.linalg.eigvalsh(np.corrcoef(jac))
    expected = -np.sum(np.log(v + 1e-5) + 1 / (v + 1e-5))
    assert jacob_cov(net, images, labels, seed=0) == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------------------------------------- a network of the project


@pytest.fixture(scope="module")
def pnas():
    torch.manual_seed(0)
    net = build_network(PNASNET_5, skeleton="cifar", n_cells=1, filters=8, num_classes=10)
    g = torch.Generator().manual_seed(0)
    return net, torch.randn(8, 3, 32, 32, generator=g), torch.randint(0, 10, (8,), generator=g)


@pytest.fixture(scope="module")
def pnas_scores(pnas):
    net, images, labels = pnas
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    scores = zero_cost_scores(net, images, labels, seed=0)
    return scores, before, rng


def test_every_proxy_is_finite_on_a_pnasnet_cifar_network(pnas, pnas_scores):
    net, _, _ = pnas
    scores, _, _ = pnas_scores
    assert list(scores) == ALL == PROXIES.names()
    assert all(math.isfinite(v) for v in scores.values()), scores
    assert scores["params"] == count_parameters(net) and scores["flops"] == count_flops(net, (3, 32, 32))["flops"]
    assert scores["synflow"] > 0 and scores["grad_norm"] > 0 and scores["snip"] > 0 and scores["jacob_cov"] < 0


def test_no_proxy_changes_the_network_or_the_global_random_state(pnas, pnas_scores):
    net, _, _ = pnas
    _, before, rng = pnas_scores
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "weights or BatchNorm statistics changed"
    assert net.training and all(p.grad is None for p in net.parameters()) and all(p.dtype == torch.float32 for p in net.parameters())
    assert torch.equal(torch.get_rng_state(), rng)


@pytest.mark.parametrize("name", ALL)
def test_each_proxy_leaves_an_evaluating_model_with_frozen_weights_as_it_found_it(name):
    net = _seeded(6, lambda: nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)))
    net.eval()
    net[0].weight.requires_grad_(False)
    net[5].weight.grad = torch.ones_like(net[5].weight)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    g = torch.Generator().manual_seed(6)
    PROXIES.create(name, net, torch.randn(4, 2, 6, 6, generator=g), torch.tensor([0, 1, 2, 0]), seed=0)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert not net.training and not any(m.training for m in net.modules())
    assert not net[0].weight.requires_grad and torch.equal(net[5].weight.grad, torch.ones_like(net[5].weight))


def test_a_seed_fixes_the_score_of_a_network_with_dropout():
    net = _seeded(7, lambda: nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 3)))
    images, labels = _batch(12, 6, 3, seed=7)
    for name in ("grad_norm", "snip", "naswot", "jacob_cov"):
        first = PROXIES.create(name, net, images, labels, seed=11)
        assert PROXIES.create(name, net, images, labels, seed=11) == first
    assert PROXIES.create("grad_norm", net, images, labels, seed=12) != PROXIES.create("grad_norm", net, images, labels, seed=11)


def test_zero_cost_scores_keeps_the_order_asked_and_takes_one_name():
    net, images, labels, *_ = _softmax_regression()
    assert list(zero_cost_scores(net, images, labels, names=["snip", "params", "snip"])) == ["snip", "params"]
    assert zero_cost_scores(net, images, labels, names="params") == {"params": 18.0}


# ---------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("images", "labels", "field", "message"),
    [
        (torch.randn(5), torch.zeros(5, dtype=torch.long), "images", "not a batch"),
        (torch.randn(0, 5), torch.zeros(0, dtype=torch.long), "images", "is empty"),
        (torch.randint(0, 3, (4, 5)), torch.zeros(4, dtype=torch.long), "images", "dtype"),
        (torch.full((4, 5), math.nan), torch.zeros(4, dtype=torch.long), "images", "inf or NaN"),
        (torch.randn(4, 5), torch.zeros(3, dtype=torch.long), "labels", "3 labels for 4 images"),
        (torch.randn(4, 5), torch.zeros(4), "labels", "integer tensor"),
        (torch.randn(4, 5), torch.tensor([0, 1, 2, 3]), "labels", r"range over \[0, 3\] but the model has 3 classes"),
    ],
)
def test_a_batch_a_proxy_cannot_score_is_refused_naming_the_argument(images, labels, field, message):
    net = nn.Linear(5, 3)
    with pytest.raises(ConfigError, match=message) as err:
        zero_cost_scores(net, images, labels, names=["grad_norm", "synflow"])
    assert err.value.field == field and err.value.fix


def test_a_non_finite_score_is_refused():
    net = nn.Linear(5, 3)
    with torch.no_grad():
        net.weight[0, 0] = math.nan
    images, labels = _batch(4, 5, 3)
    for name in ("grad_norm", "snip", "synflow"):
        with pytest.raises(ConfigError, match=f"{name} of this model on this batch is nan") as err:
            PROXIES.create(name, net, images, labels, seed=0)
        assert err.value.field == "model"
    with pytest.raises(ConfigError, match="hold inf or NaN"):
        jacob_cov(net, images, labels, seed=0)


def test_bad_names_seeds_devices_models_and_batch_sizes_are_refused():
    net, images, labels, *_ = _softmax_regression()
    with pytest.raises(UnknownName, match="unknown proxy 'synflw'.*synflow"):
        zero_cost_scores(net, images, labels, names=["params", "synflw"])
    with pytest.raises(ConfigError, match="seed") as err:
        zero_cost_scores(net, images, labels, seed=-1)
    assert err.value.field == "seed"
    with pytest.raises(ConfigError) as err:
        zero_cost_scores(net, images, labels, device="nodevice")
    assert err.value.field == "device"
    with pytest.raises(ConfigError, match="model takes a Module, got function"):
        PROXIES.create("snip", lambda x: x, images, labels, seed=0)
    for name in ("naswot", "jacob_cov"):
        with pytest.raises(ConfigError, match="needs at least 2"):
            PROXIES.create(name, nn.Sequential(net, nn.ReLU()), images[:1], labels[:1], seed=0)
    with pytest.raises(ConfigError, match="no convolution or linear layer"):
        PROXIES.create("grad_norm", nn.Sequential(nn.ReLU()), images, labels, seed=0)


# ---------------------------------------------------------------------------------------------- registry


def test_a_plug_in_proxy_must_follow_the_contract():
    with pytest.raises(ConfigError, match="lacks parameter 'seed'"):
        PROXIES.register("no_seed", lambda model, images, labels: 0.0)
    assert "no_seed" not in PROXIES

    def width(model, images, labels, *, seed, device=None):
        return float(sum(p.numel() for p in model.parameters()))

    PROXIES.register("width", width, kind="baseline")
    try:
        net, images, labels, *_ = _softmax_regression()
        assert zero_cost_scores(net, images, labels, names=["width"]) == {"width": 18.0}
    finally:
        PROXIES.unregister("width")


def test_listing_the_proxies_imports_no_torch():
    code = "import sys, neurosage.proxies as p; print(p.PROXIES.names(), p.PROXIES.get('synflow').citation); assert 'torch' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "naswot" in result.stdout and "Tanaka" in result.stdout


@pytest.mark.gpu
def test_cuda_scores_equal_cpu_and_leave_the_model_on_the_cpu(pnas, pnas_scores):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    net, images, labels = pnas
    scores, _, _ = pnas_scores
    on_cuda = zero_cost_scores(net, images, labels, seed=0, device="cuda")
    assert next(net.parameters()).device.type == "cpu"
    for name, value in scores.items():
        assert on_cuda[name] == pytest.approx(value, rel=1e-3, abs=1e-6), name
