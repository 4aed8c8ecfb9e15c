import json

import pytest

from neurosage.runs.provenance import jsonable, read_settings, record_run, setting_changes


def test_settings_compare_as_stored():
    assert jsonable({"checkpoints": (1, 2), "path": __import__("pathlib").Path("a")}) == {"checkpoints": [1, 2], "path": "a"}
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
