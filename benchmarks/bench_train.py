"""Benchmark: training throughput of search-sized candidates vs torchvision ResNet-18.

Same run, same input size, same batch: prints images/s and the ratio to
ResNet-18. On CUDA it also measures AMP + channels_last.

Usage: python benchmarks/bench_train.py [--device cpu] [--steps 8] [--batch 64]
"""

from __future__ import annotations

import argparse

import torch
import torchvision
from bench_candidate import train_rate
from torch import nn

from neurosage.nets.build import build_network
from neurosage.nets.measure import count_flops, count_parameters
from neurosage.spaces import get_space


def images_per_second(model: nn.Module, size: int, batch: int, steps: int, device: str, amp: bool, channels_last: bool) -> float:
    """Training img/s on a fixed batch (``bench_candidate.train_rate``; AMP follows the device)."""
    return train_rate(model, (3, size, size), 10, batch, steps, torch.device(device), channels_last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    torch.manual_seed(0)
    genotype = get_space("nasnet").sample(0)
    cases = [
        ("candidate cifar B=5 N=2 F=16", 32, lambda: build_network(genotype, skeleton="cifar", n_cells=2, filters=16)),
        (
            "candidate imagenet64 search (no stem cells) B=5 N=2 F=16",
            64,
            lambda: build_network(genotype, skeleton="imagenet64", n_cells=2, filters=16, n_stem_cells=0),
        ),
        ("candidate layers-10 (Zoph & Le widths)", 32, lambda: build_network(get_space("layers-10").sample(0))),
        ("candidate layers-20 (Zoph & Le widths)", 32, lambda: build_network(get_space("layers-20").sample(0))),
    ]
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}, batch {args.batch}")
    modes = [(False, False)] + ([(True, True)] if args.device.startswith("cuda") else [])
    for name, size, make in cases:
        net = make()
        info = f"{count_parameters(net) / 1e6:.2f}M params, {count_flops(net, (3, size, size))['macs'] / 1e6:.0f}M MACs"
        for amp, cl in modes:
            ours = images_per_second(make(), size, args.batch, args.steps, args.device, amp, cl)
            base = images_per_second(torchvision.models.resnet18(num_classes=10), size, args.batch, args.steps, args.device, amp, cl)
            tag = "AMP+channels_last" if amp else "fp32"
            print(f"{name} ({info}) [{tag}]: {ours:.0f} img/s | ResNet-18 {base:.0f} img/s | ratio {ours / base:.2f}")


if __name__ == "__main__":
    main()
