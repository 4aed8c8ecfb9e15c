"""Stimulus-set CSV files (BrainIO's ``stimulus_<identifier>.csv``): one row per stimulus, ids as strings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from neurosage.core.errors import DataFormatError

__all__ = ["read_stimulus_csv", "read_csv_table", "near_miss"]


def read_csv_table(path: str | os.PathLike, dtype: dict[str, Any], header: str) -> pd.DataFrame:
    """A CSV table users write (stimuli, neuroids), read by one rule: an empty file, a file that is not UTF-8 (Latin-1,
    UTF-16), one pandas cannot split, or one whose header line comes again inside it is refused naming the file and the
    row; ``header`` is the header to suggest."""
    head = Path(path).read_bytes()[:8] if Path(path).is_file() else b""
    binary = next((kind for magic, kind in ((b"\x93NUMPY", "a NumPy .npy array"), (b"PK\x03\x04", "a zip archive (or .npz, .xlsx)"),
                                             (b"\x89HDF", "HDF5 or netCDF"), (b"\x1f\x8b", "gzip-compressed"), (b"\x89PNG", "a PNG image"))
                   if head.startswith(magic)), None)
    if binary:  # a binary file read as text: its bytes would be blamed on the encoding
        raise DataFormatError(f"not a CSV table: the file is {binary}", f"give the CSV ({header}, one row per item) here; the other "
                              "files go to their own arguments", file=path, field=None)
    try:
        table = pd.read_csv(path, dtype=dtype)
    except pd.errors.EmptyDataError:
        raise DataFormatError("the CSV is empty", f"write a header row ({header}) and one row per item", file=path, field=None) from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at position {exc.start}: saved as Latin-1, "
                              "Windows-1252 or UTF-16?)", f"save it as UTF-8 (a spreadsheet: CSV UTF-8; or iconv -f latin1 -t utf-8 "
                              f"{Path(path).name} > utf8.csv)", file=path, field=None) from None
    except pd.errors.ParserError as exc:
        raise DataFormatError(f"not a comma-separated file ({str(exc).splitlines()[0][:120]})", "save it as a comma-separated CSV (a "
                              "spreadsheet: CSV UTF-8)", file=path, field=None) from None
    names = [str(c) for c in table.columns]
    if names and names[0].lstrip().startswith("#"):  # an exporter's comment above the header
        raise DataFormatError(f"line 1 is a comment ({names[0][:50]!r}), not the header line", f"delete the comment line(s) above the header "
                              f"({header})", file=path, field=None)
    if names and names[0].strip().lower() == "sep=":  # Excel's 'sep=,' line
        raise DataFormatError("line 1 is a spreadsheet's 'sep=,' line, not the header line", f"delete that line (the header, {header}, "
                              "comes first)", file=path, field=None)
    separator = next((sep for sep in (";", "\t", "|") if len(names) == 1 and sep in names[0]), None)
    if separator:  # one column whose name holds the real header: another separator
        raise DataFormatError(f"one column {names[0][:60]!r}: the file is separated by {separator!r}, not commas",
                              "save it comma-separated (e.g. from a spreadsheet: CSV UTF-8)", file=path, field=None)
    if not len(table):  # a header and nothing under it: numpy's or the shape check's words would come later, without the file
        raise DataFormatError(f"the CSV has a header ({', '.join(names[:4])}{'...' if len(names) > 4 else ''}) and no rows",
                              "write one row per item under the header (was the file cut short, or written before its rows?)", file=path,
                              field=None)
    again = table.index[(table.astype(str) == names).all(axis=1)] if len(names) > 1 else []
    if len(again):  # two files joined with cat: the second header became a row
        raise DataFormatError(f"row {int(again[0]) + 2} repeats the header line ({', '.join(names[:4])}...)", "delete the repeated header "
                              "line(s) (files joined with cat keep each file's header)", file=path, field=None)
    return table


def near_miss(missing: Any, available: Any) -> str:
    """Why ids that were looked for are missing from ``available`` when they are there but written otherwise (letter case,
    spaces around them, a file extension): a sentence to add to the error, or ""."""
    have = {str(a) for a in available}
    for how, norm in (("in letter case", str.casefold), ("in spaces around them", str.strip),
                      ("by a file extension", lambda t: t.rsplit(".", 1)[0] if "." in t[-6:] else t)):
        normed = {norm(a): a for a in have}
        pairs = [(str(m), normed[norm(str(m))]) for m in missing if norm(str(m)) in normed]
        if pairs:
            return (f" ({len(pairs)} of them differ from the table's ids only {how}, e.g. {pairs[0][0]!r} and {pairs[0][1]!r}: write the ids "
                    "as the recording does)")
    return ""


def read_stimulus_csv(csv: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """A stimulus-set CSV (BrainIO ``stimulus_*.csv``) with a str ``stimulus_id`` column (from ``image_id`` if needed).

    Rows repeating a ``stimulus_id`` must agree (on ``columns`` when given, e.g. a per-presentation CSV
    whose ``repetition`` differs); otherwise the CSV is refused.
    """
    csv = Path(csv)
    if not csv.exists():
        raise DataFormatError("stimulus set CSV not found", "pass the stimulus CSV that belongs to the recordings", file=csv, field=None)
    table = read_csv_table(csv, {"stimulus_id": str, "image_id": str}, "stimulus_id,filename,...")  # ids are str, even all-digit hashes
    if "stimulus_id" not in table:
        if "image_id" not in table:
            only = list(table.columns)
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
