"""Optional extras, checked before any work: a setting that needs one names the ``pip install`` that brings it."""

from __future__ import annotations

import importlib.util

from neurosage.core.errors import ConfigError

__all__ = ["EXTRAS", "missing_modules", "require_extra"]

#: Each extra of ``pyproject.toml`` and the modules it brings (import names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "distributed": ("dask", "distributed"),
    "slurm": ("dask", "distributed", "dask_jobqueue"),
    "optuna": ("optuna",),
}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (found, not imported)."""
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require_extra(extra: str, needed_by: str, *, field: str | None = None) -> None:
    """Refuse ``needed_by`` (a flag or setting as the user wrote it, e.g. ``--workers 2``) when ``extra`` is not installed,
    with the ``pip install`` that fixes it; call it before any data, teacher or run-folder work."""
    missing = missing_modules(extra)
    if missing:
        raise ConfigError(f"{needed_by} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed",
                          f"pip install 'neurosage[{extra}]' (or leave out {needed_by})", field=field)
