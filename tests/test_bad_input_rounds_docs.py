"""The fresh-eyes rounds' table in ``docs/bad-inputs.md`` is recomputed from the records committed beside it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "docs" / "bad-inputs"
DOCS = ROOT / "docs" / "bad-inputs.md"
CLASSES = ("CLEAR", "CORRECT", "VAGUE", "SILENT", "CRASH")
#: A case's surface: the command line, TOML files, data files and run folders, or the Python API.
PYTHON = "Python"


def rounds_table(rounds: pd.DataFrame) -> str:
    """The markdown table of the rounds' counts (one row per round)."""
    def share(part: int, whole: int) -> str:
        return f"{100 * part / whole:.1f}%"

    lines = ["| round | after | cases | CLEAR | CORRECT | VAGUE | SILENT | CRASH | clear or correct | CLI, TOML, files, run folders | Python API |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rounds.itertuples():
        lines.append(f"| {r.round} | {r.after} | {r.cases} | {r.clear} | {r.correct} | {r.vague} | {r.silent} | {r.crash} | "
                     f"{share(r.clear + r.correct, r.cases)} | {share(r.cli_clear_or_correct, r.cli_cases)} ({r.cli_cases}) | "
                     f"{share(r.python_clear_or_correct, r.python_cases)} ({r.python_cases}) |")
    return "\n".join(lines)


def test_the_rounds_table_in_the_docs_is_recomputed_from_the_records():
    rounds = pd.read_csv(RECORDS / "rounds.csv")
    match = re.search(r"<!-- rounds -->\n(.*?)\n<!-- /rounds -->", DOCS.read_text(encoding="utf-8"), re.S)
    assert match, "docs/bad-inputs.md has no rounds block"
    assert match.group(1).strip() == rounds_table(rounds)


def test_each_rounds_counts_add_up():
    rounds = pd.read_csv(RECORDS / "rounds.csv")
    assert (rounds[["clear", "correct", "vague", "silent", "crash"]].sum(axis=1) == rounds.cases).all()
    assert (rounds.cli_cases + rounds.python_cases == rounds.cases).all()
    assert (rounds.cli_clear_or_correct + rounds.python_clear_or_correct == rounds.clear + rounds.correct).all()
    assert rounds["round"].is_monotonic_increasing and rounds["round"].is_unique


def test_a_round_with_its_cases_committed_is_counted_from_them():
    rounds = pd.read_csv(RECORDS / "rounds.csv").set_index("round")
    files = sorted(RECORDS.glob("round-*.csv"))
    for path in files:
        cases = pd.read_csv(path)
        number = int(path.stem.removeprefix("round-"))
        assert set(cases["class"]) <= set(CLASSES) and cases["id"].is_unique, path.name
        row = rounds.loc[number]
        counts = cases["class"].value_counts()
        assert [int(counts.get(c, 0)) for c in CLASSES] == [row.clear, row.correct, row.vague, row.silent, row.crash], path.name
        python = cases[cases.surface == PYTHON]
        good = cases["class"].isin(["CLEAR", "CORRECT"])
        assert (len(python), int(good[python.index].sum())) == (row.python_cases, row.python_clear_or_correct), path.name
        assert (len(cases) - len(python), int(good.sum()) - int(good[python.index].sum())) == (row.cli_cases, row.cli_clear_or_correct)
