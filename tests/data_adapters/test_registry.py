import sys
import textwrap

import pytest

from neurosage.data_adapters import registry
from neurosage.data_adapters.registry import get_entry, list_datasets, load_images, load_neural, register_neural


def test_builtins_are_listed_with_their_needs():
    names = [e.name for e in list_datasets()]
    assert {"MajajHong2015", "HvM-hdf5", "fashion-mnist", "imagenet64", "cifar100", "npy-csv"} <= set(names)
    assert any("stimulus_hvm-public.csv" in n for n in get_entry("MajajHong2015").needs)
    assert [e.name for e in list_datasets("Majaj*")] == ["MajajHong2015"]


def test_unknown_name_suggests_close_matches():
    with pytest.raises(KeyError, match=r"did you mean \['MajajHong2015'\]"):
        load_neural("MajajHong2051")


def test_factories_are_lazy(monkeypatch):
    calls = []

    @register_neural("lazy-test-dataset")
    def factory():
        calls.append(1)
        raise RuntimeError("loaded")

    assert calls == [] and get_entry("lazy-test-dataset").kind == "neural"
    with pytest.raises(RuntimeError):
        load_neural("lazy-test-dataset")
    with pytest.raises(KeyError):
        load_images("lazy-test-dataset")


def test_plugin_from_separate_package_via_entry_point(tmp_path, monkeypatch):
    pkg = tmp_path / "myplugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        import numpy as np
        from neurosage.data_adapters.registry import register_neural
        from neurosage.assembly import make_assembly

        def register():
            @register_neural("my-lab-recordings", description="plug-in test")
            def load(n=4):
                return make_assembly(np.eye(n), stimulus_id=[f"s{i}" for i in range(n)], region="V1")
    '''))
    dist = tmp_path / "myplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[neurosage.datasets]\nmylab = myplugin:register\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.reload_plugins()
    assembly = load_neural("my-lab-recordings", n=5)
    assert assembly.sizes["presentation"] == 5 and get_entry("my-lab-recordings").description == "plug-in test"
    sys.modules.pop("myplugin", None)


def test_the_example_plugin_package_installs_and_registers(tmp_path, monkeypatch):
    import subprocess
    from pathlib import Path

    import numpy as np
    import pandas as pd

    example = Path(__file__).resolve().parents[2] / "examples" / "neurosage-mylab"
    target = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                             "--target", str(target), str(example)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    monkeypatch.syspath_prepend(str(target))
    np.save(tmp_path / "responses.npy", np.random.default_rng(0).normal(size=(6, 3)))
    pd.DataFrame({"stimulus_id": ["a", "b", "c"] * 2}).to_csv(tmp_path / "stimuli.csv", index=False)
    pd.DataFrame({"neuroid_id": ["x", "y", "z"], "region": ["V4", "IT", "IT"]}).to_csv(tmp_path / "neuroids.csv", index=False)
    registry.reload_plugins()
    try:
        assert get_entry("mylab").citation == "Me et al. 2026"
        assembly = load_neural("mylab", folder=tmp_path, regions=("IT",))
        assert assembly.sizes == {"presentation": 3, "neuroid": 2}
    finally:
        registry.DATASETS.unregister("mylab")
        sys.modules.pop("neurosage_mylab", None)


def test_loader_arguments_are_typed_from_their_annotations(tmp_path):
    from helpers import write_brainio_netcdf
    from neurosage.data_adapters.majajhong2015 import load_majajhong2015
    from neurosage.data_adapters.registry import loader_arguments

    typed = loader_arguments(load_majajhong2015, {"average": "false", "time_window": "70,170", "regions": "V4, IT", "path": "a.nc"}, "MajajHong2015")
    assert typed == {"average": False, "time_window": (70.0, 170.0), "regions": ("V4", "IT"), "path": "a.nc"}
    path, _, _ = write_brainio_netcdf(tmp_path / "a.nc", n_reps=3)
    raw = load_neural("MajajHong2015", path=str(path), average="false")  # the string "false" once counted as true
    assert raw.sizes["presentation"] == 3 * len(set(raw.stimulus_id.values))


def test_datasets_lists_a_loaders_arguments(capsys):
    from neurosage.cli import main

    assert main(["datasets", "MajajHong2015"]) == 0
    out = capsys.readouterr().out
    assert "average: bool = True" in out and "time_window" in out


def _typed_loader_parameters():
    import inspect
    import typing

    for entry in list_datasets():
        factory = entry.factory
        hints = typing.get_type_hints(factory)
        for name, param in inspect.signature(factory).parameters.items():
            hint = hints.get(name)
            options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
            for kind in (bool, int, float):
                if kind in options:
                    yield pytest.param(entry.name, name, kind, id=f"{entry.name}-{name}")
                    break


@pytest.mark.parametrize(("dataset", "name", "kind"), list(_typed_loader_parameters()))
def test_every_typed_loader_argument_refuses_text_of_another_type_by_name(dataset, name, kind):
    """Generated from the registered loaders' signatures: a new loader argument is covered."""
    from neurosage.core.errors import ConfigError
    from neurosage.data_adapters.registry import loader_arguments

    factory = get_entry(dataset).factory
    skip = 1 if get_entry(dataset).kind == "images" else 0
    with pytest.raises(ConfigError, match=name):
        loader_arguments(factory, {name: "maybe"}, dataset, skip=skip)
    with pytest.raises(ConfigError, match="did you mean"):
        loader_arguments(factory, {name + "x": "1"}, dataset, skip=skip)
