"""Shot boundaries (hard cuts) with PySceneDetect's content detector, fed frame by frame
so the video is decoded only once for saliency and cuts together.

>>> detector = ShotDetector(fps=25.0)                 # doctest: +SKIP
>>> for index, frame in enumerate(frames):            # doctest: +SKIP
...     detector.push(index, frame)
>>> detector.finish()                                 # first frame of each new shot
[120, 301]
"""

from __future__ import annotations

import cv2
import numpy as np

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.install import install_command

#: Width frames are shrunk to before detection: cuts are visible at any size, and the
#: detector's HSV/edge work costs per pixel.
DETECT_WIDTH = 256


def require_scenedetect():
    """The scenedetect module, or an error naming the extra to install."""
    try:
        import scenedetect
    except ImportError as exc:  # optional dependency: the reframe extra
        raise SaliencyCamError(
            "reframe needs PySceneDetect for shot boundaries: " + install_command("reframe")
        ) from exc
    return scenedetect


class ShotDetector:
    """Finds hard cuts. ``threshold``: PySceneDetect's ContentDetector score (27 by
    default; lower finds more cuts); ``min_shot_s``: shortest shot in seconds."""

    def __init__(self, fps: float, *, threshold: float = 27.0, min_shot_s: float = 0.5) -> None:
        scenedetect = require_scenedetect()
        self._fps = float(fps)
        self._timecode = scenedetect.FrameTimecode
        min_len = max(1, int(round(min_shot_s * self._fps)))
        self._detector = scenedetect.ContentDetector(threshold=threshold, min_scene_len=min_len)
        self._cuts: list[int] = []
        self._last = -1

    def push(self, index: int, frame: np.ndarray) -> None:
        """Feed frame ``index`` (BGR, any size; frames in order)."""
        height, width = frame.shape[:2]
        if width > DETECT_WIDTH:
            size = (DETECT_WIDTH, max(1, round(height * DETECT_WIDTH / width)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        found = self._detector.process_frame(self._timecode(index, fps=self._fps), frame)
        self._cuts.extend(int(c.frame_num) for c in found)
        self._last = index

    def finish(self) -> list[int]:
        """The first frame index of every shot after the first, sorted."""
        if self._last >= 0:
            found = self._detector.post_process(self._timecode(self._last, fps=self._fps))
            self._cuts.extend(int(c.frame_num) for c in found)
        return sorted({c for c in self._cuts if c > 0})


def shot_ranges(cuts: list[int], frames: int) -> list[tuple[int, int]]:
    """``[(start, stop), …]`` half-open frame ranges of the shots.

    >>> shot_ranges([3, 7], 10)
    [(0, 3), (3, 7), (7, 10)]
    """
    bounds = [0, *sorted(c for c in cuts if 0 < c < frames), frames]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
