"""Writing figures (PNG + PDF) and tables (Markdown + LaTeX) into a run's ``figures/`` folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["latex_escape", "pyplot", "save_figure", "save_table"]


def pyplot():
    """matplotlib.pyplot with a non-interactive backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out_dir: Path, name: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=130, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    pyplot().close(fig)
    return paths


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "%": r"\%", "&": r"\&", "#": r"\#", "_": r"\_", "$": r"\$",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\u00b1": r"$\pm$"}


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (``%`` would otherwise start a comment)."""
    return "".join(_LATEX_SPECIALS.get(c, c) for c in text)


def save_table(table: pd.DataFrame, out_dir: Path, name: str, caption: str, floatfmt: str = ".3g") -> list[Path]:
    """``<name>.md`` and ``<name>.tex`` with the caption; floats formatted with ``floatfmt``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md, tex = out_dir / f"{name}.md", out_dir / f"{name}.tex"
    md.write_text(f"**{caption}**\n\n" + table.to_markdown(index=False, floatfmt=floatfmt) + "\n")
    tex.write_text(table.to_latex(index=False, float_format=f"%{floatfmt}", caption=latex_escape(caption), label=f"tab:{name}", escape=True))
    return [md, tex]
