import json
import os
import signal
import sys

import pandas as pd
import pytest

from helpers import write_fashion_mnist
from neurosage.cli import main


def test_help_lists_commands(capsys):
    assert main([]) == 0
    assert "datasets" in capsys.readouterr().out


def test_hyperopt_info_logging_is_quiet_unless_debugging(monkeypatch):
    import logging

    hyperopt_log = logging.getLogger("hyperopt")
    monkeypatch.setattr(hyperopt_log, "level", logging.NOTSET)
    main([])
    assert hyperopt_log.level == logging.WARNING
    hyperopt_log.setLevel(logging.NOTSET)
    main(["-vv"])
    assert hyperopt_log.level == logging.NOTSET  # -vv leaves it to the root level


@pytest.mark.parametrize(("flags", "root", "quiet"), [([], "WARNING", "WARNING"), (["-q"], "ERROR", "ERROR"),
                                                    (["-v"], "INFO", "WARNING"), (["-vv"], "DEBUG", "NOTSET")])
def test_log_levels(flags, root, quiet):
    import logging

    main(flags)
    assert logging.getLevelName(logging.getLogger().level) == root
    for name in ("PIL", "distributed", "hyperopt"):
        assert logging.getLevelName(logging.getLogger(name).level) == quiet
    logging.getLogger().setLevel(logging.WARNING)


def test_datasets_lists_needs(capsys):
    assert main(["datasets", "Majaj*"]) == 0
    out = capsys.readouterr().out
    assert "MajajHong2015" in out and "needs:" in out and "cite:" in out
    assert main(["datasets", "nothing-like-this"]) == 2  # a refused input (round 18 C48: it was 1)
    assert "no dataset is named 'nothing-like-this'; fix: give a listed name, or a glob such as" in capsys.readouterr().err
    assert main(["datasets", "nothing-like-this*"]) == 2
    assert "no dataset matches 'nothing-like-this*'; fix: neurosage datasets lists all" in capsys.readouterr().err
    assert main(["datasets", "NPY*"]) == 0 and "npy-csv" in capsys.readouterr().out  # round 4 #121: any case
    assert main(["datasets", "majaj"]) == 2 and "(did you mean MajajHong2015?)" in capsys.readouterr().err


@pytest.fixture
def fmnist(tmp_path):
    return write_fashion_mnist(tmp_path / "fmnist")


def test_search_cli_with_teacher_spec_config_and_resume(tmp_path, fmnist, capsys):
    cfg = tmp_path / "search.toml"
    cfg.write_text('budget = 2\nn-blocks = 2\nfilters = 4\npremature-steps = 2\nn-train = 64\nn-val = 40\nn-stimuli = 20\n')
    run = tmp_path / "run"
    args = ["search", str(run), "--config", str(cfg), "--data", str(fmnist), "--teacher", "net:cifar_resnet-1:stack1,stack2"]
    assert main(args) == 0
    assert "best of 2 trials" in capsys.readouterr().out
    config = json.loads((run / "run.json").read_text())["settings"]
    assert config["budget"] == 2 and config["teacher"].startswith("net:")
    assert main(args + ["--budget", "3", "--resume"]) == 0
    trials = pd.read_csv(run / "trials.csv")
    assert list(trials.tid) == [0, 1, 2] and trials.TG.notna().all()
    moved = fmnist.rename(tmp_path / "moved")  # round 3 #92: a search whose data folder moved could not be resumed
    args[args.index(str(fmnist))] = str(moved)
    assert main(args + ["--budget", "4", "--resume"]) == 0
    record = json.loads((run / "run.json").read_text())
    assert record["settings"]["data"] == str(moved) and record["sessions"][-1]["changed_settings"]["data"]["run"] == str(fmnist)
    other = write_fashion_mnist(tmp_path / "other", seed=1)  # other images: still a changed setting
    args[args.index(str(moved))] = str(other)
    capsys.readouterr()
    assert main(args + ["--budget", "5", "--resume"]) == 2
    assert "resuming would change the settings" in capsys.readouterr().err and len(pd.read_csv(run / "trials.csv")) == 4
    assert main(["search", str(run), "--resume", "--budget", "5", "--teacher", "control:pixels", "--teacher-epochs", "2"]) == 2
    assert "(teacher: 'net:cifar_resnet-1:stack1,stack2' -> 'control:pixels', teacher_epochs: 1.0 -> 2" in capsys.readouterr().err  # round 5 #10


