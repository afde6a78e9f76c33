"""mypy over the public API, runtime/ and models/, resolving the mapped names
(``saliency_cam.*``) by checking a copy of the tree in its installed shape (the same
copy the import contracts read: tests/support/import_contract.py)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("mypy")

from import_contract import ROOT, installed_layout  # noqa: E402  (tests/support)

CHECKED = ["saliency_cam.models", "saliency_cam.realtime.runtime"]


#: One mypy cache for both runs: the planted run re-checks only what changed.
_CACHE = Path(tempfile.mkdtemp(prefix="saliency-cam-mypy-"))


def run_mypy(change=None) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as tmp:
        tree = installed_layout(Path(tmp) / "tree")
        if change is not None:
            change(tree)
        command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
        command += ["--cache-dir", str(_CACHE), "-m", "saliency_cam"]
        for package in CHECKED:
            command += ["-p", package]
        return subprocess.run(command, cwd=tree, capture_output=True, text=True)


def test_public_api_runtime_and_models_type_check() -> None:
    result = run_mypy()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Success" in result.stdout


def test_a_type_error_in_the_runtime_is_caught() -> None:
    def plant(tree: Path) -> None:
        bad = tree / "saliency_cam" / "realtime" / "runtime" / "planted.py"
        bad.write_text(
            "from saliency_cam.realtime.runtime.defaults import default_backend\n"
            "value: int = default_backend()\n"
        )

    result = run_mypy(plant)
    assert result.returncode != 0
    assert "planted.py" in result.stdout and "str" in result.stdout
