"""Zero-cost proxies: scores of an untrained network from one minibatch, the cheap rivals of a teacher's TG.

Each proxy is a function ``proxy(model, images, labels, *, seed, device=None) -> float`` (higher = predicted
better, as in its paper), computed on a seeded working copy of the model, so the model measured is never changed.
:func:`zero_cost_scores` runs several at once. The trivial baselines, the parameter count and the FLOPs, are
entries too: a proxy is worth reporting only beside them (Krishnakumar et al. 2022; "A Deeper Look at Zero-Cost
Proxies", ICLR 2022 blog track).

Registry: :data:`PROXIES` (``PROXIES.create(name, model, images, labels, seed=..., device=...)``); every entry follows
:class:`Proxy`. Plug-ins register through the entry-point group ``neurosage.proxies`` (a callable run once that
calls ``PROXIES.register``). Listing the registry imports no torch.
"""

from __future__ import annotations

from typing import Any, Protocol

from neurosage.core.lazy import lazy_exports
from neurosage.core.registry import Registry


class Proxy(Protocol):
    """A zero-cost proxy: ``proxy(model, images, labels, *, seed, device=None) -> float``, higher = predicted better.

    ``images`` is one batch ``(N, ...)`` of floats, ``labels`` its ``N`` class indices; the model returns logits
    ``(N, classes)``. The proxy must leave the model as it found it (weights, buffers, gradients, mode).
    """

    def __call__(self, model: Any, images: Any, labels: Any, *, seed: int, device: Any = None) -> float:
        """The score of ``model`` on this batch."""


_ABDELFATTAH = "Abdelfattah, Mehrotra, Dudziak, Lane 2021, Zero-Cost Proxies for Lightweight NAS, ICLR"
_SUITE_ZERO = "Krishnakumar, White, Zela, Tu, Safari, Hutter 2022, NAS-Bench-Suite-Zero, NeurIPS Datasets and Benchmarks"


def _register_builtins() -> None:
    """The built-in proxies, as lazy ``module:function`` targets (listing them imports no torch)."""
    add = PROXIES.register
    add("params", "neurosage.proxies.baselines:params", kind="baseline", citation=_SUITE_ZERO,
        description="trainable parameters (auxiliary head aside): the baseline every proxy must beat")
    add("flops", "neurosage.proxies.baselines:flops", kind="baseline", citation=_SUITE_ZERO,
        description="FLOPs of one forward pass of one image (torch.utils.flop_counter)")
    add("grad_norm", "neurosage.proxies.gradients:grad_norm", kind="gradient", citation=_ABDELFATTAH,
        description="sum over conv/linear layers of ||dL/dW||_2 (cross-entropy, one batch)")
    add("snip", "neurosage.proxies.gradients:snip", kind="gradient", description="sum over conv/linear weights of |W dL/dW|",
        citation=f"Lee, Ajanthan, Torr 2019, SNIP: Single-shot Network Pruning based on Connection Sensitivity, ICLR; {_ABDELFATTAH}")
    add("grasp", "neurosage.proxies.gradients:grasp", kind="gradient",
        description="sum over conv/linear weights of -W (H g), g = dL/dW, H the Hessian of the loss",
        citation=f"Wang, Zhang, Grosse 2020, Picking Winning Tickets Before Training by Preserving Gradient Flow, ICLR; {_ABDELFATTAH}")
    add("synflow", "neurosage.proxies.flow:synflow", kind="data-free",
        description="sum over conv/linear weights of |W dR/dW|, R the output sum of |weights| on an all-ones input, float64, BN off",
        citation=f"Tanaka, Kunin, Yamins, Ganguli 2020, Pruning neural networks without any data by iteratively conserving synaptic flow, "
                 f"NeurIPS; {_ABDELFATTAH}")
    add("jacob_cov", "neurosage.proxies.jacobian:jacob_cov", kind="activation",
        description="-sum(log(v + k) + 1/(v + k)), v the eigenvalues of the correlation of the images' input Jacobians",
        citation=f"Mellor, Turner, Storkey, Crowley 2020, Neural Architecture Search without Training, arXiv:2006.04647v1; {_ABDELFATTAH}")
    add("naswot", "neurosage.proxies.relu_codes:naswot", kind="activation",
        description="log|det K|, K[i, j] = number of ReLU units where images i and j agree (active or not)",
        citation="Mellor, Turner, Storkey, Crowley 2021, Neural Architecture Search without Training, ICML")


#: Zero-cost proxies and their baselines by name; each entry follows :class:`Proxy` and carries ``kind``
#: (``baseline``, ``gradient``, ``data-free``, ``activation``).
PROXIES: Registry[Proxy] = Registry(
    "proxy", builtins=(_register_builtins,), entry_point_group="neurosage.proxies", contract=Proxy, contract_applies_to="factory",
)

_EXPORTS = {
    "zero_cost_scores": "scoring",
    "params": "baselines", "flops": "baselines",
    "grad_norm": "gradients", "snip": "gradients", "grasp": "gradients",
    "synflow": "flow", "jacob_cov": "jacobian", "correlation_score": "jacobian",
    "naswot": "relu_codes", "relu_kernel": "relu_codes", "logdet_score": "relu_codes",
}
__all__ = sorted([*_EXPORTS, "PROXIES", "Proxy"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
