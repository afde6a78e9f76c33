"""The one direction of dependency (pyproject.toml [tool.importlinter]) holds."""

from __future__ import annotations

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
