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