def test_a_search_folder_explains_itself(tmp_path, fmnist):
    import xarray as xr

    run = tmp_path / "run"
    flags = ["--data", str(fmnist), "--n-blocks", "2", "--filters", "4", "--premature-steps", "2", "--n-train", "64",
             "--n-val", "40", "--n-stimuli", "20", "--teacher", "net:cifar_resnet-1:stack1,stack3", "--seed", "3"]
    assert main(["search", str(run), "--budget", "2", *flags]) == 0
    assert main(["search", str(run), "--budget", "3", "--resume", *flags]) == 0
    record = json.loads((run / "run.json").read_text())
    settings = record["settings"]
    assert "blocks" not in settings and settings["n_blocks"] == 2 and settings["seed"] == 3 and settings["budget"] == 3  # what holds now
    assert record["seeds"]["seed"] == 3 and record["environment"]["packages"]["torch"]
    assert record["environment"]["git"] is None or len(record["environment"]["git"]["commit"]) == 40
    first, second = record["sessions"]
    assert first["status"] == second["status"] == "finished" and first["started"] <= first["finished"] <= second["started"]
    assert first["device"]["requested"] == "cpu" and second["command"] == ["neurosage", "search", str(run), "--budget", "3", "--resume", *flags]
    assert second["changed_settings"] == {"budget": {"run": 2, "session": 3}}
    trials = xr.open_dataset(run / "trials.nc")
    assert trials.P.attrs["units"] == "1" and trials.wall_time.attrs["units"] == "s" and "top-1" in trials.P.attrs["long_name"]
    assert trials.attrs["objective"] == "p+tg" and trials.similarity.dims == ("trial", "endpoint", "layer")
    assert list(trials.endpoint.values) == ["stack1", "stack3"] and trials.sizes["trial"] == 3
    assert main(["figures", str(run)]) == 0
    for name in ("search_progress", "search_best_similarity"):
        assert (run / "figures" / f"{name}.png").stat().st_size > 5000


def test_search_cli_missing_dataset_is_clear(tmp_path, capsys):
    assert main(["search", str(tmp_path / "r"), "--data", str(tmp_path / "nowhere")]) == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err


def test_rdm_cli_writes_table_and_heatmap(tmp_path, fmnist, capsys):
    out = tmp_path / "rdm"
    args = ["rdm", "cifar_resnet-1", "--layers", "stack1,stack3", "--teacher", "net:cifar_resnet-1:stack2",
            "--data", str(fmnist), "--n-stimuli", "20", "--out", str(out)]
    assert main(args) == 0
    table = pd.read_csv(out / "similarity.csv", index_col=0)
    assert list(table.index) == ["stack1", "stack3"] and list(table.columns) == ["stack2"]
    assert (out / "similarity.png").stat().st_size > 1000


def test_a_full_disk_is_one_message_naming_the_run_folder_and_how_to_resume(tmp_path, fmnist, capsys, monkeypatch):
    import errno

    import neurosage.search.driver

    run = tmp_path / "run"
    flags = ["--data", str(fmnist), "--n-blocks", "2", "--filters", "4", "--premature-steps", "2", "--n-train", "64",
             "--n-val", "40", "--n-stimuli", "20", "--objective", "p"]

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(run / "trials.nc"))

    monkeypatch.setattr(neurosage.search.driver, "write_trial_tables", full_disk)
    assert main(["search", str(run), "--budget", "2", *flags]) == 2
    err = capsys.readouterr().err
    assert f"could not write {run / 'trials.nc'} in {run} (No space left on device); fix: free space" in err
    assert f"neurosage search {run} --resume" in err and "Traceback" not in err
    assert json.loads((run / "run.json").read_text())["sessions"][-1]["status"].startswith("failed: OSError")
    monkeypatch.undo()
    assert main(["search", str(run), "--budget", "2", "--resume", *flags]) == 0  # after freeing space: resume finishes
    assert len(pd.read_csv(run / "trials.csv")) == 2


def test_resume_from_the_cli_uses_the_recorded_settings_and_refuses_changes(tmp_path, fmnist, capsys):
    run = tmp_path / "run"
    flags = ["--data", str(fmnist), "--n-blocks", "2", "--filters", "4", "--premature-steps", "2", "--n-train", "64",
             "--n-val", "40", "--n-stimuli", "20", "--objective", "p", "--seed", "4"]
    assert main(["search", str(run), "--budget", "1", *flags]) == 0
    assert main(["search", str(run), "--resume", "--objective", "p+tg"]) == 2
    assert "resuming would change the settings" in capsys.readouterr().err
    assert main(["search", str(run), "--resume", "--budget", "2"]) == 0  # the other settings come from run.json
    assert len(pd.read_csv(run / "trials.csv")) == 2


