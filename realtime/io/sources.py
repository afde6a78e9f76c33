"""Where frames come from — a camera, a video file, a URL/RTSP stream, a folder or glob of
images, or a synthetic test pattern — behind one small interface, :class:`FrameSource`.

Live sources (camera, stream, synthetic) keep only the newest frame: a grab thread reads
continuously and a slow reader simply gets the latest picture; the frames it never saw
are counted as dropped, so latency cannot build up. Ordered sources (video files,
images) never drop a frame and deliver them in order; the pipeline puts a bounded queue
behind them for backpressure.

>>> with open_source("clip.mp4") as source:          # doctest: +SKIP
...     for frame in source:
...         print(frame.index, frame.image.shape)
>>> camera = open_source(0)                          # doctest: +SKIP
>>> frame = camera.read()          # the newest frame; frame.skipped were never seen
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import cv2
import numpy as np

from saliency_cam.models.errors import InputError
from saliency_cam.models.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from saliency_cam.realtime.io.frames import (
    Frame,
    FrameSource,
    LiveSource,
    OrderedSource,
    SourceInfo,
    SourceKind,
)

__all__ = [
    "CameraSettings",
    "Frame",
    "FrameSource",
    "LiveSource",
    "OrderedSource",
    "SourceInfo",
    "SourceKind",
    "open_arrays",
    "open_camera",
    "open_images",
    "open_source",
    "open_stream",
    "open_video",
    "source_files",
]


#: URL schemes that are always live streams (http(s) is live unless it names a video file).
LIVE_SCHEMES: frozenset[str] = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "udp", "tcp", "srt"})


@dataclass(frozen=True)
class CameraSettings:
    """What to ask a camera for (None: its default). ``fourcc`` is the pixel format
    code many webcams need for high resolutions at full rate, e.g. ``MJPG``. Cameras
    may give something else: :meth:`differences` words what they actually gave.

    >>> CameraSettings(width=1280, height=720, fps=30, fourcc="MJPG").fourcc
    'MJPG'
    """

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    fourcc: str | None = None

    def __post_init__(self) -> None:
        if self.fourcc is not None and len(self.fourcc) != 4:
            raise InputError(f"--fourcc {self.fourcc!r}: a four-character code such as MJPG")
        for name in ("width", "height", "fps"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise InputError(f"--{name} {value}: must be positive")

    @property
    def empty(self) -> bool:
        return not any((self.width, self.height, self.fps, self.fourcc))

    def apply(self, capture: cv2.VideoCapture) -> None:
        """Ask ``capture`` for these settings (the format first: many cameras only offer
        large sizes once it is set)."""
        if self.fourcc:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc.upper()))
        if self.width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, float(self.width))
        if self.height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, float(self.height))
        if self.fps:
            capture.set(cv2.CAP_PROP_FPS, float(self.fps))

    def differences(self, width: int, height: int, fps: float | None, fourcc: str) -> str:
        """A note on what the camera gave instead of what was asked ("" if all met)."""
        gave = []
        if (self.width and self.width != width) or (self.height and self.height != height):
            asked = f"{self.width or width}×{self.height or height}"
            gave.append(f"{width}×{height} instead of {asked}")
        if self.fps and (fps is None or abs(fps - self.fps) > 0.5):
            gave.append(f"{fps:g} FPS instead of {self.fps:g}" if fps else "no stated FPS")
        if self.fourcc and fourcc.upper() != self.fourcc.upper():
            gave.append(f"format {fourcc or '?'} instead of {self.fourcc.upper()}")
        return "camera gave " + ", ".join(gave) if gave else ""


def _capture_fourcc(capture: cv2.VideoCapture) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC) or 0)
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() and text.strip() else ""


# --------------------------------------------------------------------------- factories


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own warnings while probing devices: we print one clear line."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    previous = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(previous)


def _capture_fps(capture: cv2.VideoCapture) -> float | None:
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    return fps if 0.0 < fps < 1000.0 else None


def _capture_grabber(capture: cv2.VideoCapture) -> Callable[[], np.ndarray | None]:
    def grab() -> np.ndarray | None:
        ok, image = capture.read()
        return image if ok and image is not None else None

    return grab


def _open_capture(
    target: int | str, settings: CameraSettings | None = None
) -> tuple[cv2.VideoCapture, np.ndarray | None]:
    """Open an OpenCV capture (asking for ``settings``) and read its first frame; on
    failure the capture is released and the frame is None (callers word the error for
    their kind of source)."""
    with _quiet_opencv():
        capture = cv2.VideoCapture(target)
        if settings is not None and capture.isOpened():
            settings.apply(capture)
        first = _capture_grabber(capture)() if capture.isOpened() else None
    if first is None:
        capture.release()
    return capture, first


def open_camera(
    device: int | str = 0,
    *,
    settings: CameraSettings | None = None,
    stall_timeout: float = 5.0,
) -> LiveSource:
    """Open a camera by index (``0``) or device path (``/dev/video2``) as a live source,
    asking for ``settings`` (size, rate, format); ``source.info`` holds what the camera
    actually gave, and ``info.note`` says where that differs from what was asked.

    The first frame is read before returning, so a missing camera fails here with one
    clear line rather than later.
    """
    name = f"camera {device}"
    capture, first = _open_capture(device, settings)
    if first is None:
        raise InputError(
            f"cannot open {name}: no camera there, or another program is using it "
            "(try another index, or --source FILE to run on a video)"
        )
    pending: list[np.ndarray] = [first]
    grab_next = _capture_grabber(capture)

    def grab() -> np.ndarray | None:
        return pending.pop() if pending else grab_next()

    h, w = first.shape[:2]
    fps = _capture_fps(capture)
    note = settings.differences(w, h, fps, _capture_fourcc(capture)) if settings else ""
    info = SourceInfo(name, "camera", True, w, h, fps, note=note)
    return LiveSource(
        grab, info, release=capture.release, end_is_error=True, stall_timeout=stall_timeout
    )


def open_stream(
    url: str, *, open_timeout: float = 10.0, stall_timeout: float = 10.0, live: bool = True
) -> FrameSource:
    """Open a network stream (RTSP, RTMP, HTTP MJPEG/HLS, …) through FFmpeg.

    Live by default (newest frame only); ``live=False`` reads every frame in order,
    e.g. a video file served over HTTP.
    """
    ms = int(open_timeout * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    with _quiet_opencv():
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
        ok = capture.isOpened()
        first = _capture_grabber(capture)() if ok else None
    shown = _redact(url)
    if first is None:
        capture.release()
        raise InputError(
            f"cannot open stream {shown}: unreachable, wrong address or no video in it "
            "(check the URL with ffplay or VLC)"
        )
    h, w = first.shape[:2]
    fps = _capture_fps(capture)
    if not live:
        frames = _capture_frames(capture, first)
        info = SourceInfo(shown, "video", False, w, h, fps, _frame_count(capture))
        return OrderedSource(frames, info, release=capture.release)
    pending = [first]
    grab_next = _capture_grabber(capture)

    def grab() -> np.ndarray | None:
        return pending.pop() if pending else grab_next()

    info = SourceInfo(f"stream {shown}", "stream", True, w, h, fps)
    return LiveSource(grab, info, release=capture.release, stall_timeout=stall_timeout)


def _redact(url: str) -> str:
    """Hide a password in ``rtsp://user:secret@host`` before printing the URL."""
    return re.sub(r"(//[^/:@]+):[^/@]*@", r"\1:***@", url)


