"""Test helpers: small files in the real published formats, tiny tasks and searches (imported by tests as ``helpers``)."""

from __future__ import annotations

import numpy as np

from neurosage.assembly import make_assembly  # noqa: F401
from neurosage.data_adapters.imageset import ImageSet
from neurosage.rsa.rdm import compute_rdms
from neurosage.search.candidate import CandidateTask
from neurosage.teachers.teacher import Teacher
from neurosage.training.configs import NetworkConfig, RDMOptions, TrainConfig


def write_brainio_netcdf(path, *, n_images=8, n_reps=3, compress=False, seed=0, drop_stimulus=None):
    """Write a MajajHong2015-style assembly exactly as BrainIO's write_netcdf does.

    Dims (neuroid, presentation, time_bin) with MultiIndex coords, then
    ``reset_index`` (xarray cannot store MultiIndex) and ``to_netcdf``; with
    ``compress=True`` the newer writer's ``to_dataset(name="data")`` + zlib.
    Returns (path, stimulus table as a DataFrame).
    """
    import pandas as pd
    import xarray as xr

    rng = np.random.default_rng(seed)
    image_ids = [f"{i:040x}" for i in range(1, n_images + 1)]
    subregion = ["V4"] * 4 + ["pIT"] * 3 + ["cIT"] * 2 + ["aIT"] * 3  # every endpoint has sites enough for an RDM
    neuroid = dict(
        neuroid_id=[f"{'Chabo' if i % 2 else 'Tito'}_L_{sub[0]}_{i}_0" for i, sub in enumerate(subregion)],
        arr=[{"V4": "P", "pIT": "M", "cIT": "M", "aIT": "A"}[sub] for sub in subregion],
        region=["V4" if sub == "V4" else "IT" for sub in subregion],
        subregion=subregion,
        animal=["Chabo" if i % 2 else "Tito" for i in range(len(subregion))],
    )
    pres_image = np.repeat(image_ids, n_reps)
    presentation = dict(image_id=pres_image, repetition=np.tile(np.arange(n_reps), n_images), stimulus=np.repeat(np.arange(n_images), n_reps))
    n_sites = len(subregion)
    signal = np.repeat(rng.normal(size=(n_sites, n_images, 1)), n_reps, axis=1)  # each site's response per image, repeated
    values = (signal + 0.3 * rng.normal(size=(n_sites, n_images * n_reps, 1))).astype(np.float32)  # plus trial noise
    da = xr.DataArray(
        values,
        dims=("neuroid", "presentation", "time_bin"),
        coords={
            **{k: ("neuroid", v) for k, v in neuroid.items()},
            **{k: ("presentation", v) for k, v in presentation.items()},
            "time_bin_start": ("time_bin", [70]),
            "time_bin_end": ("time_bin", [170]),
        },
        name="dicarlo.MajajHong2015.public",
    )
    da = da.set_index(neuroid=list(neuroid), presentation=list(presentation), time_bin=["time_bin_start", "time_bin_end"])
    da = da.reset_index(list(da.indexes))
    da.attrs.update(identifier="dicarlo.MajajHong2015.public", stimulus_set_identifier="hvm-public")
    if compress:
        ds = da.to_dataset(name="data", promote_attrs=True)
        ds.to_netcdf(path, encoding={"data": dict(zlib=True, complevel=9)})
    else:
        da.to_netcdf(path)
    stimuli = pd.DataFrame(
        dict(
            image_id=image_ids,
            category_name=[["Animals", "Cars"][i % 2] for i in range(n_images)],
            object_name=[f"obj{i % 4}" for i in range(n_images)],
            variation=[0 if i < n_images // 2 else 3 for i in range(n_images)],
            filename=[f"img_{i}_256x256.png" for i in range(n_images)],
        )
    )
    if drop_stimulus is not None:
        stimuli = stimuli.drop(index=drop_stimulus)
    return path, stimuli, values


def write_idx(path, array, gz=True):
    """Write an idx file (MNIST format), gzipped or not."""
    import gzip
    import struct

    codes = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}
    array = np.asarray(array)
    if array.dtype.type not in codes:  # the format has no code for it: written as uint8, as before
        array = array.astype(np.uint8)
    header = bytes([0, 0, codes[array.dtype.type], array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()  # idx is big-endian, in the array's own type
    path.write_bytes(gzip.compress(data) if gz else data)


def write_fashion_mnist(root, n_train=200, n_test=60, seed=0):
    """A tiny Fashion-MNIST folder in the real idx format (class = brightness band, learnable)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, size=n)
        images = (rng.integers(0, 60, size=(n, 28, 28)) + labels[:, None, None] * 19).astype(np.uint8)
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return root


TINY_ANALYSIS = dict(n_train=150, n_val=60, n_stimuli=20, n_blocks=2, filters=4)


def random_stimuli(rng, n, channels=1, size=12):
    """``n`` random uint8 images labelled ``s0``, ``s1``, ... (a teacher's stimulus set)."""
    from neurosage.data_adapters.imageset import ImageSet

    stimuli = ImageSet(rng.integers(0, 256, size=(n, channels, size, size), dtype=np.uint8), mean=0.5, std=0.25)
    stimuli.stimulus_ids = [f"s{i}" for i in range(n)]
    return stimuli


def ceilings_in(teacher_dir):
    """The noise ceilings stored in a run folder's cached brain teacher(s)."""
    import json

    import xarray as xr

    found = {}
    for path in sorted(teacher_dir.glob("teacher-*.nc")):
        with xr.open_dataarray(path) as rdms:
            found.update(json.loads(rdms.attrs.get("ceilings", "{}")))
    return found


def assert_ceiled_scores(trials, teacher_dir):
    """TG_ceiled is reported exactly when every endpoint has a positive ceiling (random test data may have none)."""
    ceilings = ceilings_in(teacher_dir)
    assert ceilings and "TG_ceiled" in trials
    if all(c > 0 for c in ceilings.values()):
        assert trials.TG_ceiled.notna().all()
    else:
        assert trials.TG_ceiled.isna().all()

def tiny_task(objective: str = "p+tg", lr: float = 0.05, steps: int = 3, seed: int = 0) -> CandidateTask:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(48, 1, 8, 8), dtype=np.uint8)
    labels = (images.reshape(48, -1).mean(1) > 127).astype(int)
    data = ImageSet(images, labels, mean=0.5, std=0.25)
    stimuli = data.subset(range(32, 44))  # held out of training (the split rule), as a search's teacher stimuli are
    stimuli.stimulus_ids = [f"s{i}" for i in range(12)]
    flat = images[32:44].reshape(12, -1).astype(float)
    teacher = Teacher(
        compute_rdms({"V4": flat[:, :32], "IT": flat[:, 32:]}, labels=list(stimuli.stimulus_ids)), stimuli
    )
    return CandidateTask(
        data.subset(range(32)), data.subset(range(32, 48)), NetworkConfig("cifar", 1, 4),
        TrainConfig(steps=steps, batch_size=8, lr=lr, grad_clip=None if lr > 1e6 else 5.0), teacher,
        objective=objective, rdm=RDMOptions(subsample_features=32, n_subsamples=3), eval_batch_size=16,
    )


def ask_tell_history(searcher, n: int, loss_of, failed_tid: int | None = None) -> list[tuple]:
    """Ask ``n`` proposals and tell each its ``loss_of(genotype)`` (None for ``failed_tid``); the journal rows."""
    history = []
    for _ in range(n):
        tid, vals, genotype = searcher.ask()
        loss = None if tid == failed_tid else loss_of(genotype)
        searcher.tell(tid, loss)
        history.append((tid, vals, loss))
    return history