def test_layer_wise_rl_search_from_the_cli_resumes_from_its_saved_state(tmp_path, fmnist, capsys):
    run = tmp_path / "run"
    flags = ["--data", str(fmnist), "--space", "layers-10", "--algo", "rl", "--width-multiplier", "0.125", "--premature-steps", "2",
             "--n-train", "64", "--n-val", "40", "--n-stimuli", "20", "--teacher-epochs", "0.05"]
    assert main(["search", str(run), "--budget", "2", *flags]) == 0
    assert "layers: " in capsys.readouterr().out and (run / "searcher_state.pt").exists()
    assert main(["search", str(run), "--resume", "--width-multiplier", "0.25"]) == 2
    assert "width_multiplier: 0.125 -> 0.25" in capsys.readouterr().err
    assert main(["search", str(run), "--resume", "--budget", "3"]) == 0
    trials = pd.read_csv(run / "trials.csv")
    assert len(trials) == 3 and trials.genotype.str.startswith("layers: ").all() and (trials.status == "ok").all()
    settings = json.loads((run / "run.json").read_text())["settings"]
    assert settings["space"] == "layers-10" and settings["network"]["width_multiplier"] == 0.125


def _png_zip(path, names, seed=0):
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w") as z:
        for name in names:
            buffer = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)).save(buffer, format="PNG")
            z.writestr(name, buffer.getvalue())
    return path


