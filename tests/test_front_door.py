"""``import neurosage``: a few names, loaded when touched; no torch until a heavy name is used."""

import subprocess
import sys

import neurosage


def test_touching_run_search_imports_no_torch():
    code = "import neurosage, sys; neurosage.run_search; neurosage.get_space; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_every_front_door_name_resolves():
    for name in neurosage.__all__:
        assert getattr(neurosage, name) is not None, name
    assert set(neurosage.__all__) <= set(dir(neurosage))


def test_an_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="has no attribute 'runsearch'"):
        neurosage.runsearch  # noqa: B018


def test_every_exported_name_of_every_module_resolves():
    """``__all__`` and the lazy export tables name only what exists (``from neurosage.x import *`` works everywhere)."""
    import importlib
    import pkgutil

    missing = []
    for info in pkgutil.walk_packages(neurosage.__path__, "neurosage."):
        module = importlib.import_module(info.name)
        missing += [f"{info.name}.{name}" for name in getattr(module, "__all__", []) if not hasattr(module, name)]
    assert missing == []
