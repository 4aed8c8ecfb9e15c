import json

import pytest

from neurosage.core.errors import ConfigError
from neurosage.runs.folder import RunFolder
from neurosage.runs.provenance import jsonable, read_settings, record_run, setting_changes, settings_digest


def test_settings_compare_as_stored():
    assert jsonable({"checkpoints": (1, 2), "path": __import__("pathlib").Path("a")}) == {"checkpoints": [1, 2], "path": "a"}
    import numpy as np  # round 31's P70: an array was recorded as its str, so the same setting as a list digested otherwise

    assert jsonable({"a": np.arange(3), "b": np.float32(0.5), "c": {"y", "x"}}) == {"a": [0, 1, 2], "b": 0.5, "c": ["x", "y"]}
    assert settings_digest({"a": np.arange(3)}) == settings_digest({"a": [0, 1, 2]})
    assert setting_changes({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"b": {"run": 2, "session": 3}, "c": {"run": None, "session": 4}}


def test_sessions_are_recorded_with_status(tmp_path):
    with record_run(tmp_path, {"budget": 2}, seeds={"seed": 1}):
        pass
    with pytest.raises(RuntimeError):
        with record_run(tmp_path, {"budget": 3}):
            raise RuntimeError("boom")
    record = json.loads((tmp_path / "run.json").read_text())
    assert read_settings(tmp_path) == {"budget": 2} and record["seeds"] == {"seed": 1}
    first, second = record["sessions"]
    assert first["status"] == "finished" and second["status"] == "failed: RuntimeError: boom"
    assert second["changed_settings"] == {"budget": {"run": 2, "session": 3}}


def test_settings_edited_by_hand_are_refused_by_every_reader(tmp_path):
    """Round 14 K44: alpha edited in run.json was trusted on resume, so one ranking mixed alpha 1 and alpha 2 scores."""
    with record_run(tmp_path, {"alpha": 1.0, "budget": 2}):
        pass
    path = tmp_path / "run.json"
    written = path.read_text()
    record = json.loads(written)
    assert read_settings(tmp_path) == {"alpha": 1.0, "budget": 2} and len(record["settings_digest"]) == 16
    path.write_text(written.replace('"alpha": 1.0', '"alpha": 2.0'))
    for read in (lambda: read_settings(tmp_path), lambda: RunFolder(tmp_path).require_record(),
                 lambda: record_run(tmp_path, {"alpha": 2.0, "budget": 3}).__enter__()):
        with pytest.raises(ConfigError, match="changed after the run wrote them") as err:
            read()
        assert err.value.file == str(path) and err.value.field == "settings" and "start a new run folder" in str(err.value)
    path.write_text(written)  # restored as written: read again, and a session that grows the budget reseals it
    with record_run(tmp_path, {"alpha": 1.0, "budget": 3}, current=("budget",)):
        pass
    assert read_settings(tmp_path) == {"alpha": 1.0, "budget": 3}
    legacy = json.loads(path.read_text())
    del legacy["settings_digest"]
    legacy["settings"]["alpha"] = 2.0
    path.write_text(json.dumps(legacy))  # a record written before the digest existed cannot be checked and is read as it is
    assert read_settings(tmp_path)["alpha"] == 2.0


def test_settings_of_refused_sessions_give_way_to_the_first_that_runs(tmp_path):
    """Round 9 #62: a demo refused for a wrong --data kept that path as the run's settings after a corrected demo ran."""
    from neurosage.core.errors import ConfigError, TrainingDiverged

    with pytest.raises(ConfigError), record_run(tmp_path, {"data": "tiny"}, seeds={"seed": 0}):
        raise ConfigError("no file t10k-images-idx3-ubyte", "point --data at the idx folder", field="data")
    with record_run(tmp_path, {"data": "../tiny"}, seeds={"seed": 1}):
        pass
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["settings"] == {"data": "../tiny"} and record["seeds"] == {"seed": 1}
    assert record["sessions"][0]["status"].startswith("refused: ConfigError") and record["sessions"][1]["status"] == "finished"
    with pytest.raises(TrainingDiverged), record_run(tmp_path / "d", {"lr": 10.0}):  # a failed search is no refusal: it ran
        raise TrainingDiverged("most trials diverged", "lower lr", field="lr")
    with record_run(tmp_path / "d", {"lr": 0.1}):
        pass
    diverged = json.loads((tmp_path / "d" / "run.json").read_text())
    assert diverged["settings"] == {"lr": 10.0} and diverged["sessions"][0]["status"].startswith("failed: TrainingDiverged")


def test_a_session_that_died_running_is_marked_killed_by_the_next(tmp_path):
    import json

    import pytest

    with pytest.raises(KeyboardInterrupt), record_run(tmp_path, {"budget": 2}):
        raise KeyboardInterrupt  # recorded as interrupted: the process saw it
    record = json.loads((tmp_path / "run.json").read_text())
    record["sessions"].append({**record["sessions"][0], "status": "running"})  # as a kill -9 leaves it
    (tmp_path / "run.json").write_text(json.dumps(record))
    with record_run(tmp_path, {"budget": 2}):
        pass
    statuses = [s["status"] for s in json.loads((tmp_path / "run.json").read_text())["sessions"]]
    assert statuses[0] == "interrupted (SIGINT)" and statuses[1].startswith("killed") and statuses[2] == "finished"


def test_resuming_with_the_default_device_spelled_out_is_no_change(tmp_path):
    from neurosage.runs.resume import refuse_changed_settings

    with record_run(tmp_path, {"budget": 2, "device": None}):
        pass
    refuse_changed_settings(tmp_path, {"budget": 2, "device": "cpu"})


def test_a_run_without_a_data_fingerprint_says_where_its_relative_data_path_is_read_from(tmp_path):
    """Round 6 #15: an older run started with --data tiny, resumed from another folder with the data's full path."""
    from neurosage.core.errors import RunFolderError
    from neurosage.runs.folder import RunFolder

    with record_run(tmp_path, {"data": "tiny", "budget": 2}):
        pass
    with pytest.raises(RunFolderError, match=r"predates data fingerprints.*relative to the folder the search was started from; fix: resume "
                                             r"from that folder"):
        RunFolder(tmp_path).refuse_changed_settings({"data": "/elsewhere/tiny", "budget": 3}, data_fingerprint="abc")
    with record_run(tmp_path, {"data": "tiny", "budget": 2}, data_fingerprint="abc"):  # a run that recorded its images
        pass
    assert RunFolder(tmp_path).refuse_changed_settings({"data": "/elsewhere/tiny", "budget": 3}, data_fingerprint="abc") == ("data",)
