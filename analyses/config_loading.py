"""The one config loader: defaults, then a TOML file, then explicit values, into a config dataclass.

Every command uses the same vocabulary: a config key is a field name of the
command's config class, written with ``-`` or ``_`` (``n-blocks = 3`` and
``n_blocks = 3`` are the same key); a flag is ``--`` plus the dashed key.
Unknown keys are refused with the closest known keys.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import math
import re
import sys
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as the tomli package
    import tomli as tomllib

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["Range", "check_settings", "load_config", "config_file_values", "config_keys", "field_types", "field_docs"]

C = TypeVar("C", bound="DataclassInstance")


def config_keys(cls: type) -> list[str]:
    """The keys a config class accepts (dashed, as written in TOML and on the command line)."""
    return [f.name.replace("_", "-") for f in fields(cls)]


def field_docs(cls: type) -> dict[str, str]:
    """Each field's one-sentence doc: the ``#:`` comment above it in its class (subclasses override bases)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not hasattr(klass, "__dataclass_fields__"):
            continue
        lines = inspect.getsource(klass).splitlines()
        for node in ast.walk(ast.parse(inspect.cleandoc("\n".join(lines)) if lines[0].startswith(" ") else "\n".join(lines))):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                comments: list[str] = []
                i = node.lineno - 2
                while i >= 0 and lines[i].strip().startswith("#:"):
                    comments.insert(0, lines[i].strip()[2:].strip())
                    i -= 1
                if comments:
                    docs[node.target.id] = " ".join(comments)
    return docs


