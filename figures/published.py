"""The paper's published values (TG-SAGE, arXiv:1808.01405, Tables 1-4), stored once as CSV."""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

__all__ = ["load_published", "TABLES"]

TABLES = {
    "table1": "Best C100 error (%) of random, P and P+TG searches, mean \u00b1 sd over 3 runs",
    "table2": "Discovered cells on CIFAR-10/100 with search cost (M1*E1 + M2*E2 examples)",
    "table3": "Cells on ImageNet, mobile setting",
    "table4": "Performance-guided vs neurally guided search on ImageNet",
}


def load_published(name: str) -> pd.DataFrame:
    """One of ``table1`` .. ``table4`` as a DataFrame (values as printed in the paper)."""
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; available: {sorted(TABLES)}")
    with (files("neurosage.figures") / "published" / f"{name}.csv").open("r") as csv:  # also inside a zipped install
        return pd.read_csv(csv, dtype=str if name == "table2" else None)
