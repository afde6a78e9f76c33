"""Outputs are checked before the work: a place that cannot be written is one line naming
the option (not "unexpected FileNotFoundError" at the end), a crop size too large to
hold is refused up front, and an ``-o`` ending in a slash is always a folder (real
files, the real CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_process import run_main
from media_factory import make_clip, make_image, read_clip

from saliency_cam.realtime.apps.reframe.crop import MAX_CROP_PIXELS

#: A path no user can create (the kernel's /proc): as the attack used.
UNWRITABLE = "/proc/saliency-cam-test/r.mp4"


def _model(models: Path) -> list[str]:
    return ["-q", "very_low", "--models-dir", str(models), "--device", "cpu", "--no-progress"]


def _one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err and "unexpected" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], err


def test_live_record_where_nothing_can_be_written_fails_before_the_run(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = make_clip(tmp_path / "x.mp4", 64, 48, 4)
    args = ["--no-display", "-s", str(clip), "--record", UNWRITABLE, "--max-frames", "2"]
    code = run_main([*args, "-q", "very_low", "--models-dir", str(tiny_models_dir)])
    captured = capsys.readouterr()
    assert code != 0
    _one_line_error(captured.err, "--record", UNWRITABLE, "cannot write there")
    assert "frames" not in captured.out + captured.err  # no run summary: nothing ran


def test_crop_size_over_the_pixel_limit_is_refused_up_front(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = make_image(tmp_path / "a.jpg", 40, 30)
    width = 20_000
    height = MAX_CROP_PIXELS // width + 1  # just over: 300 MB that would be allocated
    size = f"{width}x{height}"
    code = run_main(["crop", str(picture), "--size", size, *_model(tiny_models_dir)])
    err = capsys.readouterr().err
    assert code != 0
    _one_line_error(err, f"--size {size}", f"{MAX_CROP_PIXELS:,}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]
    assert run_main(["crop", str(picture), "--size", "100000x100000"]) != 0  # the attack's


def test_video_output_with_a_trailing_slash_is_a_folder(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", 64, 48, 3)
    folder = tmp_path / "results.v2"  # a suffix-like name: not a file of type .v2
    code = run_main(["video", str(clip), "-o", f"{folder}/", *_model(tiny_models_dir)])
    assert code == 0, capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["clip_saliency.mp4"]
    assert len(read_clip(folder / "clip_saliency.mp4")[0]) == 3
