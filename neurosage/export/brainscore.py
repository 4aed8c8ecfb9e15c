"""A search's trial as a Brain-Score model plugin (``neurosage export brainscore RUN``).

Brain-Score cannot be installed beside neurosage (``brainscore-core`` pins ``xarray<2022.6``), so the plugin
is self-contained: it imports neither neurosage nor anything neurosage needs beyond torch, numpy and Pillow.
It holds

- ``__init__.py``, ``model.py`` and ``test.py``: copied unchanged from the template files in
  ``neurosage/export/brainscore_plugin/`` (package data, linted and type-checked with the rest); they read what
  the trial is from ``neurosage_export.json``. ``__init__.py`` registers the model in
  ``brainscore_vision.model_registry`` as a ``ModelCommitment`` with the module-path layers and the region-layer
  map; ``model.py`` rebuilds the network from its genotype string and loads ``weights.pt``, and converts image
  files as neurosage shows stimulus files to the candidates (8-bit RGB stored at 128 px, then the candidates'
  channels, side and normalisation); ``test.py`` checks the plugin offline in Brain-Score;
- ``neurosage_net/``: the network code (spaces, ops, cells, skeletons, registry), copied from this neurosage
  with its ``neurosage.`` imports made relative (:func:`vendor_network_code`);
- ``weights.pt`` (the trial's ``state_dict``), ``region_layer_map/<identifier>.json`` (Brain-Score region ->
  module path, from TG's best layer per teacher endpoint), ``requirements.txt``, ``metadata.yaml`` and
  ``neurosage_export.json`` (the trial's network, input, layers and map, and where it came from).

Layers are module paths (endpoint ``cell_1`` is module ``cells.1``, ``layer_3`` is ``convs.3``): Brain-Score
hooks modules, and the ``pool`` endpoint, a function, has none.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import logging
import math
import numbers
import re
import shutil
import tempfile
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neurosage.core.atomic import write_json, write_text
from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.runs.folder import RunFolder
from neurosage.search.weights import input_settings, kept_network

__all__ = ["VENDORED", "VENDOR_PACKAGE", "BRAIN_SCORE_REGIONS", "STORAGE_SIZE", "endpoint_modules", "region_layer_map",
           "vendor_network_code", "export_brainscore"]

log = logging.getLogger(__name__)

#: The neurosage modules a plugin needs to rebuild a network from its genotype (paths below ``neurosage/``).
VENDORED = (
    "core/__init__.py", "core/lazy.py", "core/errors.py", "core/once.py", "core/registry.py", "core/validate.py",
    "spaces/__init__.py", "spaces/contract.py", "spaces/cell.py", "spaces/layerwise.py", "spaces/primitives.py",
    "nets/__init__.py", "nets/build.py", "nets/cells.py", "nets/ops.py", "nets/layerwise.py", "nets/skeletons.py",
)
#: The name of the vendored package inside a plugin folder.
VENDOR_PACKAGE = "neurosage_net"
#: The regions Brain-Score's standard benchmarks commit layers for.
BRAIN_SCORE_REGIONS = ("V1", "V2", "V4", "IT")
#: Teacher endpoints that stand for Brain-Score's IT when the teacher has no ``IT`` endpoint itself.
IT_SUBREGIONS = ("pIT", "cIT", "aIT")
#: The side at which neurosage stores stimulus image files before converting them (``load_stimulus_images``).
STORAGE_SIZE = 128
#: Marks a folder this module wrote (it may be overwritten by a new export); the plugin's code reads the trial from it.
MARKER = "neurosage_export.json"
#: The plugin's code: its file name -> the template file in ``neurosage/export/brainscore_plugin/`` (package data, not a
#: package of neurosage: the plugin's ``__init__.py`` imports Brain-Score, so its template is stored as ``plugin_init.py``).
TEMPLATES = {"__init__.py": "plugin_init.py", "model.py": "model.py", "test.py": "test.py"}
#: The templates' one placeholder, replaced by the plugin's Brain-Score identifier.
IDENTIFIER_PLACEHOLDER = "__IDENTIFIER__"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IMPORT = re.compile(r"^(\s*)from neurosage((?:\.\w+)*) import ", re.M)
_TARGET = re.compile(r"""(?<![\w."'])(f?)(["'])neurosage\.(?=[\w.]+:)""")


# ---------------------------------------------------------------------------------------------- vendoring

def _relative(source: str, depth: int) -> str:
    """``source`` with ``from neurosage.x import`` made relative and ``"neurosage.x:attr"`` targets built from
    ``__package__``, for a module ``depth`` packages below the vendored root."""
    dots = "." * (depth + 1)
    source = _IMPORT.sub(lambda m: f"{m.group(1)}from {dots}{m.group(2).lstrip('.')} import ", source)
    root = "__package__" if depth == 0 else f'__package__.rsplit(".", {depth})[0]'
    return _TARGET.sub(lambda m: f'{root} + {m.group(1)}{m.group(2)}.', source)


def vendor_network_code(dest: str | Path) -> Path:
    """Copy the modules of :data:`VENDORED` into ``dest/neurosage_net`` as a package that imports nothing of neurosage.

    Returns the package folder. Each module is compiled after the rewrite; one that still names ``neurosage`` in an
    import is refused (a new absolute import this rewrite does not know).
    """
    check_arguments(vendor_network_code, locals())
    import neurosage

    source_root = Path(neurosage.__file__).resolve().parent
    if Path(dest).exists() and not Path(dest).is_dir():
        raise ConfigError(f"{dest} is a file; the network code is vendored into a folder", "give a folder (created when missing), e.g. "
                          "the plugin's folder", file=dest, field="dest")
    package = Path(dest) / VENDOR_PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    write_text(package / "__init__.py", f'"""neurosage {neurosage.__version__}\'s network code, vendored by neurosage export brainscore '
               f'(rebuilds a network from its genotype; imports nothing of neurosage)."""\n\n__version__ = "{neurosage.__version__}"\n')
    for relative in VENDORED:
        depth = len(Path(relative).parts) - 1
        text = _relative((source_root / relative).read_text(encoding="utf-8"), depth)
        left = re.findall(r"^\s*(?:from|import) neurosage\b.*$", text, re.M)
        if left:
            raise RuntimeError(f"{relative}: imports the rewrite does not handle: {left[:2]}")
        compile(text, relative, "exec")
        write_text(package / relative, text)
    return package


# ---------------------------------------------------------------------------------------------- layers and regions

def endpoint_modules(net: Any) -> dict[str, str]:
    """The module path of each hookable endpoint of a neurosage network (``cell_1`` -> ``cells.1``; ``pool`` has none)."""
    check_arguments(endpoint_modules, locals())
    if not hasattr(net, "endpoints"):
        raise ConfigError(f"endpoint_modules takes a neurosage network, got {type(net).__name__} {str(net)[:60]!r}",
                          "load a search's trial first: neurosage.kept_network(run_dir, trial)", field="net")
    names = list(net.endpoints)
    if hasattr(net, "cells"):  # a cell network: stem, then one module per cell, in endpoint order
        return {"stem": "stem", **{name: f"cells.{i}" for i, name in enumerate(names[1:len(net.cells) + 1])}}
    if hasattr(net, "convs"):  # a layer-wise network: one conv-BN-ReLU block per layer
        return {f"layer_{i}": f"convs.{i}" for i in range(len(net.convs))}
    raise ConfigError(f"{type(net).__name__} is not a neurosage cell or layer-wise network", "export a search's trial", field="model")


def _region_of(endpoint: str) -> str | None:
    """The Brain-Score region a teacher endpoint names (``V4``, ``it``), or None."""
    for region in BRAIN_SCORE_REGIONS:
        if endpoint.lower() == region.lower():
            return region
    return None


def region_layer_map(best_layer: Mapping[str, str], scores: Mapping[str, float], modules: Mapping[str, str],
                     overrides: Mapping[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Brain-Score region -> module path, and region -> the teacher endpoint (or layer) it came from.

    A teacher endpoint that is a Brain-Score region (V1, V2, V4, IT) gives its region TG's best layer for it; without an
    ``IT`` endpoint, the IT subregion (pIT, cIT, aIT) with the highest S_i gives IT's. ``overrides`` (region -> a teacher
    endpoint, a candidate endpoint such as ``cell_1``, or a module path such as ``cells.1``) replace or add regions.
    """
    check_arguments(region_layer_map, locals())
    if not modules:  # no layer to commit: every region would be left out, and an override has nothing to name
        raise ConfigError("modules is empty: there is no layer of the network to commit to a region", "pass the candidate's endpoint -> "
                          "module path map, endpoint_modules(network) (e.g. {'cell_1': 'cells.1'})", field="modules")
    mapping: dict[str, str] = {}
    source: dict[str, str] = {}
    for endpoint, layer in best_layer.items():
        region = _region_of(endpoint)
        if region is not None and layer in modules:
            mapping[region], source[region] = modules[layer], endpoint
        elif region is not None:  # the pooled features, or modules of another network: said, not dropped in silence
            log.warning("region %s is left out: its teacher endpoint %s's best layer %r has no module among %s (modules come from "
                        "endpoint_modules of the same network)", region, endpoint, layer, sorted(modules)[:6])
    if "IT" not in mapping:
        subs = [e for e in best_layer if e in IT_SUBREGIONS and best_layer[e] in modules]
        if subs:
            def score(e: str) -> float:  # NaN (no score) ranks below every score: max() over NaN would follow the dict's order
                value = scores.get(e)
                return float(value) if isinstance(value, numbers.Real) and math.isfinite(value) else float("-inf")

            best = max(subs, key=lambda e: (score(e), -IT_SUBREGIONS.index(e)))
            if score(best) == float("-inf"):
                log.warning("IT's layer comes from %s by its place in %s alone: no IT subregion among %s has a finite score (give "
                            "--region IT=LAYER to choose)", best, list(IT_SUBREGIONS), subs)
            mapping["IT"], source["IT"] = modules[best_layer[best]], best
    for region, target in (overrides or {}).items():
        if region not in BRAIN_SCORE_REGIONS:
            close = _region_of(region)
            raise ConfigError(f"--region {region}={target}: {region!r} is not a region Brain-Score commits layers for",
                              f"use {close!r}" if close else f"use one of {list(BRAIN_SCORE_REGIONS)} (case matters)", field="region")
        if target in best_layer and best_layer[target] in modules:
            mapping[region], source[region] = modules[best_layer[target]], target
        elif target in modules:
            mapping[region], source[region] = modules[target], target
        elif target in modules.values():
            mapping[region], source[region] = target, target
        else:
            raise ConfigError(f"--region {region}={target}: {target!r} is neither a teacher endpoint of this trial ({sorted(best_layer)}) "
                              f"nor one of its layers ({sorted(modules)})", f"map the region to one of those, e.g. {region}={next(iter(modules))}",
                              field="region")
    return mapping, source


# ---------------------------------------------------------------------------------------------- the export's name

def _default_name(run_dir: Path, trial: int) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", run_dir.resolve().name.lower()).strip("-") or "run"
    return f"neurosage-{stem}-trial{trial}"


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(f"--name {name!r} is not a Brain-Score identifier",
                          "use letters, digits, '-', '_' and '.', starting with a letter or digit", field="name")
    return name


# ---------------------------------------------------------------------------------------------- the export

def export_brainscore(
    run_dir: str | Path,
    *,
    trial: int | None = None,
    out: str | Path | None = None,
    name: str | None = None,
    regions: Mapping[str, str] | None = None,
) -> Path:
    """Write a Brain-Score model plugin of one of ``run_dir``'s kept trials; returns its folder.

    Parameters
    ----------
    trial
        The trial (its ``tid``); default the search's best by its objective.
    out
        The plugin folder (default ``RUN/brainscore/<name with '-' and '.' as '_'>``); refused when it holds files
        another program wrote, replaced when an earlier export wrote it.
    name
        The Brain-Score identifier (default ``neurosage-<run folder>-trial<N>``).
    regions
        Region -> teacher endpoint, candidate endpoint or module path, replacing or adding to the map from TG.
    """
    check_arguments(export_brainscore, locals())
    import neurosage
    from neurosage.nets.measure import count_parameters

    run = RunFolder(run_dir)
    net = kept_network(run, trial)
    chosen, record = net.neurosage_trial, run.require_record()
    run_dir = run.path
    kept = record["weights"]
    tid = int(chosen["tid"])
    identifier = _check_name(_default_name(run_dir, tid) if name is None else name)
    folder = Path(out) if out is not None else run_dir / "brainscore" / re.sub(r"[-.]", "_", identifier)
    _check_out(folder, record.get("run_id"), run_dir.resolve().name, tid)
    settings = {**input_settings(run, record), "storage_size": STORAGE_SIZE}
    network = dict(kept.get("network") or {})
    genotype = str(chosen["genotype"])
    modules = endpoint_modules(net)
    layers = [modules[e] for e in (chosen.get("layers") or [e for e in net.endpoints if e not in ("stem", "pool")]) if e in modules]
    best_layer = dict(chosen.get("best_layer") or {})
    mapping, source = region_layer_map(best_layer, chosen.get("S") or {}, modules, regions)
    if not mapping:
        raise ConfigError(f"no Brain-Score region to map: the teacher's endpoints {sorted(best_layer) or '(none: the search had no teacher)'} "
                          f"name none of {list(BRAIN_SCORE_REGIONS)}",
                          f"map regions yourself, e.g. --region V4={next(iter(best_layer), 'cell_1')} --region IT={list(modules)[-1]} (teacher "
                          "endpoints use TG's best layer)", field="region")
    unmapped = [r for r in BRAIN_SCORE_REGIONS if r not in mapping]
    if unmapped:
        log.warning("%s: no layer for %s (Brain-Score benchmarks of those regions will fail); add --region REGION=LAYER to commit one",
                    identifier, ", ".join(unmapped))
    spec = {
        "identifier": identifier, "genotype": genotype, "network": network, "num_classes": int(kept["num_classes"]), "input": settings,
        "layers": layers, "region_layer_map": mapping, "endpoint_modules": modules,
    }
    provenance = {
        **spec, "region_sources": source, "run": run_dir.resolve().name, "run_id": record.get("run_id"), "trial": tid, "score": chosen.get("score"),
        "P": chosen.get("P"), "TG": chosen.get("TG"), "S": chosen.get("S"), "best_layer": best_layer,
        "objective": record.get("settings", {}).get("objective"), "parameters": count_parameters(net),
        "training_dataset": record.get("settings", {}).get("dataset"),
        "neurosage": neurosage.__version__, "exported": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    with _replacing(folder) as tmp:
        vendor_network_code(tmp)
        shutil.copyfile(net.neurosage_weights_file, tmp / "weights.pt")
        templates = importlib.resources.files("neurosage.export") / "brainscore_plugin"
        for name, template in TEMPLATES.items():  # Brain-Score finds a plugin by the identifier written in its __init__.py
            write_text(tmp / name, (templates / template).read_text(encoding="utf-8").replace(IDENTIFIER_PLACEHOLDER, identifier))
        write_text(tmp / "requirements.txt", "torch\nnumpy\npillow\n")
        write_text(tmp / "metadata.yaml", _metadata(identifier, provenance))
        write_json(tmp / "region_layer_map" / f"{identifier}.json", mapping)
        write_json(tmp / MARKER, provenance)
        _verify(tmp, net, settings)
    log.info("wrote the Brain-Score plugin %s (trial %d, regions %s) to %s", identifier, tid, mapping, folder)
    return folder


def _verify(plugin: Path, net: Any, settings: Mapping[str, Any]) -> None:
    """Import the plugin's ``model.py`` (its vendored code, not neurosage's) and check that it rebuilds ``net``: the same
    outputs on a random batch. A genotype or skeleton that a plug-in registered is not in the vendored code: refused."""
    import importlib
    import sys
    import types
    import uuid

    import torch

    name = f"_neurosage_export_check_{uuid.uuid4().hex}"
    package = types.ModuleType(name)
    package.__path__ = [str(plugin)]  # the folder as a package, without its __init__ (that one needs brainscore_vision)
    sys.modules[name] = package
    try:
        model = importlib.import_module(f"{name}.model")
        rebuilt = model.build_model()
        x = torch.randn(2, settings["channels"], settings["size"], settings["size"], generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            same = torch.allclose(rebuilt(x), net.eval()(x), atol=1e-5, rtol=1e-5)
        problem = None if same else "its outputs differ from the network's"
    except Exception as exc:  # the vendored code cannot build it (e.g. an op registered by a plug-in)
        problem = getattr(exc, "problem", None) or f"{type(exc).__name__}: {exc}"  # a (vendored) neurosage error: its problem, not its fix
    finally:
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]
    if problem:
        raise ConfigError(f"the plugin's model.py does not rebuild the trial's network ({problem})",
                          "export trials of the built-in ops and skeletons only (the plugin carries neurosage's own network code, "
                          "not a plug-in's)", field="genotype")


def _check_out(folder: Path, run_id: str | None = None, run_name: str | None = None, trial: int | None = None) -> None:
    """Refuse an ``--out`` that is a file, holds files no export wrote, or holds the plugin of another run (an export
    there would replace it without a word); the same run again (any trial) replaces its own plugin."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError("--out is a file", "give a folder for the plugin (it is created)", file=folder, field="out")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise ConfigError("--out holds files that no neurosage export wrote", "give a new or empty folder", file=folder, field="out")
    try:
        earlier = json.loads((folder / MARKER).read_text(encoding="utf-8")) if (folder / MARKER).is_file() else {}
    except (OSError, ValueError):
        earlier = {}
    same_run = earlier.get("run_id") == run_id if earlier.get("run_id") and run_id else earlier.get("run") == run_name
    if earlier and not same_run:  # another trial of the same run replaces its own export
        raise ConfigError(f"--out holds the Brain-Score plugin {earlier.get('identifier')!r} of another run ({earlier.get('run')!r} trial "
                          f"{earlier.get('trial')}), which this export of run {run_name!r} trial {trial} would replace",
                          "give each run's export its own --out (the default is RUN/brainscore/<name>)", file=folder, field="out")


@contextlib.contextmanager
def _replacing(folder: Path):
    """A temporary sibling folder that replaces ``folder`` when the ``with`` body succeeds (never a half-written plugin)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield tmp
        old = folder.with_name(f".{folder.name}.old") if folder.exists() else None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
        tmp.rename(folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- the plugin's files

def _metadata(identifier: str, provenance: Mapping[str, Any]) -> str:
    return textwrap.dedent(f'''\
        models:
            {identifier}:
                architecture: DCNN
                model_family: neurosage
                total_parameter_count: {provenance["parameters"]}
                trainable_parameter_count: {provenance["parameters"]}
                training_dataset: {json.dumps(provenance.get("training_dataset"))}
                task_specialization: null
                extra_notes: "neurosage search trial {provenance["trial"]}; genotype: {provenance["genotype"]}"
                runnable: true
        ''')
