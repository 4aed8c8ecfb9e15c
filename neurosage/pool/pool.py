"""An architecture pool in a run folder: built once (resumable, on any executor), then read by anyone.

:func:`build_pool` trains the pool's architectures (:mod:`neurosage.pool.train`) and writes, through
:class:`~neurosage.runs.folder.RunFolder`, one record per architecture as it finishes, the weights at every stored
step, and two tables: ``architectures.csv`` (one row per architecture: genotype, parameters, FLOPs, zero-cost proxies
at initialisation, the short target ``M_short``, ``M_short_2`` from a second seed, ``M_long`` from a long training)
and ``checkpoints.csv`` (one row per architecture and stored step: P). :class:`Pool` reads them back and rebuilds any
architecture's network at any stored step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from neurosage.core.atomic import atomic_path, write_json
from neurosage.core.devices import check_device
from neurosage.core.errors import ConfigError, RunFolderError
from neurosage.core.validate import check_arguments
from neurosage.pool.spec import PoolSpec
from neurosage.rsa.methods import model_rdm_method
from neurosage.runs.folder import RunFolder
from neurosage.search.weights import input_conversion
from neurosage.training.divergence import DivergenceWatch

__all__ = ["Pool", "build_pool"]

log = logging.getLogger(__name__)

#: The columns of ``architectures.csv`` before the proxies (those follow, one ``proxy_<name>`` column each).
ARCHITECTURE_COLUMNS = ("arch", "genotype", "status", "params", "flops", "M_short", "M_short_2", "M_long", "long_steps", "train_seconds", "error")


class Pool:
    """A built pool, read from its run folder.

    Parameters
    ----------
    run_dir
        The folder :func:`build_pool` wrote.
    """

    def __init__(self, run_dir: Any):
        check_arguments(Pool.__init__, locals())
        self.folder = RunFolder(run_dir)
        if not self.folder.pool_file.is_file():
            below = sorted(p.parent for p in self.folder.path.glob(f"*/{self.folder.pool_file.name}")) if self.folder.path.is_dir() else []
            fix = (f"give the pool's own folder, e.g. {below[0]}" if below else
                   "give the folder of a pool (neurosage analyze teacher_bench builds one in RUN/teacher_bench/pool, or neurosage.pool.build_pool)")
            raise RunFolderError(f"{self.folder} holds no architecture pool", fix, file=self.folder.path)
        try:
            info = json.loads(self.folder.pool_file.read_text(encoding="utf-8"))
            if isinstance(info, dict) and "spec" not in info and "protocol" in info and "checkpoints" in info:
                raise RunFolderError("this pool.json is the predictability analysis' cache of trained architectures (its own records, "
                                     "not a pool of neurosage.pool with the stimuli and layer RDMs that a bench reads)",
                                     "bench a pool built by neurosage analyze teacher_bench (RUN/teacher_bench/pool), or score your teacher "
                                     "in the predictability analysis itself (analyze predictability --teacher SPEC)", file=self.folder.pool_file)
            self.spec = PoolSpec.from_record(info["spec"])
            self.num_classes, self.in_channels = int(info["num_classes"]), int(info["in_channels"])
        except (ValueError, KeyError, TypeError) as exc:
            raise RunFolderError(f"damaged pool record ({type(exc).__name__}: {exc})", "restore it from a copy, or build the pool again in a new "
                                 "folder", file=self.folder.pool_file) from None
        self.input: dict[str, Any] = info.get("input", {})

    def __repr__(self) -> str:
        return f"Pool({str(self.folder.path)!r}, {self.spec.n_architectures} architectures, steps {list(self.spec.steps)})"

    def stimuli(self) -> Any:
        """The pool's teacher stimuli, converted as the candidates' images were (an :class:`~neurosage.data_adapters.imageset.ImageSet`)."""
        from neurosage.data_adapters.imageset import ImageSet

        if not self.folder.pool_stimuli.is_file():
            raise RunFolderError("the pool keeps no stimuli (stimuli.npz)", "restore stimuli.npz from a copy (build_pool wrote it), or, in "
                                 "Python, build your teacher on the stimuli yourself and call score_teachers",
                                 file=self.folder.pool_stimuli)
        images, labels, stored_ids = _arrays(self.folder.pool_stimuli, "images", "labels", "stimulus_ids")
        ids = [str(s) for s in stored_ids]
        conversion = {k: v for k, v in self.input.items() if k in ("channels", "size", "mean", "std")}
        return ImageSet(images, labels, stimulus_ids=ids, name="pool stimuli", **conversion)

    def layer_rdms(self, arch: int, step: int) -> Any:
        """Architecture ``arch``'s layer RDMs on the pool's stimuli at ``step``, kept when it was trained
        (``rdm x condition_row x condition_col``, labelled by stimulus id), or None when the pool kept none."""
        check_arguments(Pool.layer_rdms, locals())
        import xarray as xr

        from neurosage.rsa.rdm import COL, ROW, STACK

        kept = self.layer_triangles(arch, step)
        if kept is None:
            return None
        layers, triangles = kept
        ids = self.stimulus_ids()
        n = len(ids)
        i, j = np.triu_indices(n, k=1)
        full = np.zeros((len(layers), n, n))
        full[:, i, j] = triangles
        full[:, j, i] = triangles
        return xr.DataArray(full, dims=(STACK, ROW, COL), coords={STACK: layers, ROW: ids, COL: ids},
                            attrs={"method": model_rdm_method(self.spec.rdm_method), "descriptor": "stimulus_id", "rdm_method": self.spec.rdm_method})

    def layer_triangles(self, arch: int, step: int) -> tuple[list[str], np.ndarray] | None:
        """The kept layer RDMs' upper triangles (layers, ``(n_layers, n_pairs)`` float64; stimuli in :meth:`stimulus_ids`
        order), or None."""
        check_arguments(Pool.layer_triangles, locals())
        self._stored(step)
        if isinstance(arch, bool) or not isinstance(arch, (int, np.integer)) or not 0 <= arch < self.spec.n_architectures:
            raise ConfigError(f"architecture {arch!r} is not in the pool (it has {self.spec.n_architectures}: 0..{self.spec.n_architectures - 1})",
                              "give an architecture id of the pool (Pool.architectures() lists them)", file=self.folder.path, field="arch")
        path = self.folder.pool_rdms(arch, step)
        if not path.is_file():
            return None
        layers, triangles = _arrays(path, "layers", "triangles")
        return [str(x) for x in layers], triangles.astype(np.float64)

    def stimulus_ids(self) -> list[str]:
        """The ids of the pool's stimuli ([] when it keeps none)."""
        if not self.folder.pool_stimuli.is_file():
            return []
        (ids,) = _arrays(self.folder.pool_stimuli, "stimulus_ids")
        return [str(s) for s in ids]

    def architectures(self) -> pd.DataFrame:
        """One row per architecture (``architectures.csv``)."""
        return self._table(self.folder.pool_architectures)

    def checkpoints(self) -> pd.DataFrame:
        """One row per architecture and stored step (``checkpoints.csv``)."""
        return self._table(self.folder.pool_checkpoints)

    def _table(self, path: Any) -> pd.DataFrame:
        if not path.is_file():
            raise RunFolderError(f"the pool's table {path.name} is missing", "run build_pool on the folder again with the same settings: it "
                                 "rewrites the tables from the per-architecture records and trains only what is missing", file=path)
        try:
            table = pd.read_csv(path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise RunFolderError(f"the pool's table {path.name} cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0][:100]})",
                                 "delete it and run the build again with the same settings (neurosage analyze teacher_bench, or build_pool): "
                                 "it rewrites the tables from the per-architecture records", file=path) from None
        records = len(list(self.folder.pool_record(0).parent.glob("arch-[0-9][0-9][0-9][0-9].json")))
        if path == self.folder.pool_architectures and len(table) != records:
            raise RunFolderError(f"the pool's table {path.name} lists {len(table)} architectures but {records} are recorded "
                                 f"({self.folder.pool_record(0).parent.name}/): it was cut short or edited",
                                 "delete it and run the build again with the same settings: it rewrites the tables from the records", file=path)
        return table

    def _stored(self, step: int) -> None:
        if step not in self.spec.steps:
            raise ConfigError(f"step {step} is not stored in the pool", f"use one of {list(self.spec.steps)}", field="step")

    def network(self, arch: int, step: int, device: str | None = None) -> Any:
        """Architecture ``arch``'s network with its weights at ``step`` (BatchNorm as recalibrated when it was stored), in eval mode."""
        check_arguments(Pool.network, locals())
        check_device(device)
        import torch

        from neurosage.nets.build import build_network
        from neurosage.nets.models import load_weights
        from neurosage.pool.train import genotype_of

        path = self.folder.pool_weights(arch, step)
        if not path.is_file():
            raise RunFolderError(f"no weights of architecture {arch} at step {step}", f"use a stored step ({list(self.spec.steps)}) of a "
                                 "trained architecture (architectures.csv), or build the pool again", file=path)
        with torch.random.fork_rng(devices=[]):
            net = build_network(genotype_of(self.spec, arch), num_classes=self.num_classes, in_channels=self.in_channels,
                                **self.spec.network.to_dict())
        try:
            load_weights(net, path)
        except ConfigError as exc:  # damaged or foreign: the pool retrains the architecture once its record is gone
            raise RunFolderError(f"architecture {arch}'s weights at step {step} cannot be used: {exc.problem}",
                                 f"delete {self.folder.pool_record(arch)}, then run what built the pool again with the same settings "
                                 f"(e.g. neurosage analyze teacher_bench --run-dir ...): it retrains architecture {arch} alone", file=path) from None
        return net.to(device or "cpu").eval()


def _arrays(path: Any, *names: str) -> list[np.ndarray]:
    """The named arrays of one of the pool's ``.npz`` files; a damaged file is refused by name, with the fix."""
    import zipfile

    try:
        with np.load(path) as stored:
            return [stored[name] for name in names]
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError) as exc:
        said = str(exc).splitlines()[0][:100] if str(exc) else ""
        raise RunFolderError(f"the pool's file {path.name} cannot be read ({type(exc).__name__}: {said}): it was cut short or edited",
                             "restore it from a copy, or build the pool again in a new folder with the same settings", file=path) from None


