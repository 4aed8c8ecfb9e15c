"""The README's Python example runs as written, then the docs pages' examples that continue it, in order, in one namespace."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The README's example first; these pages continue it (they use its `ns`, `rng`, `net`, `teacher`).
PAGES = (README, ROOT / "docs" / "cli.md", ROOT / "docs" / "recordings.md", ROOT / "docs" / "rsa.md")


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_every_documented_python_example_is_run_here():
    with_examples = {p for p in (README, *sorted((ROOT / "docs").rglob("*.md"))) if python_blocks(p)}
    assert with_examples == set(PAGES), "a page gained or lost a ```python block: add it to PAGES (or drop it there)"


def test_readme_python_blocks_run(capsys):
    namespace: dict = {}
    for page in PAGES:
        blocks = python_blocks(page)
        assert blocks, f"{page.relative_to(ROOT)} has no Python example"
        for block in blocks:
            exec(compile(block, str(page), "exec"), namespace)  # noqa: S102 - the docs are ours
    scores = namespace["scores"]
    assert set(scores.per_endpoint) == {"V4", "IT"} and -1 <= scores.tg <= 1
    assert len(namespace["result"].trials) == 3  # docs/cli.md: a search of 3 trials
    assert set(namespace["my_teacher"].endpoints) == {"V4", "IT"}  # docs/recordings.md: the walk-through's teacher
