"""The newcomer's first run: export the quality variants, then show saliency on the
bundled sample pictures and on a short clip made from them.

>>> run_demo(Path("saliency-demo"), weights="random")   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from saliency_cam.models.errors import SaliencyCamError


def sample_pictures() -> list[Path]:
    """The bundled sample pictures (CC0 / public domain; see assets/CREDITS.txt)."""
    folder = resources.files("saliency_cam.models") / "assets"
    return sorted(Path(str(p)) for p in folder.iterdir() if str(p).endswith(".jpg"))


def _pan_frames(
    pictures: list[Path], size: tuple[int, int], seconds_each: float, fps: int
) -> Iterator[np.ndarray]:
    """A slow zoom-and-pan over each picture, so the map has something to follow."""
    width, height = size
    steps = max(2, round(seconds_each * fps))
    for path in pictures:
        image = cv2.imread(str(path))
        if image is None:
            raise SaliencyCamError(f"bundled sample {path} is unreadable: reinstall saliency-cam")
        h, w = image.shape[:2]
        for i in range(steps):
            t = i / (steps - 1)
            zoom = 1.0 + 0.35 * t  # crop shrinks from the whole picture to 74 %
            ch, cw = int(h / zoom), int(w / zoom)
            y0 = int((h - ch) * 0.5)
            x0 = int((w - cw) * t)
            crop = image[y0 : y0 + ch, x0 : x0 + cw]
            yield cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)


def write_sample_clip(
    path: Path, size: tuple[int, int] = (640, 480), fps: int = 25, seconds_each: float = 2.0
) -> Path:
    """Write the demo clip (H.264 .mp4, written atomically) and return its path."""
    from saliency_cam.realtime.io.video import VideoInfo, VideoSink

    info = VideoInfo(width=size[0], height=size[1], fps=Fraction(fps))
    with VideoSink(path, info, metadata={"comment": "saliency-cam demo clip"}) as sink:
        for frame in _pan_frames(sample_pictures(), size, seconds_each, fps):
            sink.write_frame(frame)
    return path
