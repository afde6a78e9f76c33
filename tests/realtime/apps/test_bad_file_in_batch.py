"""One unreadable input (a PNG bomb) in a multi-file command is one line naming it: the
other files are still done, and the command exits non-zero with a count (real files,
the real CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_process import run_main
from media_factory import make_image, make_png_bomb


def _model(models: Path) -> list[str]:
    return ["-q", "very_low", "--models-dir", str(models), "--device", "cpu", "--no-progress"]


@pytest.fixture()
def pictures(tmp_path: Path) -> list[Path]:
    return [
        make_image(tmp_path / "a.jpg", 40, 30),
        make_png_bomb(tmp_path / "bomb.png"),
        make_image(tmp_path / "b.jpg", 40, 30),
    ]


def _bomb_line(err: str, bomb: Path) -> None:
    lines = [line for line in err.splitlines() if "bomb.png" in line]
    assert len(lines) == 1 and lines[0].startswith(f"error: {bomb}"), err
    assert "unexpected" not in err and "Traceback" not in err


def test_image_goes_on_after_a_png_bomb(
    tiny_models_dir: Path, tmp_path: Path, pictures: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = run_main(["image", *map(str, pictures), "-o", f"{out}/", *_model(tiny_models_dir)])
    err = capsys.readouterr().err
    assert code == 1
    _bomb_line(err, pictures[1])
    assert "1 of 3 input(s) failed" in err
    assert sorted(p.name for p in out.iterdir()) == ["a_saliency.png", "b_saliency.png"]


def test_crop_goes_on_after_a_png_bomb(
    tiny_models_dir: Path, tmp_path: Path, pictures: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["crop", *map(str, pictures), "-o", str(out), "--size", "20x20", "--no-sheet"]
    code = run_main([*args, *_model(tiny_models_dir)])
    err = capsys.readouterr().err
    assert code != 0
    _bomb_line(err, pictures[1])
    assert sorted(p.name for p in out.iterdir()) == ["a_20x20.jpg", "b_20x20.jpg"]