def test_brain_teacher_from_the_cli_on_brainio_files(tmp_path, fmnist, capsys, caplog):
    from helpers import assert_ceiled_scores, write_brainio_netcdf

    nc, stimuli, _ = write_brainio_netcdf(tmp_path / "assy_dicarlo_MajajHong2015_public.nc", n_images=8)
    stimuli.to_csv(tmp_path / "stimulus_hvm-public.csv", index=False)
    images = _png_zip(tmp_path / "stimulus_hvm-public.zip", stimuli.filename)
    run = tmp_path / "run"
    argv = ["search", str(run), "--data", str(fmnist), "--budget", "2", "--n-blocks", "2", "--filters", "4", "--premature-steps", "2",
            "--n-train", "64", "--n-val", "40", "--teacher", "brain:MajajHong2015:V4,IT", "--teacher-arg", f"path={nc}",
            "--teacher-arg", f"stimulus_csv={tmp_path / 'stimulus_hvm-public.csv'}", "--teacher-images", str(images)]
    assert main(argv) == 0
    trials = pd.read_csv(run / "trials.csv")
    assert trials.TG.notna().all()
    settings = json.loads((run / "run.json").read_text())["settings"]
    assert settings["teacher_args"]["path"] == str(nc) and settings["teacher_endpoints"] == ["V4", "IT"]
    argv[argv.index("--budget") + 1] = "3"
    assert main(argv + ["--resume"]) == 0  # the teacher comes from the cache
    trials = pd.read_csv(run / "trials.csv")
    assert len(trials) == 3
    assert_ceiled_scores(trials, run / "teacher")  # 3 repetitions per image: noise ceilings
    capsys.readouterr()
    assert main(["rdm", "cifar_resnet-1", "--layers", "stack1,stack3", "--teacher", "brain:MajajHong2015:V4,IT",
                 "--stimuli", str(tmp_path / "stimulus_hvm-public.csv"), "--images", str(images), "--size", "28", "--channels", "1",
                 "--out", str(tmp_path / "rdm"), "--teacher-arg", f"path={nc}",
                 "--teacher-arg", f"stimulus_csv={tmp_path / 'stimulus_hvm-public.csv'}"]) == 0
    printed = capsys.readouterr().out
    assert "V4: best layer" in printed and "noise ceiling" in printed and "IT: best layer" in printed
    assert "95% of splits" in printed and "8 stimuli" in printed and "TG = " in printed and "bootstrap samples" in printed
    # --n-stimuli K: the ceilings are those of the K stimuli scored
    assert main(["rdm", "cifar_resnet-1", "--layers", "stack1,stack3", "--teacher", "brain:MajajHong2015:V4,IT", "--n-stimuli", "5",
                 "--stimuli", str(tmp_path / "stimulus_hvm-public.csv"), "--images", str(images), "--size", "28", "--channels", "1",
                 "--out", str(tmp_path / "rdm5"), "--teacher-arg", f"path={nc}", "--bootstrap", "50",
                 "--teacher-arg", f"stimulus_csv={tmp_path / 'stimulus_hvm-public.csv'}"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("5 stimuli, 10 splits") == 2 and "8 stimuli" not in printed


def test_brain_teacher_from_a_toml_teacher_table_with_relative_paths(tmp_path, fmnist, capsys):
    import numpy as np

    folder = tmp_path / "lab"
    folder.mkdir()
    ids = [f"stim{i}" for i in range(6)]
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(6, 4))  # each site's response to each stimulus, recorded twice with noise
    np.save(folder / "responses.npy", np.concatenate([signal, signal]) + 0.2 * rng.normal(size=(12, 4)))
    pd.DataFrame({"stimulus_id": ids * 2, "repetition": [0] * 6 + [1] * 6, "filename": [f"{s}.png" for s in ids] * 2}).to_csv(
        folder / "stimuli.csv", index=False)
    pd.DataFrame({"neuroid_id": list("abcd"), "region": ["V4", "V4", "IT", "IT"]}).to_csv(folder / "neuroids.csv", index=False)
    _png_zip(folder / "images.zip", [f"{s}.png" for s in ids])
    (folder / "search.toml").write_text(
        'budget = 2\nn-blocks = 2\nfilters = 4\npremature-steps = 2\nn-train = 64\nn-val = 40\n\n'
        '[teacher]\nspec = "brain:npy-csv:IT,V4"\nimages = "images.zip"\n'
        'responses = "responses.npy"\nstimuli = "stimuli.csv"\nneuroids = "neuroids.csv"\n'
    )
    run = tmp_path / "run"
    assert main(["search", str(run), "--config", str(folder / "search.toml"), "--data", str(fmnist)]) == 0
    settings = json.loads((run / "run.json").read_text())["settings"]
    assert settings["teacher_images"] == str(folder / "images.zip") and settings["teacher_endpoints"] == ["IT", "V4"]
    assert pd.read_csv(run / "trials.csv").TG.notna().all()


def test_rdm_lists_layers_and_labels_random_weights(tmp_path, fmnist, capsys):
    assert main(["rdm", "cifar_resnet-1", "--list-layers"]) == 0
    listed = capsys.readouterr().out.split()
    assert {"stack1", "stack2", "stack3", "fc"} <= set(listed)
    assert main(["rdm", "squeezenet1_1", "--list-layers"]) == 0 and "features.12.cat" in capsys.readouterr().out
    args = ["rdm", "squeezenet1_1", "--weights", "random", "--layers", "features.3.cat", "--teacher", "net:cifar_resnet-1:stack2",
            "--data", str(fmnist), "--n-stimuli", "6", "--out", str(tmp_path / "o")]
    assert main(args) == 0  # grey Fashion-MNIST images become RGB for a torchvision model
    assert "squeezenet1_1: random weights (seed 0)" in capsys.readouterr().out


def _help(*argv):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*argv, "--help"]) == 0
    return " ".join(out.getvalue().split())


def test_help_lists_are_generated_from_the_registries():
    from neurosage.analyses import ANALYSES
    from neurosage.data_adapters.registry import DATASETS
    from neurosage.figures import FIGURES
    from neurosage.nets import SKELETONS
    from neurosage.search import SEARCHERS
    from neurosage.search.random_search import RandomSearcher
    from neurosage.spaces import SPACES
    from neurosage.teachers import TEACHER_KINDS

    top, search, analyze = _help(), _help("search"), _help("analyze")
    for registry, text in ((SEARCHERS, search), (SPACES, search), (SKELETONS, search), (TEACHER_KINDS, search),
                           (ANALYSES, analyze), (ANALYSES, top), (FIGURES, top)):
        missing = [name for name in registry.names() if name not in text]
        assert missing == [], (registry.kind, missing)
    assert all(name in search for name in DATASETS.names(kind="images"))
    SEARCHERS.register("zz-plugin", RandomSearcher)  # a plug-in shows up without touching the CLI
    try:
        assert "zz-plugin" in _help("search")
    finally:
        SEARCHERS.unregister("zz-plugin")


def test_every_search_and_demo_flag_has_a_sentence_of_its_own():
    from dataclasses import fields

    from neurosage.analyses.config_loading import field_docs
    from neurosage.analyses.settings import DemoConfig, SearchConfig

    for cls in (SearchConfig, DemoConfig):
        docs = field_docs(cls)
        assert [f.name for f in fields(cls) if len(docs.get(f.name, "").split()) < 3] == [], cls


