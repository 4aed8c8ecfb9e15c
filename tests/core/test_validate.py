"""The one argument-checking mechanism: every ``Literal[...]`` option of the package is checked, never defaulted."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import neurosage
from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_choices, literal_options


def _modules():
    for info in pkgutil.walk_packages(neurosage.__path__, "neurosage."):
        if ".brainscore_plugin" in info.name:
            continue
        try:
            yield importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue


def _literal_params(fn) -> list[str]:
    try:
        hints = typing.get_type_hints(inspect.unwrap(fn))
    except Exception:  # annotations naming optional types
        return []
    return [name for name, hint in hints.items() if name != "return" and literal_options(hint)]


def _own_functions():
    seen = set()
    for module in _modules():
        for obj in vars(module).values():
            if getattr(obj, "__module__", None) != module.__name__ or id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{obj.__name__}", obj
            elif inspect.isclass(obj) and not dataclasses.is_dataclass(obj):
                for name, member in vars(obj).items():
                    if inspect.isfunction(member):
                        yield f"{module.__name__}.{obj.__name__}.{name}", member


def test_every_function_with_an_enumerated_option_checks_it():
    found = {name: fn for name, fn in _own_functions() if _literal_params(fn)}
    assert len(found) >= 5, sorted(found)  # compute_rdm, crossnobis_rdm, align_rdms, compare_rdms, the RL classes
    unchecked = sorted(name for name, fn in found.items() if "check_choices(" not in inspect.getsource(fn))
    assert not unchecked, f"call neurosage.core.validate.check_choices(fn, locals()) first in: {unchecked}"


def _default_dataclasses():
    """Every dataclass of the package that can be built with its defaults, with its resolved type hints (one that needs
    arguments is checked where it is built from them; one whose annotations name types imported for the type checker only
    cannot be read here)."""
    for module in _modules():
        for obj in vars(module).values():
            if not (inspect.isclass(obj) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__):
                continue
            try:
                hints = typing.get_type_hints(obj)
                obj()
            except Exception:
                continue
            yield obj, hints


def test_every_dataclass_refuses_a_misspelt_option():
    checked = 0
    for obj, hints in _default_dataclasses():
        for field in dataclasses.fields(obj):
            if not literal_options(hints.get(field.name)) or field.default is dataclasses.MISSING:
                continue
            with pytest.raises(ConfigError, match=field.name.replace("_", ".")):
                obj(**{field.name: "unoin"})
            checked += 1
    assert checked >= 5  # TrainConfig.schedule, ChannelSearchConfig's rule, metric, selection, teacher scale


def test_the_check_names_the_argument_and_the_options_and_lets_a_good_value_through():
    def f(x: int, *, how: typing.Literal["a", "b"] = "a", other: typing.Optional[typing.Literal["c"]] = None) -> str:
        check_choices(f, locals())
        return f"{x}{how}{other}"

    assert f(1, how="b") == "1bNone"
    assert f(1, other="c") == "1ac"
    with pytest.raises(ConfigError, match=r"unknown how 'union'.*\['a', 'b'\]"):
        f(1, how="union")
    with pytest.raises(ConfigError, match="unknown other"):
        f(1, other="C")


def test_a_warning_of_a_checked_function_points_at_its_caller():
    """The check is a call, not a wrapper: a warning with stacklevel=2 still names the user's line."""
    import warnings

    import numpy as np

    from neurosage.rsa.rdm import compute_rdm

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compute_rdm(np.ones((4, 3)))  # constant patterns warn
    assert caught and all(w.filename == __file__ for w in caught)


def test_every_dataclass_refuses_a_bool_where_a_count_goes():
    """Round 7 A43: TrainConfig(batch_size=True) was a batch of 1 (bool is an int in Python)."""
    refused, accepted = 0, []
    for obj, hints in _default_dataclasses():
        for field in dataclasses.fields(obj):
            if hints.get(field.name) is not int or not isinstance(field.default, int) or isinstance(field.default, bool):
                continue
            try:
                obj(**{field.name: True})
            except ConfigError:
                refused += 1
            else:
                accepted.append(f"{obj.__name__}.{field.name}")
    assert refused >= 5 and not accepted, accepted


def test_arguments_are_checked_by_their_annotations():
    """One check of an argument's kind by its annotation: numbers take numpy numbers, sequences any iterable but text."""
    import numpy as np

    from neurosage.core.errors import ConfigError
    from neurosage.core.validate import check_arguments

    def f(n: int, x: float, names: Sequence[str], table: Mapping[str, int], where: str | Path, maybe: int | None = None,
          anything=None) -> None:
        check_arguments(f, locals())

    f(np.int64(3), 2, np.array(["a"]), {"a": 1}, Path("."), None, object())
    for kwargs, named in ((dict(n="3"), "n takes a whole number"), (dict(x=True), "x takes a number"), (dict(names="ab"), "names is the string .ab."),
                          (dict(table=[1]), "table takes a mapping"), (dict(where=3), "where takes a string or a path"),
                          (dict(maybe=1.5), "maybe takes a whole number or None")):
        values = {**dict(n=1, x=1.0, names=["a"], table={}, where="a"), **kwargs}
        with pytest.raises(ConfigError, match=f"f: {named}"):
            f(**values)


