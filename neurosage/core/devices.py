"""The one check of a torch device (torch imported when called): every function that takes ``device=`` runs it first, so
a device this machine lacks is refused by name, never with torch's own words ("Found no NVIDIA driver")."""

from __future__ import annotations

from typing import Any

from neurosage.core.errors import ConfigError

__all__ = ["check_device"]


def check_device(device: Any) -> None:
    """Refuse a torch device (a name such as ``"cuda:1"``, or a ``torch.device``) this machine does not have, naming the fix."""
    import torch

    if device is not None and not isinstance(device, (str, torch.device)):
        raise ConfigError(f"device takes a device name or a torch.device, got {type(device).__name__} {str(device)[:40]!r}",
                          "use cpu, cuda or cuda:N", field="device")

    try:
        dev = torch.device(device or "cpu")
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"{device!r} is not a torch device name ({str(exc).split('(')[0].strip()})",
                          "use 'cpu', or 'cuda' / 'cuda:N' for a GPU ('mps' on Apple silicon)", field="device") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} was asked for, but this machine has no CUDA GPU",
                          "use the CPU (--device cpu on the command line, device='cpu' in Python), or run on a GPU machine",
                          field="device")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"device {device!r}: this machine has {torch.cuda.device_count()} GPU(s)", "choose an existing index", field="device")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {device!r} is not available here", "use the CPU (--device cpu on the command line, device='cpu' in "
                          "Python)", field="device")
