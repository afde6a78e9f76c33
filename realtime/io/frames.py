"""The frame types every source yields and the two kinds of source: :class:`Frame`,
:class:`SourceInfo`, the :class:`FrameSource` interface, :class:`OrderedSource` (files:
every frame, in order) and :class:`LiveSource` (cameras, streams, the test pattern:
only the newest frame). The openers live in ``io/sources.py``; the test pattern in
``io/pattern.py`` builds on these classes without importing the openers.

>>> frame = Frame(np.zeros((2, 2, 3), np.uint8), index=0, stamp=0.0, captured=0.0)
>>> frame.index
0
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from saliency_cam.models.errors import InputError

SourceKind = Literal["camera", "stream", "video", "images", "synthetic"]


@dataclass
class Frame:
    """One picture from a source.

    ``index`` counts the frames the source produced (live sources skip indices for the
    frames they dropped; ``skipped`` says how many were dropped just before this one).
    ``captured`` is ``time.perf_counter()`` when the frame was grabbed — the start of
    its latency; ``stamp`` is its time in seconds within the source (media time for
    files, time since opening for live sources). ``name`` is the file name for images.
    Pipeline stages add their durations (seconds) to ``timings``.
    """

    image: np.ndarray
    index: int
    captured: float
    stamp: float = 0.0
    skipped: int = 0
    name: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceInfo:
    """What a source is: a printable name, its kind, whether it is live, and what is
    known in advance about size, rate and length (None when unknown)."""

    name: str
    kind: SourceKind
    live: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frames: int | None = None
    #: What the user should know about how the source was opened (e.g. a camera that
    #: gave another size than asked for); "" when nothing.
    note: str = ""


class FrameSource(ABC):
    """Anything that yields :class:`Frame` objects; use it as a context manager.

    ``read()`` returns the next frame (live: the newest one not yet returned), or
    ``None`` when a finite source is exhausted. With a ``timeout`` it raises
    :class:`TimeoutError` if no frame arrived in time (so callers can check for a stop).
    """

    info: SourceInfo

    @property
    def live(self) -> bool:
        return self.info.live

    @property
    def dropped(self) -> int:
        """Frames produced but never returned by ``read`` (always 0 for ordered sources)."""
        return 0

    @abstractmethod
    def read(self, timeout: float | None = None) -> Frame | None: ...

    def close(self) -> None:  # noqa: B027 - most sources have something to release
        """Release the device or file. Safe to call twice."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame


class OrderedSource(FrameSource):
    """A finite source read in order, never dropping a frame (files, folders).

    ``frames`` yields ``(image, stamp, name)`` tuples; ``release`` runs on close.
    ``unreadable`` lists files that were skipped because they could not be decoded.
    """

    def __init__(
        self,
        frames: Iterator[tuple[np.ndarray, float, str | None]],
        info: SourceInfo,
        release: Callable[[], None] | None = None,
    ) -> None:
        self.info = info
        self._frames = frames
        self._release = release
        self._next_index = 0
        self._closed = False
        self.unreadable: list[Path] = []
        #: ``(path, reason)`` for each skipped file, worded as ``saliency-cam image`` does
        self.problems: list[tuple[Path, str]] = []

    def read(self, timeout: float | None = None) -> Frame | None:
        if self._closed:
            return None
        item = next(self._frames, None)
        if item is None:
            return None
        image, stamp, name = item
        frame = Frame(image, self._next_index, time.perf_counter(), stamp, 0, name)
        self._next_index += 1
        return frame

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._release is not None:
                self._release()


class LiveSource(FrameSource):
    """A live source: a grab thread calls ``grab()`` continuously and keeps only the
    newest picture; ``read()`` returns it once and counts the ones nobody read.

    ``grab`` returns an image, or None when the source ended. When ``end_is_error`` (a
    camera), an end or ``stall_timeout`` seconds without a new frame is an
    :class:`InputError` naming the source; otherwise an end is a normal end.
    """

    def __init__(
        self,
        grab: Callable[[], np.ndarray | None],
        info: SourceInfo,
        *,
        release: Callable[[], None] | None = None,
        end_is_error: bool = False,
        stall_timeout: float = 5.0,
    ) -> None:
        self.info = info
        self._grab = grab
        self._release = release
        self._end_is_error = end_is_error
        self.stall_timeout = stall_timeout
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._produced = 0
        self._last_read = -1
        self._dropped = 0
        self._ended = False
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._opened = time.perf_counter()
        self._last_grab = self._opened
        self._thread = threading.Thread(target=self._run, name=f"grab {info.name}", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def produced(self) -> int:
        """Frames grabbed so far (read or dropped)."""
        return self._produced

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                image = self._grab()
            except BaseException as exc:  # surfaced to the reader, not lost in a thread
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            now = time.perf_counter()
            with self._cond:
                if image is None:
                    self._ended = True
                    self._cond.notify_all()
                    return
                self._latest = Frame(image, self._produced, now, now - self._opened)
                self._produced += 1
                self._last_grab = now
                self._cond.notify_all()

    def read(self, timeout: float | None = None) -> Frame | None:
        deadline = None if timeout is None else time.perf_counter() + timeout
        with self._cond:
            while True:
                latest = self._latest
                if latest is not None and latest.index > self._last_read:
                    skipped = latest.index - self._last_read - 1
                    self._last_read = latest.index
                    self._dropped += skipped
                    return Frame(latest.image, latest.index, latest.captured, latest.stamp, skipped)
                if self._error is not None:
                    raise InputError(
                        f"{self.info.name} failed: {self._error} — check the device or URL"
                    ) from self._error
                if self._ended:
                    if self._end_is_error:
                        raise InputError(
                            f"{self.info.name} stopped delivering frames (disconnected?)"
                        )
                    return None
                now = time.perf_counter()
                stalled = now - self._last_grab
                if stalled >= self.stall_timeout:
                    raise InputError(
                        f"{self.info.name} stopped delivering frames "
                        f"(nothing for {stalled:.0f} s): is it still connected?"
                    )
                wait = self.stall_timeout - stalled
                if deadline is not None:
                    if now >= deadline:
                        raise TimeoutError(f"no frame from {self.info.name} yet")
                    wait = min(wait, deadline - now)
                self._cond.wait(wait)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=2.0)
        # A grab thread stuck inside a driver call must not have its device freed under it.
        if self._release is not None and not self._thread.is_alive():
            self._release()
