"""Stopping ``saliency-cam video``: a double Ctrl-C exits 130 cleanly (threads joined,
no abort), a stopped run keeps what it wrote as a playable ``*.partial.mp4`` and says
how many frames it holds, a rerun replaces it, and a rerun removes the hidden
temporaries of a run killed with SIGKILL (real clips, the real CLI in a child process,
real signals)."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from cli_process import partials, run_main, start_cli, stop_cli, wait_for
from media_factory import make_clip, read_clip, read_index


def _args(clip: Path, models: Path) -> list[str]:
    return [
        "video",
        str(clip),
        "--alpha",
        "0",  # the output shows the input's frames: their index marks can be read back
        "-q",
        "very_low",
        "--models-dir",
        str(models),
        "--device",
        "cpu",
        # the backend the issue's abort came from ("terminate called without an active
        # exception"); auto may pick OpenVINO from a cached speed measurement
        "--backend",
        "onnxruntime",
        "--no-progress",
    ]


@pytest.fixture()
def long_clip(tmp_path: Path) -> Path:
    """A clip long enough that a run is still writing it when the signal comes."""
    return make_clip(tmp_path / "long.mp4", 160, 120, 600, 25)


def _frames_being_written(folder: Path):
    return lambda: any(p.is_file() and p.stat().st_size > 0 for p in partials(folder))


def _kept_frames(err: str) -> int:
    found = re.search(r"the unfinished long\.mp4 \((\d+) frames\) is kept as (\S+)", err)
    assert found, err
    assert found.group(2).endswith("long_saliency.partial.mp4")
    return int(found.group(1))


def _assert_playable_partial(folder: Path, frames: int) -> None:
    assert not (folder / "long_saliency.mp4").exists()  # never under the final name
    assert partials(folder) == []  # no hidden temporary left
    decoded, _, _ = read_clip(folder / "long_saliency.partial.mp4")
    assert frames > 0 and len(decoded) == frames
    assert [read_index(f) for f in decoded] == list(range(frames))  # the first N, in order


def test_ctrl_c_twice_exits_130_and_keeps_a_playable_partial(
    tiny_models_dir: Path, tmp_path: Path, long_clip: Path
) -> None:
    process = start_cli(_args(long_clip, tiny_models_dir), tmp_path)
    wait_for(_frames_being_written(tmp_path), process, timeout=240)
    process.send_signal(signal.SIGINT)
    time.sleep(0.01)  # the "twice, 10 ms apart": not a wait for progress
    code, _, err = stop_cli(process, signal.SIGINT)

    assert code == 130, err  # not 134/-6 (abort: a thread left inside native code)
    assert "terminate called" not in err and "FATAL" not in err and "Traceback" not in err
    assert "interrupted (Ctrl-C)" in err
    _assert_playable_partial(tmp_path, _kept_frames(err))


def test_sigterm_keeps_the_partial_and_a_rerun_replaces_it(
    tiny_models_dir: Path, tmp_path: Path, long_clip: Path
) -> None:
    process = start_cli(_args(long_clip, tiny_models_dir), tmp_path)
    wait_for(_frames_being_written(tmp_path), process, timeout=240)
    code, _, err = stop_cli(process, signal.SIGTERM)

    assert code == 143, err
    _assert_playable_partial(tmp_path, _kept_frames(err))

    make_clip(long_clip, 64, 48, 3, 25)  # the rerun (a short clip under the same name)
    assert run_main(_args(long_clip, tiny_models_dir)) == 0
    assert not (tmp_path / "long_saliency.partial.mp4").exists()
    assert len(read_clip(tmp_path / "long_saliency.mp4")[0]) == 3


def test_a_rerun_removes_the_temporaries_of_a_killed_run(
    tiny_models_dir: Path, tmp_path: Path, long_clip: Path
) -> None:
    process = start_cli(_args(long_clip, tiny_models_dir), tmp_path)
    wait_for(_frames_being_written(tmp_path), process, timeout=240)
    process.kill()  # SIGKILL: nothing of the run can clean up
    process.communicate()
    left = partials(tmp_path)
    assert left  # the hidden temporary the killed run was writing

    make_clip(long_clip, 64, 48, 3, 25)
    assert run_main(_args(long_clip, tiny_models_dir)) == 0
    assert partials(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4", "long_saliency.mp4"]
