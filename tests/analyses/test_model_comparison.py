"""``compare_model`` and ``neurosage rdm``: one call, the same numbers; a search's kept trial rebuilt as the search built it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from neurosage.analyses.embedded import teacher_stimuli
from neurosage.analyses.model_comparison import compare_model
from neurosage.analyses.settings import EmbeddedConfig
from neurosage.cli import main
from neurosage.core.errors import ConfigError, NeurosageError
from neurosage.nets.build import build_network
from neurosage.nets.models import load_weights
from neurosage.search.weights import kept_network

TEACHER = "net:cifar_resnet-1:stack2,stack3:random"


@pytest.fixture(scope="module")
def searched(tiny_fmnist, tmp_path_factory):
    """A 3-trial search with 1 cell per stack and 4 filters (``neurosage rdm`` on a genotype builds 2 and 48), keeping 2 trials' weights."""
    run = tmp_path_factory.mktemp("model-comparison") / "run"
    flags = ["--data", str(tiny_fmnist), "--n-blocks", "2", "--filters", "4", "--n-cells", "1", "--premature-steps", "2", "--n-train", "64",
             "--n-val", "40", "--n-stimuli", "20", "--objective", "p", "--keep-weights", "2", "--budget", "3"]
    assert main(["search", str(run), *flags]) == 0
    return run


def _kept(run):
    return [entry["trial"] for entry in json.loads((run / "run.json").read_text())["weights"]["trials"]]


def test_rdm_on_a_searched_trial_equals_the_python_call(searched, tiny_fmnist, tmp_path, capsys):
    best, other = _kept(searched)
    out = tmp_path / "rdm"
    assert main(["rdm", str(searched), "--trial", str(other), "--teacher", TEACHER, "--data", str(tiny_fmnist), "--n-stimuli", "20",
                 "--bootstrap", "0", "--out", str(out)]) == 0
    assert f"{searched.name} trial {other}" in capsys.readouterr().out
    table = pd.read_csv(out / "similarity.csv", index_col=0)
    summary = json.loads((out / "summary.json").read_text())
    assert main(["rdm", str(searched), "--trial", str(other), "--teacher", TEACHER, "--bootstrap", "0", "--out", str(tmp_path / "own")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "own" / "similarity.csv", index_col=0), table)  # round 6 #108: the search's data
    assert summary["trial"] == other and summary["run"] == str(searched.resolve())
    net = kept_network(searched, np.int64(other))  # an id read from trials.csv with pandas
    genotype_net = build_network(net.neurosage_trial["genotype"], in_channels=1)  # what `rdm GENOTYPE` builds: other cells and filters
    assert len(net.endpoints) < len(genotype_net.endpoints)
    with pytest.raises(ConfigError, match="do not fit"):
        load_weights(genotype_net, net.neurosage_weights_file)
    assert list(table.index) == [e for e in net.endpoints if e not in ("stem", "pool")]
    with pytest.raises(ConfigError, match=f"{searched.name} trial {other} takes 1-channel images, got 3"):  # round 7 F6: torch's conv error
        net(torch.zeros(2, 3, 28, 28))
    stimuli = teacher_stimuli(EmbeddedConfig(data=str(tiny_fmnist), n_stimuli=20))
    result = compare_model(run=searched, trial=other, teacher=TEACHER, stimuli=stimuli, n_bootstrap=0)
    np.testing.assert_allclose(result.similarity.transpose("layer", "endpoint").values, table.values, rtol=0, atol=1e-12)
    assert result.tg == pytest.approx(summary["TG"], abs=1e-12)
    default = compare_model(run=searched, teacher=result.teacher, n_bootstrap=0)  # no trial: the search's best kept one
    assert default.info["trial"] == best and default.teacher.images.conversion == result.teacher.images.conversion


def test_the_result_saves_and_plots_itself(searched, tiny_fmnist, tmp_path):
    stimuli = teacher_stimuli(EmbeddedConfig(data=str(tiny_fmnist), n_stimuli=20))
    result = compare_model("cifar_resnet-1", TEACHER, stimuli, layers=["stack1", "stack3"], weights="random", n_bootstrap=20)
    assert set(result.scores.intervals) == {"stack2", "stack3"}
    written = {p.name for p in result.save(tmp_path) + result.plot(tmp_path)}
    assert {"similarity.csv", "summary.json", "similarity.png", "rdms.png", "mds.png", "profile.png", "sorted_rdms.png",
            "stimulus_mds.png"} <= written
    assert result.categories() is not None and len(set(result.categories())) > 1  # Fashion-MNIST's class names
    assert pd.read_csv(tmp_path / "similarity.csv", index_col=0).shape == (2, 2)


def test_wrong_runs_and_trials_are_refused_before_any_work(searched, tiny_fmnist, tmp_path, capsys):
    kept = _kept(searched)
    base = ["--teacher", TEACHER, "--data", str(tiny_fmnist), "--out", str(tmp_path / "out")]
    assert main(["rdm", "cifar_resnet-1", "--trial", "1", *base]) == 2
    assert "--trial 1 needs a search's run folder" in capsys.readouterr().err
    missing = max(kept) + 10
    assert main(["rdm", str(searched), "--trial", str(missing), *base]) == 2
    err = capsys.readouterr().err
    assert f"trial {missing} is not a finished trial" in err and "journal.sqlite" in err
    assert main(["rdm", str(tmp_path), *base]) == 2  # a folder that is not a search's
    assert "not a search's run folder" in capsys.readouterr().err
    assert main(["rdm", str(searched), "--weights", "random", *base]) == 2
    assert "--weights was given with a search's run folder" in capsys.readouterr().err
    assert main(["rdm", str(searched), "--data", str(tiny_fmnist)]) == 2  # no teacher: this search's own is suggested
    assert "this search used the embedded ResNet teacher" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    stimuli = teacher_stimuli(EmbeddedConfig(data=str(tiny_fmnist), n_stimuli=20))
    for kwargs, needle in [({"model": "cifar_resnet-1", "run": searched}, "both given"), ({"trial": 1, "model": "cifar_resnet-1"}, "without run="),
                           ({"model": "cifar_resnet-1"}, "layers are required"), ({"model": 3}, "model takes a Module or a string or None, got int"),
                           ({"model": "cifar_resnet-1", "layers": ["stack1", "stack1"]}, "twice"),
                           ({"model": "cifar_resnet-1", "layers": "stack1"}, "layers is the string .stack1.; it takes a list")]:
        with pytest.raises(ConfigError, match=needle):
            compare_model(teacher=TEACHER, stimuli=stimuli, **kwargs)
    with pytest.raises(NeurosageError, match=r"unknown layer\(s\) \['cell_9'\]; fix: use the network's endpoints: \['stem'"):
        compare_model(run=searched, teacher=TEACHER, stimuli=stimuli, layers=["cell_9"], n_bootstrap=0)
    with pytest.raises(ConfigError, match="needs stimuli"):
        compare_model("cifar_resnet-1", TEACHER, layers=["stack1"])
