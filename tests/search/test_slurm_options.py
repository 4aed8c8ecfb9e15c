"""The Slurm flags without a Slurm: TOML table, conflicts, missing tools and a job Slurm refuses, each one clear error."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from neurosage.analyses.config_loading import load_config
from neurosage.analyses.settings import SearchConfig
from neurosage.cli import main
from neurosage.core.errors import ConfigError
from neurosage.runs.provenance import seal_record
from neurosage.runs.status import peak_running


def test_a_slurm_table_in_toml_sets_the_slurm_options(tmp_path):
    cfg = tmp_path / "search.toml"
    cfg.write_text('budget = 2\ndevice = "cuda"\n[slurm]\njobs = 3\npartition = "gpu"\ncores = 2\nmemory = "8GB"\nwalltime = "02:00:00"\ngpus = 1\n'
                   'extra = ["--account=lab"]\n')
    config = load_config(SearchConfig, cfg)
    options = config.slurm
    assert (options.jobs, options.partition, options.cores, options.memory, options.walltime) == (3, "gpu", 2, "8GB", "02:00:00")
    assert options.directives() == ["--account=lab", "--gres=gpu:1"]
    cfg.write_text('slurm-jobs = 2\n[slurm]\njobs = 3\n')
    with pytest.raises(ConfigError, match="given twice"):
        load_config(SearchConfig, cfg)
    cfg.write_text('[slurm]\njob = 3\n')
    with pytest.raises(ConfigError, match="did you mean 'jobs'"):
        load_config(SearchConfig, cfg)
    with pytest.raises(ConfigError, match="slurm_jobs"):
        SearchConfig(slurm_jobs=0)


def test_slurm_jobs_and_another_executor_are_refused(tmp_path, capsys):
    assert main(["search", str(tmp_path / "r"), "--slurm-jobs", "2", "--workers", "2"]) == 2
    assert "give one executor" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def _fake_tool(folder, name, text, code):
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{text}' >&2\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_missing_sbatch_and_a_refused_job_are_clear(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    assert main(["search", str(tmp_path / "r"), "--slurm-jobs", "2"]) == 2
    assert "sbatch is not on PATH" in capsys.readouterr().err
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "sbatch", "sbatch: error: invalid partition specified: nope", 1)
    _fake_tool(bin_dir, "sinfo", "sinfo: error: Could not establish a configuration source", 1)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    assert main(["search", str(tmp_path / "r1"), "--slurm-jobs", "2"]) == 2
    assert "cannot reach the Slurm controller" in capsys.readouterr().err
    _fake_tool(bin_dir, "sinfo", "", 0)
    assert main(["search", str(tmp_path / "r2"), "--slurm-jobs", "2", "--slurm-partition", "nope"]) == 2
    err = capsys.readouterr().err
    assert "Slurm refuses the worker job (sbatch: error: invalid partition specified: nope)" in err and "slurm_partition" in err
    assert not (tmp_path / "r2").exists()  # refused before any data or teacher work, and no run folder left behind
    _fake_tool(bin_dir, "sbatch", "sbatch: error: Invalid --time specification", 1)
    assert main(["search", str(tmp_path / "r3"), "--slurm-jobs", "2", "--slurm-walltime", "99:00:00"]) == 2
    assert "field 'slurm_walltime'" in capsys.readouterr().err


@pytest.mark.parametrize(("flags", "message"), [
    (["--slurm-memory", "lots"], "not an amount of memory"),
    (["--slurm-walltime", "1h"], "not a Slurm time"),
    (["--slurm-extra=--mem=1GB"], "use --slurm-memory instead"),
    (["--slurm-extra", "account=lab"], "not an sbatch option"),
])
def test_slurm_values_are_checked_before_anything_is_submitted(tmp_path, capsys, flags, message):
    assert main(["search", str(tmp_path / "r"), "--slurm-jobs", "1", *flags]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_slurm_options_without_slurm_jobs_are_refused(tmp_path, capsys):
    assert main(["search", str(tmp_path / "r"), "--slurm-partition", "gpu"]) == 2
    assert "slurm-partition is set but slurm-jobs is not" in capsys.readouterr().err


def test_slurm_table_mistakes_name_the_key(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text('[slurm]\njobs = 1\nmem = "3GB"\n')
    with pytest.raises(ConfigError, match="did you mean 'memory'"):
        load_config(SearchConfig, cfg)
    cfg.write_text('[slurm]\njobs = 1\nextra = "--account=lab"\n')
    with pytest.raises(ConfigError, match=r'fix: write it in brackets: extra = \["--account=lab"\]'):  # the key as written in [slurm]
        load_config(SearchConfig, cfg)


def test_peak_running_counts_overlapping_evaluations():
    records = [{"started": 0.0, "wall_time": 10.0}, {"started": 1.0, "wall_time": 3.0}, {"started": 5.0, "wall_time": 1.0},
               {"started": 10.0, "wall_time": 1.0}, {"status": "failed"}]
    assert peak_running(records) == 2  # a trial that starts as another ends does not overlap it
    assert peak_running([{"status": "failed"}]) is None


def test_a_site_jobqueue_yaml_is_honoured_unless_a_flag_overrides_it(tmp_path, monkeypatch, capsys, caplog):
    """The job script sbatch is shown carries the site's account, memory and directives; a flag changes only its value."""
    pytest.importorskip("dask_jobqueue")
    import dask

    site = tmp_path / "dask"
    site.mkdir()
    (site / "jobqueue.yaml").write_text("jobqueue:\n  slurm:\n    account: lab-42\n    memory: 16GB\n    cores: 3\n"
                                       "    job-extra-directives: ['--qos=short']\n")
    dask.config.refresh(paths=[*dask.config.paths, str(site)])  # as DASK_CONFIG=<site> before the run would
    try:
        bin_dir = tmp_path / "bin"
        _fake_tool(bin_dir, "sinfo", "", 0)
        seen = tmp_path / "seen.sh"  # sbatch --test-only keeps the script it was given, then refuses it
        (bin_dir / "sbatch").write_text(f"#!/bin/sh\ncp \"$2\" {seen}\necho 'sbatch: error: invalid partition specified: x' >&2\nexit 1\n")
        (bin_dir / "sbatch").chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        caplog.set_level("INFO", logger="neurosage.search.slurm")
        assert main(["search", str(tmp_path / "r"), "--slurm-jobs", "1", "--slurm-walltime", "00:10:00", "--slurm-extra=--qos=long"]) == 2
        script = seen.read_text()
        assert "#SBATCH -A lab-42" in script and "#SBATCH -n 1\n#SBATCH --cpus-per-task=3" in script  # the site's account and cores
        assert "#SBATCH --mem=15G" in script and "#SBATCH -t 00:10:00" in script  # the site's 16GB (as dask-jobqueue writes it); the flag's walltime
        assert script.index("--qos=short") < script.index("--qos=long")  # the site's directives, then the flag's
        said = caplog.text
        assert "memory 16GB (jobqueue.yaml)" in said and "walltime 00:10:00 (flag)" in said
        assert main(["search", str(tmp_path / "r2"), "--slurm-jobs", "1", "--slurm-memory", "2GB"]) == 2
        script = seen.read_text()
        assert "#SBATCH --mem=2G" in script and "#SBATCH -t 01:00:00" in script  # the flag's memory; no walltime anywhere: neurosage's
    finally:
        dask.config.refresh()


