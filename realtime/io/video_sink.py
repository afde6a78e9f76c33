"""Writing video files with PyAV (:class:`VideoSink`), atomically: until the sink closes
cleanly the file has a temporary name (:func:`~saliency_cam.models.atomic.atomic_output`),
so an interrupted run leaves nothing under the final name. The encoder is picked by
:func:`pick_video_codec`; an input's audio is copied by ``video_audio.py``.

>>> with VideoSink("out.mp4", info, audio_from="clip.mp4") as sink:  # doctest: +SKIP
...     sink.write_frame(frame_bgr)
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.install import install_command
from saliency_cam.models.media import VIDEO_OUTPUT_SUFFIXES
from saliency_cam.realtime.io.video_audio import AudioCopier, video_start
from saliency_cam.realtime.io.video_read import VideoInfo, _av

#: Encoders tried in order for .mp4 output: H.264 first, MPEG-4 part 2 as a last resort.
VIDEO_CODECS: tuple[str, ...] = ("libx264", "libopenh264", "h264", "mpeg4")


def pick_video_codec(width: int, height: int, preferred: str | None = None) -> tuple[str, str]:
    """Choose ``(encoder, pixel format)`` for a ``width``×``height`` video.

    H.264 (libx264) in 4:2:0 when available; odd sizes cannot be 4:2:0, so they get
    4:4:4 (High 4:4:4 profile: exact size kept; plays in VLC/mpv/ffmpeg but not in some
    browsers). Falls back through :data:`VIDEO_CODECS`.

    >>> pick_video_codec(640, 480)  # doctest: +SKIP
    ('libx264', 'yuv420p')
    """
    av = _av()
    odd = width % 2 or height % 2
    candidates = (preferred,) if preferred else VIDEO_CODECS
    for name in candidates:
        try:
            codec = av.Codec(name, "w")
        except Exception:  # not compiled into this FFmpeg
            continue
        formats = {f.name for f in (codec.video_formats or ())}
        if not odd and "yuv420p" in formats:
            return name, "yuv420p"
        if odd and "yuv444p" in formats:
            return name, "yuv444p"
    if preferred:
        raise SaliencyCamError(
            f"video encoder {preferred!r} is not available for {width}×{height} in this "
            f"PyAV/FFmpeg build: leave the codec unset to pick one automatically"
        )
    raise SaliencyCamError(
        f"no video encoder in this PyAV/FFmpeg build can write {width}×{height} "
        f"(tried {', '.join(VIDEO_CODECS)}): install a PyAV wheel with libx264 "
        f"({install_command(packages='av')})"
    )


class VideoSink:
    """Write frames to a video file (H.264 .mp4 by default), atomically.

    ``info`` gives size and frame rate (usually the input's :class:`VideoInfo`; pass
    ``width``/``height`` to override the size, e.g. for a side-by-side view).
    ``audio_from`` names a file whose first audio track is copied into the output.
    ``metadata`` goes into the container (e.g. which model made the video); ``threads``
    caps the encoder's threads (a video job shares the cores with the network). Frames
    written with a ``stamp`` (seconds from the start, e.g. the input frame's) keep that
    time, so a variable-frame-rate input keeps its timing and its audio stays in sync;
    frames without one follow at the constant rate ``info.fps``. Timestamps count in
    ``info.time_base`` (the input's) when given, else in ``1/fps``. ``keep_partial``: a
    stop signal (``KeyboardInterrupt``) inside the block still finishes the file and
    keeps it as ``clip.partial.mp4`` (:func:`~saliency_cam.models.atomic.partial_path`)
    when it holds frames.

    >>> with VideoSink("out.mp4", info) as sink:      # doctest: +SKIP
    ...     sink.write_frame(frame_bgr)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        info: VideoInfo,
        *,
        width: int | None = None,
        height: int | None = None,
        codec: str | None = None,
        crf: int = 20,
        preset: str = "superfast",
        audio_from: str | os.PathLike[str] | None = None,
        metadata: dict[str, str] | None = None,
        keep_partial: bool = False,
        threads: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.keep_partial = keep_partial
        self._broken = False  # the final flush failed: nothing playable to keep
        if self.path.suffix.lower() not in VIDEO_OUTPUT_SUFFIXES:
            raise SaliencyCamError(
                f"{self.path}: unsupported video file type {self.path.suffix!r}: "
                f"use one of {', '.join(VIDEO_OUTPUT_SUFFIXES)}"
            )
        self.width = int(width or info.width)
        self.height = int(height or info.height)
        self.fps = Fraction(info.fps).limit_denominator(1_000_000)
        self.time_base = Fraction(info.time_base) if info.time_base else 1 / self.fps
        self._last_pts = -1
        self.codec, self.pix_fmt = pick_video_codec(self.width, self.height, codec)
        self._crf = crf
        self._preset = preset
        self._audio_from = Path(audio_from) if audio_from else None
        self._metadata = dict(metadata or {})
        #: encoder threads (None: the encoder's own choice, 1.5 per core for x264)
        self.threads = threads
        self._stack: contextlib.ExitStack | None = None
        self._container = None
        self._stream = None
        self._audio: AudioCopier | None = None
        self.frames_written = 0

    def __enter__(self) -> VideoSink:
        av = _av()
        stack = contextlib.ExitStack()
        try:
            keep = (
                (lambda: self.frames_written > 0 and not self._broken)
                if self.keep_partial
                else False
            )
            tmp = stack.enter_context(atomic_output(self.path, keep_partial=keep))
            container = av.open(str(tmp), mode="w", format=_container_format(self.path))
            stack.callback(container.close)
            for key, value in self._metadata.items():
                container.metadata[key] = value
            stream = container.add_stream(self.codec, rate=self.fps)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, self.pix_fmt
            stream.time_base = self.time_base
            stream.codec_context.time_base = self.time_base
            if self.threads:
                stream.codec_context.thread_count = self.threads
            if self.codec == "libx264":
                stream.options = {"crf": str(self._crf), "preset": self._preset}
                if self.threads:
                    stream.options = {**stream.options, "threads": str(self.threads)}
            else:
                stream.bit_rate = max(1_000_000, self.width * self.height * 8)
            if self._audio_from is not None:
                self._audio = AudioCopier(
                    self._audio_from, container, video_start(self._audio_from)
                )
                stack.callback(self._audio.close)
        except BaseException:
            stack.close()
            raise
        self._stack, self._container, self._stream = stack, container, stream
        return self

    def write_frame(self, frame: np.ndarray, stamp: float | None = None) -> None:
        """Encode one BGR uint8 (H, W, 3) or grayscale (H, W) frame of the sink's size,
        shown at ``stamp`` seconds (None: ``1/fps`` after the previous frame)."""
        if self._container is None:
            raise RuntimeError("VideoSink used outside its 'with' block")
        if frame.shape[:2] != (self.height, self.width) or frame.dtype != np.uint8:
            raise ValueError(
                f"frame {frame.dtype} {frame.shape} does not match the sink's "
                f"uint8 {self.height}×{self.width}"
            )
        av = _av()
        if frame.ndim == 3 and self.pix_fmt == "yuv420p":
            # OpenCV's BT.601 I420 conversion matches swscale's within rounding and costs a
            # third of the CPU (≈2.5 ms less per 720p frame, on the output stage).
            yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
            video_frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        else:
            fmt = "gray" if frame.ndim == 2 else "bgr24"
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=fmt)
        if stamp is None:  # constant rate, counted exactly (no rounding drift)
            at = self.frames_written / self.fps
        else:
            at = Fraction(stamp).limit_denominator(10**9)
        # timestamps must increase: a repeated or backward stamp moves one tick on
        pts = max(round(at / self.time_base), self._last_pts + 1, 0)
        self._last_pts = pts
        seconds = float(pts * self.time_base)
        video_frame.pts = pts
        video_frame.time_base = self.time_base
        if self._audio is not None:
            self._audio.mux_until(seconds)
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        self.frames_written += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        stack, self._stack = self._stack, None
        if stack is None:
            return None
        finishing = exc_type is None or (
            self.keep_partial and exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        )
        if finishing:  # a stopped run's frames are flushed too: its partial file plays
            try:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
                if self._audio is not None:
                    self._audio.mux_until(None)
            except BaseException as error:
                # the temp file is removed by atomic_output as this propagates
                self._broken = True
                # the stop, not the failed flush, is what the caller sees
                failed = exc if exc is not None else error
                if not stack.__exit__(type(failed), failed, failed.__traceback__):
                    if failed is error:
                        raise
                    raise failed from None
                return None
        self._container = None
        return stack.__exit__(exc_type, exc, tb)


def _container_format(path: Path) -> str:
    return {".mkv": "matroska", ".mov": "mov", ".avi": "avi", ".webm": "webm"}.get(
        path.suffix.lower(), "mp4"
    )