class _NoKind:
    """A value of no kind any public function takes (not a number, text, path, sequence, mapping, array or network)."""

    def __repr__(self) -> str:
        return "<no kind>"


#: Public functions that take any value by design (each with the reason).
TAKES_ANYTHING = {
    "neurosage.runs.provenance.jsonable": "turns any value into JSON-safe data (unknown objects become their text)",
    "neurosage.assembly.netcdf_attr": "turns any attribute value into one netCDF can hold",
}


def _public(keep):
    """Every object ``keep`` accepts that the package's front door and its subpackages list in ``__all__`` (the documented
    API), by its defining module and qualified name."""
    packages = [neurosage] + [importlib.import_module(info.name) for info in pkgutil.iter_modules(neurosage.__path__, "neurosage.")
                              if info.name not in ("neurosage.__main__", "neurosage.cli", "neurosage.commands")]
    found = {}
    for package in packages:
        for name in getattr(package, "__all__", ()):
            obj = getattr(package, name, None)
            if keep(obj):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return found


def _public_functions():
    """Every public function (see :func:`_public`)."""
    return _public(inspect.isfunction)


def _unrefused(call, label: str) -> list[str]:
    """``[]`` when ``call()`` raises one of our errors, else one line saying what it did instead (accepted, or a foreign error)."""
    from neurosage.core.errors import NeurosageError

    try:
        call()
    except NeurosageError:
        return []
    except Exception as err:  # noqa: BLE001 - what the walkers look for
        return [f"{label}: {type(err).__name__}: {str(err)[:80]}"]
    return [f"{label}: accepted"]


