"""One error constructor: every deliberate error is a NeurosageError built as (problem, fix, file=, field=)."""

import importlib
import inspect
import pkgutil

import pytest

import neurosage
from neurosage.core.errors import NeurosageError


def _project_exceptions():
    found = {}
    names = [info.name for info in pkgutil.walk_packages(neurosage.__path__, "neurosage.")]
    for top in ("neurosage.data_adapters", "neurosage.analyses", "neurosage.figures"):  # installed from the repo's top folders
        package = importlib.import_module(top)
        names += [top] + [info.name for info in pkgutil.walk_packages(package.__path__, top + ".")]
    for name in dict.fromkeys(names):
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("neurosage"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_project_exception_is_a_neurosage_error():
    found = _project_exceptions()
    assert {"neurosage.analyses.embedded.SplitRuleError", "neurosage.analyses.results.ResultMissing",
            "neurosage.rsa.rdm.RDMAlignmentError", "neurosage.core.errors.DataFormatError"} <= set(found)
    # a signal is not a mistake: neurosage.core.interrupts.Interrupted stays a KeyboardInterrupt, which `except Exception` never swallows
    assert [name for name, cls in found.items() if not issubclass(cls, NeurosageError) and not issubclass(cls, KeyboardInterrupt)] == []
    assert [name for name, cls in found.items() if issubclass(cls, KeyboardInterrupt)] == ["neurosage.core.interrupts.Interrupted"]


@pytest.mark.parametrize("name", ["neurosage.analyses.embedded.SplitRuleError", "neurosage.analyses.results.ResultMissing",
                                  "neurosage.rsa.rdm.RDMAlignmentError", "neurosage.core.errors.DataFormatError",
                                  "neurosage.core.errors.ConfigError", "neurosage.core.errors.UnknownName"])
def test_each_is_built_the_same_way(name):
    cls = _project_exceptions()[name]
    err = cls("the thing is wrong", "do this instead", file="a.nc", field="stimulus_id")
    assert (err.problem, err.fix, err.file, err.field) == ("the thing is wrong", "do this instead", "a.nc", "stimulus_id")
    assert str(err) == "a.nc: field 'stimulus_id': the thing is wrong; fix: do this instead"