def test_peak_running_reads_the_iso_times_of_trials_csv():
    records = [{"started": "2026-12-06T17:36:25.235Z", "wall_time": 5.0}, {"started": "2026-12-06T17:36:27.000Z", "wall_time": 1.0},
               {"started": "2026-12-06T17:36:31.000+00:00", "wall_time": 1.0}, {"started": "not a time", "wall_time": 1.0}]
    assert peak_running(records) == 2


class _FakeJobs:
    """A cluster as dask's SpecCluster keeps it: specs by the lowest free number, jobs opened and closed to match them."""

    def __init__(self, ids):
        self.worker_spec = {i: {} for i in range(len(ids))}
        self.workers = {i: type("Job", (), {"job_id": job_id})() for i, job_id in enumerate(ids)}
        self.next_id = 100

    def scale(self, jobs):
        while len(self.worker_spec) < jobs:
            self.worker_spec[min(set(range(jobs + 1)) - set(self.worker_spec))] = {}
        for name in set(self.workers) - set(self.worker_spec):
            del self.workers[name]
        for name in set(self.worker_spec) - set(self.workers):
            self.next_id += 1
            self.workers[name] = type("Job", (), {"job_id": str(self.next_id)})()


def test_a_slurm_job_that_ended_is_replaced(tmp_path, monkeypatch):
    """JobKeeper closes a job squeue no longer lists, then submits its replacement once the cluster forgot it."""
    from neurosage.search.slurm import JobKeeper

    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "squeue", "", 0)
    (bin_dir / "squeue").write_text("#!/bin/sh\necho 6\necho 101\n")  # job 5 ended; 6 (and later 101) still run
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    cluster = _FakeJobs(["5", "6"])
    keeper = JobKeeper(cluster, jobs=2)
    assert keeper.check() == ["5"]
    assert {n: j.job_id for n, j in cluster.workers.items()} == {1: "6"}  # closed and forgotten first
    assert keeper.check() == []
    assert sorted(j.job_id for j in cluster.workers.values()) == ["101", "6"] and keeper.replaced == ["5"]
    assert keeper.check() == [] and len(cluster.workers) == 2  # nothing more while both run


