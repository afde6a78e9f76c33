"""Run import-linter on the package as it is installed.

The source tree maps folders onto ``saliency_cam.*`` with setuptools ``package-dir``
(``realtime/api`` is ``saliency_cam`` itself), and import-linter walks one directory per
root package, so it cannot read the editable layout directly. This copies the Python files
into the installed shape in a temporary folder and runs ``lint-imports`` there with the
contracts in pyproject.toml.

    python tests/support/import_contract.py        # exit 0: contracts kept
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]


def installed_layout(target: Path) -> Path:
    """Copy every package's .py files to ``target/<package path>``; return ``target``."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package, folder in config["package-dir"].items():
        destination = target.joinpath(*package.split("."))
        destination.mkdir(parents=True, exist_ok=True)
        for source in (ROOT / folder).glob("*.py"):
            shutil.copy2(source, destination / source.name)
    return target


def run_contracts(
    change: Callable[[Path], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the installed layout; the completed process (rc 0: kept).
    ``change(tree)`` may alter the copy first (the tests plant a violation with it)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = installed_layout(Path(tmp) / "tree")
        if change is not None:
            change(tree)
        shutil.copy2(ROOT / "pyproject.toml", Path(tmp) / "pyproject.toml")
        env = {**os.environ, "PYTHONPATH": str(tree)}
        lint = Path(sys.executable).with_name("lint-imports")
        command = [str(lint)] if lint.exists() else ["lint-imports"]
        return subprocess.run(
            [*command, "--no-cache"], cwd=tmp, env=env, capture_output=True, text=True
        )


if __name__ == "__main__":
    result = run_contracts()
    print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
    sys.exit(result.returncode)
