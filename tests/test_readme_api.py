"""The README's Python section runs as written: every ``python`` block under
"## Python", in order, in one namespace, in a folder holding the files it names
(photo.jpg, clip.mp4, stimuli/ and maps/), with the models folder the environment names
holding the default quality. A snippet that drifts from the API fails here."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from media_factory import make_clip

from saliency_cam.realtime.runtime.defaults import BACKEND_ENV, PRECISION_ENV

ROOT = Path(__file__).resolve().parents[1]


def python_snippets() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_shows_each_public_call() -> None:
    code = "\n".join(python_snippets())
    for call in (
        "predict(",
        "open_session(",
        "process_video(",
        "callback=",
        "export(",
        "evaluate(",
    ):
        assert call in code, f"the README's Python section lost its {call} example"


def test_readme_python_snippets_run(
    default_quality_models_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("tensorflow")  # the export snippet needs the export extra
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.setenv("SALIENCY_CAM_MODELS_DIR", str(default_quality_models_dir))
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    cv2.imwrite("photo.jpg", rng.integers(0, 255, (60, 90, 3), np.uint8))
    make_clip(tmp_path / "clip.mp4", 64, 48, 6)
    for folder in ("stimuli", "maps"):
        (tmp_path / folder).mkdir()
    for index in range(2):
        cv2.imwrite(f"stimuli/p{index}.png", rng.integers(0, 255, (48, 64, 3), np.uint8))
        blob = np.zeros((48, 64), np.uint8)
        cv2.circle(blob, (16 + 30 * index, 24), 8, 255, -1)
        cv2.imwrite(f"maps/p{index}.png", cv2.GaussianBlur(blob, (0, 0), 4))

    namespace: dict[str, object] = {"__name__": "readme"}
    for snippet in python_snippets():
        exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102 - our own README

    assert Path("overlay.png").is_file() and Path("clip_saliency.mp4").is_file()
    printed = capsys.readouterr().out
    assert "6 frames" in printed
    assert "2 images scored with medium" in printed
    assert "('very_low', 'fp32', False)" in printed  # the export snippet's line