def _write_tables(folder: RunFolder, spec: PoolSpec) -> None:
    """``architectures.csv`` and ``checkpoints.csv`` from the per-architecture records (rewritten after every one)."""
    rows, checkpoints = [], []
    for arch in range(spec.n_architectures):
        path = folder.pool_record(arch)
        if not path.is_file():
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        row = {"arch": arch, "genotype": record["genotype"], "status": record["status"], **record.get("summary", {})}
        errors = [record["error"]] if record.get("error") else []
        for kind, column in (("second_seed", "M_short_2"), ("long", "M_long")):
            again = folder.pool_retrain_record(arch, kind)
            if again.is_file():
                retrained = json.loads(again.read_text(encoding="utf-8"))
                row[column] = retrained.get("top1") if retrained.get("status") == "ok" else float("nan")
                if retrained.get("status") != "ok":  # the table says why the target is missing
                    errors.append(f"{column} {retrained.get('status')}: {retrained.get('error')}")
                if kind == "long":
                    row["long_steps"] = retrained.get("steps")
        row["error"] = "; ".join(errors) or None
        rows.append(row)
        checkpoints += record.get("rows", [])
    table = pd.DataFrame(rows)
    # the targets are columns even where no architecture was retrained (second-seed or long-subset 0): empty, not missing
    order = [c for c in ARCHITECTURE_COLUMNS if c in table or c in ("M_short_2", "M_long")] + sorted(c for c in table if c.startswith("proxy_"))
    table = table.reindex(columns=order + [c for c in table if c not in order and c not in ("seconds", "arch")])
    with atomic_path(folder.pool_architectures) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(folder.pool_checkpoints) as tmp:
        pd.DataFrame(checkpoints, columns=["arch", "step", "examples", "P", "val_loss"]).to_csv(tmp, index=False)


