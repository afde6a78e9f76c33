"""Reading and writing video files with PyAV (supervision-style small pieces).

>>> info = VideoInfo.from_path("clip.mp4")                      # doctest: +SKIP
>>> with VideoSink("out.mp4", info, audio_from="clip.mp4") as sink:  # doctest: +SKIP
...     for frame in iter_frames("clip.mp4"):
...         sink.write_frame(frame)

Frames are BGR uint8 arrays, upright: a display rotation stored in the file (phone
videos) is applied when reading, so ``VideoInfo.width/height`` are the displayed size.
Writers go through :func:`~saliency_cam.models.atomic.atomic_output`: until the sink
closes cleanly the file has a temporary name, so an interrupted run leaves nothing under
the final name.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import InputError, SaliencyCamError, first_line
from saliency_cam.models.install import install_command
from saliency_cam.models.media import VIDEO_OUTPUT_SUFFIXES

#: Encoders tried in order for .mp4 output: H.264 first, MPEG-4 part 2 as a last resort.
VIDEO_CODECS: tuple[str, ...] = ("libx264", "libopenh264", "h264", "mpeg4")

#: Containers we write; anything else is refused with this list in the message.


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


class _AudioCopier:
    """Copies the audio packets of one input into an output container, interleaved with
    the video by time (remuxed as is; transcoded to AAC only if the container refuses the
    codec)."""

    def __init__(self, source: Path, output, start_offset_s: float) -> None:
        av = _av()
        self._input = av.open(str(source))
        if not self._input.streams.audio:
            self._input.close()
            raise InputError(f"{source}: has no audio track to copy")
        self._in_stream = self._input.streams.audio[0]
        self._offset = start_offset_s
        codec = self._in_stream.codec_context.name
        self._transcode = codec not in output.supported_codecs
        if self._transcode:
            self._out_stream = output.add_stream("aac", rate=self._in_stream.codec_context.rate)
            self._out_stream.layout = self._in_stream.codec_context.layout
        else:
            self._out_stream = output.add_stream_from_template(self._in_stream)
        self._output = output
        self._packets = self._input.demux(self._in_stream)
        self._pending = None
        self._done = False

    def _next_packet(self):
        while not self._done:
            packet = next(self._packets, None)
            if packet is None:
                self._done = True
                return None
            if packet.dts is None or packet.pts is None:  # demuxer flush packet
                continue
            return packet
        return None

    def _seconds(self, packet) -> float:
        return float(packet.pts * packet.time_base) - self._offset

    def mux_until(self, seconds: float | None) -> None:
        """Write the audio packets that start before ``seconds`` (all when None)."""
        while True:
            packet = self._pending or self._next_packet()
            self._pending = None
            if packet is None:
                break
            if seconds is not None and self._seconds(packet) > seconds:
                self._pending = packet
                break
            self._write(packet)
        if seconds is None and self._transcode:
            for out in self._out_stream.encode(None):
                self._output.mux(out)

    def _write(self, packet) -> None:
        shift = round(self._offset / packet.time_base)
        if packet.pts - shift < 0:  # audio before the first video frame: dropped
            return
        if self._transcode:
            for frame in packet.decode():
                frame.pts = None  # let the encoder number samples from zero
                for out in self._out_stream.encode(frame):
                    self._output.mux(out)
            return
        packet.pts -= shift
        packet.dts -= shift
        packet.stream = self._out_stream
        self._output.mux(packet)

    def close(self) -> None:
        self._input.close()


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
        self._audio: _AudioCopier | None = None
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
                self._audio = _AudioCopier(
                    self._audio_from, container, _video_start(self._audio_from)
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


def _video_start(path: Path) -> float:
    """Start time in seconds of the first video stream (audio is shifted by it)."""
    av = _av()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.start_time is None:
            return 0.0
        return float(stream.start_time * stream.time_base)


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
