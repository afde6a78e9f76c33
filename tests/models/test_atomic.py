"""Write-then-rename (models/atomic.py): temporaries of dead writers are removed by the
next write to the same name, those of live writers stay; a stopped write can be kept
under its ``.partial`` name and the next complete write replaces it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from saliency_cam.models.atomic import atomic_folder, atomic_output, partial_path


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def test_a_write_removes_dead_writers_temporaries_only(tmp_path: Path) -> None:
    dead = tmp_path / f".clip.{_dead_pid()}.ab12cd34.partial.mp4"
    alive = tmp_path / f".clip.{os.getpid()}.zz99yy88.partial.mp4"  # a writer still at work
    other = tmp_path / f".clip.v2.{_dead_pid()}.ab12cd34.partial.mp4"  # clip.v2.mp4's
    folder = tmp_path / f".clip_maps.{_dead_pid()}.ab12cd34.partial"
    for path in (dead, alive, other):
        path.write_bytes(b"half")
    folder.mkdir()
    (folder / "000000.png").write_bytes(b"x")

    with atomic_output(tmp_path / "clip.mp4") as tmp:
        tmp.write_bytes(b"whole")
    with atomic_folder(tmp_path / "clip_maps") as tmp:
        (tmp / "000000.png").write_bytes(b"y")

    assert not dead.exists() and not folder.exists()
    assert alive.exists() and other.exists()
    assert (tmp_path / "clip.mp4").read_bytes() == b"whole"


def test_a_stopped_write_is_kept_as_partial_and_replaced_by_the_next(tmp_path: Path) -> None:
    final = tmp_path / "clip.mp4"
    with pytest.raises(KeyboardInterrupt), atomic_output(final, keep_partial=True) as tmp:
        tmp.write_bytes(b"first frames")
        raise KeyboardInterrupt
    assert not final.exists() and partial_path(final).read_bytes() == b"first frames"
    with pytest.raises(KeyboardInterrupt), atomic_output(final, keep_partial=lambda: False):
        raise KeyboardInterrupt  # nothing worth keeping: the earlier partial stays as it was
    assert partial_path(final).read_bytes() == b"first frames"
    with pytest.raises(ValueError), atomic_output(final, keep_partial=True):
        raise ValueError  # a failure is not a stop: nothing kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.partial.mp4"]

    with atomic_output(final, keep_partial=True) as tmp:
        tmp.write_bytes(b"all frames")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_a_stopped_folder_is_kept_as_partial(tmp_path: Path) -> None:
    final = tmp_path / "clip_maps"
    with pytest.raises(KeyboardInterrupt), atomic_folder(final, keep_partial=True) as tmp:
        (tmp / "000000.png").write_bytes(b"x")
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["clip_maps.partial"]
    with atomic_folder(final, keep_partial=True) as tmp:
        (tmp / "000000.png").write_bytes(b"y")
    assert [p.name for p in tmp_path.iterdir()] == ["clip_maps"]
