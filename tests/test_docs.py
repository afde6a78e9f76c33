"""The repository's own docs stay true to the tree: every ``docs/design.md §N`` the code
cites exists, nothing cites a design file outside the repository, and the README's
Layout lists every package, one line each."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["realtime", "export", "models", "benchmarks", "tests", "README.md", "CONTRIBUTING.md"]


def _texts() -> dict[Path, str]:
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        files += [path] if path.is_file() else [*path.rglob("*.py"), *path.rglob("*.md")]
    return {p: p.read_text(encoding="utf-8") for p in files if ".venv" not in p.parts}


def test_every_cited_design_section_exists() -> None:
    headings = set(re.findall(r"^## (\d+)\.", (ROOT / "docs" / "design.md").read_text(), re.M))
    cited = {
        (path.relative_to(ROOT), number)
        for path, text in _texts().items()
        for number in re.findall(r"docs/design\.md §(\d+)", text)
    }
    assert cited, "the code cites no design section: the pattern is wrong"
    missing = sorted((str(p), n) for p, n in cited if n not in headings)
    assert not missing, f"citations of sections docs/design.md lacks: {missing}"


def test_no_citation_of_a_design_file_outside_the_repository() -> None:
    this = Path(__file__).resolve()
    offenders = [
        str(path.relative_to(ROOT))
        for path, text in _texts().items()
        if path.resolve() != this and re.search(r"(?<![/\w])DESIGN\.md §", text)
    ]
    assert not offenders, f"cite docs/design.md instead: {offenders}"


def test_readme_layout_lists_every_package_once() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    listed = [line.split()[0].rstrip("/") for line in block.strip().splitlines() if line.strip()]
    packages = sorted(
        str(init.parent.relative_to(ROOT))
        for top in ("models", "export", "realtime")
        for init in (ROOT / top).rglob("__init__.py")
    )
    assert sorted(listed) == packages, {
        "not listed": sorted(set(packages) - set(listed)),
        "not a package": sorted(set(listed) - set(packages)),
    }
    assert len(listed) == len(set(listed)), "a package is listed twice"
