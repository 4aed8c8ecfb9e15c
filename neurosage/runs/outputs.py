"""Output folders of the commands that write into ``--out`` (rdm, bench, figures): each says which command wrote it.

A marker file (:data:`OUTPUT_MARKER`, the command's name) is written into the folder; a folder that holds another
command's outputs, or files no command wrote, is refused before anything is written, so one command's files never land
among another's. Folders written before the marker existed are recognised by their file names (``known``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from neurosage.core.atomic import write_text
from neurosage.core.errors import ConfigError

__all__ = ["OUTPUT_MARKER", "claim_output_folder", "output_folder_owner"]

#: The file in an output folder naming the command that writes it.
OUTPUT_MARKER = ".neurosage-output"


def _marker(folder: str | Path) -> list[str]:
    try:
        return (Path(folder) / OUTPUT_MARKER).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def output_folder_owner(folder: str | Path) -> str | None:
    """The command (e.g. ``"neurosage rdm"``) whose output ``folder`` is, or None."""
    lines = _marker(folder)
    return lines[0].strip() or None if lines else None


def claim_output_folder(folder: str | Path, command: str, known: Callable[[str], bool], *, flag: str = "--out", create: bool = True,
                        identity: str | None = None) -> Path:
    """``folder`` made ready for ``command``'s files: created and marked (``create=False``: only checked, before any
    work), or refused (a file; another command's outputs; files ``command`` would not write, by ``known``; with
    ``identity``, e.g. what was compared: the outputs of another run of the command) with the fix."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{flag} is a file", f"give a folder for the outputs of {command} (it is created)", file=folder, field="out")
    if not folder.exists() and folder.suffix.lower() in (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".csv", ".json", ".nc", ".txt", ".html"):
        raise ConfigError(f"{flag} names a {folder.suffix[1:]} file, and {command} writes several files into a folder",
                          f"give a folder (e.g. {flag} {folder.with_suffix('')} on the command line, {flag.lstrip('-')}="
                          f"'{folder.with_suffix('')}' in Python; it is created)", file=folder, field="out")
    owner = output_folder_owner(folder)
    if owner is not None and owner != command:
        raise ConfigError(f"{flag} holds the outputs of {owner}, and {command} would write its files among them",
                          f"give {command} a folder of its own (a new one is created)", file=folder, field="out")
    earlier = _marker(folder)[1].strip() if len(_marker(folder)) > 1 else None
    if identity is not None and earlier is not None and earlier != identity:
        raise ConfigError(f"{flag} holds the outputs of {command} for {earlier}, which this run ({identity}) would replace",
                          "give this run a folder of its own (a new one is created), or delete that one first", file=folder, field="out")
    foreign = sorted(p.name for p in folder.iterdir() if p.name != OUTPUT_MARKER and not known(p.name)) if folder.is_dir() else []
    if owner is None and foreign:
        raise ConfigError(f"{flag} holds files that {command} does not write (e.g. {foreign[:3]}), which its outputs would mix with",
                          f"give {command} an empty or new folder, or one it wrote before", file=folder, field="out")
    if create:
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / OUTPUT_MARKER, command + "\n" + (f"{identity}\n" if identity is not None else ""))
    return folder
