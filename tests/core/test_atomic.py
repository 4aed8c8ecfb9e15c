import json

import pytest

from neurosage.analyses.cell_search import CellSearchConfig
from neurosage.core.atomic import atomic_path, write_json, write_text


def test_write_json_serializes_dataclasses(tmp_path):
    path = write_json(tmp_path / "sub" / "config.json", {"config": CellSearchConfig(budget=5)})
    assert json.loads(path.read_text())["config"]["budget"] == 5


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = write_text(tmp_path / "table.csv", "old\n")
    with pytest.raises(OSError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise OSError(28, "No space left on device")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_the_temporary_keeps_the_suffix(tmp_path):
    with atomic_path(tmp_path / "fig.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    assert (tmp_path / "fig.png").read_bytes() == b"x"
