"""The teacher bench on the embedded default: pool, teachers and controls, records; the plan's primary numbers follow
from the records by an independent recomputation."""

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from helpers import TINY_ANALYSIS
from neurosage.analyses.config_loading import load_config
from neurosage.analyses.settings import CELL_OPTIONS
from neurosage.analyses.teacher_bench import RECORDS, TeacherBenchConfig, run
from neurosage.core.errors import ConfigError

TINY_BENCH = dict(n_architectures=6, checkpoints=(2, 4), mature_steps=6, second_seed=2, long_subset=2, long_epochs=0.1, bench_epochs=(0.05,),
                  deep_epochs=0.0, n_bootstrap=60, pool_size=4, top_k=2, **{k: v for k, v in TINY_ANALYSIS.items() if k not in CELL_OPTIONS})


def test_the_bench_writes_records_a_reader_can_check(tmp_path, tiny_fmnist):
    config = load_config(TeacherBenchConfig, data=str(tiny_fmnist), **TINY_BENCH)
    headline = run(tmp_path, config)
    records = tmp_path / RECORDS
    teachers = pd.read_csv(records / "teachers.csv")
    assert set(teachers.teacher) == {"resnet8-0.05ep", "resnet8-untrained"}
    scores = pd.read_csv(records / "scores.csv")
    assert {"resnet8-0.05ep", "resnet8-untrained", "pixels", "category", "resnet8-0.05ep beyond pixels"} <= set(scores.teacher)
    arch, checkpoints = pd.read_csv(records / "architectures.csv"), pd.read_csv(records / "checkpoints.csv")
    assert len(arch) == 6 and sorted(checkpoints.step.unique()) == [0, 2, 4] and arch.M_long.notna().sum() == 2
    value = pd.read_csv(records / "value.csv")
    # the primary statistic, recomputed from the records: partial r of stack3 with M_short given P at the last step
    s3 = scores[(scores.teacher == "resnet8-0.05ep") & (scores.endpoint == "stack3") & (scores.step == 4)].set_index("arch").S
    at = checkpoints[checkpoints.step == 4].set_index("arch").join(arch.set_index("arch").M_short).join(s3)
    rx = scipy.stats.linregress(at.P, at.S)
    ry = scipy.stats.linregress(at.P, at.M_short)
    expected = np.corrcoef(at.S - (rx.intercept + rx.slope * at.P), at.M_short - (ry.intercept + ry.slope * at.P))[0, 1]
    row = value[(value.step == 4) & (value.target == "M_short") & (value.measure == "S:resnet8-0.05ep:stack3")].iloc[0]
    assert row.partial_r == pytest.approx(expected, abs=1e-4)
    assert row.partial_low <= row.partial_r <= row.partial_high
    assert "S:resnet8-0.05ep:stack3" in set(headline.measure)
    summary = json.loads((records / "summary.json").read_text())
    assert summary["best_trained_teacher"] == "resnet8-0.05ep" and summary["architectures"] == 6
    from neurosage.figures import make_all

    drawn = make_all(tmp_path)
    assert {"teacher_value", "teacher_bench_tables"} <= set(drawn.written)
    primary = (tmp_path / "figures" / "teacher_bench_primary.md").read_text()
    assert f"{row.partial_r:+.3f}" in primary and "resnet8-0.05ep beyond pixels" in primary


def test_bench_settings_are_checked_before_any_data():
    with pytest.raises(ConfigError, match="long-subset"):
        TeacherBenchConfig(n_architectures=6, second_seed=0, long_subset=8, pool_size=4, top_k=2)
    with pytest.raises(ConfigError, match="n-architectures = 1 is too few"):  # round 29's T04: pool-size's fix could not fit it
        TeacherBenchConfig(n_architectures=1)
    with pytest.raises(ConfigError, match="checkpoints"):
        TeacherBenchConfig(checkpoints=(20, 10))
    with pytest.raises(ConfigError, match="pool-size = 200 must lie between 2 and n-architectures = 128"):
        TeacherBenchConfig(pool_size=200)
    with pytest.raises(ConfigError, match="top-k = 20 is more than pool-size"):
        TeacherBenchConfig(top_k=20)
    with pytest.raises(ConfigError, match="n-bootstrap = 5"):
        TeacherBenchConfig(n_bootstrap=5)
    with pytest.raises(ConfigError, match="teacher is set, but the teacher bench trains and scores its own teachers") as exc:
        TeacherBenchConfig(teacher="net:cifar_resnet-1:stack1")
    assert "neurosage bench" in exc.value.fix
