"""The one direction of dependency (pyproject.toml [tool.importlinter]) holds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

from import_contract import run_contracts  # noqa: E402  (tests/support)


def test_layers_and_no_tensorflow_in_the_runtime_are_kept() -> None:
    result = run_contracts()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
    assert "0 broken" in result.stdout


def test_a_runtime_module_importing_the_cli_is_caught() -> None:
    def plant(tree: Path) -> None:
        bad = tree / "saliency_cam" / "realtime" / "runtime" / "planted.py"
        bad.write_text("from saliency_cam.realtime.cli import options  # noqa\n")

    result = run_contracts(plant)
    assert result.returncode != 0
    assert "saliency_cam.realtime.runtime.planted" in result.stdout


def test_the_cycles_found_before_are_caught() -> None:
    """The shapes of cycle the contracts were added for: io/frames importing the
    openers, the TF-free architecture registry importing a Keras builder."""

    def plant(tree: Path) -> None:
        package = tree / "saliency_cam"
        (package / "realtime" / "io" / "frames.py").open("a").write(
            "\nfrom saliency_cam.realtime.io import sources  # noqa\n"
        )
        (package / "models" / "architectures.py").open("a").write(
            "\nfrom saliency_cam.models import msinet  # noqa\n"
        )

    result = run_contracts(plant)
    assert result.returncode != 0
    assert "saliency_cam.realtime.io.frames -> saliency_cam.realtime.io.sources" in result.stdout
    assert "saliency_cam.models.architectures -> saliency_cam.models.msinet" in result.stdout


def test_apps_may_use_the_scoring_but_never_the_export() -> None:
    """The evaluate job lives in apps, so apps sits above evaluate; apps and export stay
    independent, and export never imports the scoring."""

    def plant(tree: Path) -> None:
        package = tree / "saliency_cam"
        (package / "realtime" / "apps" / "planted.py").write_text(
            "from saliency_cam.export import variants  # noqa\n"
        )
        (package / "export" / "planted.py").write_text(
            "from saliency_cam.realtime.evaluate import scoring  # noqa\n"
        )

    result = run_contracts(plant)
    assert result.returncode != 0
    assert "saliency_cam.realtime.apps.planted -> saliency_cam.export.variants" in result.stdout
    assert "saliency_cam.export.planted -> saliency_cam.realtime.evaluate" in result.stdout
    assert "apps/export" in result.stdout  # the layers contract, evaluate below apps


def _imports_the_api_package(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        from_root = isinstance(node, ast.ImportFrom) and node.module == "saliency_cam"
        if from_root and any(alias.name not in SUBPACKAGES for alias in node.names):
            return True
        if isinstance(node, ast.Import) and any(a.name == "saliency_cam" for a in node.names):
            return True
    return False


#: ``from saliency_cam import models`` names a subpackage, not the API's re-exports.
SUBPACKAGES = {"models", "export", "realtime"}


def test_nothing_inside_imports_the_public_api_package() -> None:
    """The API package re-exports everything: a module inside importing it back is a
    cycle (the server once took __version__ from it: api -> apps.serve -> api).
    import-linter does not see a descendant importing its root package, so this test
    reads the imports itself."""
    root = Path(__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(root))
        for top in ("models", "export", "realtime")
        for path in (root / top).rglob("*.py")
        if "api" not in path.relative_to(root).parts[:2]
        and _imports_the_api_package(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders
    assert _imports_the_api_package("from saliency_cam import __version__\n")
    assert not _imports_the_api_package("from saliency_cam import models\n")
