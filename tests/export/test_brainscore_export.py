"""``neurosage export brainscore``: a kept trial as a self-contained Brain-Score model plugin (no Brain-Score here:
the plugin's ``model.py`` is imported in this venv with neurosage blocked; the ``interop`` tests load it in Brain-Score)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from interop_helpers import searched_run
from neurosage.cli import main
from neurosage.core.errors import ConfigError
from neurosage.export.brainscore import endpoint_modules, export_brainscore, region_layer_map
from neurosage.nets.build import build_network
from neurosage.nets.models import load_weights
from neurosage.runs.journal import Journal


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A 4-trial search (teacher V4 and IT shown image files) keeping 2 trials' weights, and its default export."""
    root = tmp_path_factory.mktemp("searched")
    result, task, stimuli, recording = searched_run(root / "run", root / "stimuli")
    plugin = export_brainscore(root / "run")
    return {"root": root, "run": root / "run", "result": result, "task": task, "stimuli": stimuli, "plugin": plugin}


def _records(run):
    return {r["tid"]: r["record"] for r in Journal(run / "journal.sqlite").rows()}


def _network(run, record):
    kept = json.loads((run / "run.json").read_text())["weights"]
    net = build_network(record["genotype"], num_classes=kept["num_classes"], in_channels=kept["input_shape"][0], **kept["network"])
    return load_weights(net, run / "weights" / f"trial-{record['tid']}.pt").eval()


def test_the_export_is_a_brainscore_plugin_of_the_best_trial(searched):
    plugin, run = searched["plugin"], searched["run"]
    spec = json.loads((plugin / "neurosage_export.json").read_text())
    records = _records(run)
    best = max(records, key=lambda t: (records[t]["score"], -t))
    assert spec["trial"] == best and spec["identifier"] == f"neurosage-run-trial{best}" and plugin.name == f"neurosage_run_trial{best}"
    for name in ("__init__.py", "model.py", "test.py", "requirements.txt", "metadata.yaml", "weights.pt", "neurosage_net/nets/build.py"):
        assert (plugin / name).is_file(), name
    assert f"model_registry['{spec['identifier']}']" in (plugin / "__init__.py").read_text()  # how Brain-Score finds a plugin
    modules = spec["endpoint_modules"]
    expected = {region: modules[records[best]["best_layer"][region]] for region in ("V4", "IT")}
    assert spec["region_layer_map"] == expected
    assert json.loads((plugin / "region_layer_map" / f"{spec['identifier']}.json").read_text()) == expected
    assert all(re.fullmatch(r"cells\.\d", layer) for layer in spec["layers"]) and modules["cell_1"] == "cells.1"
    assert spec["input"] == {"channels": 1, "size": 8, "mean": [0.5], "std": [0.25], "storage_size": 128}
    assert "neurosage" not in (plugin / "requirements.txt").read_text()
    dataset = json.loads((run / "run.json").read_text())["settings"].get("dataset")
    assert f"training_dataset: {json.dumps(dataset)}" in (plugin / "metadata.yaml").read_text()  # what the run trained on, when it knows
    importing = [str(p) for p in plugin.rglob("*.py") if re.search(r"^\s*(from|import) neurosage\b", p.read_text(), re.M)]
    assert importing == []
    assert torch.load(plugin / "weights.pt", weights_only=True).keys() == _network(run, {**records[best], "tid": best}).state_dict().keys()


BLOCKED_RUN = textwrap.dedent("""
    import importlib, importlib.abc, sys, types
    import numpy as np, torch

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "neurosage" or name.startswith("neurosage."):
                raise ImportError(f"the plugin imported {name}")
    sys.meta_path.insert(0, Block())
    plugin, out, images = sys.argv[1], sys.argv[2], sys.argv[3:]
    package = types.ModuleType("exported_plugin")
    package.__path__ = [plugin]
    sys.modules["exported_plugin"] = package  # the package without its __init__ (that one needs brainscore_vision)
    model = importlib.import_module("exported_plugin.model")
    net = model.build_model()
    x = torch.from_numpy(model.preprocess(images))
    feats = {}
    for layer in model.get_layers():
        module = net.get_submodule(layer)
        module.register_forward_hook(lambda m, i, o, layer=layer: feats.__setitem__(layer, o.detach().numpy()))
    with torch.no_grad():
        logits = net(x).numpy()
    np.savez(out, x=x.numpy(), logits=logits, **{k.replace(".", "_"): v for k, v in feats.items()})
    assert not [m for m in sys.modules if m == "neurosage" or m.startswith("neurosage.")]
""")