def _frame_count(capture: cv2.VideoCapture) -> int | None:
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return count if count > 0 else None


def _capture_frames(
    capture: cv2.VideoCapture, first: np.ndarray
) -> Iterator[tuple[np.ndarray, float, str | None]]:
    fps = _capture_fps(capture) or 30.0
    yield first, 0.0, None
    index = 1
    while True:
        ok, image = capture.read()
        if not ok or image is None:
            return
        msec = capture.get(cv2.CAP_PROP_POS_MSEC)
        yield image, (msec / 1000.0 if msec and msec > 0 else index / fps), None
        index += 1


def open_video(path: str | os.PathLike[str]) -> OrderedSource:
    """Open a video file; every frame is delivered once, in order."""
    shown = str(path)
    if not str(path).startswith(("http://", "https://")) and not Path(path).is_file():
        raise InputError(f"no such video file: {shown}")
    capture, first = _open_capture(shown)
    if first is None:
        raise InputError(
            f"cannot read video {shown}: not a video, damaged, or a codec FFmpeg lacks"
        )
    h, w = first.shape[:2]
    info = SourceInfo(
        Path(shown).name, "video", False, w, h, _capture_fps(capture), _frame_count(capture)
    )
    return OrderedSource(_capture_frames(capture, first), info, release=capture.release)


def image_paths(spec: str | os.PathLike[str]) -> list[Path]:
    """The images a folder or glob pattern names, in natural order."""
    from saliency_cam.realtime.io.inputs import expand_inputs

    found = expand_inputs([spec], IMAGE_SUFFIXES)
    if not found.paths:
        kinds = ", ".join(sorted(IMAGE_SUFFIXES))
        where = f"folder {spec}" if Path(spec).expanduser().is_dir() else f"pattern {str(spec)!r}"
        raise InputError(f"no images in {where} (looked for {kinds})")
    return found.paths


def open_images(spec: str | os.PathLike[str] | Sequence[Path]) -> OrderedSource:
    """Images from a folder, a glob (``'shots/*.jpg'``) or a list of paths, in natural
    order. Unreadable files are skipped and listed in ``source.unreadable``."""
    from saliency_cam.realtime.io.images import load_image

    paths = list(spec) if isinstance(spec, (list, tuple)) else image_paths(spec)  # type: ignore[arg-type]
    unreadable: list[Path] = []
    problems: list[tuple[Path, str]] = []

    def frames() -> Iterator[tuple[np.ndarray, float, str | None]]:
        for path in paths:
            try:  # the same loader as 'saliency-cam image': EXIF orientation, alpha
                image = load_image(path)
            except InputError as exc:  # the same one-line reason 'image' prints
                unreadable.append(Path(path))
                problems.append((Path(path), str(exc)))
                continue
            yield image, 0.0, Path(path).name

    label = str(spec) if not isinstance(spec, (list, tuple)) else f"{len(paths)} images"
    source = OrderedSource(frames(), SourceInfo(label, "images", False, frames=len(paths)))
    source.unreadable = unreadable
    source.problems = problems
    return source


