"""The teacher bench's numbers in ``docs/small-scale.md`` are recomputed from the records committed beside them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from neurosage.figures.teacher_value import DOCS_TABLES, docs_tables

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ROOT / "docs" / "small-scale" / "teacher-bench"
DOCS = ROOT / "docs" / "small-scale.md"


def _block(text: str, name: str) -> str:
    match = re.search(rf"<!-- teacher-bench:{name} -->\n(.*?)\n<!-- /teacher-bench:{name} -->", text, re.S)
    assert match, f"docs/small-scale.md has no teacher-bench:{name} block"
    return match.group(1).strip()


def test_every_table_in_the_docs_is_recomputed_from_the_committed_records():
    text = DOCS.read_text(encoding="utf-8")
    for name, table in docs_tables(RECORDS).items():
        assert _block(text, name) == table.strip(), f"the {name} table in docs/small-scale.md differs from its records"
    assert set(DOCS_TABLES) == set(re.findall(r"<!-- teacher-bench:(\w+) -->", text))


def test_the_records_are_small_complete_and_from_the_planned_run():
    files = sorted(RECORDS.iterdir())
    assert sum(f.stat().st_size for f in files) < 3_000_000, [(f.name, f.stat().st_size) for f in files]
    summary = json.loads((RECORDS / "summary.json").read_text())
    planned = summary["config"]
    assert (planned["n_architectures"], planned["checkpoints"], planned["mature_steps"], planned["long_subset"]) == (128, [5, 10, 20], 200, 24)
    architectures = pd.read_csv(RECORDS / "architectures.csv")
    assert len(architectures) == 128 and architectures.M_long.notna().sum() == 24 and architectures.M_short_2.notna().sum() == 16
    value = pd.read_csv(RECORDS / "value.csv")
    assert {"M_short", "M_long"} <= set(value.target) and set(value.step) == {0, 5, 10, 20}


def test_the_bench_figures_are_drawn_from_the_committed_records(tmp_path):
    from neurosage.figures.teacher_value import curves, make

    (tmp_path / "teacher_bench").mkdir()
    (tmp_path / "teacher_bench" / "records").symlink_to(RECORDS)
    paths = make(tmp_path, tmp_path / "figures") + curves(tmp_path, tmp_path / "figures")
    assert all(p.stat().st_size > 10_000 for p in paths if p.suffix == ".png")
