"""Helpers of the Brain-Score tests: a search whose teacher's stimuli are image files, and the separate Brain-Score venv.

Brain-Score cannot live in neurosage's venv (``brainscore-core`` pins ``xarray<2022.6``), so the ``interop`` tests run
it in a venv of its own, built once and cached in ``$NEUROSAGE_INTEROP_VENV`` (default
``~/.cache/neurosage-interop-venv/<key>``, the key covering Python, torch, torchvision and the Brain-Score version).
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: The Brain-Score release the interop tests were written against (override with $NEUROSAGE_INTEROP_BRAINSCORE).
BRAINSCORE = os.environ.get("NEUROSAGE_INTEROP_BRAINSCORE", "brainscore-vision==2.4.2")
#: the versions of every package in that venv, so a new release on the index does not change what is tested
CONSTRAINTS = Path(__file__).with_name("interop-constraints.txt")
#: The teacher's endpoints of the file-stimuli search (Brain-Score regions, so the export maps them by name).
ENDPOINTS = ("V4", "IT")


def write_stimulus_files(folder: Path, n: int = 12, seed: int = 0) -> Path:
    """``n`` 8-bit RGB PNG images of 32 x 32 and their stimulus CSV (``stimulus_id``, ``filename``); returns the CSV."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        name = f"img_{i:02d}.png"
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / name)
        rows.append({"stimulus_id": f"stim{i:02d}", "filename": name})
    csv = folder / "stimuli.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv


def file_stimuli_task(folder: Path, seed: int = 0):
    """A tiny search task whose teacher (endpoints V4 and IT of a simulated recording) is shown image files, loaded as
    ``--teacher-images`` loads them (``load_stimulus_images``, converted to the candidates' 1 x 8 x 8 input).

    Returns ``(task, stimuli, recording)``: the recording is the teacher's assembly (stimulus x neuroid, V4 and IT).
    """
    from neurosage.assembly import make_assembly
    from neurosage.data_adapters.images import load_stimulus_images
    from neurosage.data_adapters.imageset import ImageSet
    from neurosage.rsa.rdm import compute_rdms
    from neurosage.search.candidate import CandidateTask
    from neurosage.teachers.teacher import Teacher
    from neurosage.training.configs import NetworkConfig, RDMOptions, TrainConfig

    csv = write_stimulus_files(folder, seed=seed)
    stimuli = load_stimulus_images(csv, folder, size=8, channels=1, mean=0.5, std=0.25)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(48, 1, 8, 8), dtype=np.uint8)
    labels = (images.reshape(48, -1).mean(1) > 127).astype(int)
    data = ImageSet(images, labels, mean=0.5, std=0.25)
    pixels = np.stack([stimuli[i][0].numpy().ravel() for i in range(len(stimuli))])
    responses = np.concatenate([pixels[:, :32] @ rng.normal(size=(32, 10)), pixels[:, 32:] @ rng.normal(size=(32, 10))], axis=1)
    recording = make_assembly(responses + 0.1 * rng.normal(size=responses.shape), stimulus_id=list(stimuli.stimulus_ids),
                              region=["V4"] * 10 + ["IT"] * 10, name="recording")
    teacher = Teacher(compute_rdms(recording), stimuli)
    task = CandidateTask(
        data.subset(range(32)), data.subset(range(32, 48)), NetworkConfig("cifar", 1, 4), TrainConfig(steps=4, batch_size=8),
        teacher, rdm=RDMOptions(subsample_features=32, n_subsamples=3), eval_batch_size=16,
    )
    return task, stimuli, recording


def searched_run(run_dir: Path, stimulus_dir: Path, *, budget: int = 4, keep_weights: int = 2, **kwargs):
    """Run a small search with :func:`file_stimuli_task`; returns ``(result, task, stimuli, recording)``."""
    from neurosage.search.driver import run_search
    from neurosage.spaces import get_space

    task, stimuli, recording = file_stimuli_task(stimulus_dir)
    result = run_search(run_dir, get_space("pnas", n_blocks=2), task, budget=budget, seed=5, progress=False,
                        keep_weights=keep_weights, searcher_kwargs={"n_startup_jobs": 2}, **kwargs)
    return result, task, stimuli, recording


# ---------------------------------------------------------------------------------------------- the Brain-Score venv

def _base_version(package: str) -> str:
    return md.version(package).split("+")[0]


def venv_key() -> str:
    """What the cached venv depends on: Python, torch, torchvision and the Brain-Score requirement."""
    text = f"{sys.version_info[:3]} torch=={_base_version('torch')} torchvision=={_base_version('torchvision')} {BRAINSCORE} pytest"
    text += CONSTRAINTS.read_text() if CONSTRAINTS.is_file() else ""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def venv_dir() -> Path:
    root = Path(os.environ.get("NEUROSAGE_INTEROP_VENV", Path.home() / ".cache" / "neurosage-interop-venv"))
    return root / venv_key()


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def index_reachable(timeout: float = 120) -> str | None:
    """None when pip can read Brain-Score's entry on the package index, else why not (the last line pip printed)."""
    name = BRAINSCORE.split("=")[0].split("<")[0].split(">")[0].strip()
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "index", "versions", name], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or [f"pip exited with {done.returncode}"])[-1]
    return None


def brainscore_venv() -> tuple[Path, float]:
    """The cached Brain-Score venv's Python (built here when absent) and the seconds its build took (0 when cached).

    Raises ``RuntimeError`` naming the step that failed; callers check :func:`index_reachable` first.
    """
    venv = venv_dir()
    if (venv / ".complete").is_file():
        return _python(venv), 0.0
    started = time.perf_counter()
    venv.parent.mkdir(parents=True, exist_ok=True)
    building = venv.with_name(f"{venv.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [
        [base, "-m", "venv", str(building)],
        # torch first, at neurosage's version: pip takes the wheels it already has instead of another CUDA build
        [str(_python(building)), "-m", "pip", "install", "-q", f"torch=={_base_version('torch')}", f"torchvision=={_base_version('torchvision')}"],
        [str(_python(building)), "-m", "pip", "install", "-q", BRAINSCORE, "pytest", *(["-c", str(CONSTRAINTS)] if CONSTRAINTS.is_file() else [])],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError(f"building the Brain-Score venv failed at {' '.join(step[-3:])}: {done.stderr.strip()[-2000:]}")
    (building / ".complete").write_text(f"{BRAINSCORE}\n")
    try:
        building.rename(venv)
    except OSError:  # another process finished first: use its venv
        shutil.rmtree(building, ignore_errors=True)
    return _python(venv), time.perf_counter() - started


def brainscore_env(home: Path) -> dict[str, str]:
    """Environment of Brain-Score runs: offline plugin loading (no requirement installs), no result caching, temp homes."""
    return {**os.environ, "BS_INSTALL_DEPENDENCIES": "no", "RESULTCACHING_DISABLE": "1", "RESULTCACHING_HOME": str(home / "result_caching"),
            "BRAINIO_HOME": str(home / "brainio"), "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
