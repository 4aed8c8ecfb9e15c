"""Divergence as an outcome: a non-finite loss, or a long training ending at chance, is ``diverged``; a run where most
trainings diverged stops naming the learning rate."""

from types import SimpleNamespace

import pytest
from scipy.stats import binomtest

from neurosage.core.errors import TrainingDiverged
from neurosage.training.divergence import CHANCE_ALPHA, CHANCE_MIN_STEPS, WATCH_MIN, DivergenceWatch, chance_ending, training_outcome


def test_a_long_training_at_chance_has_diverged_and_a_short_or_learning_one_has_not():
    assert "ended at chance after 200 steps: top-1 0.100 on 1000 images (chance 0.100" in chance_ending(0.10, 1000, 10, 200)
    assert chance_ending(0.10, 1000, 10, CHANCE_MIN_STEPS - 1) is None  # too short to tell
    assert chance_ending(0.15, 1000, 10, 200) is None  # 150 of 1000 right: far above 10%
    # the boundary is scipy's one-sided binomial test at CHANCE_ALPHA
    for correct in range(100, 160):
        above = binomtest(correct, 1000, 0.1, alternative="greater").pvalue < CHANCE_ALPHA
        assert (chance_ending(correct / 1000, 1000, 10, 500) is None) == above
    assert chance_ending(float("nan"), 1000, 10, 500) is None  # a NaN accuracy is the loss check's to report


def test_training_outcome_keeps_the_loop_s_verdict_and_adds_the_chance_ending():
    nan_loss = SimpleNamespace(status="diverged", error="loss became nan at step 3", steps=3)
    assert training_outcome(nan_loss, 0.9, 100, 10) == ("diverged", "loss became nan at step 3")
    status, error = training_outcome(SimpleNamespace(status="ok", error=None, steps=300), 0.5, 100, 2)
    assert status == "diverged" and error.startswith("diverged: ended at chance after 300 steps")
    assert training_outcome(SimpleNamespace(status="ok", error=None, steps=300), 0.9, 100, 2) == ("ok", None)


def test_the_watch_stops_a_run_where_most_trainings_diverged_naming_lr():
    watch = DivergenceWatch("trials", 5.0, "--lr", "run/trials.csv")
    for _ in range(WATCH_MIN - 1):
        watch.add("diverged", "loss became nan at step 2")  # all diverged, but too few to judge
    fresh = DivergenceWatch("trials", 5.0, "--lr", "run/trials.csv")
    for status in ("ok", "ok", "diverged", "diverged"):
        fresh.add(status, "loss became nan at step 2" if status == "diverged" else None)  # 2 of 4: not most
    with pytest.raises(TrainingDiverged) as caught:
        fresh.add("diverged", "loss became inf")
    text = str(caught.value)
    assert "run/trials.csv: field 'lr': 3 of the 5 trials finished so far diverged (e.g. loss became nan at step 2)" in text
    assert "(lr = 5)" in text and "fix: lower the learning rate (--lr), e.g. to 0.5" in text
    half = DivergenceWatch("trials", 0.1, "--lr")
    for status in ["ok", "diverged"] * 4:
        half.add(status)  # half is not most