def test_the_plugin_rebuilds_the_same_network_and_inputs_without_neurosage(searched, tmp_path):
    plugin, run, stimuli = searched["plugin"], searched["run"], searched["stimuli"]
    spec = json.loads((plugin / "neurosage_export.json").read_text())
    folder = searched["root"] / "stimuli"
    images = [str(folder / f"img_{i:02d}.png") for i in range(len(stimuli))]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", BLOCKED_RUN, str(plugin), str(tmp_path / "out.npz"), *images],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    expected_x = torch.stack([stimuli[i][0] for i in range(len(stimuli))])
    np.testing.assert_allclose(out["x"], expected_x.numpy(), atol=1e-6)  # the plugin converts files as neurosage's stimulus loader
    net = _network(run, {**_records(run)[spec["trial"]], "tid": spec["trial"]})
    with torch.no_grad():
        np.testing.assert_allclose(out["logits"], net(expected_x).numpy(), atol=1e-5)
        feats = net.extract(expected_x, [e for e, m in spec["endpoint_modules"].items() if m in spec["layers"]])
    for endpoint, module in spec["endpoint_modules"].items():
        if module in spec["layers"]:
            np.testing.assert_allclose(out[module.replace(".", "_")], feats[endpoint].numpy(), atol=1e-5)


def test_another_trial_name_and_folder_from_the_command_line(searched, tmp_path, capsys):
    run = searched["run"]
    kept = [e["trial"] for e in json.loads((run / "run.json").read_text())["weights"]["trials"]]
    assert main(["export", "brainscore", str(run), "--trial", str(kept[1]), "--name", "my-model.v1", "--out", str(tmp_path / "p"),
                 "--region", "V1=cell_0"]) == 0
    spec = json.loads((tmp_path / "p" / "neurosage_export.json").read_text())
    assert spec["trial"] == kept[1] and spec["identifier"] == "my-model.v1" and spec["region_layer_map"]["V1"] == "cells.0"
    assert "my-model.v1" in capsys.readouterr().out
    assert main(["export", "brainscore", str(run), "--trial", str(kept[0]), "--out", str(tmp_path / "p")]) == 0  # replaces its own export
    assert json.loads((tmp_path / "p" / "neurosage_export.json").read_text())["trial"] == kept[0]
    marker = tmp_path / "p" / "neurosage_export.json"  # the folder as another run's export left it
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "run": "other-run", "run_id": "0" * 12}))
    capsys.readouterr()
    assert main(["export", "brainscore", str(run), "--trial", str(kept[0]), "--out", str(tmp_path / "p")]) == 2  # round 5 #132
    assert "holds the Brain-Score plugin" in (err := capsys.readouterr().err) and "of another run ('other-run' trial" in err


def _one_fix(exc_info) -> str:
    text = str(exc_info.value)
    assert text.count("fix:") == 1, text
    return text


def test_bad_exports_are_refused_with_one_fix(searched, tmp_path):
    run = searched["run"]
    records = _records(run)
    kept = {e["trial"] for e in json.loads((run / "run.json").read_text())["weights"]["trials"]}
    with pytest.raises(ConfigError, match="not a finished trial") as exc:
        export_brainscore(run, trial=99, out=tmp_path / "a")
    _one_fix(exc)
    with pytest.raises(ConfigError, match="were not kept") as exc:
        export_brainscore(run, trial=min(set(records) - kept), out=tmp_path / "a")
    _one_fix(exc)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="no neurosage export wrote") as exc:
        export_brainscore(run, out=tmp_path / "foreign")
    _one_fix(exc)
    with pytest.raises(ConfigError, match="identifier") as exc:
        export_brainscore(run, name="bad name!", out=tmp_path / "a")
    _one_fix(exc)
    with pytest.raises(ConfigError, match="neither a teacher endpoint") as exc:
        export_brainscore(run, regions={"V1": "cell_9"}, out=tmp_path / "a")
    _one_fix(exc)
    with pytest.raises(ConfigError, match="not a search's run folder") as exc:
        export_brainscore(tmp_path, out=tmp_path / "a")
    _one_fix(exc)
    with pytest.raises(ConfigError, match="use 'V1'") as exc:  # regions are Brain-Score's, case and all
        export_brainscore(run, regions={"v1": "cell_0"}, out=tmp_path / "a")
    _one_fix(exc)
    with pytest.raises(ConfigError, match="not a region Brain-Score commits"):
        export_brainscore(run, regions={"V5": "cell_0"}, out=tmp_path / "a")
    with pytest.raises(ConfigError, match="identifier"):
        export_brainscore(run, name="", out=tmp_path / "a")  # an empty name is a mistake, not "the default"
    assert not (tmp_path / "a").exists()


def test_a_region_given_twice_is_refused(searched, capsys):
    assert main(["export", "brainscore", str(searched["run"]), "--region", "V1=cell_0", "--region", "V1=cell_1"]) == 2
    assert "names V1 twice" in capsys.readouterr().err


def test_a_search_that_kept_no_weights_is_refused(tmp_path, capsys):
    searched_run(tmp_path / "run", tmp_path / "stimuli", budget=1, keep_weights=0)
    with pytest.raises(ConfigError, match="kept no trial weights") as exc:
        export_brainscore(tmp_path / "run")
    assert "--keep-weights" in _one_fix(exc) and "keep-weights = 0" in str(exc.value)
    assert main(["export", "brainscore", str(tmp_path / "run")]) == 2
    assert "kept no trial weights" in capsys.readouterr().err


