"""Networks by name for teachers and the ``rdm`` command, and feature extraction from any torch module.

:data:`MODELS` holds the project's own networks (``cifar_resnet``: the paper's
CIFAR ResNet teacher); :func:`build_model` also accepts any torchvision model
name (torchvision keeps its own registry). :class:`FeatureModel` gives any
module the ``extract(x, names)`` method that activation extraction uses.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn

from neurosage.core.errors import ConfigError, WeightsMismatch
from neurosage.core.validate import check_arguments, whole
from neurosage.nets import MODELS
from neurosage.nets.inputs import guard_inputs

__all__ = ["FeatureModel", "cifar_resnet", "register_models", "build_model", "pretrained_cache_path", "model_inputs", "load_weights",
           "write_weights_info", "read_weights_info"]


log = logging.getLogger(__name__)




class FeatureModel(nn.Module):
    """Give any torch module an ``extract(x, names)`` method via torchvision feature extraction."""

    def __init__(self, model: nn.Module, layers: Sequence[str]):
        check_arguments(FeatureModel.__init__, locals())
        super().__init__()
        from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

        self.layers = list(layers)
        shown = getattr(model, "neurosage_name", type(model).__name__)
        endpoints = list(getattr(model, "endpoints", None) or [])
        if endpoints:  # a neurosage network names its layers itself (and torch.fx cannot trace its cells' control flow)
            unknown = [n for n in self.layers if n not in endpoints]
            raise ConfigError(f"{shown} is a neurosage network" + (f", and it has no layer {unknown[0]!r}" if unknown else "")
                              + f" (its layers: {endpoints})", "read its layers with neurosage.training.extract_activations(net, images, "
                              "layers) (or model_rdms), not FeatureModel", field="layers")
        try:
            self.body = create_feature_extractor(model, return_nodes={n: n for n in self.layers})
        except ValueError:  # torchvision: "node: 'x' is not present in model. Hint: ..."
            known = list(dict.fromkeys([n for n, _ in model.named_modules() if n] + get_graph_node_names(model)[1]))
            missing = [n for n in self.layers if n not in known]
            if not missing:
                raise
            close = difflib.get_close_matches(missing[0], known, n=3)
            raise ConfigError(f"{getattr(model, 'neurosage_name', type(model).__name__)} has no layer {missing[0]!r}"
                              + (f" (close: {close})" if close else ""),
                              "list its layers with neurosage rdm MODEL --list-layers (or model.named_modules()) and use one of them",
                              field="layers") from None

    def extract(self, x: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
        check_arguments(FeatureModel.extract, locals())
        feats = self.body(x)
        return {n: feats[n] for n in names}


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def cifar_resnet(n: int = 9, num_classes: int = 10, in_channels: int = 3, width: int = 16) -> nn.Sequential:
    """The CIFAR ResNet of He et al. (6n+2 layers; n=9 is the paper's 54-conv teacher).

    Its three stacks are named ``stack1``..``stack3``: the paper's teacher endpoints L1-L3.
    """
    check_arguments(cifar_resnet, locals())
    for name, value in (("n", n), ("num_classes", num_classes), ("in_channels", in_channels), ("width", width)):
        whole(value, name, 1, fix=f"pass {name} as a whole number of at least 1 (n = 1 is ResNet-8)")
    layers: dict[str, nn.Module] = {
        "stem": nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
    }
    c = width
    for s in range(3):
        c_out = width * 2**s
        blocks = [_BasicBlock(c if i == 0 else c_out, c_out, 2 if (i == 0 and s > 0) else 1) for i in range(n)]
        layers[f"stack{s + 1}"] = nn.Sequential(*blocks)
        c = c_out
    layers["pool"] = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    layers["fc"] = nn.Linear(c, num_classes)
    return nn.Sequential(OrderedDict(layers))


def register_models() -> None:
    """Register the project's own models (run once, when :data:`~neurosage.nets.MODELS` is first queried)."""
    MODELS.register(
        "cifar_resnet", cifar_resnet, description="CIFAR ResNet (6n+2 layers; endpoints stack1..stack3); 'cifar_resnet-<n>'",
        citation="He et al. 2016, Deep Residual Learning for Image Recognition",
    )


def build_model(name: str, *, weights: str | None = None, num_classes: int = 10, in_channels: int = 3, seed: int = 0) -> nn.Module:
    """A model by name (:data:`MODELS`, e.g. ``cifar_resnet-9``, or any torchvision name) with its weights.

    ``weights``:

    - ``None``: a torchvision model's default pretrained weights (``"DEFAULT"``); a project model's
      random initialisation (there are no published weights for it).
    - a torchvision weights name (``"DEFAULT"``, ``"IMAGENET1K_V1"``...): read from the local torch cache
      (``$TORCH_HOME/hub/checkpoints``); nothing is downloaded, and a missing file is an error naming it.
    - ``"random"``: random weights, initialised from ``seed``; logged as a warning.
    - anything else: a state-dict file.

    The model's ``neurosage_weights`` attribute says which (``"random weights (seed 0)"``, ...);
    ``neurosage_preprocessing`` holds the pretrained weights' own input conversion (``size``, ``channels``,
    ``mean``, ``std``), or None.
    """
    check_arguments(build_model, locals())
    seed = whole(seed, "seed", 0, fix="pass seed as a whole number >= 0, e.g. seed=0")
    num_classes = whole(num_classes, "num_classes", 1, fix="pass the number of output classes, e.g. num_classes=10")
    in_channels = whole(in_channels, "in_channels", 1, fix="pass the input images' channels, e.g. in_channels=1 for grey images")
    base, _, depth = name.partition("-")
    project = base in MODELS
    if project and depth and not (depth.isdigit() and int(depth) >= 1):
        raise ConfigError(f"model {name!r}: the depth after '-' must be a positive integer, got {depth!r}", f"write e.g. {base}-1 or {base}-9",
                          field="model")
    if not project:
        import torchvision

        if name not in torchvision.models.list_models():
            if any(mark in name for mark in ("->", "@", "normal:", "layers:")):  # a genotype, not a model's name
                raise ConfigError(f"{name[:60]!r} is a genotype, not a model's name", "build a genotype's network with "
                                  "neurosage.nets.build.build_network(genotype, in_channels=..., num_classes=...), or a search's trial with "
                                  "kept_network(RUN_DIR, trial)", field="model")
            if Path(name).is_dir():  # a search's run folder given as the model's name
                raise ConfigError(f"{name!r} is a folder, not a model's name", "a search's trial: neurosage rdm RUN_DIR --trial N on the "
                                  "command line; run=RUN_DIR, trial=N (compare_model) or kept_network(RUN_DIR, N) in Python", field="model")
            if name.endswith((".pt", ".pth")) or Path(name).exists():  # a weights file (a search's kept trial) given as the model
                raise ConfigError(f"{name!r} is a file, not a model's name", "a search's kept trial: neurosage rdm RUN_DIR --trial N (kept_network "
                                  "in Python); a weights file of a named model: give the model and --weights FILE", field="model")
            raise ConfigError(f"unknown model {name!r}", f"use one of {list(MODELS)} (e.g. cifar_resnet-<n>) or a torchvision name such as resnet18",
                              field="model")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if project:
            model: nn.Module = MODELS.create(base, *([int(depth)] if depth else []), num_classes=num_classes, in_channels=in_channels)
        else:
            model = torchvision.models.get_model(name, weights=None)
    _describe(model, preprocessing=None, name=name)
    choice = weights if weights is not None else (None if project else "DEFAULT")
    if choice is None or choice == "random":
        _describe(model, weights=f"random weights (seed {seed})", preprocessing=None if project else {"channels": 3})
        log.warning("%s has random weights (seed %d)", name, seed)
    elif not project and _is_weights_name(name, choice):
        _load_pretrained(model, name, choice)
    elif project and not Path(choice).exists() and (choice.isupper() or choice.upper() in ("DEFAULT", "PRETRAINED")):  # a weights name
        raise ConfigError(f"{name} has no published weights, and {choice!r} names pretrained weights", "leave weights out (random weights, "
                          "seeded) or give a weights file written by torch.save(model.state_dict(), path), e.g. a kept teacher's",
                          field="weights")
    else:
        load_weights(model, choice)
        _describe(model, weights=f"weights from {choice}")
    return guard_inputs(model.eval(), name)


def _describe(model: nn.Module, **info: object) -> None:
    """Set ``model.neurosage_<key>`` for each key (``name``, ``weights``, ``preprocessing``).

    Through setattr: torch types ``Module.__setattr__`` for tensors and modules only, though it keeps any other value as a
    plain attribute.
    """
    for key, value in info.items():
        setattr(model, f"neurosage_{key}", value)


def _is_weights_name(name: str, choice: str) -> bool:
    import torchvision

    return choice == "DEFAULT" or choice in torchvision.models.get_model_weights(name).__members__


def pretrained_cache_path(name: str, weights: str = "DEFAULT") -> Path:
    """Where torchvision keeps the pretrained ``weights`` of model ``name`` ($TORCH_HOME/hub/checkpoints/<file>)."""
    check_arguments(pretrained_cache_path, locals())
    import torchvision

    if name not in torchvision.models.list_models():
        import difflib

        near = difflib.get_close_matches(name.replace("-", "").lower(), torchvision.models.list_models(), n=1)
        raise ConfigError(f"{name!r} is not a torchvision model", f"use {near[0]!r}" if near else "list them with "
                          "torchvision.models.list_models()", field="name")
    enum = torchvision.models.get_model_weights(name)
    if weights != "DEFAULT" and weights not in enum.__members__:
        named = ["DEFAULT", *(m for m in enum.__members__ if m != "DEFAULT")]
        raise ConfigError(f"{name} has no weights {weights!r}", f"use one of {named}", field="weights")
    entry = enum[weights] if weights != "DEFAULT" else enum.DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(entry.url).path).name