def field_types(cls: type) -> dict[str, type]:
    """Each field's value type: ``int``, ``float``, ``str``, ``bool`` or ``tuple`` (``X | None`` gives ``X``)."""
    hints = typing.get_type_hints(cls)
    out: dict[str, type] = {}
    for f in fields(cls):
        hint = hints[f.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        base = typing.get_origin(hint)
        if base is dict or hint is dict:
            out[f.name] = dict
        elif base is tuple or hint is tuple:
            out[f.name] = tuple
        elif args and base is not tuple:
            out[f.name] = args[0] if len(args) == 1 else str
        else:
            out[f.name] = hint
    return out


@dataclass(frozen=True)
class Range:
    """The valid values of a numeric setting (of each element, for a tuple): ``low``/``high`` bounds (None: unbounded),
    ``open_low`` to exclude ``low`` itself, ``why`` the reason for a bound a user would not guess. NaN and infinity are never
    valid."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    why: str = ""

    def contains(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.open_low and value == self.low)):
            return False
        return self.high is None or value <= self.high

    def describe(self) -> str:
        def text(bound: float) -> str:
            return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"

        low = None if self.low is None else f"{'above' if self.open_low else 'at least'} {text(self.low)}"
        high = None if self.high is None else f"at most {text(self.high)}"
        return " and ".join(x for x in (low, high) if x) or "any finite number"


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars (also inside a tuple or list) as Python numbers; anything else as it is."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)) and any(isinstance(v, np.generic) for v in value):
        return type(value)(v.item() if isinstance(v, np.generic) else v for v in value)
    return value


def check_settings(config: Any, ranges: dict[str, Range]) -> None:
    """Refuse a config whose values do not have their field's type, or lie outside its declared :class:`Range`.

    Every path (TOML, command line, Python API) builds a config dataclass, whose ``__post_init__`` calls this, so one
    check covers all of them before any data is loaded. A numeric field without a declared range is a programming
    error (a test walks every config class), so new options cannot slip through unchecked.
    """
    types = field_types(type(config))
    for f in fields(config):
        value, expected = _plain(getattr(config, f.name)), types[f.name]
        object.__setattr__(config, f.name, value)  # numpy numbers (a count read with pandas) as Python's own
        if value is None and f.default is None:
            continue
        key = f.name.replace("_", "-")
        if expected is tuple and isinstance(value, (tuple, list)) and not value and isinstance(f.default, tuple) and f.default:
            raise ConfigError(f"{key} is empty", f"give at least one value (default: {list(f.default)})", field=f.name)
        if expected is tuple and isinstance(value, (tuple, list)):
            repeated = sorted({repr(v) for v in value if list(value).count(v) > 1})
            if repeated:  # e.g. seeds = [0, 0]: the second search would only resume the first and be counted twice
                raise ConfigError(f"{key} lists {', '.join(repeated)} more than once", f"list each value of {key} once", field=f.name)
        items = value if expected is tuple and isinstance(value, (tuple, list)) else (value,)
        numeric = expected in (int, float) or (expected is tuple and f.name in ranges)
        if expected is str and isinstance(value, str) and not value.strip() and f.default is None:
            raise ConfigError(f"{key} is empty", f"give {key} a value, or leave it out for the default", field=f.name)
        if not numeric:
            continue
        kind = int if expected is int or f.name in _INTEGER_TUPLES else float
        for item in items:
            wrong_type = isinstance(item, bool) or not isinstance(item, (int, float)) or (kind is int and not isinstance(item, int))
            if wrong_type:
                example = ""
                if expected is tuple and isinstance(item, str) and all(p.strip().lstrip("-").replace(".", "", 1).isdigit() for p in item.split(",")):
                    example = f", e.g. {key} = [{', '.join(p.strip() for p in item.split(','))}]"  # "5,10" meant as a list
                raise ConfigError(f"{key} = {value!r}: {item!r} is not {'an integer' if kind is int else 'a number'}",
                                  f"write {key} as {'a list of ' if expected is tuple else ''}{'integers' if kind is int else 'numbers'} "
                                  f"(TOML: no quotes){example}", field=f.name)
            allowed = ranges.get(f.name)
            if allowed is None:
                raise ConfigError(f"{type(config).__name__}.{f.name} has no declared range", "declare it in neurosage.analyses.settings.RANGES",
                                  field=f.name)
            if not math.isfinite(float(item)):
                raise ConfigError(f"{key} = {value!r} is not a finite number", f"set {key} to a finite number, {allowed.describe()}",
                                  field=f.name)
            if not allowed.contains(float(item)):
                reason = f" ({allowed.why})" if allowed.why else ""
                raise ConfigError(f"{key} = {value!r} is out of range{reason}", f"set {key} to {allowed.describe()}", field=f.name)
    top_k, budget = getattr(config, "top_k", None), getattr(config, "budget", None)
    if isinstance(top_k, int) and isinstance(budget, int) and top_k > budget:  # a shortlist longer than the search
        raise ConfigError(f"top-k = {top_k} is more than budget = {budget}: only {budget} trial(s) would be reranked",
                          f"give top-k of at most {budget}, or a budget of at least {top_k}", field="top_k")


#: tuple settings whose elements are integers (their other elements are numbers)
_INTEGER_TUPLES = ("checkpoints", "seeds", "premature_steps_grid")


def load_config(cls: type[C], path: str | Path | None = None, *, base: dict[str, Any] | None = None, **overrides: Any) -> C:
    """A ``cls`` instance from its defaults, ``base`` (e.g. a run folder's recorded settings), the TOML file ``path``,
    then ``overrides`` (``None`` values are skipped). A missing or malformed file raises :class:`ConfigError`."""
    values: dict[str, Any] = {k: v for k, v in (base or {}).items() if v is not None}
    toml = _from_toml(Path(path), [f.name for f in fields(cls)]) if path else {}
    values.update(toml)
    given = set(toml) | {k.replace("-", "_") for k, v in overrides.items() if v is not None}
    values.update({k.replace("-", "_"): v for k, v in overrides.items() if v is not None})
    known = [f.name for f in fields(cls)]
    misplaced = sorted(set(toml.get("teacher_args") or {}) & set(known)) if isinstance(toml.get("teacher_args"), dict) else []
    if misplaced:
        key = misplaced[0].replace("_", "-")
        raise ConfigError(f"{key} is written inside the [teacher] table, where it would go to the teacher's loader",
                          f"move {key} = ... above [teacher] (it is a top-level option)", file=path, field=misplaced[0])
    unknown = sorted(set(values) - set(known))
    tables = [k for k in unknown if isinstance(toml.get(k), dict) and k not in ("teacher_args", "slurm")]
    if "teacher_arg" in tables:  # the command line's --teacher-arg written as a TOML key (a table or an inline table)
        pairs = " / ".join(f"{k} = {v!r}".replace("'", '"') for k, v in list(toml["teacher_arg"].items())[:3])
        raise ConfigError("teacher-arg is the command line's flag; in a TOML file a recording loader's arguments are keys of the [teacher] "
                          "table, beside its spec", f"write them as a [teacher] table at the end of the file: [teacher] / spec = \""
                          f"{toml.get('teacher') if isinstance(toml.get('teacher'), str) else 'brain:<dataset>:<regions>'}\" / "
                          f"{pairs} (one key per line), and drop the teacher = and teacher-arg lines",
                          file=path, field="teacher_arg")
    if tables:  # [search], [demo] or [tpe]: a table where top-level keys belong
        table = tables[0]
        keys = sorted(str(k).replace("-", "_") for k in toml[table])
        named = {k: k if k in known else f"{table}_{k}" if f"{table}_{k}" in known else None for k in keys}  # [tpe] gamma: tpe-gamma
        top = ", ".join(f"{(v or k).replace('_', '-')} = ..." for k, v in list(named.items())[:4])
        unknown_inside = [k for k, v in named.items() if v is None]
        raise ConfigError(f"[{table}] is a TOML table, and {cls.__name__}'s options are top-level keys",
                          f"delete the [{table}] line and write its keys at the top level as {top}"
                          + (f" ({', '.join(unknown_inside[:3])} {'is' if len(unknown_inside) == 1 else 'are'} no option of this command)"
                             if unknown_inside else ""), file=path, field=table)
    if unknown:
        owner = _config_owner(set(toml), cls) if toml else None
        if owner is not None:  # another command's config file: its keys are that command's, and the guesses would mislead
            raise ConfigError(f"this is a config file of {owner} (its options {unknown[:4]} are that command's; {cls.__name__} has none "
                              "of them)", f"run {owner} --config {path}, or write a config of this command's options: {known[:8]}...",
                              file=path)
        hints = {k: difflib.get_close_matches(k, known, n=1) for k in unknown}
        close = "; ".join(f"{k!r}: did you mean {m[0]!r}?" for k, m in hints.items() if m)
        where = f" in {path}" if path else ""
        raise ConfigError(
            f"unknown option(s) {unknown}{where} for {cls.__name__}{'; ' + close if close else ''}",
            f"use the known keys: {known}", file=path,
        )
    types = field_types(cls)
    for name, value in values.items():
        expected = types[name]
        if expected is tuple and isinstance(value, list):
            values[name] = value = tuple(value)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            values[name] = value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            kind = "list" if expected is tuple else expected.__name__
            listed = [p.strip() for p in value.split(",")] if isinstance(value, str) else [str(value)]
            inside = ", ".join(p if p.lstrip("-").replace(".", "", 1).isdigit() else repr(p) for p in listed)
            how = (f"write it in brackets, e.g. {name.replace('_', '-')} = [{inside}]".replace("'", '"') if expected is tuple else
                   f"write {name.replace('_', '-')} as a {kind}" + (" (TOML: no quotes)" if isinstance(value, str) else ""))
            raise ConfigError(f"{name.replace('_', '-')} = {value!r} is a {type(value).__name__}, not a {kind}", how, file=path, field=name)
    from neurosage.analyses.settings import given_options  # settings imports this module

    with given_options(given):
        return cls(**values)


def _config_owner(keys: set[str], cls: type) -> str | None:
    """The command whose config class has every key of a config file that ``cls`` cannot read (``neurosage analyze
    teacher_bench``, ``neurosage search``), or None."""
    from neurosage.analyses import ANALYSES, get_analysis
    from neurosage.analyses.settings import DemoConfig, SearchConfig

    commands: dict[str, type] = {f"neurosage analyze {name}": get_analysis(name)[1] for name in ANALYSES.names()}
    commands.update({"neurosage search": SearchConfig, "neurosage demo": DemoConfig})
    for command, other in commands.items():
        if other is not cls and keys <= {f.name for f in fields(other)} | {"teacher_args"}:
            return command
    return None


def config_file_values(cls: type, path: str | Path) -> dict[str, Any]:
    """The settings a TOML file gives ``cls`` (underscored keys, the ``[teacher]`` table unpacked), its unknown keys left out
    (:func:`load_config` names them): what a resume compares with the recorded settings before merging them."""
    check_arguments(config_file_values, locals())
    known = [f.name for f in fields(cls)]
    return {k: v for k, v in _from_toml(Path(path), known).items() if k in known}


#: Keys whose relative paths in a TOML file are resolved against the file's folder (and a teacher spec's weights file).
PATH_KEYS = ("data", "teacher_images")


def _from_toml(path: Path, known: list[str]) -> dict[str, Any]:
    """A TOML file's values with dashed keys made underscored, the ``[teacher]`` table unpacked, relative paths resolved.

    ``[teacher]`` holds ``spec``, optionally ``images`` (the recording's stimulus images, a zip or folder),
    and any other key as an argument of the teacher's dataset loader (``path``, ``stimulus_csv``, ...).
    """
    text = _read_toml(path)
    raw = {k.replace("-", "_"): v for k, v in text.items()}
    if len(raw) != len(text):
        twice = sorted({k for k in text if sum(o.replace("-", "_") == k.replace("-", "_") for o in text) > 1})
        raise ConfigError(f"the same option is written twice ({twice})", "keep one of them (n-train and n_train are one key)", file=path,
                          field=twice[0].replace("-", "_"))
    table = raw.get("teacher")
    if isinstance(table, dict):
        table = {k.replace("-", "_"): v for k, v in table.items()}
        if "spec" not in table:
            raise ConfigError("the [teacher] table has no spec", 'add spec = "brain:<dataset>:<regions>" (or net:..., sim:..., control:...) '
                              "to the [teacher] table; its other keys are the loader's arguments", file=path, field="teacher")
        raw["teacher"] = table.pop("spec", None)
        if "images" in table:
            raw["teacher_images"] = table.pop("images")
        spec = raw["teacher"] if isinstance(raw["teacher"], str) else ""
        if spec.split(":")[0] in ("net", "sim", "control") and table:  # only a recording's loader takes arguments
            fields = spec.split(":")
            hint = (f'its weights file is the spec\'s fourth field: spec = "{":".join(fields[:3])}:{table["weights"]}"'
                    if "weights" in table and len(fields) >= 3 else "drop them")
            raise ConfigError(f"the [teacher] table's keys {sorted(table)} would be a recording loader's arguments, and a "
                              f"{spec.split(':')[0]}: teacher loads no recording", hint, file=path, field="teacher")
        raw["teacher_args"] = {k: _resolve(path, v) for k, v in table.items()}
    slurm = raw.pop("slurm", None)
    if isinstance(slurm, dict):  # [slurm] jobs = 2, partition = "gpu", ... are slurm-jobs, slurm-partition, ...
        keys = [name.removeprefix("slurm_") for name in known if name.startswith("slurm_")]
        if not keys:
            raise ConfigError("this command does not run on Slurm (only neurosage search takes a [slurm] table)", "drop the [slurm] table "
                              "(run the command on a Slurm node, or give its candidates a cluster with --scheduler ADDRESS)", file=path,
                              field="slurm")
        for key, value in slurm.items():
            if key == "extra" and isinstance(value, str):
                raise ConfigError(f"[slurm] extra = {value!r} is a string, not a list", f'write it in brackets: extra = ["{value}"]',
                                  file=path, field="slurm_extra")
            if key.replace("-", "_") not in keys:
                close = difflib.get_close_matches(key.removeprefix("slurm_").removeprefix("slurm-"), keys, n=1)
                raise ConfigError(f"[slurm] has no key {key!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
                                  f"use the [slurm] keys {list(keys)}", file=path, field="slurm")
            name = "slurm_" + key.replace("-", "_")
            if name in raw:
                raise ConfigError(f"{name.replace('_', '-')} is given twice (top level and [slurm] {key})", "keep one of them", file=path, field=name)
            raw[name] = value
    elif slurm is not None:
        raise ConfigError("slurm must be a table", "write [slurm] on its own line, then jobs = 2, partition = \"...\" under it", file=path,
                          field="slurm")
    for key in PATH_KEYS:
        if isinstance(raw.get(key), str):
            raw[key] = _resolve(path, raw[key])
    if isinstance(raw.get("teacher"), str):  # a weights file in a spec (net:MODEL:LAYERS:FILE): read from the TOML's folder too
        raw["teacher"] = "+".join(_resolve_spec_file(path, part) for part in raw["teacher"].split("+"))
    return raw


def _resolve_spec_file(toml: Path, part: str) -> str:
    """A ``net:``/``sim:`` spec part with its weights file (the fourth field) resolved as :func:`_resolve` does."""
    fields = part.split(":")
    if fields[0].strip() in ("net", "sim") and len(fields) == 4:
        fields[3] = str(_resolve(toml, fields[3]))
    return ":".join(fields)


def _resolve(toml: Path, value: Any) -> Any:
    """``value`` as a path: ``~`` expanded (TOML has no shell to do it), relative to the TOML file's folder when it is a relative
    path that exists there."""
    if isinstance(value, str) and value.startswith("~"):
        value = str(Path(value).expanduser())
    if isinstance(value, str) and value and not Path(value).is_absolute() and (toml.parent / value).exists():
        return str(toml.parent / value)
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
        if text[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ConfigError("UTF-16 text (TOML files are UTF-8)", "save the file as UTF-8 (in most editors: Save with encoding > UTF-8)",
                              file=path)
        return tomllib.loads(text.decode("utf-8-sig"))  # a UTF-8 byte-order mark (Windows editors) is read past
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8 (TOML files are UTF-8)", file=path) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a TOML file", "pass the .toml file to --config", file=path) from None
    except FileNotFoundError:
        raise ConfigError("config file not found", "check the path given to --config", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        if "Cannot overwrite a value" in str(exc) or "Cannot declare" in str(exc):  # a key given twice: twice as a key, or a key and a [table]
            raise ConfigError(f"not valid TOML ({exc}): a key is given twice there, as a key twice or as a key and a [table] of the same "
                              "name (e.g. teacher = \"...\" and a [teacher] table)", "give it once: delete one of the two lines (for a "
                              "teacher: its [teacher] table, or the teacher = key, not both)", file=path) from None
        at = re.search(r"at line (\d+)", str(exc))
        line = int(at.group(1)) if at else None
        bad = text.decode("utf-8-sig", "replace").splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
        if "\\" in bad and ("escape" in str(exc) or "hex value" in str(exc) or "Unescaped" in str(exc)):  # a Windows path in "..."
            raise ConfigError(f"not valid TOML ({exc}): a backslash in a \"...\" string starts an escape (\\U, \\t), as in {bad.strip()[:60]!r}",
                              "write the path with forward slashes (C:/Users/me/data), or in single quotes, which take backslashes as "
                              "they are ('C:\\Users\\me\\data')", file=path) from None
        raise ConfigError(f"not valid TOML ({exc})", "write key = value lines, strings in quotes (https://toml.io)", file=path) from None
