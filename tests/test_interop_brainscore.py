"""Brain-Score, both ways, in Brain-Score's own venv (marked ``interop``: ``pytest -m interop``; not in the default run).

The venv (``brainscore-vision`` beside neurosage's torch) is built once and cached (see ``interop_helpers``); without
it and without the package index the tests skip, saying why. In that venv:

- the exported plugin loads offline (``brainscore_vision.load_model``) and ``look_at`` on the teacher's stimulus
  files gives the activations neurosage extracts from them (the search's own teacher pipeline);
- assemblies and RDM files neurosage writes give Brain-Score's RDM metric equal to ``compare_rdms(..., "spearman")``;
- activations Brain-Score writes (``write_netcdf``; ``layer``, no ``region``) are read by neurosage with the layer as the region;
- the plugin's own ``test.py`` passes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid

import numpy as np
import pytest

from interop_helpers import brainscore_env, brainscore_venv, index_reachable, searched_run, venv_dir

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def brainscore(tmp_path_factory):
    """``(python, env)`` of the Brain-Score venv (built on first use; skipped when that cannot be done offline)."""
    if not (venv_dir() / ".complete").is_file():
        reason = index_reachable()
        if reason is not None:
            pytest.skip(f"the Brain-Score venv ({venv_dir()}) is not built and the package index cannot be reached: {reason}")
    python, seconds = brainscore_venv()
    print(f"\nBrain-Score venv {python.parent.parent}: {'built in %.0f s' % seconds if seconds else 'cached'}")
    return python, brainscore_env(tmp_path_factory.mktemp("bs-home"))


def _run(brainscore, script: str, *args: str, timeout: float = 600) -> str:
    python, env = brainscore
    done = subprocess.run([str(python), "-c", script, *args], capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


@pytest.fixture(scope="module")
def exported(brainscore, tmp_path_factory):
    """A search with a V4/IT teacher shown image files, its best trial exported and installed as a Brain-Score plugin."""
    from neurosage.export.brainscore import export_brainscore

    root = tmp_path_factory.mktemp("interop")
    result, task, stimuli, recording = searched_run(root / "run", root / "stimuli")
    name = f"neurosage-interop-{uuid.uuid4().hex[:8]}"
    plugin = export_brainscore(root / "run", name=name)
    models = _run(brainscore, "import brainscore_vision, pathlib; print(pathlib.Path(brainscore_vision.__file__).parent / 'models')").strip()
    installed = shutil.copytree(plugin, f"{models}/{plugin.name}")
    try:
        yield {"root": root, "run": root / "run", "plugin": plugin, "name": name, "stimuli": stimuli, "recording": recording,
               "spec": json.loads((plugin / "neurosage_export.json").read_text())}
    finally:
        shutil.rmtree(installed, ignore_errors=True)


def _network(exported):
    from neurosage.nets.build import build_network
    from neurosage.nets.models import load_weights

    spec, run = exported["spec"], exported["run"]
    net = build_network(spec["genotype"], num_classes=spec["num_classes"], in_channels=spec["input"]["channels"], **spec["network"])
    return load_weights(net, run / "weights" / f"trial-{spec['trial']}.pt").eval()


def _neurosage_activations(exported, endpoints):
    from neurosage.training.activations import extract_activations

    return extract_activations(_network(exported), exported["stimuli"], endpoints)


STIMULUS_SET = """
import json, sys
import numpy as np
import pandas as pd
from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet

def stimulus_set(folder):
    table = pd.read_csv(f"{folder}/stimuli.csv")
    stimuli = StimulusSet(table)
    stimuli.stimulus_paths = {s: f"{folder}/{f}" for s, f in zip(table.stimulus_id, table.filename)}
    stimuli.identifier = "neurosage-interop-" + str(abs(hash(folder)))
    return stimuli
"""

LOOK_AT = STIMULUS_SET + """
import brainscore_vision
from brainscore_core.supported_data_standards.brainio.packaging import write_netcdf
name, folder, out = sys.argv[1:4]
model = brainscore_vision.load_model(name)
result = {"map": dict(model.layer_model.region_layer_map)}
stimuli = stimulus_set(folder)
for region, layer in result["map"].items():
    model.start_recording(region, time_bins=[(70, 170)])
    seen = model.look_at(stimuli).squeeze()
    seen = seen.reset_index(list(seen.indexes))
    order = np.lexsort([seen["neuroid_num"].values])
    rows = [list(seen["stimulus_id"].values).index(s) for s in stimuli["stimulus_id"]]
    np.save(f"{out}/{region}.npy", np.asarray(seen.values)[rows][:, order])
    result[region] = sorted(set(seen["layer"].values)) + sorted(set(seen["region"].values))
