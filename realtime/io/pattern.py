"""A moving test pattern: try the live app without a camera (``--source synthetic``), and
the frames the bench's pipeline mode encodes.

>>> with synthetic_source(30) as camera:      # doctest: +SKIP
...     frame = camera.read()                 # the newest picture, like a webcam
"""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2
import numpy as np

from saliency_cam.realtime.io.frames import FrameSource, LiveSource, OrderedSource, SourceInfo

#: Called on each new frame with its index, in place (tests stamp the index into the pixels).
FrameMark = Callable[[np.ndarray, int], None]


class TestPattern:
    """Frames of a moving bright disc over a gradient. ``mark(image, index)``, if given,
    is applied to every frame in place (e.g. to write the index into the pixels)."""

    __test__ = False  # not a pytest class

    def __init__(self, size: tuple[int, int] = (480, 640), mark: FrameMark | None = None) -> None:
        h, w = size
        ramp = np.linspace(40, 200, w, dtype=np.float32)[None, :]
        shade = np.linspace(0.6, 1.0, h, dtype=np.float32)[:, None]
        base = ramp * shade
        self.base = np.dstack([base, base[:, ::-1], np.full_like(base, 90)]).astype(np.uint8)
        self.size = size
        self.mark = mark

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (BGR uint8): the disc moves along an ellipse."""
        h, w = self.size
        image = self.base.copy()
        angle = index * 0.15
        centre = (int(w / 2 + w / 3 * np.cos(angle)), int(h / 2 + h / 3 * np.sin(angle)))
        cv2.circle(image, centre, max(4, min(h, w) // 10), (255, 255, 255), -1)
        if self.mark is not None:
            self.mark(image, index)
        return image


def synthetic_source(
    fps: float = 30.0,
    size: tuple[int, int] = (480, 640),
    frames: int | None = None,
    *,
    live: bool = True,
    mark: FrameMark | None = None,
) -> FrameSource:
    """A test pattern at ``fps`` frames per second. Live: produced on its own clock
    whether read or not, the stand-in for a camera; ordered (``live=False``): ``frames``
    frames, none dropped. ``mark`` is passed to :class:`TestPattern`."""
    pattern = TestPattern(size, mark)
    h, w = size
    info = SourceInfo(f"synthetic {fps:g} FPS", "synthetic", live, w, h, fps, frames)
    if not live:
        count = frames if frames is not None else 0
        items = ((pattern.frame(i), i / fps, None) for i in range(count))
        return OrderedSource(items, info)
    period = 1.0 / fps
    state = {"n": 0, "start": time.perf_counter()}

    def grab() -> np.ndarray | None:
        n = state["n"]
        if frames is not None and n >= frames:
            return None
        # absolute schedule: no drift however long each frame took to make
        delay = state["start"] + n * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        state["n"] = n + 1
        return pattern.frame(n)

    return LiveSource(grab, info)
