"""A pool is built once (resumable, the same on any executor) and any teacher is scored from its checkpoints."""

import numpy as np
import pandas as pd
import pytest
import torch

from neurosage.core.errors import ConfigError, RunFolderError, TrainingDiverged
from neurosage.data_adapters.imageset import ImageSet
from neurosage.pool import Pool, PoolSpec, build_pool, score_teachers
from neurosage.rsa.rdm import compute_rdms
from neurosage.runs import RunFolder
from neurosage.teachers.teacher import Teacher
from neurosage.training.configs import NetworkConfig, RDMOptions

TINY = PoolSpec(n_architectures=3, checkpoints=(2, 4), mature_steps=6, batch_size=8, second_seed=1, long_subset=1, long_epochs=0.2,
                proxy_batch=8, network=NetworkConfig(width_multiplier=0.125))


def _all(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(80, 1, 8, 8), dtype=np.uint8)
    labels = (images.reshape(80, -1).mean(1) > 127).astype(int)
    data = ImageSet(images, labels, mean=0.5, std=0.25)
    data.stimulus_ids = [f"s{i}" for i in range(80)]
    return data


def _data(seed=0):
    data = _all(seed)
    return data.subset(range(40)), data.subset(range(40, 52)), data.subset(range(52, 64))


def _stimuli(seed=0):
    """Teacher stimuli the candidates never train or test on."""
    return _all(seed).subset(range(64, 80))


def _teacher(stimuli, split=32):
    flat = stimuli.images.reshape(len(stimuli), -1).double().numpy()
    return Teacher(compute_rdms({"V4": flat[:, :split], "IT": flat[:, split:]}, labels=list(stimuli.stimulus_ids)), stimuli)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    run = tmp_path_factory.mktemp("pool")
    train, val, test = _data()
    return build_pool(run, TINY, train, val, test, progress=False), (train, val, test)


def test_a_pool_keeps_weights_p_and_targets_at_every_stored_step(built):
    pool, _ = built
    arch, checkpoints = pool.architectures(), pool.checkpoints()
    assert list(arch.arch) == [0, 1, 2] and (arch.status == "ok").all()
    assert sorted(checkpoints.step.unique()) == [0, 2, 4] and len(checkpoints) == 9
    assert arch.M_short.between(0, 1).all() and arch.M_short_2.notna().sum() == 1 and arch.M_long.notna().sum() == 1
    assert arch.long_steps.dropna().iloc[0] >= 1
    assert {"proxy_synflow", "proxy_naswot", "params", "flops"} <= set(arch.columns)
    for a in range(3):
        for step in (0, 2, 4):
            assert pool.folder.pool_weights(a, step).is_file()
    early, late = pool.network(0, 0), pool.network(0, 4)
    assert any(not torch.equal(p, q) for p, q in zip(early.state_dict().values(), late.state_dict().values()))


def test_a_rebuilt_network_gives_the_recorded_p(built):
    from neurosage.training.evaluation import evaluate

    pool, (_, val, _) = built
    recorded = pool.checkpoints().set_index(["arch", "step"]).P
    assert float(evaluate(pool.network(1, 2), val)["top1"]) == pytest.approx(recorded[(1, 2)])


def test_a_rerun_trains_nothing_and_another_spec_is_refused(built):
    pool, (train, val, test) = built
    before = pool.folder.pool_architectures.read_text()
    again = build_pool(pool.folder.path, TINY, train, val, test, progress=False)
    assert again.folder.pool_architectures.read_text() == before
    with pytest.raises(ConfigError, match="other settings.*mature_steps"):
        build_pool(pool.folder.path, PoolSpec(**{**TINY.__dict__, "mature_steps": 8}), train, val, test, progress=False)


def test_a_layer_wise_pool_recorded_with_an_unused_n_blocks_reads_and_resumes_as_built(built, tmp_path):
    """Earlier versions recorded the teacher bench's n_blocks (3) for a layer-wise pool, where it never applied."""
    import json
    import shutil

    pool, (train, val, test) = built
    assert "n_blocks" not in pool.spec.to_dict()  # layers-10: the depth is in the space's name
    old = tmp_path / "old"
    shutil.copytree(pool.folder.path, old)
    info = json.loads((old / pool.folder.pool_file.name).read_text())
    info["spec"]["n_blocks"] = 3
    (old / pool.folder.pool_file.name).write_text(json.dumps(info))
    assert Pool(old).spec == TINY
    before = RunFolder(old).pool_architectures.read_text()
    build_pool(old, TINY, train, val, test, progress=False)  # resumes: nothing differs that ever applied
    assert RunFolder(old).pool_architectures.read_text() == before
    assert "n_blocks" not in json.loads((old / pool.folder.pool_file.name).read_text())["spec"]