# Brain-Score's own activations (layer, no region), written as Brain-Score writes assemblies
layer = result["map"]["V4"]
activations = model.activations_model(stimuli, layers=[layer])
write_netcdf(activations, f"{out}/brainscore_activations.nc")
print(json.dumps(result))
"""


def test_the_plugin_loads_offline_and_looks_as_neurosage_extracts(brainscore, exported, tmp_path):
    started = time.perf_counter()
    result = json.loads(_run(brainscore, LOOK_AT, exported["name"], str(exported["root"] / "stimuli"), str(tmp_path)).splitlines()[-1])
    spec = exported["spec"]
    assert result["map"] == spec["region_layer_map"]
    modules = {module: endpoint for endpoint, module in spec["endpoint_modules"].items()}
    for region, layer in spec["region_layer_map"].items():
        assert result[region] == [layer, region]
        ours = _neurosage_activations(exported, [modules[layer]])
        np.testing.assert_allclose(np.load(tmp_path / f"{region}.npy"), ours.values, rtol=1e-5, atol=1e-5)
    # Brain-Score's activations file, read by neurosage: the layer is the region, the values are neurosage's
    from neurosage.data_adapters.generic import load_assembly_file

    theirs = load_assembly_file(tmp_path / "brainscore_activations.nc", average=False)
    layer = spec["region_layer_map"]["V4"]
    assert set(theirs["region"].values) == {layer}
    ours = _neurosage_activations(exported, [modules[layer]])
    theirs = theirs.isel(neuroid=np.argsort(theirs["neuroid_num"].values))
    rows = [list(theirs["stimulus_id"].values).index(s) for s in ours["stimulus_id"].values]
    np.testing.assert_allclose(theirs.values[rows], ours.values, rtol=1e-5, atol=1e-5)
    print(f"look_at and activations checked in {time.perf_counter() - started:.1f} s")


RDM_METRIC = """
import json, sys
import numpy as np
import xarray as xr
from brainscore_vision import load_metric
from brainscore_vision.metrics.rdm.metric import RDMSimilarity
from brainscore_core.supported_data_standards.brainio.assemblies import AssemblyLoader, DataAssembly, NeuroidAssembly

activations_file, recording_file, model_rdms_file, teacher_rdms_file, layer = sys.argv[1:6]
activations = AssemblyLoader(NeuroidAssembly, activations_file).load()
recording = AssemblyLoader(NeuroidAssembly, recording_file).load()
assert len(activations["stimulus_id"]) == len(recording["stimulus_id"])
v4 = recording.sel(region="V4")
layer_activations = activations.sel(layer=layer)
out = {"assemblies": float(load_metric("rdm")(layer_activations, v4))}

def as_brainscore_rdm(stack, name):
    # a neurosage RDM file's RDM as Brain-Score's RDM class makes one: presentation x presentation, stimulus_id and
    # image_id (the row labels, and the file's per-row coords where it has them; two coords keep stimulus_id by name)
    rdm = stack.sel(rdm=name)
    labels = rdm["condition_row"].values.astype(str)
    coords = {"stimulus_id": ("presentation", labels), "image_id": ("presentation", labels)}
    coords.update({k: ("presentation", c.values) for k, c in rdm.coords.items() if c.dims == ("condition_row",) and k != "condition_row"})
    return DataAssembly(rdm.values, coords=coords, dims=["presentation", "presentation"])

model_rdms, teacher_rdms = xr.load_dataarray(model_rdms_file), xr.load_dataarray(teacher_rdms_file)
out["rdm_files"] = float(RDMSimilarity()(as_brainscore_rdm(model_rdms, layer), as_brainscore_rdm(teacher_rdms, "V4")))
print(json.dumps(out))
"""


def test_neurosage_files_give_brainscores_rdm_metric_equal_to_compare_rdms(brainscore, exported, tmp_path):
    from neurosage.assembly import select_regions, write_assembly
    from neurosage.rsa.compare import compare_rdms
    from neurosage.rsa.rdm import compute_rdm, compute_rdms
    from neurosage.teachers.teacher import Teacher

    spec = exported["spec"]
    layer = spec["region_layer_map"]["V4"]
    endpoint = {m: e for e, m in spec["endpoint_modules"].items()}[layer]
    activations = _neurosage_activations(exported, [endpoint])
    recording = exported["recording"]
    write_assembly(activations.assign_coords(region=("neuroid", [layer] * activations.sizes["neuroid"])), tmp_path / "activations.nc")
    write_assembly(recording, tmp_path / "recording.nc")
    model_rdms = compute_rdms({layer: activations})
    Teacher(model_rdms, None).save(tmp_path / "model_rdms.nc")
    Teacher(compute_rdms(recording), None).save(tmp_path / "teacher_rdms.nc")
    files = ("activations.nc", "recording.nc", "model_rdms.nc", "teacher_rdms.nc")
    out = json.loads(_run(brainscore, RDM_METRIC, *(str(tmp_path / f) for f in files), layer).splitlines()[-1])
    expected = float(compare_rdms(compute_rdm(activations), compute_rdm(select_regions(recording, ["V4"])["V4"]), "spearman"))
    assert out["assemblies"] == pytest.approx(expected, abs=1e-6)
    assert out["rdm_files"] == pytest.approx(expected, abs=1e-6)
    print(f"Brain-Score's RDM metric {out} = compare_rdms(..., 'spearman') {expected:.6f}")


def test_the_plugins_own_test_passes_in_brainscore(brainscore, exported):
    python, env = brainscore
    done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(exported["plugin"] / "test.py")],
                          capture_output=True, text=True, env=env, cwd=exported["root"], timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