def _load_pretrained(model: nn.Module, name: str, weights: str) -> None:
    import torchvision

    entry = torchvision.models.get_model_weights(name)[weights] if weights != "DEFAULT" else torchvision.models.get_model_weights(name).DEFAULT
    path = pretrained_cache_path(name, weights)
    if not path.is_file():
        raise ConfigError(
            f"the pretrained {entry} weights of {name} are not in the torch cache (nothing is downloaded at run time)",
            f"on a machine with internet run: python -c \"import torchvision; torchvision.models.get_model('{name}', weights='{weights}')\"; "
            f"then copy {path.name} to {path.parent} here (or set TORCH_HOME); or ask for random weights explicitly (--weights random, "
            f"or ':random' at the end of a net: teacher spec, e.g. net:{name}:<layer>:random)",
            file=path,
        )
    load_weights(model, path)
    transform = entry.transforms()
    _describe(model, weights=f"pretrained {entry}",
              preprocessing={"size": int(transform.crop_size[0]), "channels": 3, "mean": list(transform.mean), "std": list(transform.std)})


def model_inputs(model: nn.Module, images):
    """``images`` converted as the model expects (its pretrained weights' size, channels, mean and std), same ids."""
    check_arguments(model_inputs, locals())
    if not hasattr(images, "with_conversion"):
        raise ConfigError(f"model_inputs converts an ImageSet, got {type(images).__name__}", "wrap the images first: ImageSet(uint8 array "
                          "(N, C, H, W), stimulus_ids=...), or load them with neurosage.data_adapters.load_images", field="images")
    prep = getattr(model, "neurosage_preprocessing", None)
    return images.with_conversion(**prep) if prep else images


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a state-dict file into ``model`` (safely: tensors only); a bad file raises :class:`ConfigError` naming it."""
    check_arguments(load_weights, locals())
    path = Path(path)
    if path.is_dir():
        files = sorted(p.name for p in path.glob("*.pt"))[:3]
        raise ConfigError("this is a folder, and the weights are one file" + (f" (it holds {files})" if files else ""), "give the weights "
                          "file itself" + (f", e.g. {path / files[0]}" if files else ""), file=path)
    if not path.is_file():
        raise ConfigError("weights file not found", "give the path of a file written by torch.save(model.state_dict(), path)"
                          " (for a torchvision model also DEFAULT, a weights name such as IMAGENET1K_V1, or random)", file=path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several kinds for a corrupt or unsafe file
        raise ConfigError(
            f"not a PyTorch state-dict file that can be loaded safely ({type(exc).__name__}"
            f"{'; the file is empty' if not path.stat().st_size else ''})",
            "restore the file from a copy (a search's kept weights: rerun the search with --keep-weights), or give a file written by "
            "torch.save(model.state_dict(), path)", file=path,
        ) from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        problem, fix = _misfit(exc, state, list(model.state_dict()))
        kept = re.fullmatch(r"trial-(\d+)\.pt", path.name)
        if kept and path.parent.name == "weights" and (path.parent.parent / "run.json").is_file():  # a search's kept weights
            fix = (f"these are trial {kept.group(1)}'s kept weights of the search in {path.parent.parent}, whose network has the search's "
                   f"filters and cells: give the run folder and the trial (neurosage rdm {path.parent.parent} --trial {kept.group(1)}; "
                   f"kept_network(run_dir, {kept.group(1)}) in Python)")
        raise WeightsMismatch(problem, fix, file=path) from None
    return model


def _misfit(exc: BaseException, state: Any, expected: Sequence[str] = ()) -> tuple[str, str]:
    """What a state dict that does not fit its model is, and the fix: a training checkpoint (the state dict under any
    key), keys with a wrapper's prefix (DataParallel's ``module.``, torch.compile's ``_orig_mod.``, a Lightning
    ``model.``), other input channels, or the keys and shapes torch names. ``expected``: the model's own keys."""
    keys = list(state) if isinstance(state, dict) else []
    inner = [k for k in keys if isinstance(state[k], dict) and state[k] and all(isinstance(v, torch.Tensor) for v in state[k].values())]
    if inner:
        key = "state_dict" if "state_dict" in inner else inner[0]
        return (f"the file is a training checkpoint (keys {keys[:5]}) with the network's state dict under {key!r}, not a state dict",
                f"save that state dict alone: torch.save(torch.load(FILE)[{key!r}], 'weights.pt') (and strip a prefix such as 'model.' "
                "from its keys when the training wrapped the network)")
    prefix = _wrapper_prefix(keys, expected)
    if prefix:
        wrapper = {"module.": "an nn.DataParallel or DistributedDataParallel wrapper", "_orig_mod.": "a torch.compile'd network"}.get(
            prefix, "a wrapper around the network (e.g. a Lightning module's attribute)")
        own = "model.module.state_dict()" if prefix == "module." else "model._orig_mod.state_dict()" if prefix == "_orig_mod." else None
        return (f"every key starts with {prefix!r}: the state dict of {wrapper}",
                (f"save the network's own: torch.save({own}, 'weights.pt'), or strip " if own else "strip ")
                + f"the prefix: torch.save({{k.removeprefix({prefix!r}): v for k, v in sd.items()}}, 'weights.pt')")
    extra = [k for k in keys if k not in set(expected)]
    if expected and extra and not set(expected) - set(keys):  # every key of the model is there, and more
        shown = extra if len(extra) <= 3 else extra[:3]
        return (f"the weights hold every key of the model and {len(extra)} it does not have (e.g. {shown})",
                f"drop those keys: torch.save({{k: v for k, v in sd.items() if k not in {shown if len(extra) <= 3 else 'EXTRA'}}}, 'weights.pt')"
                + ("" if len(extra) <= 3 else f" with EXTRA the {len(extra)} keys named by torch"))
    text = str(exc)
    match = re.search(r"size mismatch for ([\w.]+): copying a param with shape torch\.Size\(\[\d+, (\d+), \d+, \d+\]\).*?current model is "
                      r"torch\.Size\(\[\d+, (\d+), \d+, \d+\]\)", text)
    first = next((k for k in expected if k.endswith("weight")), None)  # the first layer's weight: the one that reads the images
    if match and match.group(2) != match.group(3) and (first is None or match.group(1) == first):  # most often: grey vs colour
        saved, built = match.group(2), match.group(3)
        return (f"the weights do not fit the model: they take {saved} input channel(s) where the model was built for "
                f"{built} (the images' channels)", f"use weights trained on {built}-channel images (neurosage rdm can "
                f"convert the images instead: --channels {saved}; channels= in Python)")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    detail = " ".join(lines[1:])[:240] if len(lines) > 1 else (lines[0] if lines else type(exc).__name__)
    return f"the weights do not fit the model ({detail})", "use weights saved from the same architecture and input channels"


