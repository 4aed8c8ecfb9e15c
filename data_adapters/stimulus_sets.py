"""Stimulus-set CSV files (BrainIO's ``stimulus_<identifier>.csv``): one row per stimulus, ids as strings."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from neurosage.core.errors import DataFormatError

__all__ = ["read_stimulus_csv"]


def read_stimulus_csv(csv: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """A stimulus-set CSV (BrainIO ``stimulus_*.csv``) with a str ``stimulus_id`` column (from ``image_id`` if needed).

    Rows repeating a ``stimulus_id`` must agree (on ``columns`` when given, e.g. a per-presentation CSV
    whose ``repetition`` differs); otherwise the CSV is refused.
    """
    csv = Path(csv)
    if not csv.exists():
        raise DataFormatError("stimulus set CSV not found", "pass the stimulus CSV that belongs to the recordings", file=csv, field=None)
    try:
        table = pd.read_csv(csv, dtype={"stimulus_id": str, "image_id": str})  # ids are strings, even all-digit hashes
    except pd.errors.EmptyDataError:
        raise DataFormatError("the CSV is empty", "write a header row (stimulus_id,filename,...) and one row per stimulus", file=csv,
                              field=None) from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(f"not a UTF-8 comma-separated file ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})",
                              "save it as UTF-8 CSV (e.g. from a spreadsheet: CSV UTF-8)", file=csv, field=None) from None
    if "stimulus_id" not in table:
        if "image_id" not in table:
            only = list(table.columns)
            separator = next((sep for sep in (";", "\t", "|") if len(only) == 1 and sep in str(only[0])), None)
            if separator:  # one column whose name holds the real header: another separator
                raise DataFormatError(f"one column {str(only[0])[:60]!r}: the file is separated by {separator!r}, not commas",
                                      "save it comma-separated (e.g. from a spreadsheet: CSV UTF-8)", file=csv, field="stimulus_id")
            raise DataFormatError(f"no 'stimulus_id' or 'image_id' column (columns: {only[:6]})", "add a stimulus_id column", file=csv,
                                  field="stimulus_id")
        table["stimulus_id"] = table["image_id"]
    if table["stimulus_id"].isna().any():
        rows = (table.index[table["stimulus_id"].isna()] + 2).tolist()
        raise DataFormatError(f"empty id in row(s) {rows[:5]}", "give every stimulus an id", file=csv, field="stimulus_id")
    table["stimulus_id"] = table["stimulus_id"].astype(str)
    checked = table if columns is None else table[["stimulus_id", *[c for c in columns if c in table]]]
    repeated = checked[checked.duplicated("stimulus_id", keep=False)]
    conflicting = [sid for sid, rows in repeated.groupby("stimulus_id") if len(rows.drop_duplicates()) > 1]
    if conflicting:
        raise DataFormatError(f"{len(conflicting)} stimulus id(s) appear in rows that disagree, e.g. {conflicting[:3]}",
                              "keep one row per stimulus (or make repeated rows identical)", file=csv, field="stimulus_id")
    return table
