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


def test_a_written_file_gets_the_mode_of_any_new_file(tmp_path):
    import os
    import stat

    from neurosage.core.atomic import write_text

    mask = os.umask(0o022)
    try:
        import neurosage.core.atomic as atomic

        atomic._umask.cache_clear()
        write_text(tmp_path / "run.json", "{}")
        assert stat.S_IMODE((tmp_path / "run.json").stat().st_mode) == 0o644  # lab-mates can read a shared run folder
    finally:
        os.umask(mask)
        atomic._umask.cache_clear()


def test_a_full_disk_names_the_file(tmp_path):
    import errno

    import pytest

    from neurosage.core.atomic import atomic_path

    with pytest.raises(OSError) as info, atomic_path(tmp_path / "w.pt"):
        raise RuntimeError("[enforce fail at inline_container.cc:603] . PytorchStreamWriter failed writing file data/0: file write failed")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "w.pt")
    assert not list(tmp_path.iterdir())
