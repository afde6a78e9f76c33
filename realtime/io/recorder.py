"""``--record``: write the annotated live stream to a video file that is always
playable — written under a temporary name and renamed when closed (also when the run
ends on an error), through :class:`~saliency_cam.realtime.io.video.VideoSink`.

>>> with Recorder("out.mp4", fps=30, paced=True) as recorder:   # doctest: +SKIP
...     recorder.write(picture, stamp=frame.stamp)
"""

from __future__ import annotations

import os
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from saliency_cam.models.samples import Samples
from saliency_cam.realtime.io.video import VideoInfo, VideoSink


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
    ``threaded``: encoding runs in its own thread behind a bounded queue (a full queue
    makes :meth:`write` wait: a recording never loses pictures). Pictures handed to
    :meth:`write` must not be modified afterwards. ``encode_times`` holds the seconds
    spent encoding each picture.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float = 30.0,
        *,
        paced: bool = True,
        metadata: dict[str, str] | None = None,
        threaded: bool = True,
        queue_size: int = 8,
    ) -> None:
        self.path = Path(path)
        self.fps = fps if fps and fps > 0 else 30.0
        self.paced = paced
        self.metadata = metadata or {}
        self.pictures = 0
        self.frames_written = 0  # frames committed to the video (copies included)
        self.encode_times = Samples()
        self._sink: VideoSink | None = None
        self._size: tuple[int, int] | None = None
        self._origin: float | None = None
        self._threaded = threaded
        self._queue: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue(queue_size)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _open(self, picture: np.ndarray) -> VideoSink:
        h, w = picture.shape[:2]
        info = VideoInfo(width=w, height=h, fps=Fraction(self.fps).limit_denominator(1001))
        sink = VideoSink(self.path, info, metadata=self.metadata)
        sink.__enter__()
        self._sink, self._size = sink, (h, w)
        if self._threaded:
            self._thread = threading.Thread(target=self._run, name="record", daemon=True)
            self._thread.start()
        return sink

    def _encode(self, picture: np.ndarray, copies: int) -> None:
        assert self._sink is not None and self._size is not None
        start = time.perf_counter()
        picture = fit_into(picture, self._size)
        for _ in range(copies):
            self._sink.write_frame(picture)
        self.encode_times.add(time.perf_counter() - start)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain, so a waiting writer is never stuck
            try:
                self._encode(*item)
            except BaseException as exc:  # re-raised in the caller's thread
                self._error = exc

    def write(self, picture: np.ndarray, stamp: float = 0.0) -> None:
        """Add ``picture`` captured at ``stamp`` seconds (source time)."""
        if self._error is not None:
            raise self._error
        if self._sink is None:
            self._open(picture)
        copies = 1
        if self.paced:
            if self._origin is None:
                self._origin = stamp - self.frames_written / self.fps
            due = int((stamp - self._origin) * self.fps + 1e-6) + 1
            copies = due - self.frames_written
        if copies <= 0:
            return
        self.frames_written += copies
        self.pictures += 1
        if self._thread is not None:
            self._queue.put((picture, copies))
        else:
            self._encode(picture, copies)

    def restart_clock(self) -> None:
        """Forget the time base (after a pause): the next picture follows the last one
        directly instead of filling the paused time."""
        self._origin = None

    def _finish_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def close(self) -> None:
        """Finish the file and give it its final name (nothing to do if never opened).
        An encoding failure is raised here, after the temporary file is removed."""
        self._finish_thread()
        sink, self._sink = self._sink, None
        if sink is None:
            return
        if self._error is not None:
            self.frames_written = 0
            sink.__exit__(type(self._error), self._error, self._error.__traceback__)
            raise self._error
        sink.__exit__(None, None, None)

    def discard(self, error: BaseException) -> None:
        """Abandon the file (its temporary name is removed)."""
        self._finish_thread()
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
