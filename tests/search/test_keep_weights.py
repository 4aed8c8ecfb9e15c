"""A search keeps the weights of its best K trials (``keep-weights``), in ``RUN/weights``, recorded in ``run.json``."""

from __future__ import annotations

import json

import pytest
import torch

from helpers import tiny_task
from neurosage.core.errors import ConfigError, RunFolderError
from neurosage.nets.build import build_network
from neurosage.nets.models import load_weights
from neurosage.runs.journal import Journal
from neurosage.search.driver import run_search
from neurosage.search.weights import KeptWeights, weights_to_keep
from neurosage.spaces import get_space
from neurosage.teachers.scoring import score_model
from neurosage.training.evaluation import evaluate

SPACE = get_space("pnas", n_blocks=2)
KW = dict(seed=3, progress=False, searcher_kwargs={"n_startup_jobs": 2})


def _top(trials, k):
    ok = trials[trials.status == "ok"].sort_values(["score", "tid"], ascending=[False, True], kind="stable")
    return list(ok.tid.head(k))


def _files(run):
    return sorted(int(p.stem.split("-")[1]) for p in (run / "weights").glob("trial-*.pt")) if (run / "weights").is_dir() else []


def test_the_best_k_trials_keep_weights_that_reproduce_their_scores(tmp_path):
    task = tiny_task()
    result = run_search(tmp_path / "run", SPACE, task, budget=5, keep_weights=2, **KW)
    top = _top(result.trials, 2)
    assert _files(tmp_path / "run") == sorted(top)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    kept = record["weights"]
    assert kept["keep"] == 2 and [e["trial"] for e in kept["trials"]] == top
    assert record["settings"]["keep_weights"] == 2
    assert kept["network"] == task.network.to_dict() and kept["num_classes"] == 2 and kept["input_shape"] == [1, 8, 8]
    assert kept["input"]["mean"] == [0.5] and kept["input"]["std"] == [0.25]
    best = result.trials.set_index("tid").loc[top[0]]
    net = build_network(best.genotype, num_classes=2, in_channels=1, **kept["network"])
    load_weights(net, tmp_path / "run" / kept["trials"][0]["file"])
    # the weights are those P and TG were measured with (BatchNorm statistics recalibrated)
    assert evaluate(net, task.val_set, batch_size=task.eval_batch_size)["top1"] == best.P
    record = next(r["record"] for r in Journal(tmp_path / "run" / "journal.sqlite").rows() if r["tid"] == top[0])
    layers = [n for n in net.endpoints if n not in ("stem", "pool")]
    scores = score_model(net, task.teacher, layers, rdm=task.rdm, batch_size=task.eval_batch_size, seed=record["seed"])
    assert scores.tg == pytest.approx(record["TG"], abs=1e-6) and scores.best_layer == kept["trials"][0]["best_layer"]


def test_keep_weights_zero_keeps_none_and_the_journal_holds_no_bytes(tmp_path):
    run_search(tmp_path / "run", SPACE, tiny_task(), budget=2, keep_weights=0, **KW)
    assert _files(tmp_path / "run") == []
    assert json.loads((tmp_path / "run" / "run.json").read_text())["weights"]["trials"] == []
    assert all("weights" not in r["record"] for r in Journal(tmp_path / "run" / "journal.sqlite").rows())


def test_a_resumed_search_keeps_the_best_of_all_its_trials(tmp_path, caplog):
    run_search(tmp_path / "run", SPACE, tiny_task(), budget=3, keep_weights=1, **KW)
    (tmp_path / "run" / "weights" / "trial-99.pt").write_bytes(b"cut short")  # a proposal whose journal row never came
    result = run_search(tmp_path / "run", SPACE, tiny_task(), budget=5, keep_weights=1, resume=True, **KW)
    assert _files(tmp_path / "run") == _top(result.trials, 1)
    run_search(tmp_path / "whole", SPACE, tiny_task(), budget=5, keep_weights=1, **KW)
    assert _files(tmp_path / "whole") == _files(tmp_path / "run")
    assert (tmp_path / "whole" / "weights" / f"trial-{_files(tmp_path / 'run')[0]}.pt").read_bytes() == \
        (tmp_path / "run" / "weights" / f"trial-{_files(tmp_path / 'run')[0]}.pt").read_bytes()
    kept = _files(tmp_path / "run")
    with pytest.raises(RunFolderError, match=r"keep-weights = 0 would delete the kept weights of 1 trial.*fix: resume with --keep-weights 1"):
        run_search(tmp_path / "run", SPACE, tiny_task(), budget=6, keep_weights=0, resume=True, **KW)  # round 4 #119: deleted silently
    assert _files(tmp_path / "run") == kept
    with caplog.at_level("WARNING"):  # round 6 #17: a larger K cannot keep the weights of finished trials
        run_search(tmp_path / "run", SPACE, tiny_task(), budget=5, keep_weights=3, resume=True, **KW)
    assert "keep-weights grows from 1 to 3: the weights of trials run from now on are kept" in caplog.text


def test_ties_go_to_the_earlier_trial_whatever_the_finishing_order(tmp_path):
    def offer(order):
        kept = KeptWeights(tmp_path / str(order), 2)
        for tid in order:
            kept.offer(tid, {"status": "ok", "score": 1.0 if tid != 3 else 0.5, "genotype": "g"}, b"w%d" % tid)
        return sorted(kept.kept), _files(tmp_path / str(order))

    assert offer((0, 1, 2, 3)) == offer((3, 2, 1, 0)) == ([0, 1], [0, 1])
    kept = KeptWeights(tmp_path / "floor", 2)
    assert kept.floor() == float("-inf")
    kept.offer(0, {"status": "ok", "score": 0.3}, b"x")
    kept.offer(1, {"status": "ok", "score": 0.7}, b"x")
    assert kept.floor() == 0.3 and KeptWeights(tmp_path, 0).floor() is None
    assert not kept.offer(2, {"status": "failed", "score": None}, b"x")


def test_inline_and_dask_keep_the_same_weights(tmp_path):
    pytest.importorskip("distributed")
    kw = dict(budget=4, seed=11, progress=False, searcher_kwargs={"n_startup_jobs": 4}, keep_weights=2)
    run_search(tmp_path / "inline", SPACE, tiny_task(steps=6), **kw)
    run_search(tmp_path / "dask", SPACE, tiny_task(steps=6), workers=2, **kw)
    assert _files(tmp_path / "inline") == _files(tmp_path / "dask") and len(_files(tmp_path / "dask")) == 2
    for tid in _files(tmp_path / "inline"):
        a = torch.load(tmp_path / "inline" / "weights" / f"trial-{tid}.pt", weights_only=True)
        b = torch.load(tmp_path / "dask" / "weights" / f"trial-{tid}.pt", weights_only=True)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_keep_weights_setting_flag_and_default():
    from neurosage.analyses.settings import SearchConfig
    from neurosage.cli import build_parser

    assert weights_to_keep(None) == 1 and weights_to_keep(None, top_k=3) == 3 and weights_to_keep(0, top_k=3) == 0
    with pytest.raises(ConfigError, match="keep_weights"):
        SearchConfig(keep_weights=-1)
    with pytest.raises(ConfigError, match="keep-weights"):
        weights_to_keep(-2)
    args = build_parser().parse_args(["search", "run", "--keep-weights", "3"])
    assert args.keep_weights == 3