# --------------------------------------------------------------------------- dispatch


def open_arrays(images: np.ndarray | Sequence[np.ndarray]) -> OrderedSource:
    """Numpy images (one (H, W[, C]) array, a (N, H, W, C) stack or a list) as an
    ordered source, converted to BGR uint8 like every other source."""
    from saliency_cam.realtime.runtime.session import as_bgr_uint8

    if isinstance(images, np.ndarray):
        items = list(images) if images.ndim == 4 else [images]
    else:
        items = list(images)
    if not items:
        raise InputError("no images in the array source")
    first = as_bgr_uint8(items[0])
    h, w = first.shape[:2]
    frames = ((as_bgr_uint8(image), 0.0, None) for image in items)
    return OrderedSource(frames, SourceInfo("arrays", "images", False, w, h, None, len(items)))


SourceSpec = str | int | os.PathLike[str] | np.ndarray | Sequence[np.ndarray]


def source_files(spec: SourceSpec) -> list[Path]:
    """The local files a ``--source`` reads (a video file, or the images of a folder or
    glob); empty for cameras, streams, the test pattern and arrays. Outputs are checked
    against these so a run never writes over its own input."""
    if not isinstance(spec, (str, os.PathLike)):
        return []
    text = str(spec).strip()
    if not text or text.isdigit() or text.startswith(("/dev/video", "synthetic")):
        return []
    if urlparse(text).scheme.lower() in LIVE_SCHEMES | {"http", "https"}:
        return []
    path = Path(text).expanduser()
    if path.is_file():
        return [path]
    from saliency_cam.realtime.io.inputs import expand_inputs

    globbed = any(ch in text for ch in "*?[")
    return expand_inputs([text], IMAGE_SUFFIXES).paths if path.is_dir() or globbed else []


def open_source(
    spec: SourceSpec, *, live: bool | None = None, camera: CameraSettings | None = None
) -> FrameSource:
    """Open whatever ``spec`` names, as users write it (Ultralytics-style ``source=``):

    - ``0``, ``1`` … or ``/dev/video2``: a camera (live);
    - ``rtsp://``, ``rtmp://``, ``udp://`` …, or an ``http(s)`` URL that is not a video
      file: a stream (live);
    - a video file or an ``http(s)`` URL ending in a video extension: in order;
    - a folder, a glob (``'frames/*.png'``) or an image file: images in natural order;
    - ``synthetic`` or ``synthetic:FPS``: a moving test pattern (live).

    - numpy arrays (one image, a stack or a list): in order.

    ``live`` overrides the choice for streams; ``camera`` is what to ask a camera for
    (size, rate, format; ignored by other sources). Anything unusable raises
    :class:`InputError` with one line saying what to do.

    >>> with open_source("clip.mp4") as source:       # doctest: +SKIP
    ...     for frame in source:
    ...         print(frame.index, frame.image.shape)
    """
    if isinstance(spec, np.ndarray) or (
        isinstance(spec, (list, tuple)) and spec and isinstance(spec[0], np.ndarray)
    ):
        return open_arrays(spec)  # type: ignore[arg-type]
    if isinstance(spec, int):
        return open_camera(spec, settings=camera)
    text = str(spec).strip()
    if not text:
        raise InputError("empty --source: give a camera index, a file, a folder or a URL")
    if text.isdigit():
        return open_camera(int(text), settings=camera)
    if text.startswith("/dev/video"):
        return open_camera(text, settings=camera)
    if text == "synthetic" or text.startswith("synthetic:"):
        rate = text.partition(":")[2] or "30"
        try:
            fps = float(rate)
        except ValueError:
            raise InputError(f"bad synthetic rate {rate!r}: use synthetic:30") from None
        from saliency_cam.realtime.io.pattern import synthetic_source

        return synthetic_source(fps, live=True if live is None else live)
    scheme = urlparse(text).scheme.lower()
    if scheme in LIVE_SCHEMES:
        return open_stream(text, live=True if live is None else live)
    if scheme in ("http", "https"):
        is_file = Path(urlparse(text).path).suffix.lower() in VIDEO_SUFFIXES
        return open_stream(text, live=(not is_file) if live is None else live)
    path = Path(text).expanduser()
    if path.is_dir():
        return open_images(path)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return open_images([path])
        return open_video(path)
    if any(ch in text for ch in "*?["):
        return open_images(text)
    raise InputError(
        f"no such file, folder or camera: {text!r} "
        "(give a camera index like 0, a video, an image folder, a glob or a URL)"
    )