def test_every_public_function_refuses_arguments_of_a_kind_it_does_not_take():
    """Issue 36's round 11 (P42, P46, P65, P70, P72, Q10, Q30...): public helpers let a wrong argument reach their body,
    which failed with a foreign AttributeError or TypeError. Each must answer a value of no kind it takes with one of our
    errors (its own check, or ``check_arguments(fn, locals())`` first in its body). Lazy functions (generators, context
    managers) are checked when started."""

    functions = _public_functions()
    assert len(functions) >= 120, len(functions)
    foreign = []
    for name, fn in sorted(functions.items()):
        if name in TAKES_ANYTHING:
            continue
        params = [p for p in inspect.signature(fn).parameters.values() if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if not params:
            continue
        args = [_NoKind() for p in params if p.kind is not p.KEYWORD_ONLY]
        kwargs = {p.name: _NoKind() for p in params if p.kind is p.KEYWORD_ONLY}
        def started() -> None:
            result = fn(*args, **kwargs)
            if inspect.isgenerator(result):
                next(result)
            elif hasattr(result, "__enter__"):
                with result:
                    pass

        foreign += _unrefused(started, name)
    assert not foreign, "call check_arguments(fn, locals()) first in:\n" + "\n".join(foreign)


#: Public classes the library returns and users do not build (results, records, the registry's own entries).
RETURNED_ONLY = {
    "neurosage.pool.bench.BenchResult", "neurosage.rsa.score.TeacherScores", "neurosage.search.driver.SearchResult",
    "neurosage.training.loop.TrainResult", "neurosage.stats.paired.PairedResult", "neurosage.channels.search.ChannelSearchResult",
    "neurosage.channels.metrics.LayerQuality", "neurosage.channels.groups.ChannelGraph", "neurosage.channels.groups.ChannelGroup",
    "neurosage.channels.groups.ModuleChannels", "neurosage.core.registry.Entry", "neurosage.core.registry.Registry",
}


def _public_classes():
    """Every public class but the errors (see :func:`_public`)."""
    return _public(lambda obj: inspect.isclass(obj) and not issubclass(obj, BaseException))


def test_every_public_class_refuses_arguments_of_a_kind_it_does_not_take():
    """Round 12 (Y12-Y38): the exported building blocks (network ops, space dataclasses, the RL controller, searchers)
    took any value and failed later inside torch. Each public class users build answers a value of no kind, in each
    required argument (and, for a class built from defaults, in each argument alone), with one of our errors."""

    classes = _public_classes()
    assert len(classes) >= 40, len(classes)
    foreign = []
    for name, cls in sorted(classes.items()):
        if name in RETURNED_ONLY:
            continue
        try:
            signature = inspect.signature(cls)
        except ValueError:  # a str subclass (a name), built like a str
            continue
        params = [p for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        required = [p for p in params if p.default is p.empty]
        tries = [{p.name: _NoKind() for p in required}] if required else [{p.name: _NoKind()} for p in params]
        for kwargs in tries:
            foreign += _unrefused(lambda: cls(**kwargs), f"{name}({', '.join(kwargs)})")  # noqa: B023 - called at once
    assert not foreign, "check the arguments first (check_arguments(Cls.__init__, locals()), or check_fields(self) in __post_init__):\n" \
        + "\n".join(foreign)


def test_numbers_are_held_to_their_range_by_name():
    """Counts, batches, kernels and strides are whole numbers of at least their least value; numbers are finite, and
    widths, rates and temperatures above 0 (round 12: stride 0, kernel 0, hidden 0, num_classes 0, a negative width
    multiplier, a negative init range reached torch or built a one-filter network)."""
    from neurosage.core.validate import check_arguments

    def f(n: int, batch_size: int, stride: int | None, x: float, width_multiplier: float, dim: int = -1) -> None:
        check_arguments(f, locals())

    f(0, 1, None, -2.5, 0.5, -1)
    for kwargs, named in ((dict(n=-1), "n must be at least 0"), (dict(batch_size=0), "batch_size must be at least 1"),
                          (dict(stride=0), "stride must be at least 1"), (dict(x=float("nan")), "x is nan"),
                          (dict(width_multiplier=-1.0), "width_multiplier must be above 0")):
        with pytest.raises(ConfigError, match=named):
            f(**{**dict(n=0, batch_size=1, stride=1, x=0.0, width_multiplier=1.0), **kwargs})


def test_every_public_function_checks_its_arguments_by_one_mechanism():
    """A value of no kind is one mistake; text where True/False goes (round 12 Z30: ``linear_cka(unbiased='yes')`` was
    True) or a NaN where a number goes is another, of an argument the function's own checks never looked at. Every public
    function calls ``check_arguments`` (after its own, more specific checks where it has them)."""
    own = {"neurosage.core.devices.check_device": "its one argument is a device name or a torch.device, checked by hand (torch imported late)"}
    lacking = sorted(name for name, fn in _public_functions().items() if name not in TAKES_ANYTHING and name not in own
                     and "check_arguments(" not in inspect.getsource(inspect.unwrap(fn)))
    assert not lacking, f"call check_arguments(fn, locals()) in: {lacking}"


#: Classes that state a contract and hold no code of their own (protocols: their implementations are walked).
PROTOCOLS = {"neurosage.search.contract.Searcher", "neurosage.search.contract.StatefulSearcher", "neurosage.spaces.contract.SearchSpace"}


def _public_methods():
    """Every public method (also class and static methods) with an argument, of every public class but the protocols;
    ``forward`` of a network or op is left to ``check_input_channels`` (it refuses a tensor of the wrong shape and what is no
    tensor, and lets torch.fx proxies pass)."""
    found = {}
    for cname, cls in _public_classes().items():
        if cname in PROTOCOLS:
            continue
        for name, member in vars(cls).items():
            fn = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
            if name.startswith("_") or name == "forward" or not inspect.isfunction(fn):
                continue
            if [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]:
                found[f"{cname}.{name}"] = inspect.unwrap(fn)
    return found


def test_every_public_method_checks_its_arguments_by_one_mechanism():
    """Round 19 (P05-P56, Q15-Q28): the methods of public classes (ImageSet.batch, Genotype.from_json, Teacher.load,
    Controller.log_prob...) were walked by no test and answered a wrong argument with a bare IndexError, KeyError or
    JSONDecodeError. Every public method calls ``check_arguments`` (after or before its own, more specific checks)."""
    methods = _public_methods()
    assert len(methods) >= 90, len(methods)
    lacking = sorted(name for name, fn in methods.items() if "check_arguments(" not in inspect.getsource(fn))
    assert not lacking, f"call check_arguments(Cls.method, locals()) in: {lacking}"


def test_the_forward_of_every_network_and_op_refuses_what_is_no_tensor():
    """Round 19 P34: a numpy batch given to a network reached conv2d, whose TypeError names neither the module nor the fix."""
    import numpy as np
    import torch

    from neurosage.nets import ops
    from neurosage.nets.cells import CellNetwork
    from neurosage.spaces import parse_genotype

    net = CellNetwork(parse_genotype("normal: max_pool_3x3@1 + skip_connect@0 -> concat 2"), filters=4)
    for call in (lambda: net(np.zeros((1, 3, 8, 8), np.float32)), lambda: net.forward_with_aux(np.zeros((1, 3, 8, 8))),
                 lambda: ops.check_input_channels(np.zeros((1, 3, 8, 8)), 3, "Op")):
        with pytest.raises(ConfigError, match="takes a torch tensor .* fix: convert it first"):
            call()
    assert net(torch.zeros(1, 3, 8, 8)).shape == (1, 10)