def test_region_layer_map_from_tg_subregions_and_overrides():
    modules = {"cell_0": "cells.0", "cell_1": "cells.1", "cell_2": "cells.2"}
    mapping, source = region_layer_map({"V4": "cell_0", "pIT": "cell_1", "aIT": "cell_2"}, {"pIT": 0.2, "aIT": 0.5}, modules)
    assert mapping == {"V4": "cells.0", "IT": "cells.2"} and source["IT"] == "aIT"
    mapping, _ = region_layer_map({"it": "cell_1", "aIT": "cell_2"}, {}, modules, {"V1": "cells.0", "V2": "cell_0"})
    assert mapping == {"IT": "cells.1", "V1": "cells.0", "V2": "cells.0"}
    assert region_layer_map({"stack1": "cell_0"}, {}, modules) == ({}, {})


def test_endpoint_modules_are_what_a_forward_hook_sees():
    from neurosage.spaces import get_space

    for genotype, kw in ((str(get_space("layers-10").sample(1)), {"width_multiplier": 0.1}),
                         (str(get_space("nasnet", n_blocks=2).sample(1)), {"filters": 4, "n_cells": 1})):
        net = build_network(genotype, num_classes=3, in_channels=1, **kw).eval()
        modules = endpoint_modules(net)
        assert "pool" not in modules and set(modules) == set(net.endpoints) - {"pool"}
        x = torch.randn(2, 1, 8, 8)
        seen = {}
        for endpoint, path in modules.items():
            net.get_submodule(path).register_forward_hook(lambda m, i, o, e=endpoint: seen.__setitem__(e, o))
        with torch.no_grad():
            feats = net.extract(x, list(modules))
        assert all(torch.equal(seen[e], feats[e]) for e in modules)


def test_a_teacher_without_brainscore_regions_needs_region_flags(searched, tmp_path, monkeypatch):
    import neurosage.export.brainscore as bs

    monkeypatch.setattr(bs, "region_layer_map", lambda *a, **k: ({}, {}))
    with pytest.raises(ConfigError, match="no Brain-Score region") as exc:
        export_brainscore(searched["run"], out=tmp_path / "x")
    assert "--region" in _one_fix(exc)


def test_the_export_checks_that_its_model_py_rebuilds_the_network(searched, tmp_path):
    import shutil

    from neurosage.export.brainscore import _verify

    plugin, run = searched["plugin"], searched["run"]
    spec = json.loads((plugin / "neurosage_export.json").read_text())
    net = _network(run, {**_records(run)[spec["trial"]], "tid": spec["trial"]})
    _verify(plugin, net, spec["input"])  # the exported plugin passes
    other = [t for t in _records(run) if t != spec["trial"]][0]
    with pytest.raises(ConfigError, match="outputs differ"):
        _verify(plugin, build_network(_records(run)[other]["genotype"], num_classes=2, in_channels=1, **spec["network"]), spec["input"])
    copy = shutil.copytree(plugin, tmp_path / "plugin")
    (copy / "neurosage_export.json").write_text(json.dumps({**spec, "genotype": "normal: my_plugin_op@0 + skip_connect@1 -> concat 2"}))
    with pytest.raises(ConfigError, match="my_plugin_op") as exc:  # an op a plug-in registered is not in the vendored code
        _verify(copy, net, spec["input"])
    _one_fix(exc)


def test_an_export_whose_weight_files_are_all_gone_says_so_once(searched, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(searched["run"], run)
    best = json.loads((run / "run.json").read_text())["weights"]["trials"][0]
    (run / best["file"]).rename(run / "weights" / "best.pt")  # round 7 #69: "the best trial has no kept weights; give another"
    with pytest.raises(ConfigError, match=rf"trial {best['trial']}'s kept weights file trial-{best['trial']}.pt is missing; .* holds \['best.pt'\]; "
                                          r"fix: give the file its recorded name back"):
        export_brainscore(run)
    (run / "weights" / "best.pt").rename(run / best["file"])
    kept = sorted((run / "weights").iterdir())
    for i, path in enumerate(kept):  # round 6 #75: renamed files were not named
        path.rename(run / "weights" / f"best-{i}.pt")
    with pytest.raises(ConfigError, match=r"under its recorded name.*the folder holds \['best-0.pt'.*fix: give the file its recorded name back"):
        export_brainscore(run)
    shutil.rmtree(run / "weights")
    with pytest.raises(ConfigError, match="none of the kept trials' weight files remains"):
        export_brainscore(run)


def test_a_region_whose_best_layer_has_no_module_is_said_not_dropped(caplog):
    """Round 12 Y43: region_layer_map returned ({}, {}) with no word when IT's best layer was not among the modules."""
    from neurosage.export.brainscore import region_layer_map

    with caplog.at_level("WARNING"):
        mapping, source = region_layer_map({"IT": "cell_1"}, {"IT": 0.3}, {"cell_9": "m.cell9"})
    assert mapping == {} and source == {}
    assert "region IT is left out: its teacher endpoint IT's best layer 'cell_1' has no module among ['cell_9']" in caplog.text
