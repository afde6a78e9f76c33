"""The suite runs on two pytest-xdist workers with ``--dist loadgroup`` and counts on
the groups tests/conftest.py marks (TensorFlow in one worker, Ray in one): check that the
installed pytest and pytest-xdist still honour a group (pytest 9.2 with xdist 3.8 did
not: the groups were silently ignored)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("xdist")

GROUPED = """
import os, pytest

@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("i", range(6))
def test_grouped(i, tmp_path_factory):
    out = tmp_path_factory.getbasetemp().parent / f"ran_{i}"
    out.write_text(os.environ["PYTEST_XDIST_WORKER"])

@pytest.mark.parametrize("i", range(6))
def test_free(i):
    pass
"""


def test_a_group_runs_in_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    base = tmp_path / "base"  # the workers' base temps are base/popen-gw0, -gw1
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
         "--dist", "loadgroup", "--basetemp", str(base), "-c", "/dev/null",
         "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    workers = {path.read_text() for path in base.glob("ran_*")}
    assert len(list(base.glob("ran_*"))) == 6
    assert len(workers) == 1, f"one group ran on {sorted(workers)}"
