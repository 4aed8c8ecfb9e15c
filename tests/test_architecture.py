"""The layers of the house: imports point down, the library never imports the application, light commands stay light.

``LAYERS`` is the picture of ``docs/architecture.md`` as data: modules bottom-up, one rank per row. An
import (at module level or inside a function) may point to its own row or below, never above. A new
module must be given a row here and a line in the doc.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: folder on disk -> package it installs as
FOLDERS = {"neurosage": "neurosage", "data_adapters": "neurosage.data_adapters", "analyses": "neurosage.analyses", "figures": "neurosage.figures"}

LIBRARY = [
    ["neurosage", "registry", "atomic", "seeding", "candidate", "errors"],
    ["assembly", "primitives", "layer_space", "provenance", "run_lock", "data_adapters", "data_adapters.errors"],
    ["data_adapters.registry", "data_adapters.builtin", "data_adapters.stimulus_sets", "data_adapters.imageset",
     "data_adapters.majajhong2015", "data_adapters.generic", "data_adapters.hvm_hdf5", "data_adapters.images",
     "data_adapters.simulated", "data_adapters.image_cache", "space", "rsa"],
    ["rdm_compare", "rl_searcher", "score", "ops", "layer_network", "models", "train", "searchers", "journal", "ceiling"],
    ["network", "teachers", "channel_groups"],
    ["similarity", "teacher_specs", "channel_resize", "channel_metrics"],
    ["evaluate"],
    ["search"],
    ["channel_search"],
]
APPLICATION = [
    ["analyses", "analyses.config", "analyses.settings", "analyses.results"],
    ["analyses.embedded"],
    ["analyses.common", "figures.output", "figures.published", "figures.similarity_heatmap"],
    ["analyses.predictability", "analyses.search_comparison", "analyses.cell_search", "analyses.neuro_search",
     "analyses.demo", "figures.fig2_alpha", "figures.fig3_predictability", "figures.fig4_search", "figures.tables",
     "figures.search_trials", "figures.demo_summary", "analyses.channel_search", "figures.channel_sizes"],
    ["figures"],
    ["commands"],
    ["cli"],
]


def _full(name: str) -> str:
    return "neurosage" if name == "neurosage" else f"neurosage.{name}"


RANK = {_full(m): i for i, row in enumerate(LIBRARY + APPLICATION) for m in row}
LIBRARY_MODULES = {_full(m) for row in LIBRARY for m in row}


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file, function-local ones included."""
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names]
            out += [(node.lineno, t if t.rpartition(".")[0] and _known(t) else base) for t in targets]
    return out


def _known(name: str) -> bool:
    return name in RANK


def _owner(name: str) -> str | None:
    """The project module an import name refers to (longest known prefix), or None for third-party names."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in RANK:
            return candidate
    return None


def test_every_module_has_a_layer_and_a_line_in_the_architecture_doc():
    modules = set(_modules())
    assert modules - set(RANK) == set(), "give each new module a row in LAYERS (tests/test_architecture.py)"
    assert set(RANK) - modules == set(), "LAYERS names modules that no longer exist"
    doc = (ROOT / "docs" / "architecture.md").read_text()
    undocumented = [m for m in sorted(modules) if f"`{m}`" not in doc]
    assert undocumented == [], f"docs/architecture.md lacks a line for {undocumented}"


def test_imports_point_down_and_the_library_never_imports_the_application():
    upward, generic = [], []
    for module, path in _modules().items():
        for line, name in _imports(path, module):
            if name.split(".")[0] in ("analyses", "figures", "data_adapters"):
                generic.append(f"{path.relative_to(ROOT)}:{line} imports top-level {name!r}")
            target = _owner(name)
            if target is None or target == module:
                continue
            if RANK[target] > RANK[module] or (module in LIBRARY_MODULES and target not in LIBRARY_MODULES):
                upward.append(f"{path.relative_to(ROOT)}:{line} ({module}, row {RANK[module]}) imports {target} (row {RANK[target]})")
    assert generic == [], "import the installed names (neurosage.analyses, ...):\n" + "\n".join(generic)
    assert upward == [], "imports that point up:\n" + "\n".join(upward)


def test_the_import_checker_sees_function_local_and_relative_imports(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from neurosage.cli import main\n    from . import commands\n")
    found = [name for _, name in _imports(source, "neurosage.x")]
    assert found == ["neurosage.cli", "neurosage.commands"]


LIGHT = textwrap.dedent(
    """
    import sys
    import neurosage.spaces.cell as space
    genotype = space.Genotype.parse(str(space.PNASNET_5))
    assert space.Genotype.from_json(genotype.to_json()) == genotype
    print(genotype, space.SPACES.names())
    from neurosage.spaces.primitives import OPS
    print(list(OPS))
    from neurosage.data_adapters.registry import list_datasets
    print([e.name for e in list_datasets()])
    from neurosage.cli import main
    main(["datasets"])
    try:
        main(["--help"])
    except SystemExit:
        pass
    heavy = sorted(m for m in ("torch", "torchvision", "xarray", "hyperopt", "matplotlib") if m in sys.modules)
    assert not heavy, heavy
    """
)


def test_genotypes_help_and_dataset_listing_import_no_torch():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests")] + sys.path)}
    result = subprocess.run([sys.executable, "-c", LIGHT], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "MajajHong2015" in result.stdout and "sep_conv_3x3" in result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources (no network: the installed setuptools builds it)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            (src / name).write_bytes((ROOT / name).read_bytes())
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                target = src / path.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), str(src)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return next(out.glob("neurosage-*.whl"))


def test_wheel_installs_everything_under_one_import_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"neurosage"}
    for member in ("neurosage/data_adapters/registry.py", "neurosage/analyses/embedded.py", "neurosage/figures/tables.py",
                   "neurosage/figures/published/table4.csv", "neurosage/py.typed"):
        assert member in names


def test_a_module_from_each_folder_imports_from_the_wheel(wheel):
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(wheel)!r})
        import neurosage, neurosage.data_adapters.registry, neurosage.analyses.results, neurosage.figures.published
        assert neurosage.__file__.startswith({str(wheel)!r}), neurosage.__file__
        print(len(neurosage.figures.published.load_published("table4")))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=wheel.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2"]
