"""The layers of the house: imports point down, the library never imports the application, light commands stay light.

``LAYERS`` is the picture of ``docs/architecture.md`` as data: modules bottom-up, one rank per row. An
import (at module level or inside a function) may point to its own row or below, never above. A new
module must be given a row here and a line in the doc.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: folder on disk -> package it installs as
FOLDERS = {"neurosage": "neurosage", "data_adapters": "neurosage.data_adapters", "analyses": "neurosage.analyses", "figures": "neurosage.figures"}

#: Rows of the library, bottom-up: each subpackage is one row (its modules may import each other), a
#: package named alone is all its modules. The front door (``neurosage``) names its exports as strings.
LIBRARY = [
    ["neurosage", "core"],
    ["assembly", "runs", "stats"],
    ["data_adapters"],
    ["rsa"],
    ["spaces"],
    ["nets"],
    ["training", "proxies"],
    ["teachers"],
    ["search"],
    ["channels", "export", "pool"],
]
APPLICATION = [
    ["analyses", "analyses.config_loading", "analyses.settings", "analyses.results"],
    ["analyses.embedded"],
    ["analyses.search_protocol", "figures.output", "figures.published", "figures.similarity_heatmap"],
    ["analyses.predictability", "analyses.search_comparison", "analyses.cell_search", "analyses.neuro_search",
     "analyses.demo", "figures.fig2_alpha", "figures.fig3_predictability", "figures.fig4_search", "figures.tables",
     "figures.search_trials", "figures.demo_summary", "analyses.channel_search", "analyses.teacher_bench", "figures.channel_sizes",
     "figures.teacher_value",
     "figures.predictability_pool",
     "figures.rdm_plots", "figures.rdm_readouts", "analyses.model_comparison"],
    ["figures"],
    ["commands"],
    ["cli"],
    ["__main__"],
]
#: Library subpackages: every module inside takes the package's row.
SUBPACKAGES = ("core", "runs", "stats", "data_adapters", "rsa", "spaces", "nets", "training", "proxies", "teachers", "search", "channels",
               "export", "pool")


def _full(name: str) -> str:
    return "neurosage" if name == "neurosage" else f"neurosage.{name}"


#: Folders of template files shipped as package data (copied into what neurosage writes), not modules of neurosage.
TEMPLATES = (ROOT / "neurosage" / "export" / "brainscore_plugin",)


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            if any(path.is_relative_to(t) for t in TEMPLATES):
                continue
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join((package, *parts))] = path
    return found


def _rank_of(module: str) -> int | None:
    """The row of a module: its own entry, else its subpackage's."""
    for i, row in enumerate(LIBRARY + APPLICATION):
        for entry in row:
            full = _full(entry)
            if module == full or (entry in SUBPACKAGES and module.startswith(full + ".")):
                return i
    return None


RANK = {m: r for m in _modules() if (r := _rank_of(m)) is not None}
LIBRARY_MODULES = {m for m in RANK if RANK[m] < len(LIBRARY)}


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
    named = {_full(entry) for row in LIBRARY + APPLICATION for entry in row}
    assert named - modules == set(), "LAYERS names modules that no longer exist"
    doc = (ROOT / "docs" / "architecture.md").read_text()
    undocumented = [m for m in sorted(modules) if f"`{m}`" not in doc]
    assert undocumented == [], f"docs/architecture.md lacks a line for {undocumented}"


def _violations(modules: dict[str, Path]) -> tuple[list[str], list[str]]:
    """Imports that point up a row (or from the library into the application), and imports of generic top-level names."""
    upward, generic = [], []
    for module, path in modules.items():
        for line, name in _imports(path, module) + _string_references(path):
            if name.split(".")[0] in ("analyses", "figures", "data_adapters"):
                generic.append(f"{path}:{line} imports top-level {name!r}")
            target = _owner(name)
            if target is None or target == module or target.startswith(module + "."):  # a package's registry naming its own modules
                continue
            if RANK[target] > RANK[module] or (module in LIBRARY_MODULES and target not in LIBRARY_MODULES):
                upward.append(f"{path}:{line} ({module}, row {RANK[module]}) imports {target} (row {RANK[target]})")
    return upward, generic


