"""Mistakes a new user made with pools and the bench (a fresh-eyes round): each gets one clear error before any work,
never a silent clamp, an overwritten result or a foreign exception."""

import json
import shutil

import pytest

from neurosage.cli import main
from neurosage.core.errors import ConfigError, NeurosageError, RunFolderError
from neurosage.pool import Pool, PoolSpec, bench_teacher, build_pool, score_teachers
from pool.test_pool import TINY, _data, _stimuli, _teacher

SPEC = PoolSpec(**{**TINY.__dict__, "n_architectures": 6, "second_seed": 0, "long_subset": 0})


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    train, val, test = _data()
    return build_pool(tmp_path_factory.mktemp("run") / "pool", SPEC, train, val, test, stimuli=_stimuli(), progress=False)


def test_build_pool_refuses_data_it_cannot_use_before_writing_anything(tmp_path):
    train, val, test = _data()
    cases = [(dict(stimuli=test), "also test images"), (dict(workers=0), "workers must be a positive"),
             (dict(train=train.images.numpy()), "train must be an ImageSet")]
    for change, message in cases:
        args = {"train": train, "val": val, "test": test, "stimuli": _stimuli(), **change}
        with pytest.raises(ConfigError, match=message):
            build_pool(tmp_path / "p", SPEC, args.pop("train"), args.pop("val"), args.pop("test"), progress=False, **args)
    with pytest.raises(ConfigError, match="batch-size = 64 is more than the 40 training images"):
        build_pool(tmp_path / "p", PoolSpec(**{**SPEC.__dict__, "batch_size": 64}), train, val, test, progress=False)
    assert not (tmp_path / "p").exists()
    with pytest.raises(ConfigError, match="unknown network settings"):
        PoolSpec(network={"filterz": 4})
    with pytest.raises(ConfigError, match="applies to layer-wise spaces"):
        PoolSpec(space="pnas", n_blocks=2)


def test_a_damaged_or_incomplete_pool_says_which_file_and_how_to_mend_it(pool, tmp_path):
    copy = shutil.copytree(pool.folder.path, tmp_path / "copy")
    with pytest.raises(RunFolderError, match="give the pool's own folder, e.g."):
        Pool(tmp_path)
    (copy / "architectures.csv").unlink()
    with pytest.raises(RunFolderError, match="architectures.csv is missing.*run build_pool on the folder again"):
        Pool(copy).architectures()
    shutil.rmtree(copy / "checkpoints" / "arch-0003")
    train, val, test = _data()
    again = build_pool(copy, SPEC, train, val, test, stimuli=_stimuli(), progress=False)  # the missing weights are trained again
    assert again.folder.pool_weights(3, 0).is_file() and again.architectures().equals(pool.architectures().assign(
        train_seconds=again.architectures().train_seconds))
    (copy / "pool.json").write_text("{half")
    with pytest.raises(RunFolderError, match="damaged pool record"):
        Pool(copy)
    with pytest.raises(ConfigError, match="step 7 is not stored"):
        pool.layer_rdms(0, 7)


def test_the_bench_refuses_what_would_mislead(pool):
    teacher = _teacher(pool.stimuli())
    with pytest.raises(ConfigError, match="pool-size 50 is more than the pool's 6"):
        bench_teacher(pool, teacher, pool_size=50, progress=False)
    with pytest.raises(ConfigError, match="pool-size 6 is all of the pool's 6 trained architectures") as caught:
        bench_teacher(pool, teacher, pool_size=6, progress=False)  # every sub-pool the whole pool: intervals of no width
    assert "at most 5" in caught.value.fix
    with pytest.raises(ConfigError, match="the name of a control"):
        bench_teacher(pool, {"pixels": teacher}, pool_size=4, progress=False)
    with pytest.raises(ConfigError, match="not a Teacher"):
        bench_teacher(pool, teacher.rdms, pool_size=4, progress=False)
    with pytest.raises(ConfigError, match="n-bootstrap must be an integer of at least 10"):
        bench_teacher(pool, teacher, n_bootstrap=1, pool_size=4, progress=False)
    with pytest.raises(ConfigError, match="fewer than 5 values of 'M_long'"):
        bench_teacher(pool, teacher, target="M_long", pool_size=4, progress=False)
    with pytest.raises(ConfigError, match="mapping"):
        score_teachers(pool, teacher, progress=False)
    result = bench_teacher(pool, {"categoryNet": teacher}, n_bootstrap=20, pool_size=4, progress=False)
    assert "categoryNet beyond pixels" in set(result.scores.teacher)  # a name is a name: no prefix rule drops its rows
    mine = result.headline("categoryNet")
    assert len(mine) and mine.measure.str.contains("categoryNet").all()
    with pytest.raises(ConfigError, match="no teacher 'nobody'"):
        result.headline("nobody")
    with pytest.raises(ConfigError, match="step 3 is not among"):
        result.headline(step=3)