@pytest.mark.parametrize(("yaml_text", "said"), [
    ("jobqueue:\n  slurm:\n    cores: two\n", "jobqueue.slurm.cores = "), ("jobqueue:\n  slurm:\n    memory: 3\n", "jobqueue.slurm.memory = "),
    ("jobqueue:\n  slurm:\n    walltime: 10 minutes\n", "jobqueue.slurm.walltime = "),
    ("jobqueue:\n  slurm:\n    job-extra-directives: '--exclusive'\n", "jobqueue.slurm.job-extra-directives = "),
    ("jobqueue:\n  slurm:\n    job-extra-directives: ['--mem=2G']\n", "jobqueue.slurm.job-extra-directives = "),
    # round 4 #6 and #138: a misspelt section or key was read by no one; a missing network interface was dask's words
    ("jobqueu:\n  slurm:\n    memory: 3GB\n", "section jobqueu in|is not one dask-jobqueue reads (did you mean jobqueue?)"),
    ("jobqueue:\n  slurrm:\n    memory: 3GB\n", "section jobqueue.slurrm in|(did you mean jobqueue.slurm?)"),
    ("jobqueue:\n  slurm:\n    memroy: 3GB\n", "jobqueue.slurm.memroy in|is not a setting dask-jobqueue knows (did you mean 'memory'?)"),
    ("jobqueue:\n  slurm:\n    interface: eth9\n", "jobqueue.slurm.interface = 'eth9' in the site's dask config"),
    # round 5 #120: sbatch's own request below what the worker uses
    ("jobqueue:\n  slurm:\n    memory: 3GB\n    job-mem: 1GB\n",
     "jobqueue.slurm.job-mem = '1GB'|drop it (neurosage asks Slurm for the worker's own memory: 3GB)"),
    ("jobqueue:\n  slurm:\n    cores: 2\n    job-cpu: 1\n", "jobqueue.slurm.job-cpu = 1"),
    # round 6 #48, #49: a string where a list goes (one character per script line); values under another scheduler
    ("jobqueue:\n  slurm:\n    job-script-prologue: 'module load cuda'\n", "jobqueue.slurm.job-script-prologue = 'module load cuda'|not a list"),
    ("jobqueue:\n  pbs:\n    memory: 3GB\n", "sets jobqueue.pbs and nothing under jobqueue.slurm|move the values under jobqueue: slurm:"),
    ("jobqueue:\n  slurm:\n    job-directives-skip: ['--mem']\n", "job-directives-skip = '--mem'|the --slurm-memory setting"),  # round 7 J9
    ("slurm:\n  memory: 3GB\n", "section slurm in|is at the top level|indent it under a jobqueue: line"),  # round 8 #73
])
def test_a_site_value_that_cannot_work_is_refused_naming_its_key(tmp_path, monkeypatch, capsys, yaml_text, said):
    pytest.importorskip("dask_jobqueue")
    import dask

    site = tmp_path / "dask"
    site.mkdir()
    (site / "jobqueue.yaml").write_text(yaml_text)
    dask.config.refresh(paths=[*dask.config.paths, str(site)])
    try:
        bin_dir = tmp_path / "bin"
        _fake_tool(bin_dir, "sinfo", "", 0)
        _fake_tool(bin_dir, "sbatch", "never asked", 1)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        assert main(["search", str(tmp_path / "r"), "--slurm-jobs", "1"]) == 2
        err = capsys.readouterr().err
        assert all(part in err for part in said.split("|")) and "site's dask config" in err and "fix: " in err and "unexpected" not in err
        assert not (tmp_path / "r").exists()  # nothing left behind
    finally:
        dask.config.refresh()


def test_a_search_that_ran_on_slurm_resumes_on_another_executor(tmp_path):
    """The executor may change on resume: --workers 1 given to a search recorded with --slurm-jobs runs it here."""
    import json

    from helpers import write_fashion_mnist

    data = write_fashion_mnist(tmp_path / "fm", n_train=120, n_test=40)
    run = tmp_path / "run"
    tiny = ["--data", str(data), "--n-blocks", "2", "--filters", "4", "--premature-steps", "2", "--n-train", "48", "--n-val", "24",
            "--n-stimuli", "12", "--teacher-epochs", "0.05"]
    assert main(["search", str(run), "--budget", "1", *tiny]) == 0
    record = json.loads((run / "run.json").read_text())
    record["settings"].update(slurm_jobs=2, slurm_memory="3GB")  # as a search run with --slurm-jobs 2 --slurm-memory 3GB records it
    record = seal_record(record)
    (run / "run.json").write_text(json.dumps(record))
    assert main(["search", str(run), "--resume", "--budget", "2", "--workers", "1"]) == 0
    settings = json.loads((run / "run.json").read_text())["settings"]
    assert settings["budget"] == 2 and len(pd.read_csv(run / "trials.csv")) == 2


def test_a_dask_config_variable_that_names_no_folder_is_refused(tmp_path, monkeypatch, capsys):
    """Round 5 #119: DASK_CONFIG naming a missing folder dropped the site's settings without a word."""
    pytest.importorskip("dask_jobqueue")
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "sinfo", "", 0)
    _fake_tool(bin_dir, "sbatch", "never asked", 1)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("DASK_CONFIG", str(tmp_path / "no-such-folder"))
    assert main(["search", str(tmp_path / "r"), "--slurm-jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "DASK_CONFIG points at" in err and "not a folder" in err and "fix: point DASK_CONFIG at the folder" in err
    assert not (tmp_path / "r").exists()
