"""``--record``: write the annotated live stream to a video file that is always
playable — written under a temporary name and renamed when closed (also when the run
ends on an error), through :class:`~saliency_cam.realtime.video_io.VideoSink`.

>>> with Recorder("out.mp4", fps=30, paced=True) as recorder:   # doctest: +SKIP
...     recorder.write(picture, stamp=frame.stamp)
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from saliency_cam.realtime.video_io import VideoInfo, VideoSink


def fit_into(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit inside ``size`` (H, W), keeping its aspect ratio, centred
    on black. Returned unchanged when it already has that size."""
    h, w = size
    ih, iw = image.shape[:2]
    if (ih, iw) == (h, w):
        return image
    scale = min(h / ih, w / iw)
    nh, nw = max(1, round(ih * scale)), max(1, round(iw * scale))
    canvas = np.zeros((h, w, 3), np.uint8)
    top, left = (h - nh) // 2, (w - nw) // 2
    canvas[top : top + nh, left : left + nw] = cv2.resize(
        image, (nw, nh), interpolation=cv2.INTER_AREA
    )
    return canvas


class Recorder:
    """Writes pictures to ``path``; the first picture fixes the video size (later ones
    of another size, e.g. after switching to the side-by-side view, are fitted in).

    ``paced`` (live sources): the video runs at a constant ``fps`` in real time — each
    picture is repeated until the next one's capture time, and pictures arriving
    faster than ``fps`` are skipped. Not paced (files): every picture once, at ``fps``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float = 30.0,
        *,
        paced: bool = True,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.fps = fps if fps and fps > 0 else 30.0
        self.paced = paced
        self.metadata = metadata or {}
        self.pictures = 0
        self.frames_written = 0  # kept after closing
        self._sink: VideoSink | None = None
        self._size: tuple[int, int] | None = None
        self._origin: float | None = None

    def _open(self, picture: np.ndarray) -> VideoSink:
        h, w = picture.shape[:2]
        info = VideoInfo(width=w, height=h, fps=Fraction(self.fps).limit_denominator(1001))
        sink = VideoSink(self.path, info, metadata=self.metadata)
        sink.__enter__()
        self._sink, self._size = sink, (h, w)
        return sink

    def write(self, picture: np.ndarray, stamp: float = 0.0) -> None:
        """Add ``picture`` captured at ``stamp`` seconds (source time)."""
        sink = self._sink or self._open(picture)
        assert self._size is not None
        picture = fit_into(picture, self._size)
        copies = 1
        if self.paced:
            if self._origin is None:
                self._origin = stamp - sink.frames_written / self.fps
            due = int((stamp - self._origin) * self.fps + 1e-6) + 1
            copies = due - sink.frames_written
        for _ in range(copies):
            sink.write_frame(picture)
        self.frames_written = sink.frames_written
        self.pictures += 1

    def restart_clock(self) -> None:
        """Forget the time base (after a pause): the next picture follows the last one
        directly instead of filling the paused time."""
        self._origin = None

    def close(self) -> None:
        """Finish the file and give it its final name (nothing to do if never opened)."""
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.__exit__(None, None, None)

    def discard(self, error: BaseException) -> None:
        """Abandon the file (its temporary name is removed)."""
        sink, self._sink = self._sink, None
        self.frames_written = 0
        if sink is not None:
            sink.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        # Even after an error elsewhere (camera gone), what was recorded stays playable.
        self.close()