def _pool_info(spec: PoolSpec, train: Any) -> dict[str, Any]:
    return {"spec": spec.to_dict(), "num_classes": int(train.num_classes), "in_channels": int(train.image_shape[0]),
            "input": input_conversion(train)}


def _keep_stimuli(folder: RunFolder, stimuli: Any) -> None:
    """The stimuli teachers are scored on, stored as they are (uint8, labels, ids): a later teacher needs no dataset."""
    ids = np.asarray([str(s) for s in stimuli.stimulus_ids])
    with atomic_path(folder.pool_stimuli) as tmp, open(tmp, "wb") as f:
        np.savez(f, images=stimuli.images.numpy(), labels=stimuli.labels.numpy(), stimulus_ids=ids)



def build_pool(
    run_dir: Any, spec: PoolSpec, train: Any, val: Any, test: Any, *, stimuli: Any = None, workers: int = 1, client: Any = None,
    device: str | None = None, threads: int = 1, progress: bool = True,
) -> Pool:
    """Train (or finish training) the pool ``spec`` on ``train``; P on ``val``, the targets on ``test``; ``stimuli`` (the
    images teachers will be scored on, never trained or tested on) are kept with the pool.

    Resumable: an architecture (or retraining) already recorded in ``run_dir`` is not trained again, so an interrupted
    build goes on where it stopped; a folder built with another spec is refused (``run.json`` names what differs).
    ``workers > 1`` trains on a LocalCluster of one-thread processes, ``client`` on a running Dask cluster; every
    result is the same on any executor (each architecture's seeds derive from ``spec.seed`` and its index).
    """
    check_arguments(build_pool, locals())
    from neurosage.core.progress import progress_bar
    from neurosage.pool.train import PoolData, genotype_of, retrain_architecture, train_architecture
    from neurosage.search.executors import executor_for

    folder = RunFolder(run_dir)
    _check_data(spec, train, val, test, stimuli, workers)
    info = _pool_info(spec, train)
    if folder.pool_file.is_file():
        recorded = json.loads(folder.pool_file.read_text(encoding="utf-8"))
        if isinstance(recorded, dict) and isinstance(recorded.get("spec"), dict):  # read as a pool reads it (an earlier layer-wise n_blocks)
            recorded["spec"] = Pool(folder.path).spec.to_dict()
        if recorded != json.loads(json.dumps(info)):
            changed = sorted(k for k in info["spec"] if recorded.get("spec", {}).get(k) != json.loads(json.dumps(info["spec"]))[k])
            raise ConfigError(f"{folder} holds a pool built with other settings ({changed or 'its data'})",
                              "build into a new folder, or give the recorded settings to continue it", file=folder.pool_file,
                              field=(changed or ["spec"])[0])
    data = PoolData(train, val, test, info["num_classes"], info["in_channels"], device=device, threads=threads, stimuli=stimuli)
    settings = {"pool": info["spec"], "workers": workers, "device": device}
    with folder.lock(), folder.session(settings, seeds={"seed": spec.seed, "architecture": "derive_seed(seed, arch, ...)"}, device=device,
                                       current=("workers",)):
        write_json(folder.pool_file, info)
        if stimuli is not None:
            _keep_stimuli(folder, stimuli)
        todo: list[tuple[str, int]] = [("train", a) for a in range(spec.n_architectures) if not _complete(folder, spec, a)]
        for kind, count in (("second_seed", spec.second_seed), ("long", spec.long_subset)):
            todo += [(kind, a) for a in range(count) if not folder.pool_retrain_record(a, kind).is_file()]
        log.info("pool %s: %d of %d trainings to do", folder, len(todo), spec.n_architectures + spec.second_seed + spec.long_subset)
        watch = DivergenceWatch("pool trainings", spec.lr, "PoolSpec(lr=...); lr = ... in an analysis's --config TOML file", folder.path)
        for record in _recorded(folder, spec):
            watch.count(record.get("status", "ok"), record.get("error"))
        calls: dict[str, Callable[..., dict[str, Any]]] = {"train": train_architecture}
        with executor_for(workers, client) as executor, progress_bar(total=len(todo), desc="pool", enabled=progress) as bar:
            data_ref = executor.scatter(data)
            pending: dict[Any, tuple[str, int]] = {}
            while todo or pending:
                while todo and len(pending) < max(1, executor.slots() if client is not None else workers):
                    kind, arch = todo.pop(0)
                    if kind == "train":
                        future = executor.submit(calls["train"], arch, data_ref, spec)
                    else:
                        future = executor.submit(retrain_architecture, arch, str(genotype_of(spec, arch)), data_ref, spec, kind)
                    pending[future] = (kind, arch)
                for future in executor.wait_any(list(pending)):
                    kind, arch = pending.pop(future)
                    result = future.result()
                    _keep(folder, kind, arch, result)
                    bar.update(1)
                    _write_tables(folder, spec)
                    watch.add(result["status"], result.get("error"))  # a pool where most trainings diverged stops, naming lr
        _write_tables(folder, spec)
    return Pool(folder)