def test_an_interrupted_build_resumes_where_it_stopped(tmp_path):
    train, val, test = _data()
    whole = build_pool(tmp_path / "whole", TINY, train, val, test, progress=False)
    build_pool(tmp_path / "cut", PoolSpec(**{**TINY.__dict__}), train, val, test, progress=False)
    cut = RunFolder(tmp_path / "cut")
    cut.pool_record(2).unlink()  # as if stopped before the third architecture finished
    resumed = build_pool(cut.path, TINY, train, val, test, progress=False)
    pd.testing.assert_frame_equal(resumed.architectures().drop(columns=["train_seconds"]), whole.architectures().drop(columns=["train_seconds"]))
    pd.testing.assert_frame_equal(resumed.checkpoints(), whole.checkpoints())


def test_a_pool_where_most_trainings_diverge_stops_naming_lr_and_its_table_says_why(tmp_path):
    train, val, test = _data()
    spec = PoolSpec(**{**TINY.__dict__, "n_architectures": 5, "second_seed": 0, "long_subset": 0, "lr": 1e15})
    with pytest.raises(TrainingDiverged, match=r"4 of the 4 pool trainings finished so far diverged .*\(lr = 1e\+15\)"):
        build_pool(tmp_path, spec, train, val, test, progress=False)
    table = pd.read_csv(tmp_path / "architectures.csv")
    assert list(table.status) == ["diverged"] * 4 and table.error.str.contains("loss became").all()
    assert table.M_short.isna().all() if "M_short" in table else True


def test_teachers_and_controls_are_scored_from_the_checkpoints(built):
    pool, (_, _, test) = built
    stimuli = test
    teachers = {"teacher": _teacher(stimuli), "other": _teacher(stimuli, split=16)}
    scores = score_teachers(pool, teachers, rdm=RDMOptions(subsample_features=None), progress=False)
    assert len(scores) == 2 * 2 * 3 * 3 and set(scores.teacher) == {"teacher", "other"}
    assert scores.S.between(-1, 1).all()
    from neurosage.teachers.scoring import score_model

    direct = score_model(pool.network(2, 4), teachers["teacher"], [e for e in pool.network(2, 4).endpoints if e not in ("stem", "pool")],
                         rdm=RDMOptions(subsample_features=None))
    row = scores[(scores.teacher == "teacher") & (scores.arch == 2) & (scores.step == 4)].set_index("endpoint").S
    assert row["V4"] == pytest.approx(direct.per_endpoint["V4"]) and row["IT"] == pytest.approx(direct.per_endpoint["IT"])


def test_bad_requests_name_the_fix(built, tmp_path):
    pool, _ = built
    with pytest.raises(RunFolderError, match="no architecture pool"):
        Pool(tmp_path)
    with pytest.raises(ConfigError, match="not stored"):
        score_teachers(pool, {"t": _teacher(built[1][2])}, steps=[3], progress=False)
    with pytest.raises(ConfigError, match="checkpoints"):
        PoolSpec(checkpoints=(10, 5))
    with pytest.raises(ConfigError, match="long-subset"):
        PoolSpec(n_architectures=4, second_seed=0, long_subset=5)


