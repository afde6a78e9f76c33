"""Pictures and videos made by an UNTRAINED (random-weight) model carry a visible red
label in their pixels, not only in their metadata."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from media_factory import make_clip, make_image, read_clip, read_index

from saliency_cam.realtime.apps.image import ImageOutputs, process_image
from saliency_cam.realtime.apps.video import VideoOutputs, run_video_job


@pytest.fixture(scope="module")
def session(tiny_models_dir: Path):
    from saliency_cam.realtime.runtime.session import open_session

    untrained = open_session("very_low", models_dir=tiny_models_dir, device="cpu")
    assert not untrained.trained
    return untrained


def _red(image: np.ndarray) -> int:
    b, g, r = (image[..., i].astype(int) for i in range(3))
    return int(((r > 150) & (r - g > 80) & (r - b > 80)).sum())


def test_overlay_png_shows_untrained(tmp_path: Path, session) -> None:
    from saliency_cam.realtime.io.images import load_image
    from saliency_cam.realtime.render.blend import render

    source = make_image(tmp_path / "grey.png", 320, 240, mode="L")
    outputs = ImageOutputs.beside(tmp_path / "grey", overlay=True)
    process_image(session, source, outputs)
    overlay = cv2.imread(str(outputs.overlay))
    image = load_image(source)
    unlabelled = render(image, session.predict(image), "overlay", 0.5, "inferno")
    changed = np.any(overlay != unlabelled, axis=2)
    rows, cols = np.nonzero(changed)
    assert rows.size > 200 and rows.max() < 240 // 4 and cols.max() < 320  # a top-left label
    assert _red(overlay[changed]) > 50 > _red(unlabelled[changed])  # written in red
    plain = cv2.imread(str(outputs.saliency), cv2.IMREAD_UNCHANGED)
    assert plain.ndim == 2  # the raw map stays data: exact values, no text


def test_blended_video_frames_show_untrained(tmp_path: Path, session) -> None:
    source = make_clip(tmp_path / "in.mp4", 320, 240, 4, 25)
    outputs = VideoOutputs.for_main(tmp_path / "out.mp4")
    run_video_job(session, source, outputs)
    frames, _, _ = read_clip(outputs.blend)
    assert len(frames) == 4
    for frame in frames:
        assert _red(frame[:40, :240]) > 50
    assert [read_index(f) for f in frames] == list(range(4))  # the picture is still there