def test_a_second_search_driver_is_refused_before_any_teacher_work(tmp_path, fmnist, capsys):
    from neurosage.runs.lock import run_lock

    run = tmp_path / "run"
    with run_lock(run):  # a first driver holds the folder
        code = main(["search", str(run), "--data", str(fmnist), "--budget", "2", "--n-blocks", "2", "--filters", "4",
                     "--premature-steps", "1", "--n-train", "64", "--n-val", "40", "--n-stimuli", "20"])
    assert code == 2 and "another driver" in capsys.readouterr().err
    assert not (run / "teacher").exists() and not (run / "journal.sqlite").exists()


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signalled_search_says_how_to_resume_in_one_line_and_its_session_is_interrupted(tmp_path, fmnist, signum, code):
    import subprocess
    import time

    from neurosage.runs.journal import Journal

    run = tmp_path / "run"
    command = [sys.executable, "-c", "import sys; from neurosage.cli import main; sys.exit(main(sys.argv[1:]))",
               "search", str(run), "--data", str(fmnist), "--objective", "p", "--budget", "200", "--n-blocks", "2", "--filters", "4",
               "--premature-steps", "3", "--n-train", "64", "--n-val", "40", "--n-stimuli", "20"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not ((run / "journal.sqlite").exists() and len(Journal(run / "journal.sqlite")) >= 1):
        time.sleep(0.05)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    lines = [line for line in err.splitlines() if line.strip() and "%|" not in line]
    assert proc.returncode == code, err
    assert lines == [f"neurosage search: interrupted ({signal.Signals(signum).name}); to continue run neurosage search {run} --resume"], err
    session = json.loads((run / "run.json").read_text())["sessions"][-1]
    assert session["status"] == f"interrupted ({signal.Signals(signum).name})"
    trials = pd.read_csv(run / "trials.csv")  # what finished is written
    assert len(trials) >= 1 and (run / "neurosage.log").exists()


def test_status_command_on_a_finished_search_and_on_a_typo(tmp_path, fmnist, capsys):
    run = tmp_path / "run"
    assert main(["search", str(run), "--data", str(fmnist), "--objective", "p", "--budget", "2", "--n-blocks", "2", "--filters", "4",
                 "--premature-steps", "2", "--n-train", "64", "--n-val", "40", "--n-stimuli", "20"]) == 0
    capsys.readouterr()
    assert main(["status", str(run)]) == 0
    out = capsys.readouterr().out
    assert "2/2 done (0 failed), 0 in flight" in out and "best so far: trial" in out
    assert main(["status", str(tmp_path / "rnu")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["status", str(run), "--watch", "0"]) == 2 and main(["status", str(run), "--watch", "inf"]) == 2
    capsys.readouterr()
    assert main(["status", str(run), "--watch", "0.5"]) == 0  # a finished search: shown once, then watching stops
    assert "the search is not running (session finished); stopped watching" in capsys.readouterr().out


def test_global_flags_work_after_the_command(capsys):
    from neurosage.cli import globals_first

    assert globals_first(["search", "run", "-q", "--budget", "2", "-vv"]) == ["-q", "-vv", "search", "run", "--budget", "2"]
    assert globals_first(["figures", "run", "--", "-q"]) == ["figures", "run", "--", "-q"]
    assert main(["datasets", "-q"]) == 0 and "unrecognized" not in capsys.readouterr().err


def test_analyze_workers_and_scheduler_reach_every_analysis(monkeypatch, capsys):
    """predictability/channel_search keep their own workers setting; the others get a cluster client for all their trainings."""
    import distributed

    import neurosage.analyses as analyses

    seen = {}
    real = analyses.get_analysis

    def fake(name):
        _, config_cls = real(name)

        def run(run_dir, config, client=None):
            seen.update(workers=getattr(config, "workers", None), client=client,
                        threads=None if client is None else sum(client.nthreads().values()))
            return pd.DataFrame({"ok": [1]})

        return run, config_cls

    monkeypatch.setattr(analyses, "get_analysis", fake)
    assert main(["analyze", "predictability", "--workers", "2", "--run-dir", "unused"]) == 0
    assert seen["workers"] == 2 and seen["client"] is None
    assert main(["analyze", "search_comparison", "--workers", "2", "--run-dir", "unused"]) == 0
    assert isinstance(seen["client"], distributed.Client) and seen["threads"] == 2
    assert main(["analyze", "cell_search", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "give one of them" in capsys.readouterr().err
    assert main(["analyze", "cell_search", "--scheduler", "tcp://127.0.0.1:1"]) == 2  # nothing listens there: refused at once, by name
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in capsys.readouterr().err


def test_search_with_rsa_choices_from_toml_and_flags(tmp_path, fmnist, capsys):
    """compare-method in TOML (rsatoolbox's spelling), rdm-method on the command line: recorded, used, and kept on resume."""
    from neurosage.teachers.teacher import Teacher

    cfg = tmp_path / "search.toml"
    cfg.write_text('budget = 2\nn-blocks = 2\nfilters = 4\npremature-steps = 2\nn-train = 64\nn-val = 40\nn-stimuli = 20\n'
                   'compare-method = "rho-a"\n')
    run = tmp_path / "run"
    args = ["search", str(run), "--config", str(cfg), "--data", str(fmnist), "--teacher", "net:cifar_resnet-1:stack1,stack2",
            "--rdm-method", "sqeuclidean"]
    assert main(args) == 0
    settings = json.loads((run / "run.json").read_text())["settings"]
    assert (settings["rdm_method"], settings["compare_method"]) == ("sqeuclidean", "rho_a")
    (cached,) = (run / "teacher").glob("teacher-*.nc")
    teacher = Teacher.load(cached)
    assert (teacher.rdm_method, teacher.compare_method) == ("sqeuclidean", "rho_a")
    assert json.loads(teacher.rdms.attrs["provenance"])["rdm"]["compare_method"] == "rho_a"
    import xarray as xr

    with xr.open_dataset(run / "trials.nc") as trials:  # what the similarity numbers are, for figures and readers
        assert trials.similarity.attrs["method"] == "rho_a" and trials.attrs["rdm_method"] == "sqeuclidean"
    capsys.readouterr()
    assert main(args + ["--compare-method", "spearman", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "compare_method" in err and "keep-weights" in err  # the fix lists what may change, from the one list
    assert main(["search", str(tmp_path / "cka"), "--data", str(fmnist), "--compare-method", "cka"]) == 2
    assert "sqeuclidean" in capsys.readouterr().err


def test_an_interrupt_after_a_finished_run_does_not_ask_to_resume(tmp_path, monkeypatch, capsys):
    """A signal landing between 'finished' in run.json and the command's return: the message agrees with run.json."""
    import signal

    from neurosage import commands
    from neurosage.core.interrupts import Interrupted
    from neurosage.runs.provenance import record_run

    run = tmp_path / "run"
    run.mkdir()

    def finished_then_signalled(run_dir, config, resume, client):
        with record_run(run_dir, {"budget": 1}):
            pass
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(commands, "_search", finished_then_signalled)
    assert main(["search", str(run), "--objective", "p"]) == 143
    err = capsys.readouterr().err
    assert "after the run finished" in err and "--resume" not in err
    assert json.loads((run / "run.json").read_text())["sessions"][-1]["status"] == "finished"


def test_an_unknown_flag_is_reported_under_its_command_with_the_closest_flag(capsys):
    assert main(["search", "run", "--budgt", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neurosage search: error: unrecognized arguments: --budgt 3")
    assert "did you mean --budget?" in err and err.endswith("see neurosage search --help")
    assert main(["export", "brainscore", "run", "--regoin", "V1=cell_0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neurosage export brainscore: error") and "did you mean --region?" in err
    assert main(["analyze", "predictability", "--compare-methd", "x"]) == 2
    assert "TOML file given to --config" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "note"), [
    (["analyze", "predictability", "--run-dir", "r"], "(neurosage analyze has no --n-stimuli: set n-stimuli = ... in its --config TOML)"),
    (["rdm", "base"], None),  # rdm has --n-stimuli
    (["export", "brainscore", "run"], "(neurosage export brainscore has no --n-stimuli)"),
])
def test_a_fix_naming_another_commands_flag_says_what_this_command_takes(argv, note):
    """Round 4 #110/#113: a library error's fix named --n-stimuli/--teacher-images to commands that have no such flag."""
    from neurosage.cli import build_parser, flags_of_this_command

    parser = build_parser()
    args, _ = parser.parse_known_args(argv)
    message = "n_stimuli must be at most 9; fix: lower n-stimuli (--n-stimuli); score it with neurosage bench RUN --teacher SPEC"
    shown = flags_of_this_command(message, parser, args)
    assert shown == (message if note is None else f"{message} {note}")  # --teacher belongs to the command named before it


def test_n_stimuli_takes_the_first_images_of_a_recordings_stimulus_set(tmp_path, fmnist, capsys):
    """n-stimuli applies to a recording's own images too (the first N of its CSV), and asking for more is refused."""
    from helpers import write_brainio_netcdf
    from neurosage.analyses.embedded import embedded_setup
    from neurosage.analyses.settings import SearchConfig

    nc, stimuli, _ = write_brainio_netcdf(tmp_path / "assy_dicarlo_MajajHong2015_public.nc", n_images=8)
    stimuli.to_csv(tmp_path / "stim.csv", index=False)
    images = _png_zip(tmp_path / "stim.zip", stimuli.filename)
    base = dict(data=str(fmnist), teacher="brain:MajajHong2015:V4,IT", teacher_images=str(images), n_train=64, n_val=40,
                teacher_args={"path": str(nc), "stimulus_csv": str(tmp_path / "stim.csv")})
    setup = embedded_setup(SearchConfig(**base, n_stimuli=5), tmp_path / "five")
    assert list(setup.teacher.stimulus_ids) == [str(s) for s in stimuli.image_id[:5]]
    assert embedded_setup(SearchConfig(**base), tmp_path / "all").teacher.rdms.sizes["condition_row"] == 8  # default: all of them
    assert main(["search", str(tmp_path / "r"), "--data", str(fmnist), "--teacher", base["teacher"], "--teacher-images", str(images),
                 "--teacher-arg", f"path={nc}", "--teacher-arg", f"stimulus_csv={tmp_path / 'stim.csv'}", "--n-stimuli", "20"]) == 2
    assert "has 8 images" in capsys.readouterr().err


def test_status_after_a_resume_that_grew_the_budget(tmp_path, fmnist, capsys):
    """run.json's settings say what holds now (budget 3 after --budget 3 --resume), so status never reads 3/2."""
    flags = ["--data", str(fmnist), "--n-blocks", "2", "--filters", "4", "--premature-steps", "2", "--n-train", "64", "--n-val", "40",
             "--n-stimuli", "20", "--objective", "p"]
    run = tmp_path / "run"
    assert main(["search", str(run), "--budget", "1", *flags]) == 0
    assert main(["search", str(run), "--budget", "2", "--resume"]) == 0
    capsys.readouterr()
    assert main(["status", str(run)]) == 0
    assert "progress: 2/2 done" in capsys.readouterr().out


def test_status_of_a_search_whose_driver_has_not_started_a_trial(tmp_path, capsys):
    import os
    import socket

    run = tmp_path / "run"
    run.mkdir()
    (run / "driver.lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "now"}))
    assert main(["status", str(run)]) == 2
    assert "has not started a trial yet" in capsys.readouterr().err


@pytest.mark.parametrize(("files", "command"), [(("similarity.csv", "model_rdms.nc"), "neurosage rdm"),
                                                (("value.csv", "selection.csv"), "neurosage bench")])
def test_figures_on_an_output_folder_of_rdm_or_bench_names_the_command_that_draws_it(tmp_path, capsys, files, command):
    for name in files:
        (tmp_path / name).write_text("")
    assert main(["figures", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"is the output folder of {command}" in err and f"--out {tmp_path}" in err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_blamed_on_the_output_not_a_run_folder():
    """Round 4 #144: ``status --json > /dev/full`` said a file in the run folder could not be written."""
    import subprocess

    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-c", "from neurosage.cli import main; raise SystemExit(main(['datasets']))"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("neurosage datasets: error: could not write the output (No space left on device); fix: send the output")
    assert "Exception ignored" not in done.stderr


def test_a_one_value_flag_given_twice_is_refused(capsys):
    """Round 7 #90: the first of two --config files was dropped without a word (argparse keeps the last)."""
    assert main(["search", "run", "--config", "a.toml", "--config=b.toml"]) == 2
    assert "--config is given 2 times ('a.toml', 'b.toml')" in capsys.readouterr().err
    assert main(["search", "run", "--teacher", "control:pixels", "--teacher", "net:cifar_resnet-1:stack1"]) == 2
    assert "fix: combine the teachers in one spec: --teacher A+B" in capsys.readouterr().err


def test_figures_of_a_folder_inside_an_analysis_run_folder_names_the_run_folder(tmp_path, capsys):
    """Round 9 #79/#84: 'run analyze --run-dir <inner folder>' was the fix; figures of the folder above draws it."""
    from neurosage.runs.provenance import record_run

    for inner in ("predictability", "channel_search"):
        with record_run(tmp_path / "run" / inner, {"seed": 0}):
            pass
    (tmp_path / "run" / "channel_search" / "qc").mkdir()
    for folder in ("predictability", "channel_search/qc"):
        assert main(["figures", str(tmp_path / "run" / folder)]) == 2
        assert f"fix: neurosage figures {tmp_path / 'run'}" in capsys.readouterr().err
    assert not (tmp_path / "run" / "predictability" / "figures").exists()
    (tmp_path / "search" / "weights").mkdir(parents=True)  # round 10 #155: a search's own sub-folder
    with record_run(tmp_path / "search", {"budget": 2}):
        pass
    assert main(["figures", str(tmp_path / "search" / "weights")]) == 2
    assert f"fix: neurosage figures {tmp_path / 'search'}" in capsys.readouterr().err


def test_python_dash_m_neurosage_is_the_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "neurosage", "datasets", "fashion*"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "fashion-mnist" in done.stdout


def test_mistakes_with_a_search_folder_name_the_run_folder_and_what_is_kept(tmp_path, fmnist, capsys, caplog):
    """Issue 36, round 11: a folder inside the run folder (#73), the embedded teacher's weights for rdm (#105), a
    stimulus size other than the training's (#103), run.json's space edited by hand before a resume (#34)."""
    run = tmp_path / "run"
    flags = ["--data", str(fmnist), "--n-blocks", "2", "--filters", "4", "--premature-steps", "2", "--n-train", "64", "--n-val", "40",
             "--n-stimuli", "12", "--teacher-epochs", "0.05"]
    assert main(["search", str(run), "--budget", "2", *flags]) == 0
    capsys.readouterr()
    assert main(["status", str(run / "weights")]) == 2
    assert f"is a folder inside the search's run folder {run}; fix: give the run folder: neurosage status {run}" in capsys.readouterr().err
    assert main(["rdm", str(run), "--trial", "1", "--data", str(fmnist)]) == 2
    kept = sorted((run / "teacher").glob("teacher-*.pt"))
    assert kept and f"--teacher 'net:cifar_resnet-1:stack1,stack2,stack3:{kept[-1]}'" in capsys.readouterr().err
    teacher = f"net:cifar_resnet-1:stack1,stack3:{kept[-1]}"
    with caplog.at_level("WARNING"):
        assert main(["rdm", str(run), "--trial", "1", "--teacher", teacher, "--size", "8", "--out", str(tmp_path / "r8")]) == 0
    assert "trained on 1x28x28 images and is shown the stimuli as 1x8x8" in caplog.text
    assert json.loads((tmp_path / "r8" / "summary.json").read_text())["input_shape"] == [1, 8, 8]
    assert main(["rdm", str(run), "--trial", "1", "--teacher", "control:pixels", "--channels", "3", "--out", str(tmp_path / "r3")]) == 2
    assert "takes 1-channel images, and the stimuli were converted to 3 channel(s)" in capsys.readouterr().err  # round 7 V21
    info = kept[-1].with_suffix(".json")
    record = info.read_text()
    info.write_text(record.replace('"epochs": 0.05', '"epochs": 0.5'))  # round 12 D16: the record edited by hand
    assert main(["search", str(run), "--resume", "--budget", "3"]) == 2
    assert "its record" in capsys.readouterr().err
    info.write_text(record)
    for path in kept:
        path.unlink()
    assert main(["rdm", str(run), "--trial", "1", "--data", str(fmnist)]) == 2
    assert "its weights are gone from" in capsys.readouterr().err
    record = json.loads((run / "run.json").read_text())
    record["settings"]["space"] = "nasnet"
    (run / "run.json").write_text(json.dumps(record))
    assert main(["search", str(run), "--budget", "3", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "settings in run.json were changed after the run wrote them" in err and "start a new run folder" in err
    del record["settings_digest"]  # a record from before the digest: the journal's rows are still checked against the space
    (run / "run.json").write_text(json.dumps(record))
    assert main(["search", str(run), "--budget", "3", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "of the journal is not a point of the space 'nasnet'" in err and "restore run.json's space" in err


def test_a_command_line_is_recorded_only_by_its_own_call(capsys):
    """A pool built in Python after main([...]) in the same session recorded that command line in its run.json."""
    from neurosage.runs.provenance import COMMAND_LINE

    assert main(["datasets", "fashion-mnist"]) == 0
    assert COMMAND_LINE.get() is None