def test_the_bench_answers_with_controls_intervals_and_regret(tmp_path):
    from neurosage.pool import bench_teacher

    train, val, test = _data()
    spec = PoolSpec(**{**TINY.__dict__, "n_architectures": 7, "second_seed": 0, "long_subset": 0})
    pool = build_pool(tmp_path / "pool", spec, train, val, test, stimuli=_stimuli(), progress=False)
    assert list(pool.stimuli().stimulus_ids) == list(_stimuli().stimulus_ids) and torch.equal(pool.stimuli().images, _stimuli().images)
    result = bench_teacher(pool, _teacher(pool.stimuli()), n_bootstrap=50, pool_size=4, progress=False)
    assert {"teacher", "pixels", "category", "teacher beyond pixels"} <= set(result.scores.teacher)
    head = result.headline()
    assert {"TG:teacher", "S:teacher:V4", "TG:pixels"} <= set(head.measure)
    assert (head.r_low <= head.r).all() and (head.r <= head.r_high).all()
    assert {"P@4", "random pick"} <= set(result.selection.rule) and (result.selection.mean_regret >= 0).all()
    out = result.save(tmp_path / "bench")
    for name in ("scores.csv", "measures.csv", "value.csv", "alpha.csv", "selection.csv", "settings.json", "value.png"):
        assert (out / name).is_file(), name
    assert pd.read_csv(out / "value.csv").equals(pd.read_csv(out / "value.csv"))


def test_a_warning_of_every_architecture_is_said_once_with_its_count(built):
    """A control that explains a teacher's endpoint entirely: one warning per architecture and step before (noise)."""
    import warnings

    pool, _ = built
    stimuli = _stimuli()
    teacher = _teacher(stimuli)
    ranked = Teacher(teacher.rdms.assign_attrs(compare_method="kendall_tau_a"), stimuli)  # scored through partial_scores
    control = Teacher(teacher.rdms.isel(rdm=[0]), stimuli)  # V4 itself
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score_teachers(pool, {"t": ranked}, beyond={"t": control}, progress=False)
    said = [str(w.message) for w in caught if "explained entirely" in str(w.message)]
    n = len(pool.architectures().query("status == 'ok'")) * len(pool.spec.steps)
    assert len(said) == 1 and f"said {n} times, the same, over the {n} architecture-steps scored" in said[0], said


def test_kept_layer_rdms_score_as_the_networks_do(tmp_path):
    train, val, test = _data()
    spec = PoolSpec(**{**TINY.__dict__, "n_architectures": 3, "second_seed": 0, "long_subset": 0, "subsample_features": 16, "n_subsamples": 3})
    pool = build_pool(tmp_path / "pool", spec, train, val, test, stimuli=_stimuli(), progress=False)
    assert pool.layer_rdms(1, 4) is not None and pool.layer_rdms(1, 4).sizes["rdm"] == 10
    with pytest.raises(ConfigError, match=r"architecture 99 is not in the pool \(it has 3: 0..2\)"):  # round 8 Q10: None, "kept none"
        pool.layer_rdms(99, 4)
    from neurosage.teachers.controls import pixel_teacher

    stimuli = pool.stimuli()
    ranked = _teacher(stimuli, split=16)
    teachers = {"t": _teacher(stimuli), "ranked": Teacher(ranked.rdms.assign_attrs(compare_method="spearman"), stimuli)}
    assert teachers["ranked"].compare_method == "spearman"
    beyond = {"t": pixel_teacher(stimuli), "ranked": pixel_teacher(stimuli, compare_method="spearman")}
    # the pool's own stimuli and options: scored from the kept triangles by one product (no network runs)
    kept = score_teachers(pool, teachers, beyond=beyond, progress=False)
    # from the weights, through the general chain (teacher_scores, partial_scores)
    rebuilt = score_teachers(pool, teachers, beyond=beyond, rdm=spec.rdm_options(), progress=False)
    assert set(kept.teacher) == {"t", "ranked", "t beyond pixels", "ranked beyond pixels"}
    merged = kept.merge(rebuilt, on=["teacher", "endpoint", "arch", "step"], suffixes=("_kept", "_rebuilt"), validate="one_to_one")
    assert len(merged) == len(kept) == len(rebuilt)
    assert np.allclose(merged.S_kept, merged.S_rebuilt, atol=1e-5) and (merged.best_layer_kept == merged.best_layer_rebuilt).all()


def test_a_pool_without_retrainings_has_empty_target_columns(tmp_path):
    """Round 9 #76: long-subset = 0 left no M_long column, and the teacher bench ended in a bare KeyError 'M_long'."""
    train, val, test = _data()
    spec = PoolSpec(**{**TINY.__dict__, "second_seed": 0, "long_subset": 0})
    table = build_pool(tmp_path, spec, train, val, test, progress=False).architectures()
    assert {"M_short_2", "M_long"} <= set(table.columns) and table[["M_short_2", "M_long"]].isna().all().all()
    assert table.M_short.notna().all()