def _wrapper_prefix(keys: list[Any], expected: Sequence[str]) -> str | None:
    """The prefix (ending in '.') that every key carries and whose removal gives the model's keys, else None."""
    if not keys or not all(isinstance(k, str) for k in keys):
        return None
    first = keys[0]
    for cut in [i + 1 for i, c in enumerate(first) if c == "."]:
        prefix = first[:cut]
        if all(k.startswith(prefix) for k in keys):
            if {k[cut:] for k in keys} == set(expected):
                return prefix
    return None


def _info_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".json")


def write_weights_info(weights: str | Path, *, trained_on: str, image_shape: Sequence[int], epochs: float | None = None) -> Path:
    """Write ``<weights>.json`` beside a weights file: the images it was trained on (name and ``(channels, height, width)``)
    and for how many epochs, so a later use on other images can say so (:func:`read_weights_info`)."""
    import json

    from neurosage.core.atomic import write_text

    info = {"trained_on": trained_on, "image_shape": [int(v) for v in image_shape], "epochs": epochs}
    return write_text(_info_path(weights), json.dumps(info, indent=1) + "\n")


def read_weights_info(weights: str | Path) -> dict | None:
    """What :func:`write_weights_info` recorded beside ``weights``; None when nothing was (another tool's file) or the
    record cannot be read."""
    import json

    path = _info_path(weights)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("image_shape"), list) else None
