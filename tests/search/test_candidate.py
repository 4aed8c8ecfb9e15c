from dataclasses import replace

import pytest

from helpers import tiny_task
from neurosage.search.candidate import evaluate_candidate
from neurosage.spaces import get_space


def test_record_has_scores_matrix_and_costs():
    task = tiny_task()
    rec = evaluate_candidate(str(get_space("pnas", 2).sample(0)), task, seed=1)
    assert rec["status"] == "ok", rec.get("error")
    assert 0 <= rec["P"] <= 1 and rec["score"] == pytest.approx(rec["P"] + rec["TG"])
    assert rec["endpoints"] == ["V4", "IT"] and len(rec["similarity"]) == 2 and len(rec["similarity"][0]) == len(rec["layers"])
    assert rec["TG"] == pytest.approx(sum(rec["S"].values()) / 2)
    assert rec["examples"] == 24 and rec["params"] > 0 and rec["flops"] == 2 * rec["macs"]


def test_divergence_and_errors_are_records():
    rec = evaluate_candidate(str(get_space("pnas", 2).sample(0)), tiny_task(lr=1e15, steps=20), seed=0)
    assert rec["status"] == "diverged" and "loss became" in rec["error"]
    assert all(rec.get(k) is None for k in ("P", "TG", "score", "S", "similarity"))  # no accuracy of a diverged network is a result
    bad = evaluate_candidate("normal: nonsense", tiny_task(), seed=0)
    assert bad["status"] == "failed" and "cannot parse" in bad["error"]


def test_a_long_training_that_ends_at_chance_is_diverged_not_ok():
    """A learning rate of 1e-12 leaves the network where it started: after 100 steps P is chance, which is no result."""
    rec = evaluate_candidate(str(get_space("pnas", 2).sample(0)), tiny_task(lr=1e-12, steps=100, objective="p"), seed=0)
    assert rec["status"] == "diverged" and rec["score"] is None, rec
    assert "ended at chance after 100 steps" in rec["error"] and "on 16 images (chance 0.500" in rec["error"]


def test_nan_weights_after_the_last_step_mark_the_trial_diverged(monkeypatch):
    import torch

    import neurosage.search.candidate
    import neurosage.training.loop

    real_train = neurosage.training.loop.train

    def train_then_blow_up(net, *args, **kwargs):
        result = real_train(net, *args, **kwargs)
        with torch.no_grad():
            next(net.parameters()).fill_(float("nan"))  # the last update made the weights NaN, the loss was still finite
        return result

    monkeypatch.setattr(neurosage.search.candidate, "train", train_then_blow_up)
    for objective in ("p", "p+tg"):
        rec = evaluate_candidate(str(get_space("pnas", 2).sample(0)), tiny_task(objective=objective), seed=1)
        assert rec["status"] == "diverged" and rec["score"] is None and "non-finite" in rec["error"]


def test_scores_over_the_noise_ceiling_are_recorded():
    import json

    task = tiny_task()
    task.teacher.rdms.attrs["ceilings"] = json.dumps({"V4": 0.5, "IT": 0.8})
    rec = evaluate_candidate(str(get_space("pnas", 2).sample(0)), task, seed=1)
    assert rec["S_ceiled"] == pytest.approx({"V4": rec["S"]["V4"] / 0.5, "IT": rec["S"]["IT"] / 0.8})
    assert rec["TG_ceiled"] == pytest.approx((rec["S"]["V4"] / 0.5 + rec["S"]["IT"] / 0.8) / 2)


def test_tasks_on_cpu_are_used_as_they_are_and_cuda_needs_no_worker():
    from neurosage.search.candidate import resident_task
    from neurosage.training.devices import worker_device

    task = tiny_task()
    assert resident_task(task) is task
    assert worker_device(None) is None and worker_device("cpu") == "cpu" and worker_device("cuda:1") == "cuda:1"


def test_one_process_evaluates_the_same_candidate_to_the_same_record():
    task = tiny_task()
    genotype = str(get_space("pnas", n_blocks=2).sample(3))
    a, b = evaluate_candidate(genotype, task, 5), evaluate_candidate(genotype, task, 5)
    assert (a["P"], a["TG"], a["train_loss"]) == (b["P"], b["TG"], b["train_loss"])


@pytest.mark.gpu
def test_resident_images_on_cuda_give_the_host_path_scores():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from dataclasses import replace

    genotype = str(get_space("pnas", n_blocks=2).sample(3))
    host = evaluate_candidate(genotype, replace(tiny_task(), device="cuda"), 5)
    resident = evaluate_candidate(genotype, replace(tiny_task(), device="cuda", resident_train=True), 5)
    assert host["status"] == resident["status"] == "ok"
    assert host["P"] == pytest.approx(resident["P"], abs=0.02) and host["TG"] == pytest.approx(resident["TG"], abs=0.02)


def test_a_layer_wise_candidate_with_a_1x1_conv_on_grey_images_is_scored():
    # its first weight is (c, 1, 1, 1) in channels_last, where torch 2.14's isfinite fails under autograd
    task = tiny_task(objective="p+tg")
    task = replace(task, network=replace(task.network, width_multiplier=0.25))
    record = evaluate_candidate("layers: 1x1/24 <- img | 3x1/36 <- 0 | 1x3/24 <- img | 3x3/24 <- 1,2", task, seed=0)
    assert record["status"] == "ok", record.get("error")
    assert record["layers"] == ["layer_0", "layer_1", "layer_2", "layer_3"] and 0 <= record["P"] <= 1


def test_outputs_that_blow_up_with_finite_weights_mark_the_trial_diverged(monkeypatch):
    """Huge but finite weights (lr = 1e12 without clipping) give non-finite activations: diverged, not 'failed: drop those neuroids'."""
    import torch

    import neurosage.search.candidate
    import neurosage.training.loop

    real_train = neurosage.training.loop.train

    def train_then_scale(net, *args, **kwargs):
        result = real_train(net, *args, **kwargs)
        with torch.no_grad():
            for module in net.modules():
                if isinstance(module, torch.nn.BatchNorm2d) and module.affine:
                    module.weight.fill_(3e38)  # finite (float32 max 3.4e38), but any normalised value above 1.14 overflows
        return result

    monkeypatch.setattr(neurosage.search.candidate, "train", train_then_scale)
    rec = evaluate_candidate(str(get_space("pnas", 2).sample(0)), tiny_task(), seed=1)
    assert rec["status"] == "diverged" and rec["score"] is None and "val_loss" in rec["error"], rec["error"]


def test_a_teacher_given_to_a_task_scored_by_p_alone_is_said_to_be_unused(caplog):
    """Round 23 Q59: CandidateTask(objective='p', teacher=T) passed its check without a word, and the teacher was never used."""
    from neurosage.search.candidate import CandidateTask

    task = tiny_task()
    assert task.teacher is not None
    CandidateTask(task.train_set, task.val_set, teacher=task.teacher, objective="p").check()
    assert "the task's teacher is not used" in caplog.text