def test_the_bench_command_never_overwrites_another_teachers_results(pool, capsys):
    folder = str(pool.folder.path)
    assert main(["bench", folder, "--teacher", "control:category", "--bootstrap", "20", "--pool-size", "4"]) == 2  # round 24 C10
    assert "has the same RDMs as the control 'category'" in capsys.readouterr().err  # its value beyond itself: 0 by construction
    assert main(["bench", folder, "--teacher", "control:category", "--bootstrap", "20", "--pool-size", "4", "--no-controls"]) == 0
    out = pool.folder.path / "bench-control_category"
    assert json.loads((out / "settings.json").read_text())["spec"] == "control:category"
    assert main(["bench", folder, "--teacher", "control:pixels", "--bootstrap", "20", "--pool-size", "4", "--out", str(out)]) == 2
    assert "holds the bench of another teacher" in capsys.readouterr().err
    (pool.folder.path / "afile").write_text("x")
    assert main(["bench", folder, "--teacher", "control:pixels", "--pool-size", "4", "--out", str(pool.folder.path / "afile")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_other_commands_on_a_pool_folder_say_what_it_is(pool, capsys):
    folder = str(pool.folder.path)
    assert main(["search", folder, "--resume"]) == 2
    assert "holds an architecture pool, not a search" in capsys.readouterr().err
    assert main(["export", "brainscore", folder]) == 2
    err = capsys.readouterr().err
    assert "holds an architecture pool (pool.json), not a search" in err and f"neurosage bench {folder} --teacher" in err
    assert main(["status", folder]) == 2
    assert "neurosage bench" in capsys.readouterr().err
    assert main(["figures", folder]) == 2  # round 11 #13: "has no analysis results; run neurosage analyze ... first"
    assert f"is an architecture pool; a teacher bench on it draws its figure (value.png) in its own folder; fix: neurosage bench {folder}" \
        in capsys.readouterr().err
    with pytest.raises(NeurosageError, match="is an architecture pool .built., not a search.*neurosage bench"):
        from neurosage.runs.status import search_status

        search_status(pool.folder.path)


def test_more_fresh_eyes_mistakes_get_one_clear_error():
    import torch

    from neurosage.nets.build import build_network
    from neurosage.proxies import zero_cost_scores
    from neurosage.rsa import COMPARE_METHODS
    from neurosage.spaces import PNASNET_5
    from neurosage.teachers.kinds import teacher_from_spec

    with pytest.raises(ConfigError, match="empty field"):
        teacher_from_spec("net:cifar_resnet-1:stack1:", _stimuli())
    net = build_network(PNASNET_5, skeleton="cifar", n_cells=1, filters=4, num_classes=10)
    labels = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ConfigError, match="images have 1 channels .* first convolution takes 3"):
        zero_cost_scores(net, torch.rand(4, 1, 16, 16), labels, names=["synflow"])
    with pytest.raises(ConfigError, match="channels last"):
        zero_cost_scores(net, torch.rand(4, 16, 16, 3), labels, names=["synflow"])
    with pytest.raises(ConfigError, match="without its batch axis"):
        zero_cost_scores(net, torch.rand(3, 16, 16), labels[:1], names=["synflow"])
    with pytest.raises(ConfigError, match="already means 'pearson'"):
        COMPARE_METHODS.register("neg_x", lambda a, b, *, device=None: None, aliases=("corr",))
    with pytest.raises(ConfigError, match="cannot be found"):
        COMPARE_METHODS.register("neg_y", lambda a, b, *, device=None: None, bootstrap="nomodule:fn")
    assert "neg_x" not in COMPARE_METHODS and "neg_y" not in COMPARE_METHODS


def test_misaligned_pandas_inputs_and_string_layers_are_refused():
    import numpy as np
    import pandas as pd

    from neurosage.stats.predictors import cv_alpha, predictor_value, rank_agreement
    from neurosage.teachers.controls import pixel_teacher, untrained_teacher

    rng = np.random.default_rng(0)
    s = pd.Series(rng.normal(size=30), index=range(30))
    t = pd.Series(rng.normal(size=30), index=range(29, -1, -1))
    with pytest.raises(ConfigError, match="different indexes"):
        predictor_value(s, t, n_bootstrap=20)
    with pytest.raises(ConfigError, match="different indexes"):
        rank_agreement(s, t, n_bootstrap=20)
    with pytest.raises(ConfigError, match="different indexes"):
        cv_alpha(s, s, t, n_bootstrap=20)
    assert predictor_value(s, t.sort_index(), n_bootstrap=20)["n"] == 30  # aligned: accepted
    with pytest.raises(ConfigError, match="layers is the string .stack1,stack2.; it takes a list"):
        untrained_teacher("cifar_resnet-1", "stack1,stack2", _stimuli(), seed=0)
    with pytest.raises(ConfigError, match="must be an ImageSet"):
        pixel_teacher(_stimuli().images.numpy())


def test_an_empty_selection_and_a_journal_of_a_pool_are_refused(pool):
    """Round 25 P06: score_teachers(steps=[]) scored nothing without a word; P37: RunFolder(pool).journal() made a
    journal inside the pool, and status then showed the pool as a search."""
    from neurosage.runs.folder import RunFolder

    with pytest.raises(ConfigError, match="steps is empty, so nothing would be scored"):
        score_teachers(pool, {"t": _teacher(pool.stimuli())}, steps=[])
    with pytest.raises(RunFolderError, match="holds an architecture pool"):
        RunFolder(pool.folder.path).journal()
    assert not (pool.folder.path / "journal.sqlite").exists()
