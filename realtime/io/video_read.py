"""Reading video files with PyAV: what a file holds (:class:`VideoInfo`), its frames in
order with their presentation times (:func:`iter_stamped_frames`), and the file as an
ordered source for the threaded pipeline (:func:`open_video_source`).

Frames are BGR uint8 arrays, upright: a display rotation stored in the file (phone
videos) is applied when reading, so ``VideoInfo.width/height`` are the displayed size.

>>> info = VideoInfo.from_path("clip.mp4")                      # doctest: +SKIP
>>> for frame, seconds in iter_stamped_frames("clip.mp4"):     # doctest: +SKIP
...     print(frame.shape, seconds)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from saliency_cam.models.errors import InputError, first_line


def _av():  # imported lazily: PyAV pulls in FFmpeg, not needed by every command
    import av

    return av


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds: displayed size, frame rate, frame count, audio.

    ``total_frames`` comes from the container (or a packet count when the container
    does not store it) and may be None for streams that cannot tell; ``rotation`` is the
    display rotation in degrees counter-clockwise (already applied to ``width``/``height``
    and to the frames :func:`iter_frames` yields).

    >>> VideoInfo(width=640, height=480, fps=Fraction(30)).resolution_wh
    (640, 480)
    """

    width: int
    height: int
    fps: Fraction
    total_frames: int | None = None
    has_audio: bool = False
    rotation: int = 0
    codec: str = ""
    #: The video stream's time base (units of its timestamps); None: ``1/fps``.
    time_base: Fraction | None = None
    #: Frames the file says it has (its frame count, or its stated duration × rate),
    #: which a truncated file no longer holds; None when it says nothing.
    declared_frames: int | None = None

    @property
    def resolution_wh(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def duration_s(self) -> float | None:
        """Length in seconds from the frame count and rate, if the count is known."""
        return None if self.total_frames is None else self.total_frames / float(self.fps)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> VideoInfo:
        """Probe ``path``: decodes the first frame (to learn its rotation and to prove the
        file is readable), then counts packets if the container stores no frame count.

        Raises :class:`InputError` with one line for missing, empty or undecodable files.
        """
        av = _av()
        path = _check_readable(path)
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise InputError(f"{path}: no video stream (is it an audio file or an image?)")
                stream = container.streams.video[0]
                fps = _frame_rate(stream)
                has_audio = bool(container.streams.audio)
                first = next(container.decode(stream), None)
                if first is None:
                    raise InputError(f"{path}: no decodable video frame (file truncated?)")
                rotation = _rotation(first)
                total = int(stream.frames) or None
                time_base = Fraction(stream.time_base) if stream.time_base else None
                declared = total or _frames_from_duration(container, stream, fps)
            if total is None:
                total = _count_packets(path)
        except InputError:
            raise
        except Exception as exc:  # PyAV raises FFmpegError subclasses and OSError
            raise InputError(f"{path}: cannot read video ({first_line(exc)})") from exc
        width, height = first.width, first.height
        if rotation % 180:
            width, height = height, width
        return cls(
            width=width,
            height=height,
            fps=fps,
            total_frames=total,
            has_audio=has_audio,
            rotation=rotation,
            codec=stream.codec_context.name,
            time_base=time_base,
            declared_frames=declared,
        )

    def ended_early(self, frames_read: int) -> str | None:
        """A note if ``frames_read`` falls short of what the file declares (a truncated
        file), else None. A count stored in the file must be met exactly; one worked
        out from the stated duration may be a frame off."""
        declared = self.declared_frames
        if declared is None or frames_read >= declared:
            return None
        slack = 0 if self.total_frames == declared else 1
        if declared - frames_read <= slack:
            return None
        return (
            f"the input ended early: {frames_read} of the {declared} frames it declares "
            "were read (truncated file?)"
        )


def _check_readable(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a video file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    return path


def _frame_rate(stream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and rate > 0:
            return Fraction(rate)
    raise InputError("video stream states no frame rate")


def _frames_from_duration(container, stream, fps: Fraction) -> int | None:
    """Frames implied by the stated duration (Matroska and others store no count)."""
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / 1_000_000  # AV_TIME_BASE
    else:
        return None
    return round(seconds * float(fps)) or None


def _rotation(frame) -> int:
    """Display rotation of a decoded frame, snapped to a multiple of 90 degrees."""
    try:
        angle = float(frame.rotation or 0)
    except Exception:  # side data absent or unreadable: treat as upright
        return 0
    return int(round(angle / 90.0)) * 90 % 360


def _count_packets(path: Path) -> int | None:
    """Frame count by demuxing (no decoding) for containers that do not store it."""
    av = _av()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for packet in container.demux(stream) if packet.size)
    return count or None


def iter_frames(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """Yield every frame of ``path`` in presentation order as upright BGR uint8 (H, W, 3).

    Decoding uses FFmpeg's frame/slice threads. A decoding failure part-way raises
    :class:`InputError` naming the frame index.

    >>> for frame in iter_frames("clip.mp4"):   # doctest: +SKIP
    ...     print(frame.shape)
    """
    for image, _ in iter_stamped_frames(path):
        yield image


def iter_stamped_frames(path: str | os.PathLike[str]) -> Iterator[tuple[np.ndarray, float]]:
    """Like :func:`iter_frames`, with each frame's presentation time in seconds from the
    start of the video stream (from its timestamps, so variable frame rates are kept;
    a frame without a timestamp follows the previous one by ``1/fps``).

    >>> [round(t, 3) for _, t in iter_stamped_frames("vfr.mp4")][:3]   # doctest: +SKIP
    [0.0, 0.033, 0.133]
    """
    av = _av()
    path = _check_readable(path)
    index = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            start = stream.start_time or 0
            period = 1.0 / float(_frame_rate(stream))
            previous = -period
            for frame in container.decode(stream):
                image = frame.to_ndarray(format="bgr24")
                rotation = _rotation(frame)
                if rotation:
                    image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
                if frame.pts is None or frame.time_base is None:
                    stamp = previous + period
                else:
                    stamp = float((frame.pts - start) * frame.time_base)
                previous = stamp
                yield image, stamp
                index += 1
    except InputError:
        raise
    except (IndexError, av.error.FFmpegError, OSError) as exc:
        where = f"frame {index}" if index else "the start"
        raise InputError(f"{path}: cannot decode at {where} ({first_line(exc)})") from exc


def open_video_source(path: str | os.PathLike[str], info: VideoInfo | None = None):
    """``path`` as an ordered :class:`~saliency_cam.realtime.io.sources.FrameSource` read
    with PyAV (every frame, in order, rotation applied), for the threaded pipeline.

    >>> with open_video_source("clip.mp4") as source:   # doctest: +SKIP
    ...     for packet in Pipeline(source, session.predict): ...
    """
    from saliency_cam.realtime.io.sources import OrderedSource, SourceInfo

    info = info or VideoInfo.from_path(path)
    rate = float(info.fps)
    frames = iter_stamped_frames(path)
    items = ((image, stamp, None) for image, stamp in frames)
    source_info = SourceInfo(
        Path(path).name, "video", False, info.width, info.height, rate, info.total_frames
    )

    def release() -> None:
        # closes the file; a reader thread still inside the generator keeps it open
        with contextlib.suppress(ValueError):
            frames.close()

    return OrderedSource(items, source_info, release=release)