def _may_import() -> dict[str, set[str] | None]:
    """The documented rule of each library concept (``docs/architecture.md``, its ``May import:`` sentence): the concepts it
    may import besides itself, or None for "everything below" (then the rows decide)."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    library = doc.split("## Library, by subpackage", 1)[1].split("## Application", 1)[0]
    rules: dict[str, set[str] | None] = {}
    for section in library.split("\n### ")[1:]:
        header, _, body = section.partition("\n")
        concepts = [_concept(name) for name in re.findall(r"`(neurosage[\w.]*)`", header)]
        sentence = re.search(r"May import: (.*?)(?:\.\s|\.$)", body, re.S | re.M)
        assert sentence, f"docs/architecture.md: the section on {header} has no 'May import:' sentence"
        names = re.findall(r"`([\w.]+)`", sentence.group(1))
        allowed = None if "everything below" in sentence.group(1) else {_concept(f"neurosage.{n}") for n in names}
        for concept in concepts:
            rules[concept] = allowed
    return rules


def _concept(module: str) -> str:
    """The library concept a module belongs to: its subpackage (``neurosage.rsa.compare`` -> ``rsa``), or the module itself."""
    parts = module.split(".")
    return "neurosage" if len(parts) == 1 else parts[1]


#: Lazy factories named in code as ``"neurosage.<module>:<attribute>"`` (registries): references, checked like imports.
_TARGET = re.compile(r"^(neurosage(?:\.\w+)+):[\w.]+$")


def _string_references(path: Path) -> list[tuple[int, str]]:
    return [(node.lineno, m.group(1)) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (m := _TARGET.match(node.value))]


def _undocumented_imports(modules: dict[str, Path], rules: dict[str, set[str] | None]) -> list[str]:
    """Library imports (and registry string references) that the importing concept's documented list does not allow."""
    found = []
    for module, path in modules.items():
        if module not in LIBRARY_MODULES or module == "neurosage":  # the front door names its exports as lazy strings
            continue
        concept = _concept(module)
        assert concept in rules, f"docs/architecture.md has no library section naming `{module}`'s concept {concept!r}"
        allowed = rules[concept]
        for line, name in _imports(path, module) + _string_references(path):
            target = _owner(name)
            if target is None or allowed is None or _concept(target) in allowed | {concept, "neurosage"}:  # the front door: __version__
                continue
            found.append(f"{path}:{line} ({concept}) uses {target}, but its 'May import' list in docs/architecture.md is {sorted(allowed)}")
    return found


def test_library_imports_follow_the_documented_may_import_lists():
    found = _undocumented_imports(_modules(), _may_import())
    assert found == [], "imports the architecture doc does not allow (move the code, or the doc):\n" + "\n".join(found)


def test_an_undocumented_import_or_registry_string_is_caught(tmp_path):
    rules = _may_import()
    assert rules["spaces"] == {"core"} and rules["search"] is None
    spaces = tmp_path / "primitives.py"
    spaces.write_text('def register():\n    OPS.register("op", "neurosage.nets.ops:identity")\n')  # a string naming a layer up
    found = _undocumented_imports({"neurosage.spaces.primitives": spaces}, rules)
    assert len(found) == 1 and "neurosage.nets.ops" in found[0]


def test_imports_point_down_and_the_library_never_imports_the_application():
    upward, generic = _violations(_modules())
    assert generic == [], "import the installed names (neurosage.analyses, ...):\n" + "\n".join(generic)
    assert upward == [], "imports that point up:\n" + "\n".join(upward)


def test_an_upward_import_between_subpackages_is_caught(tmp_path):
    rsa = tmp_path / "compare.py"
    rsa.write_text("def f():\n    from neurosage.search.driver import run_search\n")  # rsa sits below search
    upward, _ = _violations({"neurosage.rsa.compare": rsa})
    assert len(upward) == 1 and "neurosage.search.driver" in upward[0]
    cli = tmp_path / "cli_user.py"
    cli.write_text("from neurosage.cli import main\n")  # the library never imports the application
    upward, _ = _violations({"neurosage.nets.models": cli})
    assert len(upward) == 1


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
    from neurosage.nets import OPS
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
    modules = {"/".join(("neurosage", *path.relative_to(ROOT / "neurosage").parts)) for path in (ROOT / "neurosage").rglob("*.py")}
    assert sorted(modules - set(names)) == [], "list every subpackage in pyproject.toml [tool.setuptools] packages"


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


def test_no_source_file_is_ignored_by_git():
    """A source folder named like an ignored path (``runs/``) would be left out of every clone and of CI."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    sources = [str(path.relative_to(ROOT)) for folder in FOLDERS for path in (ROOT / folder).rglob("*.py")]
    sources += [str(path.relative_to(ROOT)) for path in (ROOT / "tests").rglob("*.py")]
    ignored = subprocess.run(["git", "check-ignore", *sources], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert ignored == [], "these sources are ignored by .gitignore: " + ", ".join(ignored)
