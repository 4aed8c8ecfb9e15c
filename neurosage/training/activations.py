"""Activations of named layers as one ``presentation x neuroid`` assembly (``region`` = layer), and their RDMs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
import xarray as xr
from torch import nn
from torch.utils.data import Dataset

from neurosage.assembly import make_assembly, select_regions
from neurosage.core.errors import ConfigError
from neurosage.core.seeding import derive_seed
from neurosage.core.validate import check_arguments
from neurosage.nets.models import FeatureModel
from neurosage.rsa.methods import model_rdm_method
from neurosage.rsa.rdm import compute_rdm, draw_subsets, stack_rdms, subset_mean_rdm
from neurosage.training.batches import (
    _device,
    _loader,
    memory_format_for,
    ordered_batches,
    place_model,
)
from neurosage.training.configs import RDMOptions

__all__ = ["FeatureSelector", "extract_activations", "model_rdms"]


#: Chooses the units of a layer to keep: ``(layer name, number of units) -> sorted unit indices`` (None: all).
FeatureSelector = Callable[[str, int], "np.ndarray | None"]


@torch.inference_mode()
def extract_activations(
    model: nn.Module,
    images: Dataset | torch.Tensor,
    endpoints: Iterable[str],
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    max_features: int | None = None,
    seed: int = 0,
    stimulus_ids: Sequence[str] | None = None,
    select: FeatureSelector | None = None,
) -> xr.DataArray:
    """Activations of the named endpoints as one ``presentation x neuroid`` assembly.

    Each neuroid is a unit of one endpoint: ``region`` is the endpoint (layer) name,
    ``neuroid_id`` is ``"<layer>/<unit>"`` and ``unit_index`` the unit's index in the
    flattened layer output. Presentations are labelled by ``stimulus_id``: the image
    set's ``stimulus_ids``, else ``stimulus_ids``, else the image's position.

    The model must offer ``extract(x, names)`` (as :class:`~neurosage.nets.cells.CellNetwork`
    does; wrap other modules with :class:`~neurosage.nets.models.FeatureModel`).
    Only the kept units of a layer are ever copied off the device: ``select`` chooses them
    (called once per layer with its unit count), or, with ``max_features``, a layer with
    more units keeps a fixed random subset of that size (chosen once per layer from ``seed``).
    Dataset items may be ``(image, label)`` pairs or images.
    """
    check_arguments(extract_activations, locals())
    if isinstance(images, torch.Tensor) and images.ndim != 4:  # torch's "required rank 4 tensor" otherwise
        raise ConfigError(f"images is a tensor of shape {tuple(images.shape)}, and a batch of images is (N, C, H, W)",
                          "add the channel dim (images.unsqueeze(1) for grey images), or pass an ImageSet", field="images")
    if max_features is not None and max_features < 1:  # every layer would keep no unit: an empty assembly
        raise ConfigError(f"max_features = {max_features} keeps no unit of any layer", "give max_features of 1 or more (e.g. 1000), or "
                          "None for every unit", field="max_features")
    own = getattr(images, "stimulus_ids", None)
    if stimulus_ids is not None and own is not None and list(map(str, stimulus_ids)) != list(map(str, own)):
        raise ConfigError(f"stimulus_ids were given ({len(stimulus_ids)}), and images ({type(images).__name__}) has its own "
                          f"{len(own)}, which label the activations", "leave stimulus_ids out for an ImageSet (its ids label them), "
                          "or give ids for a tensor of images", field="stimulus_ids")
    dev = _device(device)
    memory_format = memory_format_for(model, dev)
    place_model(model, dev, memory_format).eval()
    names = list(endpoints)
    if select is None:
        rng = np.random.default_rng(seed)

        def select(name: str, n_units: int) -> np.ndarray | None:
            keep = max_features is not None and n_units > max_features
            return np.sort(rng.choice(n_units, max_features, replace=False)) if keep else None

    subsets: dict[str, torch.Tensor | None] = {}
    units: dict[str, np.ndarray] = {}
    chunks: dict[str, list[np.ndarray]] = {n: [] for n in names}
    if isinstance(images, torch.Tensor):
        batches: Iterable = (images[i : i + batch_size] for i in range(0, len(images), batch_size))
    elif hasattr(images, "batch"):
        batches = (x for x, _ in ordered_batches(images, batch_size, device=dev))
    else:
        batches = (b[0] if isinstance(b, (list, tuple)) else b for b in _loader(images, batch_size, shuffle=False, seed=0))
    extract = getattr(model, "extract", None)
    if extract is None:
        raise TypeError(f"{type(model).__name__} has no extract(x, names): wrap it in neurosage.nets.models.FeatureModel")
    for x in batches:
        feats: Mapping[str, torch.Tensor] = extract(x.to(dev).contiguous(memory_format=memory_format), names)
        for name in names:
            flat = feats[name].flatten(1)
            if name not in units:
                chosen = select(name, flat.shape[1])
                units[name] = np.arange(flat.shape[1]) if chosen is None else np.asarray(chosen, dtype=np.int64)
                subsets[name] = None if chosen is None else torch.as_tensor(units[name], device=dev)
            subset = subsets[name]
            if subset is not None:
                flat = flat.index_select(1, subset)
            chunks[name].append(flat.float().cpu().numpy())
    values = {n: np.concatenate(c, axis=0) for n, c in chunks.items()}
    n_images = next(iter(values.values())).shape[0] if values else 0
    ids = getattr(images, "stimulus_ids", None)
    ids = stimulus_ids if ids is None else ids
    ids = np.arange(n_images).astype(str) if ids is None else np.asarray(ids)
    if len(ids) != n_images:
        raise ConfigError(f"{len(ids)} stimulus_ids for {n_images} images", "give one id per image, in the images' order", field="stimulus_ids")
    return make_assembly(
        np.concatenate([values[n] for n in names], axis=1),
        stimulus_id=ids,
        region=np.concatenate([np.full(len(units[n]), n, dtype=object) for n in names]).astype(str),
        neuroid_id=[f"{n}/{u}" for n in names for u in units[n].tolist()],
        neuroid_coords={"unit_index": np.concatenate([units[n] for n in names])},
        name="activations",
    )


def model_rdms(
    model: nn.Module,
    images,
    layers: Sequence[str],
    *,
    rdm: RDMOptions = RDMOptions(),
    batch_size: int = 256,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> xr.DataArray:
    """RDMs (``rdm x condition_row x condition_col``) of ``layers`` on ``images``, labelled by stimulus_id.

    ``model`` is a network with ``extract(x, names)`` or any torch module (wrapped in
    :class:`~neurosage.nets.models.FeatureModel`). Layer ``i``'s feature subsets (see :class:`RDMOptions`)
    are drawn from ``derive_seed(seed, i)``; teachers and candidates use this same function.
    """
    check_arguments(model_rdms, locals())
    if isinstance(layers, str):  # list("cell_1") would be its letters
        raise ConfigError(f"layers is the string {layers!r}; it takes a list of layer names", f"give layers=[{layers!r}]", field="layers")
    if not len(layers):
        raise ConfigError(f"layers must name at least one layer of the model, got {layers!r}", "pass e.g. layers=['cell_1'] (a network's "
                          "endpoints: net.endpoints)", field="layers")
    layers = list(layers)
    repeated = sorted({layer for layer in layers if layers.count(layer) > 1})
    if repeated:
        raise ConfigError(f"layers names {repeated[0]!r} {layers.count(repeated[0])} times", f"list each layer once: "
                          f"{list(dict.fromkeys(layers))}", field="layers")
    extractor = model if hasattr(model, "extract") else FeatureModel(model, layers)
    subsets: dict[str, list[np.ndarray]] = {}

    def select(name: str, n_units: int) -> np.ndarray | None:
        """Keep only the union of the layer's subsets, so a big layer is never copied off the device whole."""
        if rdm.subsample_features is None or n_units <= rdm.subsample_features:
            return None
        drawn = draw_subsets(n_units, rdm.subsample_features, rdm.n_subsamples, derive_seed(seed, layers.index(name)))
        union = np.unique(np.concatenate(drawn))
        subsets[name] = [np.searchsorted(union, d) for d in drawn]  # positions in the kept units, in drawn order
        return union

    parts = select_regions(extract_activations(extractor, images, layers, batch_size=batch_size, device=device, select=select), layers)
    rdms = {}
    for name in layers:
        layer = parts.pop(name)  # each layer's activations are freed once its RDM exists
        if name in subsets:
            rdms[name] = subset_mean_rdm(layer, subsets[name], model_rdm_method(rdm.rdm_method), device=device)
        else:
            rdms[name] = compute_rdm(layer, model_rdm_method(rdm.rdm_method), device=device)
    return stack_rdms(rdms)
