"""One way to check the arguments of a public function: each check returns the clean value or raises a
:class:`~neurosage.core.errors.ConfigError` that names the argument and the fix.

Used at the boundary of the statistics, RSA, ceiling, interop and teacher functions, so a wrong shape, a NaN, a constant
input, a misspelt option or pandas objects paired by position get one sentence, never a foreign exception or a silent
NaN. Enumerations are checked, never defaulted.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeGuard

import numpy as np

from neurosage.core.errors import ConfigError

__all__ = ["KnownFields", "check_arguments", "check_fields", "check_client", "vector", "same_index", "is_constant", "is_whole_number", "choice",
           "check_choices", "literal_options", "whole", "fraction", "finite_number", "TINY", "LEAST_WHOLE", "POSITIVE_NUMBERS",
           "PROBABILITIES", "UNBOUNDED_NUMBERS", "NON_NEGATIVE_NUMBERS", "HOW_TO_MAKE"]

#: Relative size below which a spread counts as zero.
TINY = 1e-12

#: The least value of a whole-number argument, by name (or by its last word: ``stem_stride`` is a stride), that
#: :func:`check_arguments` enforces: a count of items is at least 0 (a negative count, index or step is never meaningful),
#: a batch at least 1 image; a signed argument is named here.
LEAST_WHOLE: dict[str, int | None] = {**dict.fromkeys(("batch_size", "eval_batch_size", "stride", "kernel", "dilation", "hidden", "layers",
                                                       "in_channels", "channels", "c", "c_in", "c_out", "filters", "width", "chunk",
                                                       "sync_every"), 1),
                                      "num_classes": 2,  # a classifier of one class can never learn (its loss is 0)
                                      "dim": None, "axis": None}
#: How to make an object a function takes, by its type's name (said in the fix when another kind of value was given).
HOW_TO_MAKE = {
    "SearchSpace": "neurosage.get_space(name), e.g. get_space('pnas', n_blocks=2)",
    "Module": "a torch network: neurosage.kept_network(run_dir, trial), build_network(genotype) or build_model(name)",
    "DataArray": "an xarray DataArray: neurosage.make_assembly(...) for a recording, compute_rdm(...) for an RDM",
    "Teacher": "neurosage.teacher_from_spec(spec, stimuli) (or brain_teacher, network_teacher)",
    "ImageSet": "neurosage.ImageSet(uint8 images (N, C, H, W), labels) or neurosage.load_images(name, ...)",
    "LayerGenotype": "neurosage.parse_genotype(text) (a search's trials.csv holds each trial's genotype text)",
    "Genotype": "neurosage.parse_genotype(text) (a search's trials.csv holds each trial's genotype text)",
    "Pool": "neurosage.pool.Pool(folder) of a built pool",
    "PoolSpec": "neurosage.pool.PoolSpec(n_architectures=..., ...) (its fields: the pool's settings)",
    "TrainConfig": "neurosage.TrainConfig(steps=..., batch_size=...)",
    "NetworkConfig": "neurosage.NetworkConfig(skeleton, n_cells, filters)",
    "RDMOptions": "neurosage.RDMOptions(rdm_method=...)",
    "CandidateTask": "neurosage.CandidateTask(train_set, val_set, ...)",
    "Dataset": "a dataset of (image, label) pairs: neurosage.ImageSet(uint8 images, labels) or neurosage.load_images(name, ...)",
    "a dtype": "a torch dtype, e.g. torch.float32 or torch.float64 (numpy's np.float32 is not one)",
}

#: Number arguments (``float``) that may be infinite (a bound: ``-inf`` is "no floor"); NaN is refused there too.
UNBOUNDED_NUMBERS = frozenset({"weights_floor", "low", "high"})

#: Number arguments (``float``) that must be above 0, by name (other numbers need only be finite).
#: Number arguments that are probabilities of dropping something, by name: in [0, 1).
PROBABILITIES = frozenset({"dropout", "drop_path", "drop_path_prob", "p_drop"})
POSITIVE_NUMBERS = frozenset({"width_multiplier", "init_range", "learning_rate", "lr", "temperature", "epochs", "stem_multiplier"})
#: Number arguments that are at least 0, by name: TG's weight in P + alpha TG.
NON_NEGATIVE_NUMBERS = frozenset({"alpha"})


def vector(value: Any, name: str, n: int | None = None, *, constant_ok: bool = False, min_len: int = 0, unit: str = "architecture",
           first: str = "the first argument") -> np.ndarray:
    """``value`` as a finite 1-D float array (of length ``n`` when given, at least ``min_len`` long; varying unless
    ``constant_ok``), else a ConfigError naming ``name``. ``unit`` is what one value stands for (in the messages)."""
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, dict):
        raise ConfigError(f"{name} is not a vector of numbers (got {type(value).__name__})", f"pass {name} as a 1-D array of numbers, "
                          f"one per {unit}", field=name)
    try:
        v = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name} is not a vector of numbers ({err})", f"pass {name} as a 1-D array of numbers, one per {unit}",
                          field=name) from None
    if v.ndim != 1:
        raise ConfigError(f"{name} must be 1-D (one value per {unit}), got shape {v.shape}", f"pass {name} as a 1-D array", field=name)
    if n is not None and len(v) != n:
        raise ConfigError(f"{name} has {len(v)} values but {first} has {n}", f"measure {name} on the same {unit}s, in the same order",
                          field=name)
    if len(v) < min_len:
        raise ConfigError(f"{name} has {len(v)} value(s); at least {min_len} are needed", f"give {name} at least {min_len} {unit}s",
                          field=name)
    bad = ~np.isfinite(v)
    if bad.any():
        where = np.flatnonzero(bad)[:5].tolist()
        raise ConfigError(f"{name} has {int(bad.sum())} NaN or infinite value(s) (at positions {where}...)",
                          f"drop those {unit}s from every argument (or fill {name} with a measured value)", field=name)
    if not constant_ok and len(v) and is_constant(v):
        raise ConfigError(f"{name} is constant, so it has no correlation with anything", f"pass a {name} that varies across {unit}s",
                          field=name)
    return v


def same_index(**values: object) -> None:
    """Refuse pandas arguments whose indexes differ: values are paired by position, and misaligned Series would pair the
    wrong items silently."""
    indexed = {name: getattr(v, "index") for name, v in values.items() if hasattr(v, "index") and hasattr(getattr(v, "index"), "equals")}
    names = list(indexed)
    for other in names[1:]:
        if not indexed[names[0]].equals(indexed[other]):
            raise ConfigError(f"{names[0]} and {other} are pandas objects with different indexes: values are paired by position, not by index",
                              f"align them first, e.g. {other}.reindex({names[0]}.index), or pass arrays in one order", field=other)


def is_constant(v: np.ndarray) -> bool:
    """All values equal, to rounding (relative to their size)."""
    spread = float(np.ptp(v))
    return spread == 0 or spread <= TINY * float(np.max(np.abs(v)))


def choice(value: Any, name: str, options: Iterable[str]) -> str:
    """``value`` when it is one of ``options``, else a ConfigError listing them (an option is never guessed)."""
    options = list(options)
    if not isinstance(value, str) or value not in options:
        raise ConfigError(f"unknown {name} {value!r}", f"use one of {options}", field=name)
    return value


def literal_options(hint: Any) -> tuple[str, ...] | None:
    """The strings a ``Literal[...]`` annotation allows (``Optional``/unions of one Literal too), else None."""
    if typing.get_origin(hint) is Literal:
        return tuple(a for a in typing.get_args(hint) if isinstance(a, str))
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return None
    found = [o for o in map(literal_options, typing.get_args(hint)) if o]
    return found[0] if len(found) == 1 else None


def check_choices(fn: Callable[..., Any], arguments: Mapping[str, Any]) -> None:
    """Check every argument of ``fn`` annotated ``Literal[...]`` with :func:`choice`; called first in ``fn``'s body as
    ``check_choices(fn, locals())``.

    The one mechanism behind "enumerations are checked, never defaulted": a misspelt ``how="unoin"`` is refused with the
    options, not taken as the default branch (a test walks the package for functions with such arguments that do not).
    A call, not a decorator: a wrapper would move the warnings these functions give (``stacklevel``) into itself.
    """
    for name, allowed in _literal_arguments(fn).items():
        if arguments.get(name) is not None:
            choice(arguments[name], name, allowed)


def check_arguments(fn: Callable[..., Any], arguments: Mapping[str, Any]) -> None:
    """Refuse an argument of ``fn`` whose kind its annotation rules out (a string where a network goes, a list where a
    mapping goes, text where a count goes), naming the argument, what it takes and what it got; called first in ``fn``'s
    body as ``check_arguments(fn, locals())`` by public functions without checks of their own (a function with a more
    specific message for a wrong argument says that one instead).

    Annotations judge the kind: numbers accept numpy numbers (``float`` also ints), sequences and arrays accept any
    iterable but text (and an RDM where patterns or values go), and an annotation this check cannot read (``Any``, a
    type variable, a protocol) accepts anything.
    A whole number (annotated ``int`` or ``int | None``) is also held to its least value, :data:`LEAST_WHOLE` (0 unless named there),
    and a number (``float``) must be finite: NaN and infinities are refused by name.
    """
    for name, (accepts, shown, many) in _argument_kinds(fn).items():
        if name not in arguments:
            continue
        given = arguments[name]
        for value in (given.values() if isinstance(given, Mapping) else given) if many else (given,):
            if accepts(value):
                if shown.startswith("a number") and isinstance(value, (float, np.floating)) and not np.isfinite(value) \
                        and not (name in UNBOUNDED_NUMBERS and not np.isnan(value)):
                    raise ConfigError(f"{fn.__qualname__.replace('.__init__', '')}: {name} is {value}, and it takes a finite number",
                                      f"pass {name} as a finite number", field=name)
                if shown.startswith("a number") and name in PROBABILITIES and value is not None and not 0 <= value < 1:
                    raise ConfigError(f"{fn.__qualname__.replace('.__init__', '')}: {name} is a probability in [0, 1), got {value}",
                                      f"pass a {name} from 0 (none) to below 1, e.g. 0.2", field=name)
                if shown.startswith("a number") and name in NON_NEGATIVE_NUMBERS and value is not None and value < 0:
                    raise ConfigError(f"{fn.__qualname__.replace('.__init__', '')}: {name} weighs TG in P + alpha TG and is at least 0, got "
                                      f"{value}", f"pass {name} of 0 or more (a negative weight would reward distance from the teacher)",
                                      field=name)
                if shown.startswith("a number") and name in POSITIVE_NUMBERS and value is not None and value <= 0:
                    raise ConfigError(f"{fn.__qualname__.replace('.__init__', '')}: {name} must be above 0, got {value}",
                                      f"pass a {name} above 0", field=name)
                least = LEAST_WHOLE.get(name, LEAST_WHOLE.get(name.rsplit("_", 1)[-1], 0))  # stem_stride: a stride
                if shown.startswith("a whole number") and is_whole_number(value) and least is not None and value < least:
                    raise ConfigError(f"{fn.__qualname__.replace('.__init__', '')}: {name} must be at least {least}, got {value}",
                                      f"pass a {name} of at least {least}", field=name)
                continue
            if isinstance(value, str) and shown.startswith("a list"):  # a list of its letters otherwise
                listed = [part.strip() for part in value.split(",")] if "," in value else [value]
                every = value.strip().lower() in ("all", "*", "every", "any")  # a word for "all of them" is no name
                raise ConfigError(f"{fn.__qualname__.replace('.__init__', '')}: {name} is the string {value!r}; it takes a list of values",
                                  f"leave {name} out (None) for the defaults, or list the names" if every else f"give {name}={listed!r}",
                                  field=name)
            if isinstance(value, Mapping) and shown.startswith("a list"):
                raise ConfigError(f"{fn.__qualname__.replace('.__init__', '')}: {name} is a dict, and it takes a list (a dict would be read "
                                  f"as its keys alone)", f"give {name}=list(d.items()) for its (key, value) pairs, or list(d) for its keys",
                                  field=name)
            if isinstance(value, Mapping) and "keyed by" in shown:
                bad = next(k for k in value if not (isinstance(k, str) and k.strip()))
                raise ConfigError(f"{fn.__qualname__.replace('.__init__', '')}: {name} has the key {bad!r}, and its keys are names (they "
                                  "label results: columns, endpoints, files)", f"key each entry of {name} by a non-empty name, e.g. "
                                  "{'V4': ...}", field=name)
            if _is_rdm(value):  # an RDM where patterns or plain values go: taken as a matrix of values, it gives a number
                raise ConfigError(f"{fn.__qualname__.replace('.__init__', '')}: {name} takes {shown}, and was given an RDM (dims "
                                  f"{tuple(map(str, value.dims))})", "pass the patterns the RDM was made from (conditions x features); "
                                  "RDMs are compared with neurosage.compare_rdms(a, b)", field=name)
            kind = next((kind for kind in HOW_TO_MAKE if re.search(rf"(?<![\w.]){re.escape(kind)}(?!\w)", shown)), None)  # Pool: not PoolSpec
            made = HOW_TO_MAKE[kind] if kind else ""
            if kind and isinstance(value, Mapping) and kind[:1].isupper():  # a dict of the object's fields
                made += f"; from a dict of its fields: {kind}(**{name})"
            raise ConfigError(f"{fn.__qualname__.replace('.__init__', '')}: {name} takes {shown}, got {type(value).__name__} {str(value)[:60]!r}",
                              f"pass {name} as {shown}" + (f": {made}" if made else ""), field=name)


def _kind_of(hint: Any) -> tuple[Callable[[Any], bool], str] | None:
    """(a test of a value, a description) for an annotation, or None when the annotation cannot be judged at run time."""
    import collections.abc as abc
    import os

    origin = typing.get_origin(hint)
    if hint is type(None):
        return (lambda v: v is None), "None"
    if hint is Any or isinstance(hint, typing.TypeVar) or origin is Literal:
        return None
    if origin in (typing.Union, types.UnionType):
        parts = [_kind_of(a) for a in typing.get_args(hint)]
        if any(p is None for p in parts):
            return None
        known = [p for p in parts if p is not None]
        return (lambda v: any(test(v) for test, _ in known)), " or ".join(shown for _, shown in known)
    numbers: dict[Any, tuple[Callable[[Any], bool], str]] = {
        bool: (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
        int: (is_whole_number, "a whole number"),
        float: (lambda v: not isinstance(v, (bool, np.bool_)) and isinstance(v, (int, float, np.integer, np.floating)), "a number"),
        str: (lambda v: isinstance(v, str), "a string"),
    }
    if hint in numbers:
        return numbers[hint]
    base = origin or hint
    if base is np.ndarray:
        return (lambda v: isinstance(v, abc.Iterable) and not isinstance(v, (str, bytes)) and not _is_rdm(v)), "a list (or array) of values"
    if base in (list, tuple, abc.Sequence):  # a dict iterates over its keys alone: {'op': [1, 2]} would be ['op']
        return (lambda v: isinstance(v, abc.Iterable) and not isinstance(v, (str, bytes, abc.Mapping))), "a list (or array) of values"
    if base in (set, frozenset, abc.Iterable, abc.Collection, abc.Set):
        return (lambda v: isinstance(v, abc.Iterable) and not isinstance(v, (str, bytes))), "a list (or array) of values"
    if base in (dict, abc.Mapping, abc.MutableMapping):
        if typing.get_args(hint)[:1] == (str,):  # names as keys (endpoints, teachers, layers): each a non-empty text
            return (lambda v: isinstance(v, abc.Mapping) and all(isinstance(k, str) and k.strip() for k in v)), \
                "a mapping (a dict) keyed by non-empty names"
        return (lambda v: isinstance(v, abc.Mapping)), "a mapping (a dict)"
    if base is abc.Callable:
        return callable, "a function"
    if base is os.PathLike or getattr(base, "__name__", "") in ("Path", "PurePath"):
        return (lambda v: isinstance(v, (str, os.PathLike))), "a path"
    if getattr(base, "_is_runtime_protocol", False):  # a runtime-checkable protocol (a search space): its methods are there
        return (lambda v: isinstance(v, base)), f"a {base.__name__}"
    if not isinstance(base, type) or getattr(base, "_is_protocol", False) or base is object:
        return None
    if base.__module__.startswith("torch") and base.__name__ == "Tensor":  # array-likes are converted where tensors go
        return (lambda v: isinstance(v, abc.Iterable) and not isinstance(v, (str, bytes)) and not _is_rdm(v)), "a tensor (or array)"
    return (lambda v: isinstance(v, base)), f"a {base.__name__}"


def _is_rdm(value: Any) -> bool:
    """``value`` is an RDM or a stack of them (an xarray DataArray with condition_row and condition_col dims)."""
    return type(value).__name__ == "DataArray" and {"condition_row", "condition_col"} <= set(map(str, getattr(value, "dims", ())))


def check_client(client: Any, name: str = "client", *, optional: bool = True) -> None:
    """Refuse a ``client`` that is not a Dask ``distributed.Client`` (text such as its scheduler's address, a cluster; None
    too unless ``optional``)."""
    if client is None and not optional:
        raise ConfigError(f"{name} is None, and a Dask executor needs a distributed Client", "connect first: distributed.Client("
                          "'tcp://HOST:8786') or distributed.Client(LocalCluster()); to run in this process use InlineExecutor()", field=name)
    if client is not None and not callable(getattr(client, "submit", None)):
        raise ConfigError(f"{name} takes a dask distributed Client, got {type(client).__name__} {str(client)[:60]!r}",
                          "connect first: distributed.Client('tcp://HOST:8786') (on the command line: --scheduler tcp://HOST:8786)",
                          field=name)


def check_fields(obj: Any) -> None:
    """:func:`check_arguments` for a dataclass instance: each field's value against its annotation (called first in
    ``__post_init__`` of the dataclasses users build)."""
    import dataclasses

    check_arguments(type(obj), {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init})


class KnownFields:
    """Base of the configuration dataclasses users build: a keyword that is not one of the fields (or more positional
    values than fields) is one :class:`ConfigError` naming the class, the closest field and every field, where Python says
    a bare ``TypeError`` (checked in ``__new__``, which the dataclass' generated ``__init__`` leaves alone). A class may say
    where well-known options that are not its fields go in a ``NOT_FIELDS`` mapping (name -> where it goes)."""

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        import dataclasses
        import difflib

        if dataclasses.is_dataclass(cls) and (args or kwargs):
            names = [f.name for f in dataclasses.fields(cls) if f.init]
            unknown = [k for k in kwargs if k not in names]
            if unknown:
                close = difflib.get_close_matches(unknown[0], names, n=1, cutoff=0.75)
                elsewhere = getattr(cls, "NOT_FIELDS", {}).get(unknown[0])  # a well-known option of another object
                raise ConfigError(f"{cls.__name__} has no field {unknown[0]!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                                  + (f": {elsewhere}" if elsewhere else ""), f"give only its fields: {names}", field=unknown[0])
            if len(args) > len(names):
                raise ConfigError(f"{cls.__name__} takes at most {len(names)} values by position, got {len(args)}",
                                  f"name them: {cls.__name__}({', '.join(f'{n}=...' for n in names[:3])}, ...)", field=names[-1])
        return super().__new__(cls)


def _annotations(fn: Any) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Each annotated name of a function (or of a class and its bases: a dataclass' fields) with the globals to read it in."""
    import inspect
    import sys

    if inspect.isclass(fn):
        return {name: (text, vars(sys.modules[klass.__module__])) for klass in reversed(fn.__mro__[:-1])
                for name, text in inspect.get_annotations(klass).items()}
    fn = inspect.unwrap(fn)  # a context manager or a cached function: the annotations and globals of the function itself
    return {name: (text, fn.__globals__) for name, text in inspect.get_annotations(fn).items()}


@functools.lru_cache(maxsize=None)
def _argument_kinds(fn: Callable[..., Any]) -> dict[str, tuple[Callable[[Any], bool], str, bool]]:
    import inspect

    starred = set() if inspect.isclass(fn) else {p.name for p in inspect.signature(inspect.unwrap(fn)).parameters.values()
                                                  if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    kinds = {}
    for name, (text, namespace) in _annotations(fn).items():
        if name == "return":
            continue
        try:
            hint = eval(text, namespace) if isinstance(text, str) else text  # noqa: S307 - the function's own annotation
        except Exception:  # a name imported for type checking only: this argument is not judged
            continue
        kind = _kind_of(hint)
        if kind is not None:
            kinds[name] = (*kind, name in starred)
    return kinds


@functools.lru_cache(maxsize=None)
def _literal_arguments(fn: Callable[..., Any]) -> dict[str, tuple[str, ...]]:
    hints = typing.get_type_hints(fn)
    return {name: options for name, hint in hints.items() if name != "return" and (options := literal_options(hint))}


def is_whole_number(value: Any) -> TypeGuard[int | np.integer]:
    """An int or a numpy integer (a value read with pandas or numpy), never a bool."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))


def whole(value: Any, name: str, low: int, high: int | None = None, fix: str = "") -> int:
    """``value`` as an int in ``[low, high]`` (bools and floats refused)."""
    if not is_whole_number(value) or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{name} must be a whole number {bounds}, got {value!r}", fix or f"pass a {name} {bounds}", field=name)
    return int(value)


def fraction(value: Any, name: str, fix: str = "use e.g. 0.95") -> float:
    """``value`` as a float strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not 0 < value < 1:
        raise ConfigError(f"{name} must lie strictly between 0 and 1, got {value!r}", fix, field=name)
    return float(value)


def finite_number(value: Any, name: str, fix: str = "") -> float:
    """``value`` as a finite float (bools, strings, NaN and infinities refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not np.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}", fix or f"pass {name} as a number", field=name)
    return float(value)
