"""Session fixtures built once for the whole test run, also when pytest-xdist runs it in
several worker processes: the first worker that asks builds the folder under a file lock
(into a temporary name, renamed when complete); the others wait and reuse it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every worker of this run sees (the workers' base temp's parent under
    xdist, this process's base temp without it)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared"
    root.mkdir(parents=True, exist_ok=True)
    return root


def build_once(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """``root/name`` built by ``build(folder)`` exactly once per run, whichever worker asks
    first; a build that failed half-way leaves no folder under the final name."""
    target = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not target.is_dir():
            partial = root / f"{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            build(partial)
            partial.rename(target)
    return target


def run_python(code: str, *args: str) -> None:
    """Run ``code`` in a fresh interpreter: a fixture that needs TensorFlow only to build
    its files leaves the test process without TensorFlow's GB (most tests never load it)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(f"fixture build failed ({done.returncode}):\n{done.stderr[-4000:]}")
