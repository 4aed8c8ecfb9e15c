"""A flag that needs an optional extra is refused before any work, with the pip install that brings it."""

import pytest

from neurosage.cli import main
from neurosage.core import extras
from neurosage.core.errors import ConfigError
from neurosage.core.extras import EXTRAS, require_extra


@pytest.fixture
def without_extras(monkeypatch):
    """As if dask, dask-jobqueue and optuna were not installed (a module name that cannot exist takes their place)."""
    for extra in EXTRAS:
        monkeypatch.setitem(EXTRAS, extra, (f"neurosage_absent_{extra}",))


def test_the_installed_extras_pass_and_a_missing_one_names_the_install():
    for extra in EXTRAS:
        assert extras.missing_modules(extra) == []  # the test extras install them all
        require_extra(extra, "--flag")


def test_require_extra_names_the_flag_and_the_pip_line(without_extras):
    with pytest.raises(ConfigError, match=r"--workers 2 needs neurosage_absent_distributed, which is not installed; "
                                          r"fix: pip install 'neurosage\[distributed\]'"):
        require_extra("distributed", "--workers 2", field="workers")


@pytest.mark.parametrize("command, extra", [
    (["search", "{run}", "--workers", "2"], "distributed"),
    (["search", "{run}", "--scheduler", "tcp://127.0.0.1:1"], "distributed"),
    (["search", "{run}", "--slurm-jobs", "2"], "slurm"),
    (["demo", "--run-dir", "{run}", "--workers", "2"], "distributed"),
    (["analyze", "predictability", "--run-dir", "{run}", "--workers", "2"], "distributed"),
    (["analyze", "teacher_bench", "--run-dir", "{run}", "--config", "configs/teacher-bench.toml"], "distributed"),  # workers = 2 in the file
])
def test_every_flag_that_needs_an_extra_is_refused_first_and_leaves_no_run_folder(command, extra, tmp_path, capsys, without_extras,
                                                                                 monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    run = tmp_path / "run"
    assert main([part.format(run=run) for part in command] + ["--data", str(tmp_path / "no-data")]) == 2
    err = capsys.readouterr().err
    assert f"pip install 'neurosage[{extra}]'" in err and "Traceback" not in err
    assert not run.exists()