def _recorded(folder: RunFolder, spec: PoolSpec) -> list[dict[str, Any]]:
    """The records of the trainings already done (architectures and retrainings), readable ones only."""
    paths = [folder.pool_record(a) for a in range(spec.n_architectures)]
    paths += [folder.pool_retrain_record(a, kind) for kind, n in (("second_seed", spec.second_seed), ("long", spec.long_subset)) for a in range(n)]
    out = []
    for path in paths:
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out


def _complete(folder: RunFolder, spec: PoolSpec, arch: int) -> bool:
    """Whether architecture ``arch`` is recorded with every file its record names (else it is trained again)."""
    path = folder.pool_record(arch)
    if not path.is_file():
        return False
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return False
    if record.get("status") != "ok":
        return True
    missing = [s for s in spec.steps if not folder.pool_weights(arch, s).is_file()]
    if missing:
        log.warning("pool architecture %d: weights of steps %s are missing; it is trained again", arch, missing)
    return not missing


def _check_data(spec: PoolSpec, train: Any, val: Any, test: Any, stimuli: Any, workers: Any) -> None:
    """Refuse data a pool cannot be built from, before anything is written: image sets, sizes, and stimuli that are
    neither trained nor tested on."""
    from neurosage.data_adapters.imageset import ImageSet

    for name, data in (("train", train), ("val", val), ("test", test), ("stimuli", stimuli)):
        if data is None and name == "stimuli":
            continue
        if not isinstance(data, ImageSet):
            raise ConfigError(f"{name} must be an ImageSet, got {type(data).__name__}", "wrap the images: ImageSet(uint8 NCHW images, labels, "
                              "mean=..., std=...)", field=name)
    for name, size in (("batch_size", spec.batch_size), ("proxy_batch", spec.proxy_batch)):
        if size > len(train):
            raise ConfigError(f"{name.replace('_', '-')} = {size} is more than the {len(train)} training images", f"lower {name.replace('_', '-')} "
                              "or give more training images", field=name)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive number of processes, got {workers!r}", "give 1 (this process) or more", field="workers")
    if stimuli is not None:
        ids = list(stimuli.stimulus_ids) if stimuli.stimulus_ids is not None else []
        if len(ids) != len(stimuli):
            raise ConfigError("the stimuli have no stimulus ids", "set stimuli.stimulus_ids (one str per image)", field="stimuli")
        for name, data in (("train", train), ("val", val), ("test", test)):
            shared = set(ids) & set(map(str, data.stimulus_ids if data.stimulus_ids is not None else []))
            if shared:
                raise ConfigError(f"{len(shared)} of the teacher stimuli are also {name} images (e.g. {sorted(shared)[0]!r})",
                                  f"give stimuli the candidates never train or test on (the embedded default: images of the evaluation "
                                  f"split that are not in {name})", field="stimuli")


def _keep(folder: RunFolder, kind: str, arch: int, result: dict[str, Any]) -> None:
    """Write one finished training: weights first, then its record (a record means everything it names exists)."""
    if kind != "train":
        write_json(folder.pool_retrain_record(arch, kind), result)
        return
    for step, blob in result.pop("weights", {}).items():
        with atomic_path(folder.pool_weights(arch, int(step))) as tmp:
            tmp.write_bytes(blob)
    for step, blob in result.pop("rdms", {}).items():
        with atomic_path(folder.pool_rdms(arch, int(step))) as tmp:
            tmp.write_bytes(blob)
    if result["status"] != "ok":
        log.warning("pool architecture %d %s: %s", arch, result["status"], result.get("error"))
    write_json(folder.pool_record(arch), result)

