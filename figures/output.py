"""Writing figures (PNG + PDF) and tables (Markdown + LaTeX) into a run's ``figures/`` folder.

Figures are :class:`matplotlib.figure.Figure` objects drawn without pyplot, so no
backend is selected and no global state is touched; files are written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from neurosage.core.atomic import atomic_path, write_text

__all__ = ["latex_escape", "new_figure", "save_figure", "save_table"]


def new_figure(**kwargs: Any) -> Figure:
    """A new figure (``figsize=...``), independent of pyplot and its backend."""
    return Figure(**kwargs)


def save_figure(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """``<name>.png`` and ``<name>.pdf`` in ``out_dir``."""
    paths = [Path(out_dir) / f"{name}.png", Path(out_dir) / f"{name}.pdf"]
    png, pdf = paths
    with atomic_path(png) as tmp:
        fig.savefig(tmp, bbox_inches="tight", dpi=130)
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, bbox_inches="tight")
    return paths


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "%": r"\%", "&": r"\&", "#": r"\#", "_": r"\_", "$": r"\$",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\u00b1": r"$\pm$"}


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (``%`` would otherwise start a comment)."""
    return "".join(_LATEX_SPECIALS.get(c, c) for c in text)


def save_table(table: pd.DataFrame, out_dir: Path, name: str, caption: str, floatfmt: str = ".3g") -> list[Path]:
    """``<name>.md`` and ``<name>.tex`` with the caption; floats formatted with ``floatfmt``."""
    md, tex = Path(out_dir) / f"{name}.md", Path(out_dir) / f"{name}.tex"
    write_text(md, f"**{caption}**\n\n" + table.to_markdown(index=False, floatfmt=floatfmt) + "\n")
    latex = table.to_latex(index=False, float_format=f"%{floatfmt}", caption=latex_escape(caption), label=f"tab:{name}", escape=True)
    write_text(tex, latex.replace("\u00b1", r"$\pm$"))  # cells such as "38.3\u00b11.1" (pandas escapes the rest)
    return [md, tex]
