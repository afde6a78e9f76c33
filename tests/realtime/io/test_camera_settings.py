"""Camera capture options (--width/--height/--fps/--fourcc): asked of a real OpenCV
capture, and what it actually gave is reported (no camera here: a capture on a real video
file stands in, which keeps its own size whatever is asked)."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from media_factory import make_clip

from saliency_cam.models.errors import InputError
from saliency_cam.realtime.cli.main import main
from saliency_cam.realtime.io.sources import CameraSettings


def test_settings_are_validated() -> None:
    assert CameraSettings().empty and not CameraSettings(fourcc="MJPG").empty
    with pytest.raises(InputError, match="four-character"):
        CameraSettings(fourcc="MJPEG")
    with pytest.raises(InputError, match="positive"):
        CameraSettings(width=0)


def test_what_the_capture_gave_is_reported(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", 64, 48, 3, 25)
    capture = cv2.VideoCapture(str(clip))
    settings = CameraSettings(width=1280, height=720, fps=60)
    settings.apply(capture)
    ok, frame = capture.read()
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    assert ok
    h, w = frame.shape[:2]
    note = settings.differences(w, h, fps, "")
    assert note == "camera gave 64×48 instead of 1280×720, 25 FPS instead of 60"
    assert CameraSettings(width=64, height=48).differences(64, 48, 25.0, "") == ""
    assert "format avc1 instead of MJPG" in CameraSettings(fourcc="mjpg").differences(
        64, 48, None, "avc1"
    )


def test_bad_fourcc_is_one_line_before_anything_opens(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--source", "57", "--no-display", "--width", "1280", "--fourcc", "MJPEG"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("error: --fourcc 'MJPEG'")
